package permissions

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// Platform is a compiled, immutable view of one platform at one instant. It is safe for
// concurrent use: the only state written after Compile is a cache of rendered
// permission sets, behind a mutex.
type Platform struct {
	now time.Time

	// The compiled trees and roles, perhaps shared with other platforms (Compiler), and
	// its parts, for brevity.
	catalog  *catalog
	universe *universe
	features *features
	trees    map[string]TreeResult

	orgs      []org
	orgIndex  map[string]int32
	roles     []role
	roleIndex map[string]int32
	users     []user // sorted by email, so sorting user ids sorts emails
	userIndex map[string]int32

	bindings     []binding
	bindingIndex map[string]int32
	invites      []invitation
	inviteIndex  map[string]int32

	next soonest // NextChange

	cache renderCache
}

// An index field that holds a spec's reference to another object (an organization's
// parent, a binding's owner, a role's replacement) is the object's index, or one of:
const (
	refNone    int32 = -1 // the spec names no object
	refMissing int32 = -2 // the spec names an object that does not exist
)

// resolve is what a reference to name resolves to in index: the object's index, or
// refMissing.
func resolve(index map[string]int32, name string) int32 {
	if j, ok := index[name]; ok {
		return j
	}
	return refMissing
}

// Compile builds the platform's indexes. It never fails: every problem of the input
// becomes a condition on the object at fault.
func Compile(in Input, now time.Time) *Platform {
	return (*Compiler)(nil).Compile(in, now)
}

// compile builds a platform of in's organizations, bindings and invitations on the
// catalog of its trees and roles.
func compile(in Input, cat *catalog, now time.Time) *Platform {
	p := &Platform{now: now, catalog: cat, universe: &cat.universe, features: &cat.features, trees: cat.trees, roleIndex: cat.roleIndex}
	p.cache.init()
	orgs := uniqueByName(in.Organizations, func(o *v1alpha1.Organization) string { return o.Name })
	bindings := uniqueByName(in.Bindings, func(b *v1alpha1.RoleBinding) string { return b.Name })
	invites := uniqueByName(in.Invitations, func(i *v1alpha1.UserInvitation) string { return i.Name })

	p.internUsers(orgs, bindings, invites)
	p.compileForest(orgs)
	p.compileRoles()
	p.compileInvitations(invites)
	p.compileBindings(bindings)
	p.decideInvitations()
	p.finishBindings()
	p.next = p.nextChange()
	return p
}

// uniqueByName returns the objects sorted by name, keeping one object per name (a
// namespace cannot hold two; given them anyway, the engine keeps the first in input
// order rather than fail) and skipping nil entries. The objects are not copied.
//
// The sort is not stable: a stable sort of the 280,000 objects a namespace-wide gather
// lists in the informer's (random) order took half of the Role snapshot's compile
// (docs/performance.md). Only objects of the same name could come out in another
// order, so when the sorted objects hold such a pair, they are sorted again, stably.
func uniqueByName[T any](objs []*T, name func(*T) string) []*T {
	byName := func(a, b *T) int { return strings.Compare(name(a), name(b)) }
	sameName := func(a, b *T) bool { return name(a) == name(b) }
	out := nonNil(objs)
	slices.SortFunc(out, byName)
	if hasAdjacent(out, sameName) {
		// A stable sort keeps same-named objects in input order, so compacting keeps the first.
		out = nonNil(objs)
		slices.SortStableFunc(out, byName)
	}
	return slices.CompactFunc(out, sameName)
}

// nonNil returns a new slice of objs' entries that are not nil.
func nonNil[T any](objs []*T) []*T {
	out := make([]*T, 0, len(objs))
	for _, o := range objs {
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

// hasAdjacent reports whether two neighbours of s are equal by eq.
func hasAdjacent[T any](s []T, eq func(a, b T) bool) bool {
	for i := 1; i < len(s); i++ {
		if eq(s[i-1], s[i]) {
			return true
		}
	}
	return false
}

// Organizations returns the names of every organization, sorted.
func (p *Platform) Organizations() []string {
	names := make([]string, len(p.orgs))
	for i := range p.orgs {
		names[i] = p.orgs[i].name
	}
	return names
}

// Organization returns the result for one Organization.
func (p *Platform) Organization(name string) (OrganizationResult, bool) {
	i, ok := p.orgIndex[name]
	if !ok {
		return OrganizationResult{}, false
	}
	o := &p.orgs[i]
	res := OrganizationResult{
		Path:       slices.Clone(o.path),
		Depth:      int32(len(o.path) - 1),
		Conditions: []Condition{p.readyOf(o)},
	}
	for _, u := range p.orgUsers(i, false) { // statuses only
		switch u.status {
		case v1alpha1.UserPhaseNew:
			res.Users.New++
		case v1alpha1.UserPhaseActive:
			res.Users.Active++
		case v1alpha1.UserPhaseBlocked:
			res.Users.Blocked++
		case v1alpha1.UserPhaseExpired:
			res.Users.Expired++
		case v1alpha1.UserPhaseRejected:
			res.Users.Rejected++
		}
	}
	return res, true
}

// Tree returns the result for one PermissionTree.
func (p *Platform) Tree(name string) (TreeResult, bool) {
	t, ok := p.trees[name]
	if !ok {
		return TreeResult{}, false
	}
	t.Conditions = slices.Clone(t.Conditions)
	return t, true
}

// Role returns the result for one Role.
func (p *Platform) Role(name string) (RoleResult, bool) {
	i, ok := p.roleIndex[name]
	if !ok {
		return RoleResult{}, false
	}
	granting := p.invitationsByRole()
	return p.roleResult(i, granting[i], p.goingTogether(granting), 0), true
}

// Roles returns the result of every role, by name, each as Role returns it except
// that UsedBy holds only its first usedBy entries (usedBy <= 0: all of them). It costs
// about what one Role call does, where a Role call per role scans the platform's
// invitations once per role and lists every binding of each: a controller that keeps
// every role's status of a large platform computes them together.
func (p *Platform) Roles(usedBy int) map[string]RoleResult {
	granting := p.invitationsByRole()
	going := p.goingTogether(granting)
	out := make(map[string]RoleResult, len(p.roles))
	for i := range p.roles {
		out[p.roles[i].name] = p.roleResult(int32(i), granting[i], going, usedBy)
	}
	return out
}

// Binding returns the result for one RoleBinding.
func (p *Platform) Binding(name string) (BindingResult, bool) {
	i, ok := p.bindingIndex[name]
	if !ok {
		return BindingResult{}, false
	}
	b := &p.bindings[i]
	return BindingResult{Ready: b.grants, Conditions: p.bindingConditions(b)}, true
}

// Invitation returns the result for one UserInvitation.
func (p *Platform) Invitation(name string) (InvitationResult, bool) {
	i, ok := p.inviteIndex[name]
	if !ok {
		return InvitationResult{}, false
	}
	return p.invitationResult(i), true
}

// renderCache holds the rendered grants of combinations of roles, shared by every
// document of the platform: the users of a platform hold few distinct combinations.
// (The permission sets they render to are the catalog's: setCache.)
type renderCache struct {
	mu      sync.RWMutex
	byRoles map[string]*grantSet // key: sorted role ids
}

func (c *renderCache) init() {
	c.byRoles = map[string]*grantSet{}
}
