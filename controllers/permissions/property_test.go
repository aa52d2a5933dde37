package permissions_test

import (
	"bytes"
	"fmt"
	"iter"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// TestEngineAgreesWithReference compares the engine with the slow reference on
// thousands of random small platforms: every organization's users, statuses, roles,
// permissions and features, every invitation's phase (and where an Active one's grant
// holds) and every binding's Ready.
func TestEngineAgreesWithReference(t *testing.T) {
	for seed, in := range randomPlatforms(3000, 42) {
		p := permissions.Compile(in, epoch)
		ref := newReference(in, epoch)
		for _, inv := range in.Invitations {
			res := must(t, p.Invitation, inv.Name)
			if got, want := res.Phase, ref.phase[inv.Name]; got != want {
				t.Fatalf("seed %d: invitation %s phase %s, reference %s\n%s", seed, inv.Name, got, want, describe(in))
			}
			if here := res.GrantedInheritance == v1alpha1.InheritanceNone; res.Phase == v1alpha1.UserPhaseActive && here != ref.here[inv.Name] {
				t.Fatalf("seed %d: invitation %s granted in its organization only: %v, reference %v\n%s", seed, inv.Name, here, ref.here[inv.Name], describe(in))
			}
		}
		for i := range in.Bindings {
			b := in.Bindings[i]
			if got, want := must(t, p.Binding, b.Name).Ready, ref.grants(b); got != want {
				t.Fatalf("seed %d: binding %s Ready %v, reference %v (%+v)\n%s", seed, b.Name, got, want, must(t, p.Binding, b.Name).Conditions, describe(in))
			}
		}
		for _, org := range p.Organizations() {
			if got, want := must(t, p.Organization, org).Path, ref.chain(org); !slices.Equal(got, want) {
				t.Fatalf("seed %d: %s path %v, reference %v\n%s", seed, org, got, want, describe(in))
			}
			want := ref.document(org)
			doc, _ := p.Document(org)
			if len(doc.Document.Users) != len(want) {
				t.Fatalf("seed %d: %s has %d users, reference %d: %v vs %v\n%s", seed, org, len(doc.Document.Users), len(want), doc.Document.Users, want, describe(in))
			}
			for email, w := range want {
				h := access(t, p, org, email)
				samePerms := (h.perms == nil) == (w.perms == nil) && slices.Equal(h.perms, w.perms)
				if h.status != w.status || !equal(h.roles, w.roles) || !equal(h.features, w.features) || !samePerms {
					t.Fatalf("seed %d: %s in %s: engine %+v, reference %+v\n%s", seed, email, org, h, w, describe(in))
				}
			}
		}
	}
}

// TestRoleResultsAgreeWithTheirDefinition checks every role's usage on thousands of
// random small platforms (a quarter of their roles being deleted) against its
// definition read straight from the input (roleUsage), and that Roles gives what Role
// does, with usedBy cut where it is asked to be and the InUse message unchanged.
func TestRoleResultsAgreeWithTheirDefinition(t *testing.T) {
	deleted := metav1.NewTime(epoch.Add(-time.Minute))
	for seed, in := range randomPlatforms(3000, 43) {
		for i, r := range in.Roles {
			if (seed+i)%4 == 0 {
				r.DeletionTimestamp = &deleted
			}
		}
		p := permissions.Compile(in, epoch)
		limit := 1 + seed%3
		all, cut := p.Roles(0), p.Roles(limit)
		if len(all) != len(in.Roles) || len(cut) != len(in.Roles) {
			t.Fatalf("seed %d: Roles gave %d and %d results for %d roles", seed, len(all), len(cut), len(in.Roles))
		}
		for _, r := range in.Roles {
			one := must(t, p.Role, r.Name)
			bound, deprecatedOnly, usedBy := roleUsage(in, r.Name)
			if one.BoundUsers != bound || one.DeprecatedOnlyUsers != deprecatedOnly || !slices.Equal(one.UsedBy, usedBy) {
				t.Fatalf("seed %d: role %s: bound %d, deprecated only %d, used by %v; by definition %d, %d, %v\n%s",
					seed, r.Name, one.BoundUsers, one.DeprecatedOnlyUsers, one.UsedBy, bound, deprecatedOnly, usedBy, describe(in))
			}
			if !reflect.DeepEqual(all[r.Name], one) {
				t.Fatalf("seed %d: role %s: Roles(0) %+v, Role %+v", seed, r.Name, all[r.Name], one)
			}
			want := one
			want.UsedBy = one.UsedBy[:min(limit, len(one.UsedBy))]
			if !reflect.DeepEqual(cut[r.Name], want) {
				t.Fatalf("seed %d: role %s: Roles(%d) %+v, want %+v", seed, r.Name, limit, cut[r.Name], want)
			}
		}
	}
}

// roleUsage is what uses the named role, read from the input as the API documents it:
// the distinct subjects of its bindings; of those, when the role is deprecated, the
// ones whose every binding is to an existing deprecated role; and, sorted, the roles
// that include it or name it as their replacement, its bindings, and the invitations
// whose roles (naming none: their existing organization's default roles) include it;
// nothing when it goes with the roles being deleted that use it (goesTogether).
func roleUsage(in permissions.Input, name string) (bound, deprecatedOnly int32, usedBy []string) {
	bound, deprecatedOnly, usedBy = directUsage(in, name)
	if goesTogether(in, name) {
		usedBy = nil
	}
	return bound, deprecatedOnly, usedBy
}

// goesTogether says whether the named role is being deleted, and so is every role that
// uses it, and every role using those, and so on, none of them used by a binding or an
// invitation: then nothing outside those roles being deleted keeps any of them.
func goesTogether(in permissions.Input, name string) bool {
	roles := map[string]*v1alpha1.Role{}
	for _, r := range in.Roles {
		roles[r.Name] = r
	}
	seen, queue := map[string]bool{name: true}, []string{name}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if roles[x] == nil || roles[x].DeletionTimestamp == nil {
			return false
		}
		_, _, users := directUsage(in, x)
		for _, u := range users {
			role, isRole := strings.CutPrefix(u, "Role/")
			if !isRole {
				return false
			}
			if !seen[role] {
				seen[role] = true
				queue = append(queue, role)
			}
		}
	}
	return true
}

