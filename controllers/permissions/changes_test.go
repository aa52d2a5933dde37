package permissions_test

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

func TestAffectedOrganizations(t *testing.T) {
	in := platform(
		builders.Role("r").Permissions("a"),
		builders.Distributor("north"), builders.Seller("s1").Under("north"), builders.Seller("s2").Under("north"),
		builders.Customer("c1").Under("s1"), builders.Customer("c2").Under("s2"),
		builders.Binding("u@x.example", "r", "s1").Named("u-s1"),
		builders.Binding("u@x.example", "r", "c2").ThisOrganizationOnly().Named("u-c2"),
		builders.Binding("v@x.example", "r", "c2").Named("v-c2"),
		builders.Invitation("w@x.example", "c2", "r").InvitedBy("v@x.example").Named("w"),
		builders.Binding("w@x.example", "r", "c1").ThisOrganizationOnly().Named("w-c1"),
	)
	p := permissions.Compile(in, epoch)
	for _, tt := range []struct {
		ref  permissions.ObjectRef
		want []string
	}{
		{permissions.ObjectRef{Kind: "Organization", Name: "s1"}, []string{"c1", "s1"}},
		// u's binding reaches s1's subtree; u also appears in c2.
		{permissions.ObjectRef{Kind: "RoleBinding", Name: "u-s1"}, []string{"c1", "c2", "s1"}},
		// v invited w: w's status, and so every document w appears in, may change.
		{permissions.ObjectRef{Kind: "RoleBinding", Name: "v-c2"}, []string{"c1", "c2"}},
		{permissions.ObjectRef{Kind: "UserInvitation", Name: "w"}, []string{"c1", "c2"}},
		{permissions.ObjectRef{Kind: "Role", Name: "r"}, []string{"c1", "c2", "north", "s1", "s2"}},
		{permissions.ObjectRef{Kind: "PermissionTree", Name: "t"}, []string{"c1", "c2", "north", "s1", "s2"}},
		{permissions.ObjectRef{Kind: "RoleBinding", Name: "unknown"}, nil},
	} {
		if got := p.AffectedOrganizations(tt.ref); !slices.Equal(got, tt.want) {
			t.Errorf("AffectedOrganizations(%+v) = %v, want %v", tt.ref, got, tt.want)
		}
	}
}

func TestAffectedOrganizationsOfACustomRolesOrganization(t *testing.T) {
	p := permissions.Compile(platform(builders.Role("own").Permissions("a").Of("c1"), builders.Customer("c1"), builders.Customer("c2")), epoch)
	if got := p.AffectedOrganizations(permissions.ObjectRef{Kind: "Organization", Name: "c1"}); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Errorf("the organization of a custom role affects what the role grants everywhere: %v", got)
	}
}

// TestResultsChangeOnlyWhenTheySay walks a generated platform through the instants at
// which its results change by time (NextChange, one after another, and past the
// deprecated roles' removeAfter) and checks that every Role's result holds until
// NextRoleChange, every RoleBinding's until its NextBindingChange and every
// UserInvitation's until its NextInvitationChange: controllers requeue them then, not
// at every expiry of the platform.
func TestResultsChangeOnlyWhenTheySay(t *testing.T) {
	in := platformgen.Generate(platformgen.Small(), 1)
	now := platformgen.Now()
	base := permissions.Compile(in, now)

	var instants []time.Time
	for p := base; len(instants) < 20; {
		next, ok := p.NextChange()
		if !ok {
			break
		}
		instants = append(instants, next)
		p = permissions.Compile(in, next)
	}
	if len(instants) < 10 {
		t.Fatalf("the generated platform changes by time at only %d instants; the test means to cross many", len(instants))
	}
	removal, ok := base.NextRoleChange()
	if !ok {
		t.Fatal("the generated platform has no role to remove; the test means to cross a removeAfter")
	}
	instants = append(instants, removal)

	seen := checkResultsHold(t, in, now, instants)
	for _, kind := range []string{"Role", "RoleBinding", "UserInvitation", "document entry"} {
		if seen.held[kind] == 0 || seen.changed[kind] == 0 {
			t.Errorf("the walk checked %d %s results that hold and saw %d change; it means to check both",
				seen.held[kind], kind, seen.changed[kind])
		}
	}
	// Settled invitations and bindings to roles that nothing removes are never requeued.
	var never int
	for _, b := range in.Bindings {
		if _, ok := base.NextBindingChange(b.Name); !ok {
			never++
		}
	}
	if never < len(in.Bindings)/2 {
		t.Errorf("only %d of %d bindings change by time never; a removeAfter should concern only the bindings of its role", never, len(in.Bindings))
	}
}

