package controllers

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// TestMapsCoverEveryResultAChangeChanges removes or alters one binding, invitation,
// organization, role or tree path of random platforms and checks, for each reconciler
// that publishes what the engine computes, that every request whose output the change
// changes is among the requests its map functions return for the object before and
// after the change, each read from the platform after it, as the cache is when the
// event comes: the publisher's documents, the UserInvitation reconciler's invitations
// (keyed by their organization), the RoleBinding reconciler's bindings (the same) and
// the Role reconciler's roles (keyed by name). Outputs are
// compiled with the statuses as they were: what must be redone before any reconciler
// writes a status (a status write that records a grant brings its own events). The
// engine's AffectedOrganizations has the same property test for documents; this one
// holds the map functions the manager runs to the engine.
func TestMapsCoverEveryResultAChangeChanges(t *testing.T) {
	runs := 1000
	if testing.Short() {
		runs /= 10
	}
	now := platformgen.Now()
	altered := map[string]int{} // changes of each kind that changed some output
	for seed := range runs {
		in := platformgen.Random(rand.New(rand.NewPCG(uint64(seed), 17)), now)
		before := permissions.Compile(in, now)
		for _, c := range changesOf(in) {
			after := permissions.Compile(c.after, now)
			rel := relations{reader: newInputReader(c.after)}
			for _, rc := range []struct {
				name    string
				maps    []func(context.Context, client.Object) []reconcile.Request
				changed []string
			}{
				{"publisher", publisherMaps(rel)[c.kind], changedDocuments(before, after)},
				{"UserInvitation reconciler", invitationMaps(rel)[c.kind], changedInvitations(before, after, in, c.after)},
				{"RoleBinding reconciler", bindingMaps(rel)[c.kind], changedBindings(before, after, in, c.after)},
				{"Role reconciler", roleMaps(rel)[c.kind], changedRoles(before, after)},
			} {
				mapped := map[string]bool{}
				for _, fn := range rc.maps {
					for _, o := range []client.Object{c.old, c.new} {
						if o == nil {
							continue
						}
						for _, req := range fn(context.Background(), o) {
							mapped[req.Name] = true
						}
					}
				}
				if len(rc.changed) > 0 {
					altered[c.kind]++
				}
				for _, name := range rc.changed {
					if !mapped[name] {
						t.Fatalf("seed %d: %s changed what the %s publishes for %s, which its maps do not enqueue (they enqueue %v)",
							seed, c.what, rc.name, name, sortedKeys(mapped))
					}
				}
			}
		}
	}
	for _, kind := range []string{"RoleBinding", "UserInvitation", "Organization", "Role", "PermissionTree"} {
		if altered[kind] == 0 {
			t.Errorf("no change of a %s altered any output; the test means to check the maps of every kind", kind)
		}
	}
}

type mapFunc = func(context.Context, client.Object) []reconcile.Request

// itself maps an object to itself, as For does.
func itself(_ context.Context, o client.Object) []reconcile.Request {
	return requests(o.GetNamespace(), o.GetName())
}

// publisherMaps are the publisher's map functions by kind (OrganizationReconciler's
// SetupWithManager).
func publisherMaps(rel relations) map[string][]mapFunc {
	return map[string][]mapFunc{
		"RoleBinding":    {rel.organizationsForBinding},
		"UserInvitation": {rel.organizationsForInvitation},
		"Organization":   {itself, rel.organizationsForOrganization},
		"Role":           {rel.organizationsForRole},
		"PermissionTree": {rel.organizationsForTree},
	}
}

// invitationMaps are the UserInvitation reconciler's (its SetupWithManager).
func invitationMaps(rel relations) map[string][]mapFunc {
	return map[string][]mapFunc{
		"RoleBinding":    {rel.organizationsOfOwner, rel.invitationOrganizationsForBinding},
		"UserInvitation": {organizationOfInvitation, rel.invitationOrganizationsForInvitation},
		"Organization":   {rel.invitationOrganizationsForOrganization},
		"Role":           {rel.invitationOrganizationsForRole},
		"PermissionTree": {rel.invitationOrganizationsForTree},
	}
}

// bindingMaps are the RoleBinding reconciler's (its SetupWithManager).
func bindingMaps(rel relations) map[string][]mapFunc {
	return map[string][]mapFunc{
		"RoleBinding":    {organizationOfBinding, rel.bindingOrganizationsForBinding},
		"UserInvitation": {rel.bindingOrganizationsForInvitation},
		"Organization":   {rel.bindingOrganizationsForOrganization},
		"Role":           {rel.bindingOrganizationsForRole},
		"PermissionTree": {rel.bindingOrganizationsForTree},
	}
}

// roleMaps are the Role reconciler's (its SetupWithManager).
func roleMaps(rel relations) map[string][]mapFunc {
	return map[string][]mapFunc{
		"RoleBinding":    {rel.rolesForBinding},
		"UserInvitation": {rel.rolesForInvitation},
		"Organization":   {rel.rolesForOrganization},
		"Role":           {itself, rel.rolesForRole},
		"PermissionTree": {rel.rolesForTree},
	}
}

