package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// scenario is one incremental change to a converged platform. prepare changes the
// harness's copy of the platform and returns the write that makes the same change on
// the apiserver; it picks its target from what the documents show (exp), so each
// scenario touches the share of the platform the issue names whatever the size.
type scenario struct {
	name     string
	ownWrite string // the resource the harness's own write counts under
	prepare  func(in *permissions.Input, exp expectation) (describe string, write func(context.Context, client.Client) error, err error)
}

var scenarios = []scenario{
	{name: "one binding added", ownWrite: "rolebindings", prepare: addBinding("scale-added-binding", "scale-added")},
	{name: "role edited", ownWrite: "roles", prepare: editRole},
	{name: "seller re-parented", ownWrite: "organizations", prepare: reparentSeller},
	{name: "user blocked", ownWrite: "userinvitations", prepare: blockUser},
}

// patch writes the change from before to obj as a merge patch: the manager writes
// statuses all along, so the harness's copy rarely holds the current resourceVersion.
func patch(obj, before client.Object) func(context.Context, client.Client) error {
	return func(ctx context.Context, c client.Client) error {
		if err := c.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
			return fmt.Errorf("patch %T %s: %w", obj, obj.GetName(), err)
		}
		return nil
	}
}

// addBinding binds a new user, user@<customer>.example, to a customer-level role in one
// customer with a RoleBinding called name: one document should change.
func addBinding(name, user string) func(in *permissions.Input, _ expectation) (string, func(context.Context, client.Client) error, error) {
	return func(in *permissions.Input, _ expectation) (string, func(context.Context, client.Client) error, error) {
		return bindNewUser(in, name, user)
	}
}

func bindNewUser(in *permissions.Input, name, user string) (string, func(context.Context, client.Client) error, error) {
	org := ""
	for _, o := range in.Organizations {
		if o.Spec.Type == v1alpha1.OrganizationTypeCustomer {
			org = o.Name
			break
		}
	}
	role := ""
	for _, r := range in.Roles {
		if len(r.Spec.OrganizationTypes) == 0 && r.Spec.OrganizationRef == nil && r.Spec.Deprecation == nil && len(r.Spec.Permissions) > 0 {
			role = r.Name
			break
		}
	}
	if org == "" || role == "" {
		return "", nil, fmt.Errorf("no customer or unrestricted role to bind")
	}
	b := &v1alpha1.RoleBinding{}
	b.Name, b.Namespace = name, platformgen.Namespace
	b.Spec.Subject.Email = v1alpha1.Email(user + "@" + org + ".example")
	b.Spec.RoleRef.Name = v1alpha1.ObjectName(role)
	b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org)
	b.Spec.Inheritance = v1alpha1.InheritanceSubtree
	in.Bindings = append(in.Bindings, b)
	return fmt.Sprintf("RoleBinding %s: %s holds %s in %s", b.Name, b.Spec.Subject.Email, role, org),
		func(ctx context.Context, c client.Client) error { return c.Create(ctx, b) }, nil
}

// editRole grants one more permission to the role listed in the most documents (one
// that does not already grant everything).
func editRole(in *permissions.Input, exp expectation) (string, func(context.Context, client.Client) error, error) {
	best := -1
	for i, r := range in.Roles {
		if slices.Contains(r.Spec.Permissions, "*") {
			continue
		}
		if best < 0 || exp.roleReach[r.Name] > exp.roleReach[in.Roles[best].Name] {
			best = i
		}
	}
	if best < 0 {
		return "", nil, fmt.Errorf("no role to edit")
	}
	role := in.Roles[best]
	before := role.DeepCopy()
	var added v1alpha1.PermissionPattern
	for _, t := range in.Trees {
		for _, p := range t.Spec.Permissions {
			if pattern := v1alpha1.PermissionPattern(p.Path); added == "" && !slices.Contains(role.Spec.Permissions, pattern) {
				added = pattern
			}
		}
	}
	role.Spec.Permissions = append(role.Spec.Permissions, added)
	return fmt.Sprintf("Role %s (in %d documents) also grants %s", role.Name, exp.roleReach[role.Name], added),
		patch(role, before), nil
}

