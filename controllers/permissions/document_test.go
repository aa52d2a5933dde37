package permissions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// The document's bytes must be exactly encoding/json's, with a trailing newline, on a
// realistic platform (every phase, closure sets, features); Shards gives the same bytes.
func TestDocumentBytesAreEncodingJSON(t *testing.T) {
	p := permissions.Compile(platformgen.Generate(platformgen.Small(), 3), platformgen.Now())
	bounded := 0 // entries with a validUntil
	for _, org := range p.Organizations() {
		doc, ok := p.Document(org)
		if !ok {
			t.Fatalf("Document(%s) not found", org)
		}
		for _, u := range doc.Document.Users {
			if u.ValidUntil != nil {
				bounded++
			}
		}
		want, err := json.Marshal(doc.Document)
		if err != nil {
			t.Fatalf("marshal %s: %v", org, err)
		}
		want = append(want, '\n')
		if len(doc.Shards) != 1 || !bytes.Equal(doc.Shards[0], want) {
			t.Fatalf("Document(%s) bytes differ from encoding/json:\n got %.300s\nwant %.300s", org, doc.Shards[0], want)
		}
		if shards, _, ok := p.Shards(org); !ok || len(shards) != 1 || !bytes.Equal(shards[0], want) {
			t.Fatalf("Shards(%s) differ from Document's bytes:\n got %.300s\nwant %.300s", org, shards, want)
		}
	}
	if _, _, ok := p.Shards("no-such-organization"); ok {
		t.Error("Shards of an unknown organization found")
	}
	if bounded == 0 {
		t.Error("no entry has a validUntil; the platform's expiring bindings should give some")
	}
}

// Shards hands out buffers the caller owns (the publisher's ConfigMaps share them): a
// second call's bytes are another buffer, and writing to the first changes neither
// it nor a later call's.
func TestShardsAreTheCallersOwnBuffers(t *testing.T) {
	p := permissions.Compile(platformgen.Generate(platformgen.Small(), 3), platformgen.Now())
	org := p.Organizations()[0]
	first, _, _ := p.Shards(org)
	second, _, _ := p.Shards(org)
	want := bytes.Clone(second[0])
	if &first[0][0] == &second[0][0] {
		t.Fatal("two calls of Shards returned the same buffer")
	}
	for i := range first[0] {
		first[0][i] = 'x'
	}
	third, _, _ := p.Shards(org)
	if !bytes.Equal(second[0], want) || !bytes.Equal(third[0], want) {
		t.Fatal("writing to one call's shard changed another call's")
	}
}

// Every Active user has a permission set; nobody else has one.
func TestDocumentPermissionSetOnlyForActiveUsers(t *testing.T) {
	p := permissions.Compile(platformgen.Generate(platformgen.Small(), 4), platformgen.Now())
	for _, org := range p.Organizations() {
		doc, _ := p.Document(org)
		for email, u := range doc.Document.Users {
			_, exists := doc.Document.PermissionSets[u.PermissionSet]
			if (u.Status == v1alpha1.UserPhaseActive) != (u.PermissionSet != "" && exists) {
				t.Fatalf("%s in %s: status %s, permission set %q (exists %v)", email, org, u.Status, u.PermissionSet, exists)
			}
		}
	}
}

