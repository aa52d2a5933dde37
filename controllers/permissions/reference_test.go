package permissions_test

import (
	"slices"
	"strings"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// reference computes what DESIGN.md says, the obvious slow way: strings, maps and
// recomputation from scratch, no indexes, bitsets, caches or Euler tours. The property
// test holds the engine to it.
type reference struct {
	in  permissions.Input
	now time.Time

	orgs  map[string]*v1alpha1.Organization
	roles map[string]*v1alpha1.Role
	paths map[string][]string // tree path -> what every definition of it implies
	tree  bool

	grant map[string]map[string]bool // role -> what a binding to it grants now
	feats map[string]map[string]bool
	held  map[string]map[string]bool // role -> roles a holder holds
	phase map[string]v1alpha1.UserPhase
	here  map[string]bool // invitation -> granted in its organization only
}

type refUser struct {
	status   v1alpha1.UserPhase
	roles    []string
	perms    []string
	features []string
}

func newReference(in permissions.Input, now time.Time) *reference {
	r := &reference{in: in, now: now, orgs: map[string]*v1alpha1.Organization{}, roles: map[string]*v1alpha1.Role{}, paths: map[string][]string{}}
	for i := range in.Organizations {
		r.orgs[in.Organizations[i].Name] = in.Organizations[i]
	}
	for i := range in.Roles {
		r.roles[in.Roles[i].Name] = in.Roles[i]
	}
	trees := slices.Clone(in.Trees)
	slices.SortFunc(trees, func(a, b *v1alpha1.PermissionTree) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range trees {
		r.tree = true
		for _, p := range t.Spec.Permissions {
			var imp []string
			for _, i := range p.Implies {
				imp = append(imp, string(i))
			}
			if earlier, ok := r.paths[string(p.Path)]; ok {
				imp = slices.DeleteFunc(slices.Clone(earlier), func(i string) bool { return !slices.Contains(imp, i) })
			}
			r.paths[string(p.Path)] = imp
		}
	}
	r.resolveRoles()
	r.decidePhases()
	return r
}

// parentOf is the organization's parent when the link is sound: the parent exists, the
// nesting is allowed, and the organization is not in a cycle.
func (r *reference) parentOf(name string) string {
	o := r.orgs[name]
	if o.Spec.ParentRef == nil {
		return ""
	}
	parent := string(o.Spec.ParentRef.Name)
	po, ok := r.orgs[parent]
	if !ok || r.inCycle(name) {
		return ""
	}
	if !refNesting(o.Spec.Type, po.Spec.Type) {
		return ""
	}
	return parent
}

func refNesting(child, parent v1alpha1.OrganizationType) bool {
	allowed := map[v1alpha1.OrganizationType][]v1alpha1.OrganizationType{
		"Distributor": {""}, "Seller": {"", "Distributor"}, "Customer": {"", "Distributor", "Seller"}, "Unit": {"Customer", "Unit"},
	}
	return slices.Contains(allowed[child], parent)
}

func (r *reference) inCycle(name string) bool {
	seen := map[string]bool{}
	for cur := name; ; {
		o, ok := r.orgs[cur]
		if !ok || o.Spec.ParentRef == nil {
			return false
		}
		cur = string(o.Spec.ParentRef.Name)
		if cur == name {
			return true
		}
		if seen[cur] {
			return false
		}
		seen[cur] = true
	}
}

// chain is the organization's sound ancestors and itself, root first.
func (r *reference) chain(name string) []string {
	var out []string
	for cur := name; cur != ""; cur = r.parentOf(cur) {
		out = append([]string{cur}, out...)
	}
	return out
}

func (r *reference) within(org, ancestor string) bool { return slices.Contains(r.chain(org), ancestor) }

func refSegments(s string) []string { return strings.Split(s, "/") }

// refMatch: a path names itself only (an undefined one names nothing); a pattern with
// "*" matches path or one of its ancestors, defined or not (granting either grants
// path).
func refMatch(pattern, path string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == path
	}
	p, x := refSegments(pattern), refSegments(path)
	if len(p) > len(x) {
		return false
	}
	for i := range p {
		if p[i] != "*" && p[i] != x[i] {
			return false
		}
	}
	return true
}

// refCovers: granting q allows everything granting p allows.
func refCovers(q, p string) bool {
	qs, ps := refSegments(q), refSegments(p)
	if len(qs) > len(ps) {
		return false
	}
	for i := range qs {
		if qs[i] != "*" && qs[i] != ps[i] {
			return false
		}
	}
	return true
}

// expand is what granting one pattern grants, and whether the pattern names anything.
func (r *reference) expand(pattern string) (map[string]bool, bool) {
	out := map[string]bool{}
	if !r.tree {
		out[pattern] = true
		return out, true
	}
	for path := range r.paths {
		if refMatch(pattern, path) {
			out[path] = true
		}
	}
	known := len(out) > 0
	// Close under the subtree and implications until nothing is added.
	for changed := true; changed; {
		changed = false
		for held := range out {
			for path, implies := range r.paths {
				if (path == held || strings.HasPrefix(path, held+"/")) && !out[path] {
					out[path] = true
					changed = true
				}
				if path == held {
					for _, imp := range implies {
						if _, exists := r.paths[imp]; exists && !out[imp] {
							out[imp] = true
							changed = true
						}
					}
				}
			}
		}
	}
	return out, known
}

func (r *reference) includeCycle(name string) bool {
	var reach func(cur string, seen map[string]bool) bool
	reach = func(cur string, seen map[string]bool) bool {
		role, ok := r.roles[cur]
		if !ok {
			return false
		}
		for _, inc := range role.Spec.Includes {
			if string(inc) == name {
				return true
			}
			if !seen[string(inc)] {
				seen[string(inc)] = true
				if reach(string(inc), seen) {
					return true
				}
			}
		}
		return false
	}
	return reach(name, map[string]bool{})
}

func (r *reference) roleReady(name string, depth int) bool {
	role, ok := r.roles[name]
	if !ok || depth > len(r.roles) {
		return false
	}
	if ref := role.Spec.OrganizationRef; ref != nil {
		if _, ok := r.orgs[string(ref.Name)]; !ok {
			return false
		}
	}
	if r.removed(role) {
		return true // it grants its replacement's permissions, none of its own
	}
	if r.includeCycle(name) {
		return false
	}
	for _, p := range role.Spec.Permissions {
		if _, known := r.expand(string(p)); !known {
			return false
		}
	}
	for _, inc := range role.Spec.Includes {
		if !r.roleReady(string(inc), depth+1) {
			return false
		}
	}
	return true
}

func (r *reference) removed(role *v1alpha1.Role) bool {
	return role.Spec.Deprecation != nil && !r.now.Before(role.Spec.Deprecation.RemoveAfter.Time)
}

func (r *reference) resolveRoles() {
	r.grant, r.feats, r.held = map[string]map[string]bool{}, map[string]map[string]bool{}, map[string]map[string]bool{}
	for name := range r.roles {
		r.grant[name], r.feats[name], r.held[name] = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	addAll := func(dst, src map[string]bool) bool {
		changed := false
		for k := range src {
			if !dst[k] {
				dst[k] = true
				changed = true
			}
		}
		return changed
	}
	for changed := true; changed; {
		changed = false
		for name, role := range r.roles {
			if !r.roleReady(name, 0) {
				continue
			}
			if r.removed(role) {
				if rep := string(role.Spec.Deprecation.Replacement); rep != "" && r.roles[rep] != nil {
					changed = addAll(r.grant[name], r.grant[rep]) || changed
					changed = addAll(r.feats[name], r.feats[rep]) || changed
					changed = addAll(r.held[name], r.held[rep]) || changed
				}
				continue
			}
			for _, p := range role.Spec.Permissions {
				g, _ := r.expand(string(p))
				changed = addAll(r.grant[name], g) || changed
			}
			for _, f := range role.Spec.Features {
				changed = addAll(r.feats[name], map[string]bool{string(f): true}) || changed
			}
			changed = addAll(r.held[name], map[string]bool{name: true}) || changed
			for _, inc := range role.Spec.Includes {
				changed = addAll(r.grant[name], r.grant[string(inc)]) || changed
				changed = addAll(r.feats[name], r.feats[string(inc)]) || changed
				changed = addAll(r.held[name], r.held[string(inc)]) || changed
			}
		}
	}
}

func (r *reference) blocked(email string) bool {
	for _, inv := range r.in.Invitations {
		if string(inv.Spec.Email) == email && inv.Spec.Blocked {
			return true
		}
	}
	return false
}

func (r *reference) invitation(name string) *v1alpha1.UserInvitation {
	for i := range r.in.Invitations {
		if r.in.Invitations[i].Name == name {
			return r.in.Invitations[i]
		}
	}
	return nil
}

func (r *reference) invitedRoles(inv *v1alpha1.UserInvitation) []string {
	if _, orgExists := r.orgs[string(inv.Spec.OrganizationRef.Name)]; len(inv.Spec.Roles) == 0 && orgExists && keepsRecordedDefaults(inv) {
		return sortedUniqueStrings(inv.Status.GrantedRoles)
	}
	var roles []string
	for _, role := range inv.Spec.Roles {
		roles = append(roles, string(role))
	}
	if len(roles) == 0 {
		if o, ok := r.orgs[string(inv.Spec.OrganizationRef.Name)]; ok {
			for _, role := range o.Spec.DefaultRoles {
				roles = append(roles, string(role))
			}
		}
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}

func bindingOwner(b *v1alpha1.RoleBinding) (string, bool) {
	for _, ref := range b.OwnerReferences {
		if ref.Kind == "UserInvitation" {
			return ref.Name, true
		}
	}
	return "", false
}

// grants says whether a binding grants its role now.
func (r *reference) grants(b *v1alpha1.RoleBinding) bool {
	org, role := string(b.Spec.OrganizationRef.Name), string(b.Spec.RoleRef.Name)
	ro, ok := r.roles[role]
	if _, orgOK := r.orgs[org]; !orgOK || !ok || !r.roleReady(role, 0) || r.blocked(string(b.Spec.Subject.Email)) {
		return false
	}
	if len(ro.Spec.OrganizationTypes) > 0 && !slices.Contains(ro.Spec.OrganizationTypes, r.orgs[org].Spec.Type) {
		return false
	}
	if ref := ro.Spec.OrganizationRef; ref != nil && !r.within(org, string(ref.Name)) {
		return false
	}
	if r.removed(ro) && len(r.grant[role]) == 0 && len(r.feats[role]) == 0 {
		return false
	}
	if b.Spec.ExpiresAt != nil && !r.now.Before(b.Spec.ExpiresAt.Time) {
		return false
	}
	if owner, owned := bindingOwner(b); owned {
		inv := r.invitation(owner)
		return inv != nil && r.phase[owner] == v1alpha1.UserPhaseActive && slices.Contains(r.invitedRoles(inv), role) &&
			inv.Spec.Email.Canonical() == b.Spec.Subject.Email.Canonical() && inv.Spec.OrganizationRef.Name == b.Spec.OrganizationRef.Name &&
			(!r.here[owner] || !refSubtree(b))
	}
	return true
}

func (r *reference) reaches(b *v1alpha1.RoleBinding, org string) bool {
	at := string(b.Spec.OrganizationRef.Name)
	if _, ok := r.orgs[at]; !ok {
		return false
	}
	return at == org || refSubtree(b) && r.within(org, at)
}

// refSubtree: the binding holds in its organization's descendants (Subtree or unset;
// any other value, as None, does not).
func refSubtree(b *v1alpha1.RoleBinding) bool {
	return b.Spec.Inheritance == "" || b.Spec.Inheritance == v1alpha1.InheritanceSubtree
}

// delegates says whether inviter may assign every role in org, and whether only in
// org itself (through bindings with inheritance None).
func (r *reference) delegates(inviter, org string, roles []string) (ok, here bool) {
	if r.blocked(inviter) {
		return false, false
	}
	for _, anc := range r.chain(org) {
		if string(r.orgs[anc].Spec.Owner) == inviter {
			return true, false
		}
	}
	if r.delegatesThrough(inviter, org, roles, true) {
		return true, false
	}
	return r.delegatesThrough(inviter, org, roles, false), true
}

// delegatesThrough says whether inviter's bindings that reach org (with subtree, only
// those that reach its descendants too) let them assign every role there.
func (r *reference) delegatesThrough(inviter, org string, roles []string, subtree bool) bool {
	grant, feats, assign, any := map[string]bool{}, map[string]bool{}, map[string]bool{}, false
	for i := range r.in.Bindings {
		b := r.in.Bindings[i]
		if string(b.Spec.Subject.Email) != inviter || !r.reaches(b, org) || !r.grants(b) || subtree && !refSubtree(b) {
			continue
		}
		role := string(b.Spec.RoleRef.Name)
		for p := range r.grant[role] {
			grant[p] = true
		}
		for f := range r.feats[role] {
			feats[f] = true
		}
		for h := range r.held[role] {
			for _, a := range r.roles[h].Spec.AssignableRoles {
				assign[string(a)] = true
				any = any || a == "*"
			}
		}
	}
	holds := func(role string) bool {
		if !r.roleReady(role, 0) {
			return false
		}
		for p := range r.grant[role] {
			covered := grant[p]
			for q := range grant {
				covered = covered || !r.tree && refCovers(q, p)
			}
			if !covered {
				return false
			}
		}
		for f := range r.feats[role] {
			if !feats[f] {
				return false
			}
		}
		return true
	}
	for _, role := range roles {
		if assign[role] {
			continue
		}
		if !any {
			return false
		}
		// "*" covers the role, and every role it leads to that the inviter may not
		// assign by name, if the inviter holds what each grants.
		seen, queue := map[string]bool{role: true}, []string{role}
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			if !holds(x) {
				return false
			}
			var next []string
			for h := range r.held[x] {
				for _, a := range r.roles[h].Spec.AssignableRoles {
					next = append(next, string(a))
				}
			}
			for h := range r.held[x] {
				if d := r.roles[h].Spec.Deprecation; d != nil && !r.removed(r.roles[h]) {
					next = append(next, string(d.Replacement))
				}
			}
			for _, t := range next {
				if r.roles[t] != nil && !assign[t] && !seen[t] {
					seen[t] = true
					queue = append(queue, t)
				}
			}
		}
	}
	return true
}

// judge says whether inv passes, and whether its grant holds in its organization only.
func (r *reference) judge(inv *v1alpha1.UserInvitation) (ok, here bool) {
	if _, ok := r.orgs[string(inv.Spec.OrganizationRef.Name)]; !ok {
		return false, false
	}
	org := string(inv.Spec.OrganizationRef.Name)
	roles := r.invitedRoles(inv)
	for _, role := range roles {
		if r.roles[role] == nil {
			return false, false
		}
	}
	for _, role := range roles { // each must be one that may be bound there
		ro := r.roles[role]
		if len(ro.Spec.OrganizationTypes) > 0 && !slices.Contains(ro.Spec.OrganizationTypes, r.orgs[org].Spec.Type) {
			return false, false
		}
		if ref := ro.Spec.OrganizationRef; ref != nil && !r.within(org, string(ref.Name)) {
			return false, false
		}
		// Removed, and nothing passed on: its bindings would grant nothing.
		if r.roleReady(role, 0) && r.removed(ro) && len(r.grant[role]) == 0 && len(r.feats[role]) == 0 {
			return false, false
		}
	}
	if inv.Spec.InvitedBy == "" {
		return true, false
	}
	return r.delegates(string(inv.Spec.InvitedBy), string(inv.Spec.OrganizationRef.Name), roles)
}

func first(ok, _ bool) bool { return ok }

// expiry is when an invitation not accepted by then expires.
func expiry(inv *v1alpha1.UserInvitation) time.Time {
	expiresAfter := 168 * time.Hour
	if inv.Spec.ExpiresAfter != nil && inv.Spec.ExpiresAfter.Duration > 0 {
		expiresAfter = inv.Spec.ExpiresAfter.Duration
	}
	return inv.CreationTimestamp.Add(expiresAfter)
}

// acceptedInTime says whether an invitation was accepted before it expired.
func acceptedInTime(inv *v1alpha1.UserInvitation) bool {
	return inv.Spec.AcceptedAt != nil && inv.Spec.AcceptedAt.Time.Before(expiry(inv))
}

// keepsRecordedDefaults says whether an invitation naming no roles keeps the default
// roles recorded when it was granted, whatever its organization's defaultRoles are now.
func keepsRecordedDefaults(inv *v1alpha1.UserInvitation) bool {
	return !inv.Spec.Blocked && acceptedInTime(inv) && inv.Status.GrantedBy == string(inv.Spec.InvitedBy) && inv.Status.GrantedDefaultRoles &&
		(inv.Status.Phase == v1alpha1.UserPhaseActive || inv.Status.Phase == v1alpha1.UserPhaseBlocked)
}

func sortedUniqueStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func (r *reference) decidePhases() {
	r.phase, r.here = map[string]v1alpha1.UserPhase{}, map[string]bool{}
	for _, inv := range r.in.Invitations {
		r.here[inv.Name] = inv.Status.GrantedInheritance != "" && inv.Status.GrantedInheritance != v1alpha1.InheritanceSubtree
		granted := slices.Clone(inv.Status.GrantedRoles)
		slices.Sort(granted)
		granted = slices.Compact(granted)
		switch {
		case inv.Spec.Blocked:
			r.phase[inv.Name] = v1alpha1.UserPhaseBlocked
		case r.orgs[string(inv.Spec.OrganizationRef.Name)] != nil && acceptedInTime(inv) && (inv.Status.Phase == v1alpha1.UserPhaseActive || inv.Status.Phase == v1alpha1.UserPhaseBlocked) &&
			slices.Equal(granted, r.invitedRoles(inv)) && inv.Status.GrantedBy == string(inv.Spec.InvitedBy):
			r.phase[inv.Name] = v1alpha1.UserPhaseActive
		}
	}
	for changed := true; changed; {
		changed = false
		for i := range r.in.Invitations {
			inv := r.in.Invitations[i]
			if r.phase[inv.Name] != "" || !acceptedInTime(inv) || inv.Spec.AcceptedAt.After(r.now) {
				continue
			}
			if ok, here := r.judge(inv); ok {
				r.phase[inv.Name], r.here[inv.Name] = v1alpha1.UserPhaseActive, here
				changed = true
			}
		}
	}
	for i := range r.in.Invitations {
		inv := r.in.Invitations[i]
		if r.phase[inv.Name] != "" {
			continue
		}
		switch {
		case !first(r.judge(inv)):
			r.phase[inv.Name] = v1alpha1.UserPhaseRejected
		case !r.now.Before(expiry(inv)):
			r.phase[inv.Name] = v1alpha1.UserPhaseExpired
		default:
			r.phase[inv.Name] = v1alpha1.UserPhaseNew
		}
	}
}

func (r *reference) status(email, org string) v1alpha1.UserPhase {
	if r.blocked(email) {
		return v1alpha1.UserPhaseBlocked
	}
	for _, inv := range r.in.Invitations {
		if string(inv.Spec.Email) == email && r.phase[inv.Name] == v1alpha1.UserPhaseActive {
			return v1alpha1.UserPhaseActive
		}
	}
	for _, b := range r.in.Bindings {
		if _, owned := bindingOwner(b); string(b.Spec.Subject.Email) == email && !owned {
			return v1alpha1.UserPhaseActive
		}
	}
	rank := []v1alpha1.UserPhase{v1alpha1.UserPhaseNew, v1alpha1.UserPhaseExpired, v1alpha1.UserPhaseRejected}
	for _, reachingOnly := range []bool{true, false} {
		for _, want := range rank {
			for _, inv := range r.in.Invitations {
				at := string(inv.Spec.OrganizationRef.Name)
				_, exists := r.orgs[at]
				reaching := exists && r.within(org, at)
				if string(inv.Spec.Email) == email && r.phase[inv.Name] == want && (reaching || !reachingOnly) {
					return want
				}
			}
		}
	}
	return v1alpha1.UserPhaseNew
}

// document lists org's users as DESIGN.md defines them.
func (r *reference) document(org string) map[string]refUser {
	emails := map[string]bool{}
	for i := range r.in.Bindings {
		b := r.in.Bindings[i]
		if owner, owned := bindingOwner(b); owned && r.invitation(owner) == nil {
			continue
		}
		if r.reaches(b, org) {
			emails[string(b.Spec.Subject.Email)] = true
		}
	}
	for _, inv := range r.in.Invitations {
		at := string(inv.Spec.OrganizationRef.Name)
		if _, ok := r.orgs[at]; ok && r.within(org, at) {
			emails[string(inv.Spec.Email)] = true
		}
	}
	out := map[string]refUser{}
	for email := range emails {
		u := refUser{status: r.status(email, org)}
		if u.status == v1alpha1.UserPhaseActive {
			perms, feats := map[string]bool{}, map[string]bool{}
			for i := range r.in.Bindings {
				b := r.in.Bindings[i]
				if string(b.Spec.Subject.Email) != email || !r.reaches(b, org) || !r.grants(b) {
					continue
				}
				role := string(b.Spec.RoleRef.Name)
				u.roles = append(u.roles, role)
				for p := range r.grant[role] {
					perms[p] = true
				}
				for f := range r.feats[role] {
					feats[f] = true
				}
			}
			slices.Sort(u.roles)
			u.roles = slices.Compact(u.roles)
			u.perms = []string{}
			for p := range perms {
				covered := false
				for q := range perms {
					covered = covered || !r.tree && q != p && refCovers(q, p)
				}
				if !covered {
					u.perms = append(u.perms, p)
				}
			}
			slices.Sort(u.perms)
			for f := range feats {
				u.features = append(u.features, f)
			}
			slices.Sort(u.features)
		}
		out[email] = u
	}
	return out
}
