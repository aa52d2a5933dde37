package permissions

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// role is one Role, resolved. The catalog fills the fields that depend on the Roles and
// PermissionTrees alone; each Platform copies them and fills the rest, sharing the
// catalog's slices and bitsets, which neither modifies.
type role struct {
	// From the catalog.
	name        string
	spec        *v1alpha1.RoleSpec
	deleting    bool
	includes    []int32 // included roles that exist
	own         bitset  // the role's own permissions, expanded
	ownFeat     bitset
	types       []v1alpha1.OrganizationType
	assignable  bitset // roles named in assignableRoles
	assignAny   bool   // "*" in assignableRoles
	replacement int32  // refNone, refMissing or the replacement role

	// The catalog's problems (missing includes, unknown permissions, include cycles),
	// then the platform's own.
	problems []problem

	// The platform's.
	customOrg int32 // organizationRef: refNone, refMissing or the organization
	removed   bool  // deprecated and now at or past removeAfter
	ready     bool

	// What a binding to the role grants now (see removedForGood): the least fixpoint of
	// grant(r) = own(r) ∪ grant(includes) before removal, grant(replacement) after.
	grant     bitset
	grantFeat bitset
	held      bitset // roles a binding to this role holds (itself and its includes)
	// assignable and assignAny over every held role: what a holder may assign.
	mayAssign    bitset
	mayAssignAny bool

	bindings []int32 // RoleBindings to this role
}

// removedForGood says whether a binding to a Ready role grants nothing because the role
// is removed and no replacement passes anything on: it has none, or the replacement
// grants nothing itself.
func (r *role) removedForGood() bool {
	return r.ready && r.removed && (r.replacement < 0 || r.grant.empty() && r.grantFeat.empty())
}

// features numbers feature names, like universe numbers paths.
type features struct {
	items []string
	index map[string]int
}

// compileRoles resolves includes, detects include cycles and expands each role's own
// permissions and features: what a role is, whatever organizations, bindings and time
// it is compiled with.
func (c *catalog) compileRoles(roles []*v1alpha1.Role) {
	n := len(roles)
	c.roles = make([]role, n)
	c.roleIndex = make(map[string]int32, n)
	for i, r := range roles {
		c.roleIndex[r.Name] = int32(i)
	}
	c.features.set(roles)
	expanded := map[string]expansion{} // roles share patterns
	own, ownFeat, assignable := newBitsets(n, c.universe.size()), newBitsets(n, len(c.features.items)), newBitsets(n, n)
	for i, r := range roles {
		c.roles[i] = role{
			name:        r.Name,
			spec:        &r.Spec,
			deleting:    r.DeletionTimestamp != nil,
			own:         own[i],
			ownFeat:     ownFeat[i],
			types:       r.Spec.OrganizationTypes,
			assignable:  assignable[i],
			replacement: refNone,
		}
		c.resolveSpec(&c.roles[i], expanded)
	}
	c.removals = make([][]time.Time, n)
	for i := range c.roles {
		c.removals[i] = c.reachableRemovals(int32(i))
	}
	c.markIncludeCycles()
}

// set numbers the features the roles name.
func (f *features) set(roles []*v1alpha1.Role) {
	var names []string
	for _, r := range roles {
		for _, name := range r.Spec.Features {
			names = append(names, string(name))
		}
	}
	f.items = sortedUnique(names)
	f.index = make(map[string]int, len(f.items))
	for i, name := range f.items {
		f.index[name] = i
	}
}