// An organization's user counts (its status.users) are the users its document lists,
// by status: the counts take a shorter way to the same users.
func TestOrganizationCountsTheDocumentsUsers(t *testing.T) {
	check := func(t *testing.T, p *permissions.Platform) (counted int) {
		t.Helper()
		for _, org := range p.Organizations() {
			doc, published := p.Document(org)
			res, found := p.Organization(org)
			if !published || !found {
				t.Fatalf("%s: document %v, result %v", org, published, found)
			}
			var want v1alpha1.UserCounts
			for _, u := range doc.Document.Users {
				switch u.Status {
				case v1alpha1.UserPhaseNew:
					want.New++
				case v1alpha1.UserPhaseActive:
					want.Active++
				case v1alpha1.UserPhaseBlocked:
					want.Blocked++
				case v1alpha1.UserPhaseExpired:
					want.Expired++
				case v1alpha1.UserPhaseRejected:
					want.Rejected++
				default:
					t.Fatalf("%s: user with status %q", org, u.Status)
				}
			}
			if res.Users != want {
				t.Fatalf("%s: counts %+v, the document lists %+v", org, res.Users, want)
			}
			counted += len(doc.Document.Users)
		}
		return counted
	}
	if n := check(t, permissions.Compile(platformgen.Generate(platformgen.Small(), 4), platformgen.Now())); n == 0 {
		t.Fatal("no users listed: the check checked nothing")
	}
	for seed, in := range randomPlatforms(200, 7) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { check(t, permissions.Compile(in, platformgen.Now())) })
	}
}

// The same inputs in any order give the same bytes.
func TestDocumentDeterministicInAnyOrder(t *testing.T) {
	in := platformgen.Generate(platformgen.Small(), 5)
	shuffled := in
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled.Organizations = shuffle(rng, in.Organizations)
	shuffled.Roles = shuffle(rng, in.Roles)
	shuffled.Bindings = shuffle(rng, in.Bindings)
	shuffled.Invitations = shuffle(rng, in.Invitations)
	shuffled.Trees = shuffle(rng, in.Trees)
	a := permissions.Compile(in, platformgen.Now())
	b := permissions.Compile(shuffled, platformgen.Now())
	for _, org := range a.Organizations() {
		da, _ := a.Document(org)
		db, _ := b.Document(org)
		if len(da.Shards) != len(db.Shards) || !bytes.Equal(da.Shards[0], db.Shards[0]) {
			t.Fatalf("%s: documents differ with the input shuffled", org)
		}
	}
}