// TestRandomResultsChangeOnlyWhenTheySay checks the same on random platforms, at every
// instant their results can change (roles' removeAfter, bindings' and invitations'
// expiry, acceptances recorded for later: results are constant between them), from
// two starting instants.
func TestRandomResultsChangeOnlyWhenTheySay(t *testing.T) {
	total := results{held: map[string]int{}, changed: map[string]int{}}
	for seed, in := range randomPlatforms(300, 13) {
		var instants []time.Time
		for _, r := range in.Roles {
			if d := r.Spec.Deprecation; d != nil {
				instants = append(instants, d.RemoveAfter.Time)
			}
		}
		for _, b := range in.Bindings {
			if b.Spec.ExpiresAt != nil {
				instants = append(instants, b.Spec.ExpiresAt.Time)
			}
		}
		for _, inv := range in.Invitations {
			instants = append(instants, inv.CreationTimestamp.Add(7*24*time.Hour)) // the default expiresAfter
			if inv.Spec.AcceptedAt != nil {
				instants = append(instants, inv.Spec.AcceptedAt.Time)
			}
		}
		for _, now := range []time.Time{epoch.Add(-2 * time.Hour), epoch} {
			seen := checkResultsHold(t, in, now, instants)
			if t.Failed() {
				t.Fatalf("seed %d, from %s:\n%s", seed, now, describe(in))
			}
			for kind, n := range seen.held {
				total.held[kind] += n
				total.changed[kind] += seen.changed[kind]
			}
		}
	}
	for _, kind := range []string{"Role", "RoleBinding", "UserInvitation", "document entry"} {
		if total.held[kind] == 0 || total.changed[kind] == 0 {
			t.Errorf("the platforms had %d %s results that hold and %d that change; the test means to check both",
				total.held[kind], kind, total.changed[kind])
		}
	}
}

// results counts, by kind, the results checkResultsHold found holding before their next
// change, and those it found changed after it.
type results struct{ held, changed map[string]int }

// checkResultsHold compiles in at now and at each of the instants after now, and checks
// that no Role, RoleBinding or UserInvitation result differs from now's before the
// instant its Next*Change at now gives.
func checkResultsHold(t *testing.T, in permissions.Input, now time.Time, instants []time.Time) results {
	t.Helper()
	base := permissions.Compile(in, now)
	seen := results{held: map[string]int{}, changed: map[string]int{}}
	roleNext, roleOK := base.NextRoleChange()
	check := func(kind, name string, at time.Time, want, got any, next time.Time, ok bool) {
		t.Helper()
		switch {
		case !ok || at.Before(next):
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%s %s changed at %v, before its next change %v (ok %v)", kind, name, at, next, ok)
			}
			seen.held[kind]++
		case !reflect.DeepEqual(want, got):
			seen.changed[kind]++
		}
	}
	baseDocs := map[string]*v1alpha1.AccessDocument{}
	for _, org := range base.Organizations() {
		baseDocs[org] = must(t, base.Document, org).Document
	}
	for _, at := range instants {
		if !at.After(now) {
			continue
		}
		later := permissions.Compile(in, at)
		checkEntriesHold(t, baseDocs, later, check)
		for _, r := range in.Roles {
			want, _ := base.Role(r.Name)
			got, _ := later.Role(r.Name)
			check("Role", r.Name, at, want, got, roleNext, roleOK)
		}
		for _, b := range in.Bindings {
			want, _ := base.Binding(b.Name)
			got, _ := later.Binding(b.Name)
			next, ok := base.NextBindingChange(b.Name)
			check("RoleBinding", b.Name, at, want, got, next, ok)
		}
		for _, inv := range in.Invitations {
			want, _ := base.Invitation(inv.Name)
			got, _ := later.Invitation(inv.Name)
			next, ok := base.NextInvitationChange(inv.Name)
			check("UserInvitation", inv.Name, at, want, got, next, ok)
		}
	}
	return seen
}