// resolveSpec fills in role ro from its spec: the roles it includes, may assign and is
// replaced by, its own permissions (patterns expanded once across roles, in expanded)
// and features, and the problems of includes and permissions that do not exist.
func (c *catalog) resolveSpec(ro *role, expanded map[string]expansion) {
	var missing, unknown []string
	for _, inc := range ro.spec.Includes {
		if j, ok := c.roleIndex[string(inc)]; ok {
			ro.includes = append(ro.includes, j)
		} else {
			missing = append(missing, string(inc))
		}
	}
	for _, pat := range ro.spec.Permissions {
		e, ok := expanded[string(pat)]
		if !ok {
			e = c.universe.expand(string(pat))
			expanded[string(pat)] = e
		}
		if !e.known {
			unknown = append(unknown, string(pat))
		}
		ro.own.or(e.bits)
	}
	for _, f := range ro.spec.Features {
		ro.ownFeat.set(c.features.index[string(f)])
	}
	for _, a := range ro.spec.AssignableRoles {
		if a == v1alpha1.AnyRole {
			ro.assignAny = true
		} else if j, ok := c.roleIndex[string(a)]; ok {
			ro.assignable.set(int(j))
		}
	}
	if d := ro.spec.Deprecation; d != nil && d.Replacement != "" {
		ro.replacement = resolve(c.roleIndex, string(d.Replacement))
	}
	if len(missing) > 0 {
		ro.problems = append(ro.problems, problem{v1alpha1.ReasonIncludeNotFound,
			fmt.Sprintf("role %s includes %s, which does not exist", ro.name, listOf(sortedUnique(missing)))})
	}
	if len(unknown) > 0 {
		ro.problems = append(ro.problems, problem{v1alpha1.ReasonUnknownPermission,
			fmt.Sprintf("role %s grants %s, which no PermissionTree defines", ro.name, listOf(sortedUnique(unknown)))})
	}
}

// markIncludeCycles gives each role in an include cycle the problem that says so.
func (c *catalog) markIncludeCycles() {
	for _, cycle := range includeCycles(c.roles) {
		names := make([]string, len(cycle))
		for k, i := range cycle {
			names[k] = c.roles[i].name
		}
		slices.Sort(names)
		for _, i := range cycle {
			c.roles[i].problems = append(c.roles[i].problems, problem{v1alpha1.ReasonIncludeCycle,
				fmt.Sprintf("role %s is in an include cycle with %s; roles in a cycle grant nothing", c.roles[i].name, listOf(names))})
		}
	}
}

// compileRoles completes the catalog's roles for this platform: custom roles'
// organizations, removal at now, readiness, and what a binding to each role grants.
func (p *Platform) compileRoles() {
	p.roles = slices.Clone(p.catalog.roles)
	for i := range p.roles {
		ro := &p.roles[i]
		// The platform sorts and adds to its problems: never in the catalog's array.
		ro.problems = slices.Clone(ro.problems)
		ro.customOrg = refNone
		if ref := ro.spec.OrganizationRef; ref != nil {
			ro.customOrg = resolve(p.orgIndex, string(ref.Name))
			if ro.customOrg == refMissing {
				ro.problems = append(ro.problems, problem{v1alpha1.ReasonOrganizationNotFound,
					fmt.Sprintf("organization %s of custom role %s does not exist", ref.Name, ro.name)})
			}
		}
		if d := ro.spec.Deprecation; d != nil {
			ro.removed = !p.now.Before(d.RemoveAfter.Time)
		}
	}
	p.resolveReadiness()
	p.resolveGrants()
}

// resolveReadiness marks each role Ready when it has no problem of its own and every
// role it includes is Ready: a role that is not Ready grants nothing (fail closed). A
// removed role grants what its replacement grants, and nothing of its own definition,
// so the problems of that definition (an unknown permission, a missing or cyclic
// include, an include not Ready) no longer decide: its paths taken out of the tree
// after removeAfter, a clean-up, do not stop it passing its replacement on to its
// bindings and to the roles that include it.
func (p *Platform) resolveReadiness() {
	const (
		unknown = iota
		resolving
		resolved
	)
	state := make([]uint8, len(p.roles))
	var resolve func(i int32) bool
	resolve = func(i int32) bool {
		r := &p.roles[i]
		if state[i] != unknown {
			// A role met while resolving is in an include cycle, already not Ready.
			return state[i] == resolved && r.ready
		}
		if r.removed {
			r.problems = slices.DeleteFunc(r.problems, ofOwnDefinition)
			r.ready = len(r.problems) == 0
			state[i] = resolved
			return r.ready
		}
		state[i] = resolving
		var notReady []string
		for _, j := range r.includes {
			if !resolve(j) {
				notReady = append(notReady, p.roles[j].name)
			}
		}
		if len(notReady) > 0 {
			r.problems = append(r.problems, problem{v1alpha1.ReasonIncludeNotReady,
				fmt.Sprintf("role %s includes %s, which is not Ready", r.name, listOf(sortedUnique(notReady)))})
		}
		r.ready = len(r.problems) == 0
		state[i] = resolved
		return r.ready
	}
	for i := range p.roles {
		resolve(int32(i))
	}
}

