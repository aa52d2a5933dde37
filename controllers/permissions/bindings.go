package permissions

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// binding is one RoleBinding, resolved. What only messages and look-ups by name read
// (its names, its expiry, its owner's name) is read from the RoleBinding it was compiled
// from, which does not change while the platform is in use (Input): a copy of four
// strings and a time made each binding 112 bytes instead of 32, and a status reconcile
// compiles its organization's subset of a few hundred bindings every time.
type binding struct {
	src  *v1alpha1.RoleBinding
	user int32
	role int32 // refMissing when the role does not exist
	org  int32 // refMissing when the organization does not exist
	// owner is the UserInvitation the binding was created for: refNone when managed
	// outside, refMissing when that invitation no longer exists.
	owner   int32
	faults  bindingFault // problems that do not depend on invitations' phases
	subtree bool
	grants  bool // Ready: the binding grants its role
}

func (b *binding) name() string     { return b.src.Name }
func (b *binding) roleName() string { return string(b.src.Spec.RoleRef.Name) }
func (b *binding) orgName() string  { return string(b.src.Spec.OrganizationRef.Name) }

// expiresAt is the binding's expiry, nil when it does not expire.
func (b *binding) expiresAt() *time.Time {
	if e := b.src.Spec.ExpiresAt; e != nil {
		return &e.Time
	}
	return nil
}

// ownerName is the name of the UserInvitation the binding was created for, "" for a
// binding managed outside (InvitationOwner).
func (b *binding) ownerName() string {
	name, _ := InvitationOwner(b.src)
	return name
}

// InvitationOwner returns the name of the UserInvitation that owns rb, if one does: its
// first owner reference of that kind in this API group, of any version, controller or
// not. It is the one test of "a binding an invitation owns": the engine grants such a
// binding only while that invitation does, and the controllers map and count it by the
// same rule.
func InvitationOwner(rb *v1alpha1.RoleBinding) (string, bool) {
	for _, ref := range rb.OwnerReferences {
		if ref.Kind == invitationKind && strings.HasPrefix(ref.APIVersion, v1alpha1.GroupVersion.Group+"/") {
			return ref.Name, true
		}
	}
	return "", false
}

// ManagedOutside says whether a binding is managed outside orgaccess: no UserInvitation
// owns it. Such a binding makes its subject Active on the whole platform, whatever it
// grants (DESIGN.md, UserInvitation).
func ManagedOutside(rb *v1alpha1.RoleBinding) bool {
	_, owned := InvitationOwner(rb)
	return !owned
}

// bindingFault flags a problem of a binding that does not depend on invitations. Flags,
// not messages: most bindings of a subset compiled for one organization point at
// organizations outside it, and formatting their messages would dominate the compile.
type bindingFault uint16

const (
	faultOrganizationNotFound bindingFault = 1 << iota
	faultRoleNotFound
	faultRoleNotReady
	faultRoleNotApplicable
	faultRemoved
	faultExpired
	faultSubjectBlocked
)

// invitationKind is the kind of the owner reference of a binding an invitation created.
const invitationKind = "UserInvitation"

// holdsInSubtree says whether a binding with this inheritance holds in its
// organization's descendants: Subtree, the default, does. A value the schema refuses
// (an object stored before its admission, or restored around it) is taken as None, the
// narrower: the engine never trusts that admission ran, and fails closed.
func holdsInSubtree(i v1alpha1.Inheritance) bool {
	return i == "" || i == v1alpha1.InheritanceSubtree
}

// compileBindings resolves each binding's references and the checks that do not depend
// on invitations: role and organization exist, the role is Ready and applicable where
// bound, not removed without replacement, not expired, the subject not blocked.
func (p *Platform) compileBindings(bindings []*v1alpha1.RoleBinding) {
	p.bindings = make([]binding, len(bindings))
	p.bindingIndex = make(map[string]int32, len(bindings))
	for i, in := range bindings {
		id := int32(i)
		p.bindingIndex[in.Name] = id
		b := &p.bindings[i]
		*b = binding{
			src:     in,
			user:    p.userID(in.Spec.Subject.Email),
			role:    refMissing,
			org:     refMissing,
			subtree: holdsInSubtree(in.Spec.Inheritance),
			owner:   refNone,
		}
		if owner, ok := InvitationOwner(in); ok {
			b.owner = resolve(p.inviteIndex, owner)
		}
		u := &p.users[b.user]
		u.bindings = append(u.bindings, id)
		if b.owner == refNone {
			u.active = true // a binding managed outside makes its subject Active
		}
		if j, ok := p.orgIndex[b.orgName()]; ok {
			b.org = j
			p.orgs[j].bindings = append(p.orgs[j].bindings, id)
		} else {
			b.faults |= faultOrganizationNotFound
		}
		if j, ok := p.roleIndex[b.roleName()]; ok {
			b.role = j
			p.roles[j].bindings = append(p.roles[j].bindings, id)
			r := &p.roles[j]
			switch {
			case !r.ready:
				b.faults |= faultRoleNotReady
			case r.removedForGood():
				b.faults |= faultRemoved
			}
			if b.org >= 0 && p.notApplicable(j, b.org) != "" {
				b.faults |= faultRoleNotApplicable
			}
		} else {
			b.faults |= faultRoleNotFound
		}
		if t := b.expiresAt(); t != nil && !p.now.Before(*t) {
			b.faults |= faultExpired
		}
		if u.blocked {
			b.faults |= faultSubjectBlocked
		}
	}
}