// directUsage is roleUsage without goesTogether.
func directUsage(in permissions.Input, name string) (bound, deprecatedOnly int32, usedBy []string) {
	roles := map[string]*v1alpha1.Role{}
	for _, r := range in.Roles {
		roles[r.Name] = r
	}
	subjects := map[v1alpha1.Email]bool{}
	for _, b := range in.Bindings {
		if string(b.Spec.RoleRef.Name) == name {
			subjects[b.Spec.Subject.Email] = true
			usedBy = append(usedBy, "RoleBinding/"+b.Name)
		}
	}
	bound = int32(len(subjects))
	if roles[name].Spec.Deprecation != nil {
		for email := range subjects {
			only := true
			for _, b := range in.Bindings {
				if b.Spec.Subject.Email == email {
					r, ok := roles[string(b.Spec.RoleRef.Name)]
					only = only && ok && r.Spec.Deprecation != nil
				}
			}
			if only {
				deprecatedOnly++
			}
		}
	}
	for _, r := range in.Roles {
		replaced := r.Spec.Deprecation != nil && string(r.Spec.Deprecation.Replacement) == name
		if replaced || slices.Contains(r.Spec.Includes, v1alpha1.RoleName(name)) {
			usedBy = append(usedBy, "Role/"+r.Name)
		}
	}
	defaults := map[string][]v1alpha1.RoleName{}
	for _, o := range in.Organizations {
		defaults[o.Name] = o.Spec.DefaultRoles
	}
	for _, inv := range in.Invitations {
		named := inv.Spec.Roles
		_, orgExists := defaults[string(inv.Spec.OrganizationRef.Name)]
		if len(named) == 0 && orgExists && keepsRecordedDefaults(inv) {
			for _, r := range inv.Status.GrantedRoles {
				named = append(named, v1alpha1.RoleName(r))
			}
		} else if len(named) == 0 {
			named = defaults[string(inv.Spec.OrganizationRef.Name)]
		}
		if slices.Contains(named, v1alpha1.RoleName(name)) {
			usedBy = append(usedBy, "UserInvitation/"+inv.Name)
		}
	}
	slices.Sort(usedBy)
	return bound, deprecatedOnly, slices.Compact(usedBy)
}