func shuffle[T any](rng *rand.Rand, s []T) []T {
	out := slices.Clone(s)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Users with identical permissions share one set, whose id depends only on its content.
func TestPermissionSetsAreSharedAndContentAddressed(t *testing.T) {
	base := []any{builders.Role("customer").Permissions("subscriptions"), builders.Role("viewer").Permissions("subscriptions"), builders.Customer("acme"),
		builders.Binding("a@x.example", "customer", "acme"), builders.Binding("b@x.example", "viewer", "acme"), builders.Binding("c@x.example", "customer", "acme")}
	p := permissions.Compile(platform(base...), epoch)
	doc, _ := p.Document("acme")
	users := doc.Document.Users
	if users["a@x.example"].PermissionSet != users["b@x.example"].PermissionSet || len(doc.Document.PermissionSets) != 1 {
		t.Errorf("identical permissions from different roles must share one set: %+v", doc.Document.PermissionSets)
	}
	if id := users["a@x.example"].PermissionSet; id != permissions.PermissionSetID([]string{"subscriptions"}) {
		t.Errorf("set id %s is not derived from the content", id)
	}
	// Another user changing does not rename the set.
	more := permissions.Compile(platform(append(base, builders.Role("x").Permissions("other"), builders.Binding("d@x.example", "x", "acme"))...), epoch)
	doc2, _ := more.Document("acme")
	if doc2.Document.Users["a@x.example"].PermissionSet != users["a@x.example"].PermissionSet {
		t.Error("a set's id changed when another user's access changed")
	}
	// A user with no role is Active with the empty set.
	p = permissions.Compile(platform(builders.Customer("acme"), builders.Invitation("n@x.example", "acme").AcceptedAt(acceptedAt)), epoch)
	if h := access(t, p, "acme", "n@x.example"); h.status != v1alpha1.UserPhaseActive || h.perms == nil || len(h.perms) != 0 {
		t.Errorf("user without a role: %+v, want Active with an empty set", h)
	}
}

// Above MaxDocumentBytes the document splits into self-contained shards by user.
func TestDocumentShards(t *testing.T) {
	objs := []any{builders.Tree("t", "a"), builders.Customer("acme")}
	for r := range 40 {
		role := fmt.Sprintf("role-%d", r)
		objs = append(objs, builders.Role(role).Permissions("a").Features(fmt.Sprintf("feature-%d", r)))
	}
	for u := range 9000 {
		email := fmt.Sprintf("user-with-a-rather-long-address-%05d@acme-corporation.example", u)
		objs = append(objs, builders.Binding(email, fmt.Sprintf("role-%d", u%40), "acme"), builders.Binding(email, fmt.Sprintf("role-%d", (u/40)%40), "acme"))
	}
	p := permissions.Compile(platform(objs...), epoch)
	doc, _ := p.Document("acme")
	if len(doc.Shards) < 2 {
		t.Fatalf("document of %d users in %d shard(s); want it split", len(doc.Document.Users), len(doc.Shards))
	}
	if shards, _, _ := p.Shards("acme"); !slices.EqualFunc(shards, doc.Shards, bytes.Equal) {
		t.Errorf("Shards gives %d shards that differ from Document's %d", len(shards), len(doc.Shards))
	}
	merged := map[string]v1alpha1.DocumentUser{}
	var decoded []*v1alpha1.AccessDocument
	last := ""
	for k, raw := range doc.Shards {
		if len(raw) > v1alpha1.MaxDocumentBytes {
			t.Errorf("shard %d is %d bytes", k+1, len(raw))
		}
		var d v1alpha1.AccessDocument
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("shard %d: %v", k+1, err)
		}
		if d.Shard != k+1 || d.Shards != len(doc.Shards) || d.Organization != "acme" || !d.Closure {
			t.Errorf("shard %d header: shard %d of %d, org %s", k+1, d.Shard, d.Shards, d.Organization)
		}
		for email, u := range d.Users {
			if _, ok := d.PermissionSets[u.PermissionSet]; !ok {
				t.Errorf("shard %d is not self-contained: %s uses set %s", k+1, email, u.PermissionSet)
			}
			if email <= last {
				t.Errorf("shard %d: users not split in email order at %s", k+1, email)
			}
			merged[email] = u
		}
		for email := range d.Users {
			last = max(last, email)
		}
		decoded = append(decoded, &d)
	}
	if len(merged) != len(doc.Document.Users) {
		t.Errorf("shards hold %d users, the document %d", len(merged), len(doc.Document.Users))
	}
	x := v1alpha1.NewAccessIndex(decoded...)
	if !x.Allowed("user-with-a-rather-long-address-08999@acme-corporation.example", "a") {
		t.Error("the index over every shard must allow the last user")
	}
}

// A compiled platform serves documents and explanations from many goroutines (run with
// -race to check).
func TestPlatformIsSafeForConcurrentUse(t *testing.T) {
	p := permissions.Compile(platformgen.Generate(platformgen.Small(), 6), platformgen.Now())
	orgs := p.Organizations()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(orgs); i += 4 {
				doc, _ := p.Document(orgs[i])
				for email := range doc.Document.Users {
					p.Explain(email, orgs[i], "reports/read")
					break
				}
			}
		}()
	}
	wg.Wait()
}

