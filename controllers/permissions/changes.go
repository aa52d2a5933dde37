package permissions

import (
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// NextChange returns the earliest instant after now at which some result changes by
// time alone (invitation expiry, binding expiry, a deprecated role's removeAfter).
func (p *Platform) NextChange() (time.Time, bool) {
	next := p.removals()
	for i := range p.bindings {
		if t := p.bindings[i].expiresAt; t != nil {
			next.consider(*t)
		}
	}
	for i := range p.invites {
		if p.invites[i].phase == v1alpha1.UserPhaseNew {
			next.consider(p.invites[i].expiresAt)
		}
	}
	return next.result()
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
// RoleBinding's result changes by time alone: its own expiry, any role's removeAfter
// (its role's, or that of a role its grant comes through), or the expiry of the
// invitation that owns it while that invitation is New. ok is false when nothing
// changes it, or when the platform has no such binding.
func (p *Platform) NextBindingChange(name string) (time.Time, bool) {
	i, found := p.bindingIndex[name]
	if !found {
		return time.Time{}, false
	}
	b := &p.bindings[i]
	next := p.removals()
	if b.expiresAt != nil {
		next.consider(*b.expiresAt)
	}
	if b.owner >= 0 && p.invites[b.owner].phase == v1alpha1.UserPhaseNew {
		next.consider(p.invites[b.owner].expiresAt)
	}
	return next.result()
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