// checkEntriesHold checks, for every organization, that each user entry that grants
// something in the earlier documents is the same in later's document (its validUntil
// aside) while later's instant is before the entry's validUntil, or at any instant when
// it has none: a consumer honours an entry until its validUntil, so an entry that
// changed before it would grant what the operator has already withdrawn.
func checkEntriesHold(t *testing.T, earlier map[string]*v1alpha1.AccessDocument, later *permissions.Platform, check func(kind, name string, at time.Time, want, got any, next time.Time, ok bool)) {
	t.Helper()
	for org, before := range earlier {
		after, _ := later.Document(org)
		for email, u := range before.Users {
			if len(u.Roles) == 0 {
				continue // grants nothing: nothing to withdraw
			}
			var next time.Time
			if u.ValidUntil != nil {
				next = *u.ValidUntil
			}
			check("document entry", org+"/"+email, later.Now(),
				grantedBy(before, email), grantedBy(after.Document, email), next, u.ValidUntil != nil)
		}
	}
}

// grantedBy is what a user's entry in doc grants: status, roles, features and the
// permission set's paths (nil when the user is not listed).
func grantedBy(doc *v1alpha1.AccessDocument, email string) any {
	u, ok := doc.Users[email]
	if !ok {
		return nil
	}
	u.ValidUntil = nil
	return struct {
		Entry v1alpha1.DocumentUser
		Paths []string
	}{u, doc.PermissionSets[u.PermissionSet]}
}

// TestDocumentEntriesSayUntilWhen: an entry's validUntil is the earliest instant at
// which a grant reaching the organization changes by time (an expiry, here or above; a
// role's removeAfter), AccessIndex refuses the whole entry from then on, and the
// document compiled at that instant drops what lapsed and bounds what is left.
func TestDocumentEntriesSayUntilWhen(t *testing.T) {
	t1, t2 := epoch.Add(time.Hour), epoch.Add(2*time.Hour)
	in := platform(
		builders.Role("r").Permissions("a"),
		builders.Role("d").Permissions("d").Features("beta"),
		builders.Role("old").Permissions("o").Deprecated("", t2),
		builders.Seller("s"), builders.Customer("acme").Under("s"),
		builders.Binding("u1@x.example", "r", "acme").ExpiresAt(t1).Named("u1-r"),
		builders.Binding("u1@x.example", "d", "acme").Named("u1-d"),
		builders.Binding("u1@x.example", "old", "acme").Named("u1-old"),
		builders.Binding("u2@x.example", "old", "acme").Named("u2-old"),
		builders.Binding("u3@x.example", "r", "s").ExpiresAt(t1).Named("u3-r"), // reaches acme from above
		builders.Binding("u4@x.example", "d", "acme").Named("u4-d"),
		builders.Binding("u5@x.example", "r", "acme").ExpiresAt(epoch.Add(-time.Hour)).Named("u5-r"),
	)
	p := permissions.Compile(in, epoch)
	doc := must(t, p.Document, "acme").Document
	for email, want := range map[string]time.Time{
		"u1@x.example": t1, // the earlier of its expiry and old's removeAfter
		"u2@x.example": t2,
		"u3@x.example": t1,
		"u4@x.example": {}, // nothing it holds changes by time
		"u5@x.example": {}, // expired: holds nothing
	} {
		got := doc.Users[email].ValidUntil
		if (got == nil) != want.IsZero() || (got != nil && !got.Equal(want)) {
			t.Errorf("%s: validUntil %v, want %v", email, got, want)
		}
	}
	if raw := must(t, p.Document, "acme").Shards[0]; !bytes.Contains(raw, []byte(`"validUntil":"`+t1.Format(time.RFC3339Nano)+`"`)) {
		t.Errorf("the published bytes carry no validUntil %s:\n%s", t1.Format(time.RFC3339Nano), raw)
	}

	idx := v1alpha1.NewAccessIndex(doc)
	before := t1.Add(-time.Second)
	if !idx.AllowedAt("u1@x.example", "a", before) || !idx.AllowedAt("u1@x.example", "d", before) || !idx.HasFeatureAt("u1@x.example", "beta", before) {
		t.Error("before its validUntil u1 holds a, d and beta")
	}
	if idx.AllowedAt("u1@x.example", "a", t1) || idx.AllowedAt("u1@x.example", "d", t1) || idx.HasFeatureAt("u1@x.example", "beta", t1) {
		t.Error("from its validUntil on, an entry the operator has not republished grants nothing")
	}
	if !idx.AllowedAt("u4@x.example", "d", t2.Add(24*time.Hour)) {
		t.Error("an entry without validUntil holds at any instant")
	}

	at1 := permissions.Compile(in, t1)
	next := v1alpha1.NewAccessIndex(must(t, at1.Document, "acme").Document)
	if next.AllowedAt("u1@x.example", "a", t1) || !next.AllowedAt("u1@x.example", "d", t1) {
		t.Error("republished at t1, u1 no longer holds a and still holds d")
	}
	if got := must(t, at1.Document, "acme").Document.Users["u1@x.example"].ValidUntil; got == nil || !got.Equal(t2) {
		t.Errorf("republished at t1, u1's entry is bounded by old's removeAfter %v, got %v", t2, got)
	}
	if next.AllowedAt("u3@x.example", "a", t1) {
		t.Error("republished at t1, u3's inherited grant has lapsed")
	}
}