// One user whose permissions alone are larger than a document shard can hold (here "*"
// over 22 trees of 1,024 paths: about 1 MiB rendered) would get a shard of their own
// that the API server refuses, and the organization's document would stop following
// any change. The engine withholds what that user's roles grant (fail closed): they are
// listed Active with their roles and the empty set, every shard fits, and the document names
// them. Others keep what they hold.
func TestPermissionsTooLargeForADocumentAreWithheld(t *testing.T) {
	objs := []any{builders.Customer("acme"), builders.Role("admin").Permissions("*"), builders.Role("viewer").Permissions("area-00"),
		builders.Binding("admin@acme.example", "admin", "acme"), builders.Binding("zed@acme.example", "viewer", "acme")}
	for tr := range 22 {
		area := fmt.Sprintf("area-%02d", tr)
		paths := []string{area}
		for j := range 1023 {
			paths = append(paths, fmt.Sprintf("%s/a-reasonably-descriptive-permission-%04d", area, j))
		}
		objs = append(objs, builders.Tree(area, paths...))
	}
	p := permissions.Compile(platform(objs...), epoch)
	doc, ok := p.Document("acme")
	if !ok {
		t.Fatal("no document for acme")
	}
	for k, s := range doc.Shards {
		if len(s) > v1alpha1.MaxDocumentBytes {
			t.Errorf("shard %d of %d is %d bytes, above MaxDocumentBytes (%d)", k+1, len(doc.Shards), len(s), v1alpha1.MaxDocumentBytes)
		}
	}
	admin := doc.Document.Users["admin@acme.example"]
	if admin.Status != v1alpha1.UserPhaseActive || !slices.Equal(admin.Roles, []string{"admin"}) || len(doc.Document.PermissionSets[admin.PermissionSet]) != 0 {
		t.Errorf("admin's entry is %+v with %d permissions; want Active, roles [admin], the empty set", admin, len(doc.Document.PermissionSets[admin.PermissionSet]))
	}
	zed := doc.Document.Users["zed@acme.example"]
	if got := doc.Document.PermissionSets[zed.PermissionSet]; len(got) != 1024 {
		t.Errorf("zed holds %d permissions, want area-00's 1,024", len(got))
	}
	if w := doc.Withheld; len(w) != 1 || w[0].Email != "admin@acme.example" || w[0].Bytes <= v1alpha1.MaxDocumentBytes {
		t.Errorf("Document(acme).Withheld = %+v; want admin@acme.example with more than %d bytes", w, v1alpha1.MaxDocumentBytes)
	}
	if _, w, _ := p.Shards("acme"); !slices.Equal(w, doc.Withheld) {
		t.Errorf("Shards withholds %+v, Document %+v", w, doc.Withheld)
	}
	idx, err := v1alpha1.LoadAccessIndex("acme", documents(t, doc.Shards)...)
	if err != nil {
		t.Fatal(err)
	}
	if idx.Allowed("admin@acme.example", "area-03/a-reasonably-descriptive-permission-0007") {
		t.Error("the withheld admin is allowed a path")
	}
	if !idx.Allowed("zed@acme.example", "area-00/a-reasonably-descriptive-permission-0007") {
		t.Error("zed lost what he holds")
	}
	if e := p.Explain("admin@acme.example", "acme", "area-03"); e.Allowed || !strings.Contains(e.Reason, "withholds") {
		t.Errorf("Explain for the withheld admin = %+v; want not allowed, saying why", e)
	}
	if e := p.Explain("zed@acme.example", "acme", "area-00"); !e.Allowed {
		t.Errorf("Explain for zed = %+v; want allowed", e)
	}
	// A platform with nothing withheld reports nothing.
	small := permissions.Compile(platform(builders.Customer("acme"), builders.Role("viewer").Permissions("sales"),
		builders.Binding("zed@acme.example", "viewer", "acme")), epoch)
	if _, w, _ := small.Shards("acme"); w != nil {
		t.Errorf("a small platform withholds %+v, want nothing", w)
	}
}

// documents decodes a document's shards.
func documents(t *testing.T, shards [][]byte) []*v1alpha1.AccessDocument {
	t.Helper()
	out := make([]*v1alpha1.AccessDocument, len(shards))
	for k, raw := range shards {
		out[k] = &v1alpha1.AccessDocument{}
		if err := json.Unmarshal(raw, out[k]); err != nil {
			t.Fatalf("shard %d: %v", k+1, err)
		}
	}
	return out
}