// ofOwnDefinition says whether a role's problem is about what the role itself lists:
// its permissions and includes, which a removed role no longer grants.
func ofOwnDefinition(pr problem) bool {
	switch pr.reason {
	case v1alpha1.ReasonUnknownPermission, v1alpha1.ReasonIncludeNotFound, v1alpha1.ReasonIncludeCycle:
		return true
	}
	return false
}

// resolveGrants computes the least fixpoint of what each role grants, following includes
// and, past removeAfter, the replacement. Iterating to the least fixpoint makes the
// result independent of order even when replacements and includes form loops: a loop
// adds nothing that its members do not grant themselves.
func (p *Platform) resolveGrants() {
	n := len(p.roles)
	grant, grantFeat, held, mayAssign := newBitsets(n, p.universe.size()), newBitsets(n, len(p.features.items)), newBitsets(n, n), newBitsets(n, n)
	for i := range p.roles {
		r := &p.roles[i]
		r.grant, r.grantFeat, r.held, r.mayAssign = grant[i], grantFeat[i], held[i], mayAssign[i]
	}
	for changed := true; changed; {
		changed = false
		for i := range p.roles {
			r := &p.roles[i]
			if !r.ready {
				continue
			}
			if r.removed {
				if r.replacement >= 0 {
					rep := &p.roles[r.replacement]
					changed = r.grant.or(rep.grant) || changed
					changed = r.grantFeat.or(rep.grantFeat) || changed
					changed = r.held.or(rep.held) || changed
				}
				continue
			}
			changed = r.grant.or(r.own) || changed
			changed = r.grantFeat.or(r.ownFeat) || changed
			if !r.held.has(i) {
				r.held.set(i)
				changed = true
			}
			for _, j := range r.includes {
				inc := &p.roles[j]
				changed = r.grant.or(inc.grant) || changed
				changed = r.grantFeat.or(inc.grantFeat) || changed
				changed = r.held.or(inc.held) || changed
			}
		}
	}
	for i := range p.roles {
		r := &p.roles[i]
		r.held.each(func(h int) {
			r.mayAssign.or(p.roles[h].assignable)
			r.mayAssignAny = r.mayAssignAny || p.roles[h].assignAny
		})
	}
}