// TestNextChangesConcernOnlyWhatTheyChange: a removeAfter concerns the bindings whose
// grant comes through the role (here a removed role's replacement's include), not every
// binding; a settled invitation, and the bindings it owns, change by time never; an
// unsettled one changes when the platform does.
func TestNextChangesConcernOnlyWhatTheyChange(t *testing.T) {
	t1, t2, t3 := epoch.Add(2*time.Hour), epoch.Add(3*time.Hour), epoch.Add(time.Hour)
	in := platform(
		builders.Role("a").Permissions("x").Deprecated("b", t1),
		builders.Role("b").Includes("c"),
		builders.Role("c").Permissions("x").Deprecated("", t2),
		builders.Role("d").Permissions("y"),
		builders.Role("e").Permissions("z").Deprecated("", t3),
		builders.Customer("acme"),
		builders.Binding("a@x.example", "a", "acme").Named("to-a"),
		builders.Binding("d@x.example", "d", "acme").Named("to-d"),
		builders.Binding("i@x.example", "d", "acme").OwnedBy("kept").Named("kept-d"),
		builders.Invitation("i@x.example", "acme", "d").AcceptedAt(acceptedAt).Granted("", "d").Named("kept"),
		builders.Invitation("n@x.example", "acme", "d").CreatedAt(epoch).Named("new"),
	)
	p := permissions.Compile(in, epoch)
	if next, ok := p.NextChange(); !ok || !next.Equal(t3) {
		t.Fatalf("NextChange = %v %v, want e's removeAfter %v", next, ok, t3)
	}
	for _, tt := range []struct {
		at   time.Time
		want time.Time // zero: no next change
	}{
		{epoch, t1}, // a's own removeAfter, not e's
		{t1, t2},    // then c's, which a's replacement b includes
		{t2, time.Time{}},
	} {
		next, ok := permissions.Compile(in, tt.at).NextBindingChange("to-a")
		if ok != !tt.want.IsZero() || !next.Equal(tt.want) {
			t.Errorf("at %v, NextBindingChange(to-a) = %v %v, want %v", tt.at, next, ok, tt.want)
		}
	}
	if b := must(t, permissions.Compile(in, t2).Binding, "to-a"); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonRemoved {
		t.Errorf("at c's removeAfter, a's replacement grants nothing and the binding is Removed: %+v", b)
	}
	for _, name := range []string{"to-d", "kept-d"} {
		if next, ok := p.NextBindingChange(name); ok {
			t.Errorf("NextBindingChange(%s) = %v; nothing its result depends on changes by time", name, next)
		}
	}
	if next, ok := p.NextInvitationChange("kept"); ok {
		t.Errorf("NextInvitationChange(kept) = %v; its recorded grant is kept whatever the time", next)
	}
	if next, ok := p.NextInvitationChange("new"); !ok || !next.Equal(t3) {
		t.Errorf("NextInvitationChange(new) = %v %v, want the platform's NextChange %v", next, ok, t3)
	}
}