// reparentSeller moves the seller with the most customers to the root: its subtree
// stops inheriting the distributor's grants.
func reparentSeller(in *permissions.Input, _ expectation) (string, func(context.Context, client.Client) error, error) {
	children := map[string]int{}
	for _, o := range in.Organizations {
		if o.Spec.ParentRef != nil {
			children[string(o.Spec.ParentRef.Name)]++
		}
	}
	best := -1
	for i, o := range in.Organizations {
		if o.Spec.Type != v1alpha1.OrganizationTypeSeller || o.Spec.ParentRef == nil {
			continue
		}
		if best < 0 || children[o.Name] > children[in.Organizations[best].Name] {
			best = i
		}
	}
	if best < 0 {
		return "", nil, fmt.Errorf("no seller under a distributor")
	}
	seller := in.Organizations[best]
	before := seller.DeepCopy()
	from := seller.Spec.ParentRef.Name
	seller.Spec.ParentRef = nil
	return fmt.Sprintf("Organization %s (%d customers) moved from %s to the root", seller.Name, children[seller.Name], from),
		patch(seller, before), nil
}

// blockUser blocks the Active seller-level user listed in the most documents: the
// administrator of a seller, who reaches all its customers.
func blockUser(in *permissions.Input, exp expectation) (string, func(context.Context, client.Client) error, error) {
	orgType := map[string]v1alpha1.OrganizationType{}
	for _, o := range in.Organizations {
		orgType[o.Name] = o.Spec.Type
	}
	best := -1
	reach := func(i int) int { return exp.userReach[string(in.Invitations[i].Spec.Email)] }
	for i, inv := range in.Invitations {
		if inv.Status.Phase != v1alpha1.UserPhaseActive || inv.Spec.Blocked ||
			orgType[string(inv.Spec.OrganizationRef.Name)] != v1alpha1.OrganizationTypeSeller {
			continue
		}
		if best < 0 || cmp.Or(cmp.Compare(reach(i), reach(best)), cmp.Compare(in.Invitations[best].Name, inv.Name)) > 0 {
			best = i
		}
	}
	if best < 0 {
		return "", nil, fmt.Errorf("no active seller-level invitation")
	}
	inv := in.Invitations[best]
	before := inv.DeepCopy()
	inv.Spec.Blocked = true
	return fmt.Sprintf("UserInvitation %s: %s (in %d documents) blocked", inv.Name, inv.Spec.Email, reach(best)),
		patch(inv, before), nil
}

// unbindLastOrganization deletes a RoleBinding of the organization last by name
// (seller-99 on the full platform, whose bindings reach its subtree): one written
// directly, not by an invitation (whose reconciler would bind again), whose user holds
// no other binding there, so that its organization's document changes. It returns the
// organizations whose documents the binding reached: its organization's subtree.
func unbindLastOrganization(in *permissions.Input) (describe string, reached map[string]bool, write func(context.Context, client.Client) error, err error) {
	orgAndUser := func(b *v1alpha1.RoleBinding) [2]string {
		return [2]string{string(b.Spec.OrganizationRef.Name), string(b.Spec.Subject.Email)}
	}
	held := map[[2]string]int{} // bindings per organization and user
	for _, b := range in.Bindings {
		held[orgAndUser(b)]++
	}
	best := -1
	for i, b := range in.Bindings {
		if len(b.OwnerReferences) > 0 || b.Labels[v1alpha1.InvitationLabel] != "" || held[orgAndUser(b)] > 1 {
			continue
		}
		if best < 0 || cmp.Or(cmp.Compare(b.Spec.OrganizationRef.Name, in.Bindings[best].Spec.OrganizationRef.Name),
			cmp.Compare(b.Name, in.Bindings[best].Name)) > 0 {
			best = i
		}
	}
	if best < 0 {
		return "", nil, nil, fmt.Errorf("no RoleBinding outside an invitation to delete")
	}
	b := in.Bindings[best]
	in.Bindings = slices.Concat(in.Bindings[:best], in.Bindings[best+1:]) // a new array: copies of in share the old one
	return fmt.Sprintf("RoleBinding %s deleted: %s no longer holds %s in %s", b.Name, b.Spec.Subject.Email, b.Spec.RoleRef.Name, b.Spec.OrganizationRef.Name),
		subtree(in, string(b.Spec.OrganizationRef.Name)),
		func(ctx context.Context, c client.Client) error {
			if err := c.Delete(ctx, b); err != nil {
				return fmt.Errorf("delete RoleBinding %s: %w", b.Name, err)
			}
			return nil
		}, nil
}

// subtree returns root and every organization below it.
func subtree(in *permissions.Input, root string) map[string]bool {
	children := map[string][]string{}
	for _, o := range in.Organizations {
		if o.Spec.ParentRef != nil {
			parent := string(o.Spec.ParentRef.Name)
			children[parent] = append(children[parent], o.Name)
		}
	}
	out := map[string]bool{}
	for next := []string{root}; len(next) > 0; {
		org := next[len(next)-1]
		next = next[:len(next)-1]
		if !out[org] {
			out[org] = true
			next = append(next, children[org]...)
		}
	}
	return out
}