// changedRoles names the roles, on both platforms, whose results differ, as the Role
// reconciler asks for them.
func changedRoles(before, after *permissions.Platform) []string {
	r2 := after.Roles(maxUsedBy)
	var out []string
	for name, r1 := range before.Roles(maxUsedBy) {
		if r, ok := r2[name]; ok && !reflect.DeepEqual(r1, r) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// changedDocuments names the organizations whose documents differ.
func changedDocuments(before, after *permissions.Platform) []string {
	var out []string
	for _, org := range before.Organizations() {
		d1, _ := before.Document(org)
		d2, _ := after.Document(org)
		if !slices.EqualFunc(d1.Shards, d2.Shards, bytes.Equal) {
			out = append(out, org)
		}
	}
	return out
}

// changedInvitations names the organizations of the invitations, on both platforms,
// whose results differ.
func changedInvitations(before, after *permissions.Platform, in, out permissions.Input) []string {
	return changedResults(in.Invitations, out.Invitations, before.Invitation, after.Invitation,
		func(inv *v1alpha1.UserInvitation) string { return string(inv.Spec.OrganizationRef.Name) })
}

// changedBindings names the organizations of the bindings, on both platforms, whose
// results differ.
func changedBindings(before, after *permissions.Platform, in, out permissions.Input) []string {
	return changedResults(in.Bindings, out.Bindings, before.Binding, after.Binding,
		func(b *v1alpha1.RoleBinding) string { return string(b.Spec.OrganizationRef.Name) })
}

// changedResults names the organizations (orgOf) of the objects of one kind, before and
// after, whose results differ.
func changedResults[O client.Object, R any](in, out []O, before, after func(string) (R, bool), orgOf func(O) string) []string {
	var orgs []string
	for _, o := range in {
		r1, ok1 := before(o.GetName())
		r2, ok2 := after(o.GetName())
		if !ok1 || !ok2 || reflect.DeepEqual(r1, r2) {
			continue
		}
		orgs = append(orgs, orgOf(o))
		for _, moved := range out {
			if moved.GetName() == o.GetName() {
				orgs = append(orgs, orgOf(moved))
			}
		}
	}
	return orgs
}

// platformChange is one change of a platform: what it is, the kind of object it
// changes, the object before and after (nil when deleted), and the platform after.
type platformChange struct {
	what, kind string
	old, new   client.Object
	after      permissions.Input
}

// changesOf lists changes of in: each binding deleted, moved to another role or
// organization, or made to hold there only; each invitation deleted, blocked or
// unblocked, accepted, or given other roles; each organization deleted, given another owner, default roles or
// parent; each role deleted, given more, nothing, any assignable role, any place to be
// bound, a deprecation or none; a role named before it exists (ghost) created;
// each tree without one of its paths.
func changesOf(in permissions.Input) []platformChange {
	var out []platformChange
	var orgNames, roleNames []string
	for _, o := range in.Organizations {
		orgNames = append(orgNames, o.Name)
	}
	for _, r := range in.Roles {
		roleNames = append(roleNames, r.Name)
	}

	for i, b := range in.Bindings {
		out = append(out, deletion(in, "RoleBinding", b, func(in *permissions.Input) { in.Bindings = slices.Delete(in.Bindings, i, i+1) }))
		edits := map[string]func(*v1alpha1.RoleBinding){
			"made to hold in its organization only": func(b *v1alpha1.RoleBinding) { b.Spec.Inheritance = v1alpha1.InheritanceNone },
		}
		if len(roleNames) > 0 {
			role := roleNames[i%len(roleNames)]
			edits["bound to role "+role] = func(b *v1alpha1.RoleBinding) { b.Spec.RoleRef.Name = v1alpha1.ObjectName(role) }
		}
		if len(orgNames) > 0 {
			org := orgNames[i%len(orgNames)]
			edits["moved to "+org] = func(b *v1alpha1.RoleBinding) { b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org) }
		}
		out = append(out, edited(in, "RoleBinding", b, edits, func(in *permissions.Input) *v1alpha1.RoleBinding { return in.Bindings[i] })...)
	}
	for i, inv := range in.Invitations {
		out = append(out, deletion(in, "UserInvitation", inv, func(in *permissions.Input) { in.Invitations = slices.Delete(in.Invitations, i, i+1) }))
		edits := map[string]func(*v1alpha1.UserInvitation){
			"blocked or unblocked": func(inv *v1alpha1.UserInvitation) { inv.Spec.Blocked = !inv.Spec.Blocked },
			"accepted": func(inv *v1alpha1.UserInvitation) {
				at := metav1.NewTime(inv.CreationTimestamp.Add(1))
				inv.Spec.AcceptedAt = &at
			},
			"naming no roles": func(inv *v1alpha1.UserInvitation) { inv.Spec.Roles = nil },
		}
		if len(roleNames) > 0 {
			role := roleNames[i%len(roleNames)]
			edits["naming role "+role] = func(inv *v1alpha1.UserInvitation) { inv.Spec.Roles = []v1alpha1.RoleName{v1alpha1.RoleName(role)} }
		}
		out = append(out, edited(in, "UserInvitation", inv, edits, func(in *permissions.Input) *v1alpha1.UserInvitation { return in.Invitations[i] })...)
	}
	for i, o := range in.Organizations {
		out = append(out, deletion(in, "Organization", o, func(in *permissions.Input) { in.Organizations = slices.Delete(in.Organizations, i, i+1) }))
		edits := map[string]func(*v1alpha1.Organization){
			"owned by another":      func(o *v1alpha1.Organization) { o.Spec.Owner = "a@x.example" },
			"without a parent":      func(o *v1alpha1.Organization) { o.Spec.ParentRef = nil },
			"without default roles": func(o *v1alpha1.Organization) { o.Spec.DefaultRoles = nil },
		}
		if len(roleNames) > 0 {
			role := roleNames[i%len(roleNames)]
			edits["defaulting to role "+role] = func(o *v1alpha1.Organization) { o.Spec.DefaultRoles = []v1alpha1.RoleName{v1alpha1.RoleName(role)} }
		}
		parent := orgNames[(i+1)%len(orgNames)]
		edits["moved under "+parent] = func(o *v1alpha1.Organization) {
			o.Spec.ParentRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(parent)}
		}
		out = append(out, edited(in, "Organization", o, edits, func(in *permissions.Input) *v1alpha1.Organization { return in.Organizations[i] })...)
	}
	for i, r := range in.Roles {
		out = append(out, deletion(in, "Role", r, func(in *permissions.Input) { in.Roles = slices.Delete(in.Roles, i, i+1) }))
		edits := map[string]func(*v1alpha1.Role){
			"granting one more permission": func(r *v1alpha1.Role) { r.Spec.Permissions = append(r.Spec.Permissions, "c/z") },
			"granting nothing":             func(r *v1alpha1.Role) { r.Spec.Permissions, r.Spec.Includes = nil, nil },
			"assigning any role":           func(r *v1alpha1.Role) { r.Spec.AssignableRoles = []v1alpha1.AssignableRole{v1alpha1.AnyRole} },
			"bound anywhere":               func(r *v1alpha1.Role) { r.Spec.OrganizationTypes, r.Spec.OrganizationRef = nil, nil },
			"no longer deprecated":         func(r *v1alpha1.Role) { r.Spec.Deprecation = nil },
		}
		replacement := roleNames[(i+1)%len(roleNames)]
		edits["deprecated for "+replacement] = func(r *v1alpha1.Role) {
			r.Spec.Deprecation = &v1alpha1.RoleDeprecation{Replacement: v1alpha1.RoleName(replacement), RemoveAfter: metav1.NewTime(r.CreationTimestamp.AddDate(1, 0, 0))}
		}
		out = append(out, edited(in, "Role", r, edits, func(in *permissions.Input) *v1alpha1.Role { return in.Roles[i] })...)
	}
	// A role that bindings and invitations name before it exists, created.
	ghost := &v1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ghost", Namespace: platformgen.Namespace}}
	ghost.Spec.Permissions = []v1alpha1.PermissionPattern{"a"}
	created := copyOfInput(in)
	created.Roles = append(created.Roles, ghost)
	out = append(out, platformChange{"creating Role ghost", "Role", nil, ghost, created})
	for i, tree := range in.Trees {
		for k, p := range tree.Spec.Permissions {
			after := copyOfInput(in)
			after.Trees[i].Spec.Permissions = slices.Delete(after.Trees[i].Spec.Permissions, k, k+1)
			out = append(out, platformChange{fmt.Sprintf("PermissionTree %s without %s", tree.Name, p.Path), "PermissionTree", tree, after.Trees[i], after})
		}
	}
	return out
}

// deletion is the change that deletes old, an object of kind in in, which remove takes
// out of a copy of in.
func deletion(in permissions.Input, kind string, old client.Object, remove func(*permissions.Input)) platformChange {
	after := copyOfInput(in)
	remove(&after)
	return platformChange{"deleting " + kind + " " + old.GetName(), kind, old, nil, after}
}

// edited returns a change for each of edits (by name, in name order) of old, an object
// of kind in in, each on its own copy of in, where nth finds the object to edit.
func edited[T client.Object](in permissions.Input, kind string, old T, edits map[string]func(T), nth func(*permissions.Input) T) []platformChange {
	var out []platformChange
	for _, what := range sortedKeys(edits) {
		after := copyOfInput(in)
		obj := nth(&after)
		edits[what](obj)
		out = append(out, platformChange{kind + " " + old.GetName() + " " + what, kind, old, obj, after})
	}
	return out
}
