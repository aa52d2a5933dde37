package permissions

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// universe numbers everything a permission set can hold, so sets are bitsets.
//
// With at least one PermissionTree (closure mode) the items are the tree's paths and a
// set holds the full closure of its grants: every granted path, its descendants, the
// paths they imply (transitively, with their descendants), wildcards expanded.
// Without a tree the items are the patterns the roles name, and a set holds granted
// patterns, minus those another member already covers.
type universe struct {
	closure bool
	items   []string // sorted
	index   map[string]int
	segs    [][]string // pattern mode: items split on "/"

	// closure mode
	implies   [][]int  // direct implications of each path (known paths only)
	closureOf []bitset // each path's subtree and implications, transitively

	// pattern mode: covers[i] holds the patterns item i covers (strictly)
	covers []bitset
}

// expansion is what granting one pattern grants.
type expansion struct {
	bits  bitset
	known bool // false: the pattern names nothing in the tree
}

func (u *universe) size() int { return len(u.items) }

// compileTrees merges the PermissionTrees into the universe, reporting duplicate paths,
// unknown implications and missing parents on the tree at fault. Without a tree the
// universe is the patterns that the roles name.
func (c *catalog) compileTrees(trees []*v1alpha1.PermissionTree, roles []*v1alpha1.Role) {
	c.trees = make(map[string]TreeResult, len(trees))
	if len(trees) == 0 {
		c.universe.setPatterns(roles)
		return
	}
	defs := definitionsOf(trees)
	implies := c.universe.setPaths(defs)
	problems := c.universe.treeProblems(defs, trees)
	for ti, t := range trees {
		c.trees[t.Name] = TreeResult{
			Paths:      int32(len(t.Spec.Permissions)),
			Conditions: []Condition{readyCondition(fmt.Sprintf("%d paths", len(t.Spec.Permissions)), problems[ti])},
		}
	}
	c.universe.close(implies)
}

// setPatterns makes u the pattern-mode universe of the patterns the roles name, each
// with the patterns it covers.
func (u *universe) setPatterns(roles []*v1alpha1.Role) {
	var patterns []string
	for _, r := range roles {
		for _, pat := range r.Spec.Permissions {
			patterns = append(patterns, string(pat))
		}
	}
	u.setItems(patterns)
	u.segs = make([][]string, len(u.items))
	for i, s := range u.items {
		u.segs[i] = strings.Split(s, "/")
	}
	u.covers = newBitsets(len(u.items), len(u.items))
	for i := range u.items {
		for j := range u.items {
			if i != j && patternCovers(u.segs[i], u.segs[j]) {
				u.covers[i].set(j)
			}
		}
	}
}

// definition is one tree's definition of one path.
type definition struct {
	path string
	tree int // index in the trees compiled
	perm *v1alpha1.Permission
}

// definitionsOf lists every definition of every path, sorted by path and, for one path,
// by tree (trees arrive sorted by name).
func definitionsOf(trees []*v1alpha1.PermissionTree) []definition {
	var defs []definition
	for ti, t := range trees {
		for k := range t.Spec.Permissions {
			perm := &t.Spec.Permissions[k]
			defs = append(defs, definition{string(perm.Path), ti, perm})
		}
	}
	slices.SortStableFunc(defs, func(a, b definition) int { return strings.Compare(a.path, b.path) })
	return defs
}

// setPaths makes u the closure-mode universe of the paths defined, and returns what each
// path implies. A path defined more than once implies only what every definition of it
// implies: a tree added later cannot widen what an existing path grants, and nothing is
// guessed in the other direction either (fail closed).
func (u *universe) setPaths(defs []definition) [][]v1alpha1.PermissionPath {
	u.closure = true
	u.items = make([]string, 0, len(defs))
	var implies [][]v1alpha1.PermissionPath
	for k, d := range defs {
		if k == 0 || d.path != defs[k-1].path {
			u.items = append(u.items, d.path)
			implies = append(implies, d.perm.Implies)
			continue
		}
		i := len(implies) - 1
		implies[i] = slices.DeleteFunc(slices.Clone(implies[i]), func(p v1alpha1.PermissionPath) bool {
			return !slices.Contains(d.perm.Implies, p)
		})
	}
	u.index = make(map[string]int, len(u.items))
	for i, path := range u.items {
		u.index[path] = i
	}
	return implies
}