// randomPlatforms yields runs random platforms (a tenth with -short), each with its
// seed, drawn from the random stream numbered stream.
func randomPlatforms(runs int, stream uint64) iter.Seq2[int, permissions.Input] {
	if testing.Short() {
		runs /= 10
	}
	return func(yield func(int, permissions.Input) bool) {
		for seed := range runs {
			if !yield(seed, platformgen.Random(rand.New(rand.NewPCG(uint64(seed), stream)), epoch)) {
				return
			}
		}
	}
}

// describe prints a platform compactly for a failure message.
func describe(in permissions.Input) string {
	s := ""
	for _, o := range in.Organizations {
		s += fmt.Sprintf("org %s %s parent=%v owner=%s defaults=%v\n", o.Name, o.Spec.Type, o.Spec.ParentRef, o.Spec.Owner, o.Spec.DefaultRoles)
	}
	for _, t := range in.Trees {
		s += fmt.Sprintf("tree %s %+v\n", t.Name, t.Spec.Permissions)
	}
	for _, r := range in.Roles {
		s += fmt.Sprintf("role %s perms=%v inc=%v feat=%v types=%v org=%v assign=%v dep=%+v\n", r.Name, r.Spec.Permissions, r.Spec.Includes,
			r.Spec.Features, r.Spec.OrganizationTypes, r.Spec.OrganizationRef, r.Spec.AssignableRoles, r.Spec.Deprecation)
	}
	for _, b := range in.Bindings {
		s += fmt.Sprintf("binding %s %s %s@%s %s expires=%v owner=%v\n", b.Name, b.Spec.Subject.Email, b.Spec.RoleRef.Name, b.Spec.OrganizationRef.Name,
			b.Spec.Inheritance, b.Spec.ExpiresAt, b.OwnerReferences)
	}
	for _, i := range in.Invitations {
		s += fmt.Sprintf("invitation %s %s@%s roles=%v by=%s accepted=%v blocked=%v created=%v status=%+v\n", i.Name, i.Spec.Email, i.Spec.OrganizationRef.Name,
			i.Spec.Roles, i.Spec.InvitedBy, i.Spec.AcceptedAt != nil, i.Spec.Blocked, i.CreationTimestamp, i.Status)
	}
	return s
}

// TestAffectedOrganizationsCoverEveryChange removes or alters one binding or invitation
// of random platforms and checks that every organization whose document changed is
// named by AffectedOrganizations on the platform before or after.
func TestAffectedOrganizationsCoverEveryChange(t *testing.T) {
	for seed, in := range randomPlatforms(1000, 99) {
		before := permissions.Compile(in, epoch)
		type change struct {
			ref   permissions.ObjectRef
			after permissions.Input
		}
		var changes []change
		for i, b := range in.Bindings {
			after := in
			after.Bindings = slices.Delete(slices.Clone(in.Bindings), i, i+1)
			changes = append(changes, change{permissions.ObjectRef{Kind: "RoleBinding", Name: b.Name}, after})
		}
		for i, inv := range in.Invitations {
			after := in
			after.Invitations = slices.Delete(slices.Clone(in.Invitations), i, i+1)
			changes = append(changes, change{permissions.ObjectRef{Kind: "UserInvitation", Name: inv.Name}, after})
			blocked := in
			blocked.Invitations = slices.Clone(in.Invitations)
			blocked.Invitations[i] = inv.DeepCopy()
			blocked.Invitations[i].Spec.Blocked = !inv.Spec.Blocked
			changes = append(changes, change{permissions.ObjectRef{Kind: "UserInvitation", Name: inv.Name}, blocked})
		}
		for i, o := range in.Organizations {
			owner := in
			owner.Organizations = slices.Clone(in.Organizations)
			owner.Organizations[i] = o.DeepCopy()
			owner.Organizations[i].Spec.Owner = "a@x.example"
			changes = append(changes, change{permissions.ObjectRef{Kind: "Organization", Name: o.Name}, owner})
		}
		for _, c := range changes {
			after := permissions.Compile(c.after, epoch)
			named := map[string]bool{}
			for _, org := range append(before.AffectedOrganizations(c.ref), after.AffectedOrganizations(c.ref)...) {
				named[org] = true
			}
			for _, org := range before.Organizations() {
				d1, _ := before.Document(org)
				d2, _ := after.Document(org)
				if !slices.EqualFunc(d1.Shards, d2.Shards, bytes.Equal) && !named[org] {
					t.Fatalf("seed %d: changing %+v changed %s's document, which AffectedOrganizations does not name\n%s", seed, c.ref, org, describe(in))
				}
			}
		}
	}
}
