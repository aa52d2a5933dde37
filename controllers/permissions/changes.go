package permissions

import (
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// Now returns the instant the platform was compiled for: its results hold at it.
func (p *Platform) Now() time.Time { return p.now }

// NextChange returns the earliest instant after now at which some result changes by
// time alone (invitation expiry, an acceptance recorded for a later instant, binding
// expiry, a deprecated role's removeAfter).
func (p *Platform) NextChange() (time.Time, bool) { return p.next.result() }

// nextChange computes NextChange once, when the platform is compiled: the invitations
// and bindings that are not settled by time alone ask for it too.
func (p *Platform) nextChange() soonest {
	next := p.removals()
	for i := range p.bindings {
		if t := p.bindings[i].expiresAt(); t != nil {
			next.consider(*t)
		}
	}
	for i := range p.invites {
		if inv := &p.invites[i]; inv.phase == v1alpha1.UserPhaseNew {
			next.consider(inv.expiresAt)
			if inv.acceptsAt != nil {
				next.consider(*inv.acceptsAt)
			}
		}
	}
	return next
}

// NextRoleChange returns the earliest instant after now at which a Role's result
// changes by time alone: a role's removeAfter. A role's result does not depend on
// binding or invitation expiries (boundUsers and usedBy count bindings and invitations
// whatever their state), so a controller that only needs roles' results need not
// recompute them at every expiry of a large platform.
func (p *Platform) NextRoleChange() (time.Time, bool) {
	next := p.removals()
	return next.result()
}

// NextBindingChange returns the earliest instant after now at which the named
// RoleBinding's result changes by time alone: its own expiry, the removeAfter of its
// role or of a role its grant comes through (an included role, a replacement, and
// theirs), and, when an invitation owns it whose phase is not settled (see
// NextInvitationChange), the platform's NextChange. ok is false when nothing changes
// it, or when the platform has no such binding.
//
// A deprecated role's removeAfter thus requeues only the bindings it concerns, not
// every binding of the platform at once.
func (p *Platform) NextBindingChange(name string) (time.Time, bool) {
	i, found := p.bindingIndex[name]
	if !found {
		return time.Time{}, false
	}
	return p.bindingChange(&p.bindings[i]).result()
}

// bindingChange is NextBindingChange of binding b.
func (p *Platform) bindingChange(b *binding) soonest {
	next := p.ownChange(b)
	if b.owner >= 0 && !p.invites[b.owner].settled {
		next.considerNext(p.next)
	}
	return next
}

// ownChange is when binding b's result changes by time whatever its owner: its expiry,
// the removeAfter of its role or of a role its grant comes through.
func (p *Platform) ownChange(b *binding) soonest {
	next := soonest{after: p.now}
	if t := b.expiresAt(); t != nil {
		next.consider(*t)
	}
	if b.role >= 0 {
		for _, t := range p.catalog.removals[b.role] {
			next.consider(t)
		}
	}
	return next
}

// grantChange bounds what binding b grants in a document (validUntil): its own change
// and, when an invitation owns it whose grant is not settled, the earliest change of
// what that invitation is judged on (ownerChange). Unlike bindingChange, which takes
// the platform's NextChange there, it depends only on bindings that every subset
// holding b holds too (InputFor takes every binding of each inviter), so a document
// has the same bytes from a subset and from the whole platform.
func (p *Platform) grantChange(b *binding) soonest {
	next := p.ownChange(b)
	if b.owner >= 0 && !p.invites[b.owner].settled {
		next.considerNext(p.ownerChange(b.owner, map[int32]bool{}))
	}
	return next
}

// ownerChange is the earliest change by time of what invitation i is judged on: the
// bindings of its inviter that reach its organization (an expiry, a role's removal,
// and, through their own unsettled owners, theirs). A trusted invitation (no inviter)
// is judged on nothing that changes by time. seen ends a cycle of invitations.
func (p *Platform) ownerChange(i int32, seen map[int32]bool) soonest {
	next := soonest{after: p.now}
	inv := &p.invites[i]
	if inv.invitedBy < 0 || inv.org < 0 || seen[i] {
		return next
	}
	seen[i] = true
	for _, bi := range p.users[inv.invitedBy].bindings {
		b := &p.bindings[bi]
		if !p.reaches(b, inv.org) {
			continue
		}
		next.considerNext(p.ownChange(b))
		if b.owner >= 0 && !p.invites[b.owner].settled {
			next.considerNext(p.ownerChange(b.owner, seen))
		}
	}
	return next
}

// NextInvitationChange returns the earliest instant after now at which the named
// UserInvitation's result changes by time alone. A blocked invitation, and one whose
// status records the grant it still asks for, are settled: their results do not depend
// on the time (ok is false). Any other is judged against what its inviter holds, and
// so, through the delegation fixpoint, against bindings' expiries and roles' removals
// anywhere on the platform, and a New one expires: it changes at the platform's
// NextChange. ok is false too when the platform has no such invitation.
//
// On a converged platform almost every invitation is settled, so only the few New or
// refused ones are requeued at every expiry of their subset.
func (p *Platform) NextInvitationChange(name string) (time.Time, bool) {
	i, found := p.inviteIndex[name]
	if !found || p.invites[i].settled {
		return time.Time{}, false
	}
	return p.NextChange()
}

// removals is the earliest removeAfter of any role after now, to consider more instants.
func (p *Platform) removals() soonest {
	next := soonest{after: p.now}
	for i := range p.roles {
		if d := p.roles[i].spec.Deprecation; d != nil {
			next.consider(d.RemoveAfter.Time)
		}
	}
	return next
}

// soonest keeps the earliest of the instants it considers that are after after.
type soonest struct {
	after, at time.Time
}

func (s *soonest) consider(t time.Time) {
	if t.After(s.after) && (s.at.IsZero() || t.Before(s.at)) {
		s.at = t
	}
}

func (s soonest) result() (time.Time, bool) { return s.at, !s.at.IsZero() }

// considerNext considers the instant another soonest found, if any.
func (s *soonest) considerNext(o soonest) {
	if !o.at.IsZero() {
		s.consider(o.at)
	}
}

// AffectedOrganizations returns, sorted, the organizations whose documents may change
// when the named object changes or is deleted, judged on this platform. Callers union
// the answers of the platform before and after a change.
//
// A PermissionTree or a Role may change any permission set, so every organization. A
// RoleBinding or UserInvitation changes where it reaches, and, because a user's status
// is platform-wide and an inviter's access decides their invitations, every
// organization where its user, or anyone they invited (transitively), appears. An
// Organization changes its subtree, and, through its owner, the invitations into it;
// the organization of a custom role changes everything, as the role does.
func (p *Platform) AffectedOrganizations(ref ObjectRef) []string {
	affected := newBitset(len(p.orgs))
	switch ref.Kind {
	case "PermissionTree", "Role":
		return p.Organizations()
	case "Organization":
		for i := range p.roles {
			if c := p.roles[i].spec.OrganizationRef; c != nil && string(c.Name) == ref.Name {
				// A custom role's readiness depends on its organization, and roles
				// anywhere may include it.
				return p.Organizations()
			}
		}
		o, ok := p.orgIndex[ref.Name]
		if !ok {
			return nil
		}
		p.markSubtree(affected, o)
		var users []int32
		for i := range p.invites {
			if inv := &p.invites[i]; inv.org >= 0 && p.inSubtree(inv.org, o) {
				users = append(users, inv.user)
			}
		}
		p.markUsers(affected, users)
	case "RoleBinding":
		b, ok := p.bindingIndex[ref.Name]
		if !ok {
			return nil
		}
		if o := p.bindings[b].org; o >= 0 {
			if p.bindings[b].subtree {
				p.markSubtree(affected, o)
			} else {
				affected.set(int(o))
			}
		}
		p.markUsers(affected, []int32{p.bindings[b].user})
	case "UserInvitation":
		i, ok := p.inviteIndex[ref.Name]
		if !ok {
			return nil
		}
		if o := p.invites[i].org; o >= 0 {
			p.markSubtree(affected, o)
		}
		p.markUsers(affected, []int32{p.invites[i].user})
	default:
		return nil
	}
	var out []string
	affected.each(func(i int) { out = append(out, p.orgs[i].name) })
	return out
}

// markSubtree marks organization o and its descendants.
func (p *Platform) markSubtree(marks bitset, o int32) {
	marks.set(int(o))
	for _, c := range p.orgs[o].children {
		p.markSubtree(marks, c)
	}
}

// markUsers marks every organization where the users, or anyone they invited
// (transitively), appear.
func (p *Platform) markUsers(marks bitset, users []int32) {
	seen := map[int32]bool{}
	for len(users) > 0 {
		u := users[len(users)-1]
		users = users[:len(users)-1]
		if seen[u] {
			continue
		}
		seen[u] = true
		us := &p.users[u]
		for _, bi := range us.bindings {
			b := &p.bindings[bi]
			switch {
			case b.org < 0:
			case b.subtree:
				p.markSubtree(marks, b.org)
			default:
				marks.set(int(b.org))
			}
		}
		for _, ii := range us.invitations {
			if o := p.invites[ii].org; o >= 0 {
				p.markSubtree(marks, o)
			}
		}
		for _, ii := range us.invited {
			users = append(users, p.invites[ii].user)
		}
	}
}
