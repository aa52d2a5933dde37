package permissions

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// Explain says whether user holds permission in org, and why: every Ready binding that
// grants it, with the role, the include chain and the granted path or pattern (and the
// implications) that cover it; or, when nothing grants it, why not.
func (p *Platform) Explain(user, org, permission string) Explanation {
	o, ok := p.orgIndex[org]
	if !ok {
		return Explanation{Reason: fmt.Sprintf("organization %s does not exist", org)}
	}
	u, ok := p.userIndex[string(v1alpha1.Email(user).Canonical())]
	if !ok {
		return Explanation{Reason: fmt.Sprintf("user %s has no binding or invitation on the platform", user)}
	}
	switch status := p.statusIn(u, o); status {
	case v1alpha1.UserPhaseBlocked:
		return Explanation{Reason: fmt.Sprintf("user %s is blocked on the platform and holds nothing anywhere", user)}
	case v1alpha1.UserPhaseActive:
	default:
		return Explanation{Reason: fmt.Sprintf("user %s is %s: only Active users hold permissions", user, status)}
	}
	var grants []Grant
	var reaching, notReady []string
	for _, bi := range p.users[u].bindings {
		b := &p.bindings[bi]
		if !p.reaches(b, o) {
			continue
		}
		reaching = append(reaching, b.name())
		if !b.grants {
			notReady = append(notReady, fmt.Sprintf("%s (%s)", b.name(), p.bindingConditions(b)[0].Reason))
			continue
		}
		for _, g := range p.explainRole(b.role, permission, nil, "", map[int32]bool{}) {
			g.Binding, g.Organization, g.Role = b.name(), p.orgs[b.org].name, b.roleName()
			grants = append(grants, g)
		}
	}
	if len(grants) > 0 {
		if size := p.withheldIn(u, o); size > 0 {
			return Explanation{Reason: fmt.Sprintf("what %s's roles grant in %s (%d bytes) is larger than a document can hold, so the document withholds it (PermissionsTooLarge); it would be granted by %s",
				user, org, size, grants[0].Binding)}
		}
		return Explanation{Allowed: true, Grants: grants}
	}
	switch {
	case len(reaching) == 0:
		return Explanation{Reason: fmt.Sprintf("no binding of %s holds in %s", user, org)}
	case len(notReady) == len(reaching):
		return Explanation{Reason: fmt.Sprintf("no binding of %s that holds in %s is Ready: %s", user, org, strings.Join(notReady, ", "))}
	}
	msg := fmt.Sprintf("no role that %s holds in %s grants %s", user, org, permission)
	if len(notReady) > 0 {
		msg += fmt.Sprintf("; bindings not Ready: %s", strings.Join(notReady, ", "))
	}
	return Explanation{Reason: msg}
}

// explainRole finds every way role r grants permission: its own patterns, its
// includes (recursively) or, past removeAfter, its replacement. chain is the include
// chain so far.
func (p *Platform) explainRole(r int32, permission string, chain []string, replacement string, seen map[int32]bool) []Grant {
	ro := &p.roles[r]
	if seen[r] || !ro.ready {
		return nil
	}
	seen[r] = true
	defer delete(seen, r)
	chain = append(slices.Clip(chain), ro.name)
	if ro.removed {
		if ro.replacement < 0 {
			return nil
		}
		return p.explainRole(ro.replacement, permission, chain, p.roles[ro.replacement].name, seen)
	}
	var out []Grant
	for _, pat := range sortedUnique(patternNames(ro.spec.Permissions)) {
		if implied, ok := p.covers(pat, permission); ok {
			out = append(out, Grant{IncludeChain: chain, Via: pat, Implied: implied, Replacement: replacement})
		}
	}
	for _, j := range ro.includes {
		out = append(out, p.explainRole(j, permission, chain, replacement, seen)...)
	}
	return out
}

// covers reports whether granting pattern grants permission, and through which
// implications ("x implies y" steps), if any.
func (p *Platform) covers(pattern, permission string) ([]string, bool) {
	u := p.universe
	if !u.closure {
		return nil, patternCovers(strings.Split(pattern, "/"), strings.Split(permission, "/"))
	}
	target, ok := u.index[permission]
	if !ok || !u.expand(pattern).bits.has(target) {
		return nil, false
	}
	// Breadth-first over subtree roots: a root holds its subtree; each path in it adds
	// the paths it implies as new roots. The first root holding the permission ends the
	// shortest chain of implications.
	segs := strings.Split(pattern, "/")
	type step struct {
		root int
		from int // previous root, -1 for a matched path
		via  string
	}
	var queue []step
	visited := map[int]bool{}
	for i, path := range u.items {
		if segmentsMatch(segs, path) {
			queue = append(queue, step{root: i, from: -1})
			visited[i] = true
		}
	}
	for k := 0; k < len(queue); k++ {
		s := queue[k]
		if isSelfOrDescendant(u.items[target], u.items[s.root]) {
			var steps []string
			for at := k; queue[at].from >= 0; at = queue[at].from {
				steps = append(steps, queue[at].via)
			}
			slices.Reverse(steps)
			return steps, true
		}
		for i := range u.items {
			if !isSelfOrDescendant(u.items[i], u.items[s.root]) {
				continue
			}
			for _, q := range u.implies[i] {
				if !visited[q] {
					visited[q] = true
					queue = append(queue, step{root: q, from: k, via: u.items[i] + " implies " + u.items[q]})
				}
			}
		}
	}
	return nil, false // unreachable: the closure holds the permission
}

func isSelfOrDescendant(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+"/")
}

func patternNames(pats []v1alpha1.PermissionPattern) []string {
	out := make([]string, len(pats))
	for i, s := range pats {
		out[i] = string(s)
	}
	return out
}

// withheldIn is the size of what user u's roles grant in organization o when their
// document withholds it (withhold), 0 otherwise: the combination orgUsers renders for
// them there.
func (p *Platform) withheldIn(u, o int32) int {
	var roles []int32
	for _, bi := range p.users[u].bindings {
		if b := &p.bindings[bi]; b.grants && b.owner != refMissing && p.reaches(b, o) {
			roles = append(roles, b.role)
		}
	}
	slices.Sort(roles)
	return p.grantSetOf(slices.Compact(roles)).withheld
}
