package permissions

import (
	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// InputFor returns the subset of a platform that organization org's document depends
// on (see the package documentation), so that one organization can be recomputed
// without compiling the whole platform: compiling the subset gives org the same
// document, byte for byte, as compiling everything.
func InputFor(in Input, org string) Input {
	orgs := map[string]*v1alpha1.Organization{}
	for _, o := range in.Organizations {
		if o != nil {
			orgs[o.Name] = o
		}
	}
	included := map[string]bool{} // organizations in the subset, or looked for
	var out Input
	out.Trees, out.Roles = in.Trees, in.Roles
	addChain := func(name string) {
		for !included[name] {
			included[name] = true
			o, ok := orgs[name]
			if !ok {
				return
			}
			out.Organizations = append(out.Organizations, o)
			if o.Spec.ParentRef == nil {
				return
			}
			name = string(o.Spec.ParentRef.Name)
		}
	}
	addChain(org)
	chain := map[string]bool{}
	for name := range included {
		chain[name] = true
	}
	// A custom role is Ready only while its organization exists.
	for _, r := range in.Roles {
		if r != nil && r.Spec.OrganizationRef != nil {
			addChain(string(r.Spec.OrganizationRef.Name))
		}
	}
	// The users who appear: bound or invited in the organization or an ancestor.
	users := map[v1alpha1.Email]bool{}
	for _, b := range in.Bindings {
		if b != nil && chain[string(b.Spec.OrganizationRef.Name)] {
			users[b.Spec.Subject.Email.Canonical()] = true
		}
	}
	for _, inv := range in.Invitations {
		if inv != nil && chain[string(inv.Spec.OrganizationRef.Name)] {
			users[inv.Spec.Email.Canonical()] = true
		}
	}
	// Their status depends on every invitation of theirs (a block anywhere, an Active
	// invitation anywhere), each invitation's phase on its inviter's access where it
	// invites, and so on: close over inviters, and bring in each invitation's
	// organization with its ancestors (owners may delegate below them).
	for changed := true; changed; {
		changed = false
		for _, inv := range in.Invitations {
			if inv == nil || !users[inv.Spec.Email.Canonical()] {
				continue
			}
			if !included[string(inv.Spec.OrganizationRef.Name)] {
				addChain(string(inv.Spec.OrganizationRef.Name))
				changed = true
			}
			if inv.Spec.InvitedBy != "" && !users[inv.Spec.InvitedBy.Canonical()] {
				users[inv.Spec.InvitedBy.Canonical()] = true
				changed = true
			}
		}
	}
	for _, b := range in.Bindings {
		if b != nil && users[b.Spec.Subject.Email.Canonical()] {
			out.Bindings = append(out.Bindings, b)
		}
	}
	for _, inv := range in.Invitations {
		if inv != nil && users[inv.Spec.Email.Canonical()] {
			out.Invitations = append(out.Invitations, inv)
		}
	}
	return out
}