// includeCycles returns the strongly connected components of the include graph that
// are cycles (more than one role, or a role including itself), each sorted.
func includeCycles(roles []role) [][]int32 {
	// Tarjan's algorithm, recursive: the depth is at most the number of roles (a few
	// thousand at most).
	index := make([]int32, len(roles))
	low := make([]int32, len(roles))
	onStack := make([]bool, len(roles))
	for i := range index {
		index[i] = -1
	}
	var stack []int32
	var next int32
	var out [][]int32
	var connect func(v int32)
	connect = func(v int32) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range roles[v].includes {
			if index[w] < 0 {
				connect(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []int32
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		if len(comp) > 1 || slices.Contains(roles[v].includes, v) {
			slices.Sort(comp)
			out = append(out, comp)
		}
	}
	for i := range roles {
		if index[i] < 0 {
			connect(int32(i))
		}
	}
	return out
}

// notApplicable says why role r may not be bound at organization o, or "" when it may.
func (p *Platform) notApplicable(r, o int32) string {
	ro, or := &p.roles[r], &p.orgs[o]
	if len(ro.types) > 0 && !slices.Contains(ro.types, or.typ) {
		return fmt.Sprintf("role %s may be bound only in organizations of type %s, and %s is a %s",
			ro.name, listOf(typeNames(ro.types)), or.name, or.typ)
	}
	if ro.customOrg >= 0 && !p.inSubtree(o, ro.customOrg) {
		return fmt.Sprintf("role %s is a custom role of %s and may be bound only in its subtree, which %s is not in",
			ro.name, p.orgs[ro.customOrg].name, or.name)
	}
	return ""
}

// roleResult renders a role's status. granting are the invitations that grant it, in
// name order; limit bounds UsedBy as Roles documents (<= 0: no bound).
func (p *Platform) roleResult(i int32, granting []int32, going []bool, limit int) RoleResult {
	r := &p.roles[i]
	res := RoleResult{
		Permissions: p.universe.render(r.grant),
		Features:    p.renderFeatures(r.grantFeat),
	}
	okMessage := fmt.Sprintf("role %s grants %d permissions and %d features", r.name, len(res.Permissions), len(res.Features))
	var missingAssignable []string
	for _, a := range r.spec.AssignableRoles {
		if _, ok := p.roleIndex[string(a)]; !ok && a != v1alpha1.AnyRole {
			missingAssignable = append(missingAssignable, string(a))
		}
	}
	ready := readyCondition(okMessage, r.problems)
	if ready.True && len(missingAssignable) > 0 {
		// The role still grants; only the missing roles cannot be assigned.
		ready.Reason = v1alpha1.ReasonAssignableRoleNotFound
		ready.Message = fmt.Sprintf("%s; assignable role %s does not exist and cannot be assigned", okMessage, listOf(sortedUnique(missingAssignable)))
	}
	res.Conditions = append(res.Conditions, ready)
	if c, ok := p.deprecatedCondition(i); ok {
		res.Conditions = append(res.Conditions, c)
	}

	users := newBitset(len(p.users))
	for _, b := range r.bindings {
		u := int(p.bindings[b].user)
		if users.has(u) {
			continue
		}
		users.set(u)
		res.BoundUsers++
		if r.spec.Deprecation != nil && p.holdsOnlyDeprecated(int32(u)) {
			res.DeprecatedOnlyUsers++
		}
	}
	// The InUse message names the first inUseListed users whatever the limit.
	listed := limit
	if limit > 0 {
		listed = max(limit, inUseListed)
	}
	if !going[i] {
		res.UsedBy = p.usedBy(i, granting, listed)
	}
	if r.deleting {
		if len(res.UsedBy) > 0 {
			res.Conditions = append(res.Conditions, Condition{Type: v1alpha1.ConditionInUse, True: true, Reason: v1alpha1.ReasonInUse,
				Message: fmt.Sprintf("role %s is still used by %s; its deletion waits", r.name, listOf(firstN(res.UsedBy, inUseListed)))})
		} else {
			res.Conditions = append(res.Conditions, Condition{Type: v1alpha1.ConditionInUse, Reason: v1alpha1.ReasonNotInUse,
				Message: fmt.Sprintf("nothing uses role %s", r.name)})
		}
	}
	if limit > 0 {
		res.UsedBy = firstN(res.UsedBy, limit)
	}
	return res
}

// inUseListed is how many of a role's users its InUse condition names.
const inUseListed = 20

// usedBy lists what uses role i, as "Kind/name", sorted and without repeats, up to n
// entries (n <= 0: all): the roles that include it or name it as their replacement,
// its bindings, and granting, the invitations that grant it. Roles, bindings and
// invitations are each held in name order, one per name, and "Role/" sorts before
// "RoleBinding/", which sorts before "UserInvitation/", so the list comes out sorted
// as it is built and stops at n without listing a large role's every binding.
func (p *Platform) usedBy(i int32, granting []int32, n int) []string {
	var out []string
	full := func() bool { return n > 0 && len(out) >= n }
	for j := range p.roles {
		if full() {
			return out
		}
		if other := &p.roles[j]; slices.Contains(other.includes, i) || other.replacement == i {
			out = append(out, "Role/"+other.name)
		}
	}
	for _, b := range p.roles[i].bindings {
		if full() {
			return out
		}
		out = append(out, "RoleBinding/"+p.bindings[b].name())
	}
	for _, k := range granting {
		if full() {
			return out
		}
		out = append(out, "UserInvitation/"+p.invites[k].name)
	}
	return out
}

// goingTogether says, for each role, whether it is being deleted and nothing keeps it
// but roles being deleted that can go too: no binding or invitation uses it, and every
// role that includes it or names it as its replacement is such a role. Without it,
// roles being deleted that include (or replace) each other would each wait for the
// other for ever. It is the greatest such set: every role being deleted that no
// binding or invitation uses, less, until none is left to drop, each that a role
// outside the set includes or is replaced by.
func (p *Platform) goingTogether(granting [][]int32) []bool {
	going := make([]bool, len(p.roles))
	for i := range p.roles {
		going[i] = p.roles[i].deleting && len(p.roles[i].bindings) == 0 && len(granting[i]) == 0
	}
	for changed := true; changed; {
		changed = false
		for j := range p.roles {
			if going[j] {
				continue
			}
			kept := p.roles[j].includes
			if rep := p.roles[j].replacement; rep >= 0 {
				kept = append(slices.Clip(kept), rep)
			}
			for _, i := range kept {
				if going[i] {
					going[i], changed = false, true
				}
			}
		}
	}
	return going
}

// invitationsByRole returns, for each role, the invitations whose roles include it,
// in name order: one pass over the invitations for every role.
func (p *Platform) invitationsByRole() [][]int32 {
	granting := make([][]int32, len(p.roles))
	for k := range p.invites {
		for _, name := range p.invites[k].roles {
			if j, ok := p.roleIndex[name]; ok {
				granting[j] = append(granting[j], int32(k))
			}
		}
	}
	return granting
}

func (p *Platform) holdsOnlyDeprecated(u int32) bool {
	for _, b := range p.users[u].bindings {
		if r := p.bindings[b].role; r < 0 || p.roles[r].spec.Deprecation == nil {
			return false
		}
	}
	return true
}

// deprecatedCondition is the Deprecated condition of a role, and of the bindings to it.
func (p *Platform) deprecatedCondition(i int32) (Condition, bool) {
	r := &p.roles[i]
	d := r.spec.Deprecation
	if d == nil {
		return Condition{}, false
	}
	at := d.RemoveAfter.UTC().Format(time.RFC3339)
	then := "nothing"
	reason := v1alpha1.ReasonDeprecated
	switch r.replacement {
	case refMissing:
		then = fmt.Sprintf("nothing, because replacement role %s does not exist", d.Replacement)
		reason = v1alpha1.ReasonReplacementNotFound
	case refNone:
	default:
		then = fmt.Sprintf("the permissions of role %s", d.Replacement)
		if r.removed && r.grant.count() == 0 && r.grantFeat.count() == 0 {
			// A replacement that is not Ready, or removed in turn into a cycle of
			// replacements, passes on nothing: say so rather than name what it would grant.
			then = fmt.Sprintf("nothing, because replacement role %s grants nothing now", d.Replacement)
		}
	}
	if r.removed {
		if reason == v1alpha1.ReasonDeprecated {
			reason = v1alpha1.ReasonRemoved
		}
		return Condition{Type: v1alpha1.ConditionDeprecated, True: true, Reason: reason,
			Message: fmt.Sprintf("role %s was removed at %s; bindings to it grant %s", r.name, at, then)}, true
	}
	return Condition{Type: v1alpha1.ConditionDeprecated, True: true, Reason: reason,
		Message: fmt.Sprintf("role %s is deprecated and stops granting at %s; bindings to it will then grant %s", r.name, at, then)}, true
}

func (p *Platform) renderFeatures(b bitset) []string {
	out := make([]string, 0, b.count())
	b.each(func(i int) { out = append(out, p.features.items[i]) })
	return out
}

// listOf joins names for a message: "a", "a and b", "a, b and c".
func listOf(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func typeNames(types []v1alpha1.OrganizationType) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return sortedUnique(out)
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// reachableRemovals returns, sorted, the removeAfter of role r and of every role its
// grant may come through: what it includes and its replacement, transitively. It
// depends on the roles alone, so a catalog computes it once for every platform.
func (c *catalog) reachableRemovals(r int32) []time.Time {
	var out []time.Time
	seen := newBitset(len(c.roles))
	stack := []int32{r}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen.has(int(i)) {
			continue
		}
		seen.set(int(i))
		ro := &c.roles[i]
		if d := ro.spec.Deprecation; d != nil {
			out = append(out, d.RemoveAfter.Time)
		}
		stack = append(stack, ro.includes...)
		if ro.replacement >= 0 {
			stack = append(stack, ro.replacement)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}