// treeProblems are each tree's problems, by its index in trees: paths it defines that
// another tree defines too, whose parent no tree defines, or that imply a path no tree
// defines.
func (u *universe) treeProblems(defs []definition, trees []*v1alpha1.PermissionTree) [][]problem {
	problems := make([][]problem, len(trees))
	for start := 0; start < len(defs); {
		end := start + 1
		for end < len(defs) && defs[end].path == defs[start].path {
			end++
		}
		if end-start > 1 {
			var names []string
			for _, d := range defs[start:end] {
				names = append(names, trees[d.tree].Name)
			}
			msg := fmt.Sprintf("path %s is defined more than once, by PermissionTrees %s; until one definition remains, it implies only what every definition implies",
				defs[start].path, strings.Join(sortedUnique(names), ", "))
			for _, d := range defs[start:end] {
				problems[d.tree] = append(problems[d.tree], problem{v1alpha1.ReasonDuplicatePath, msg})
			}
		}
		start = end
	}
	for _, d := range defs {
		if parent, ok := parentPath(d.path); ok {
			if _, found := u.index[parent]; !found {
				problems[d.tree] = append(problems[d.tree], problem{v1alpha1.ReasonMissingParent,
					fmt.Sprintf("path %s has no parent %s in any PermissionTree", d.path, parent)})
			}
		}
		for _, imp := range d.perm.Implies {
			if _, found := u.index[string(imp)]; !found {
				problems[d.tree] = append(problems[d.tree], problem{v1alpha1.ReasonUnknownImplication,
					fmt.Sprintf("path %s implies %s, which no PermissionTree defines", d.path, imp)})
			}
		}
	}
	return problems
}

// close computes each path's closure: its subtree and what it implies (implies, by
// path), transitively.
func (u *universe) close(implies [][]v1alpha1.PermissionPath) {
	n := len(u.items)
	u.implies = make([][]int, n)
	for i := range u.items {
		for _, imp := range implies[i] {
			if j, ok := u.index[string(imp)]; ok && j != i {
				u.implies[i] = append(u.implies[i], j)
			}
		}
	}
	// A path grants its subtree: add every path to each of its ancestors present.
	u.closureOf = newBitsets(n, n)
	for i := range u.items {
		u.closureOf[i].set(i)
	}
	for i, path := range u.items {
		for anc, ok := parentPath(path); ok; anc, ok = parentPath(anc) {
			if j, found := u.index[anc]; found {
				u.closureOf[j].set(i)
			}
		}
	}
	// Then close under implications until nothing changes; trees are small (at most a
	// few thousand paths) and implication chains short.
	for changed := true; changed; {
		changed = false
		for i := range u.items {
			c := u.closureOf[i]
			c.each(func(j int) {
				for _, k := range u.implies[j] {
					if !c.has(k) || !u.closureOf[k].subsetOf(c) {
						if c.or(u.closureOf[k]) {
							changed = true
						}
					}
				}
			})
		}
	}
}

// setItems sets the universe's items: the sorted, distinct strings given.
func (u *universe) setItems(items []string) {
	slices.Sort(items)
	u.items = slices.Compact(items)
	u.index = make(map[string]int, len(u.items))
	for i, s := range u.items {
		u.index[s] = i
	}
}

// expand resolves what granting pattern grants. It writes nothing, so a compiled
// Platform stays safe for concurrent use.
func (u *universe) expand(pattern string) expansion {
	e := expansion{bits: newBitset(u.size())}
	if !u.closure {
		if i, ok := u.index[pattern]; ok {
			e.bits.set(i)
			e.known = true
		}
	} else if !strings.Contains(pattern, "*") {
		if i, ok := u.index[pattern]; ok {
			e.bits.or(u.closureOf[i])
			e.known = true
		}
	} else {
		segs := strings.Split(pattern, "/")
		for i, path := range u.items {
			if segmentsMatch(segs, path) {
				e.bits.or(u.closureOf[i])
				e.known = true
			}
		}
	}
	return e
}

// render lists a set's members, sorted. In pattern mode it drops the patterns another
// member covers, so the set is as small as it can be and still allows exactly the same.
func (u *universe) render(b bitset) []string {
	if !u.closure {
		b = u.reduce(b)
	}
	out := make([]string, 0, b.count())
	b.each(func(i int) { out = append(out, u.items[i]) })
	return out
}

// reduce removes, in pattern mode, every pattern that another member covers.
func (u *universe) reduce(b bitset) bitset {
	covered := newBitset(u.size())
	b.each(func(i int) { covered.or(u.covers[i]) })
	out := b.clone()
	for i := range out {
		out[i] &^= covered[i]
	}
	return out
}

// segmentsMatch reports whether a pattern's segments match a path's or an ancestor's,
// "*" matching any one segment. Granting a path grants its subtree, and so does
// granting a pattern: "*" grants billing/read even when the tree does not define
// billing (a MissingParent problem, and the path still works), as "*/read" does.
func segmentsMatch(pattern []string, path string) bool {
	for i, seg := range pattern {
		next, rest, found := strings.Cut(path, "/")
		if seg != "*" && seg != next || !found && i < len(pattern)-1 {
			return false
		}
		path = rest
	}
	return true
}

// patternCovers reports whether granting pattern q allows everything granting p allows:
// q matches p or one of p's ancestors, where a "*" in p is matched only by a "*" in q.
func patternCovers(q, p []string) bool {
	if len(q) > len(p) {
		return false
	}
	for i := range q {
		if q[i] != "*" && q[i] != p[i] {
			return false
		}
	}
	return true
}

// parentPath returns the path without its last segment.
func parentPath(path string) (string, bool) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", false
	}
	return path[:i], true
}

// sortedUnique returns the strings sorted, without repeats.
func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