// bindingGrants reports whether binding b grants its role, given the invitations'
// phases as decided so far: a binding an invitation created grants only while that
// invitation is Active and lists the role among its granted roles, so access is
// withdrawn at once, before the controllers get round to deleting the binding.
func (p *Platform) bindingGrants(b *binding) bool {
	if b.faults != 0 || b.owner == refMissing {
		return false
	}
	if b.owner == refNone {
		return true
	}
	inv := &p.invites[b.owner]
	return inv.phase == v1alpha1.UserPhaseActive && grantedBy(b, inv)
}

// grantedBy says whether invitation inv grants what its binding b says: b's role, to
// inv's user, in inv's organization, and in its subtree only if the grant holds there.
// The invitation controller renders its bindings so; a binding that only claims the
// invitation as owner (written by hand, or edited) grants nothing it does not.
func grantedBy(b *binding, inv *invitation) bool {
	return grantsRoleTo(b, inv) && (!b.subtree || !inv.grantedHere)
}

// grantsRoleTo says whether invitation inv grants b's role to b's user in b's
// organization, wherever b holds.
func grantsRoleTo(b *binding, inv *invitation) bool {
	return b.user == inv.user && b.orgName() == inv.orgName && slices.Contains(inv.granted, b.roleName())
}

// finishBindings decides each binding's Ready once invitations' phases are known.
func (p *Platform) finishBindings() {
	for i := range p.bindings {
		p.bindings[i].grants = p.bindingGrants(&p.bindings[i])
	}
}

// bindingConditions renders a binding's conditions. They are rendered on demand, not in
// Compile: a platform has hundreds of thousands of bindings and most callers ask about
// a few.
func (p *Platform) bindingConditions(b *binding) []Condition {
	problems := p.bindingFaults(b)
	switch {
	case b.owner == refMissing:
		problems = append(problems, problem{v1alpha1.ReasonInvitationNotActive,
			fmt.Sprintf("the binding belongs to invitation %s, which does not exist", b.ownerName())})
	case b.owner >= 0:
		inv := &p.invites[b.owner]
		if inv.phase != v1alpha1.UserPhaseActive {
			problems = append(problems, problem{v1alpha1.ReasonInvitationNotActive,
				fmt.Sprintf("the binding belongs to invitation %s, which is %s", inv.name, inv.phase)})
		} else if !slices.Contains(inv.granted, b.roleName()) {
			problems = append(problems, problem{v1alpha1.ReasonRoleNotGranted,
				fmt.Sprintf("invitation %s does not grant role %s", inv.name, b.roleName())})
		} else if !grantsRoleTo(b, inv) {
			problems = append(problems, problem{v1alpha1.ReasonRoleNotGranted,
				fmt.Sprintf("invitation %s grants role %s to %s in %s, not to %s in %s",
					inv.name, b.roleName(), p.users[inv.user].email, inv.orgName, p.users[b.user].email, b.orgName())})
		} else if !grantedBy(b, inv) {
			problems = append(problems, problem{v1alpha1.ReasonRoleNotGranted,
				fmt.Sprintf("invitation %s grants role %s in %s only (grantedInheritance None), and the binding holds in its subtree",
					inv.name, b.roleName(), inv.orgName)})
		}
	}
	where := "and its subtree"
	if !b.subtree {
		where = "only"
	}
	conditions := []Condition{readyCondition(
		fmt.Sprintf("role %s granted to %s in %s %s", b.roleName(), p.users[b.user].email, b.orgName(), where), problems)}
	if b.role >= 0 {
		if c, ok := p.deprecatedCondition(b.role); ok {
			conditions = append(conditions, c)
		}
	}
	return conditions
}

// bindingFaults renders a binding's faults as problems.
func (p *Platform) bindingFaults(b *binding) []problem {
	var problems []problem
	if b.faults&faultOrganizationNotFound != 0 {
		problems = append(problems, problem{v1alpha1.ReasonOrganizationNotFound, fmt.Sprintf("organization %s does not exist", b.orgName())})
	}
	if b.faults&faultRoleNotFound != 0 {
		problems = append(problems, problem{v1alpha1.ReasonRoleNotFound, fmt.Sprintf("role %s does not exist", b.roleName())})
	}
	if b.faults&faultRoleNotReady != 0 {
		problems = append(problems, problem{v1alpha1.ReasonRoleNotReady, fmt.Sprintf("role %s is not Ready", b.roleName())})
	}
	if b.faults&faultRemoved != 0 {
		problems = append(problems, problem{v1alpha1.ReasonRemoved,
			fmt.Sprintf("role %s was removed and has no replacement that grants anything", b.roleName())})
	}
	if b.faults&faultRoleNotApplicable != 0 {
		problems = append(problems, problem{v1alpha1.ReasonRoleNotApplicable, p.notApplicable(b.role, b.org)})
	}
	if b.faults&faultExpired != 0 {
		problems = append(problems, problem{v1alpha1.ReasonExpired,
			fmt.Sprintf("the binding expired at %s", b.expiresAt().UTC().Format(time.RFC3339))})
	}
	if b.faults&faultSubjectBlocked != 0 {
		problems = append(problems, problem{v1alpha1.ReasonSubjectBlocked, fmt.Sprintf("user %s is blocked on the platform", p.users[b.user].email)})
	}
	return problems
}
