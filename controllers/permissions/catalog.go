package permissions

import (
	"slices"
	"sync"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// catalog is what the PermissionTrees and Roles of an input compile to on their own: the
// universe, the features, each tree's result and each role's own part (see role). It
// depends on nothing else (not the organizations, bindings, invitations or the time),
// so a Compiler shares one between every platform compiled from the same trees and
// roles. It also keeps the permission sets rendered from its universe, which depend on
// nothing else either. Immutable once compiled, but for that cache, which has its own
// lock.
type catalog struct {
	// What it was compiled from, sorted by name and one per name: a Compiler's key.
	treeObjs []*v1alpha1.PermissionTree
	roleObjs []*v1alpha1.Role

	universe  universe
	features  features
	trees     map[string]TreeResult
	roles     []role
	roleIndex map[string]int32
	// removals[i]: the removeAfter of role i and of every role its grant may come through
	// (what it includes and its replacement, transitively), sorted: the instants at
	// which time alone can change a binding to it (NextBindingChange). Kept beside
	// roles, not in them, because every platform copies roles.
	removals [][]time.Time

	sets setCache
}

// compileCatalog compiles trees and roles, each sorted by name with one object per name.
func compileCatalog(trees []*v1alpha1.PermissionTree, roles []*v1alpha1.Role) *catalog {
	c := &catalog{treeObjs: trees, roleObjs: roles}
	c.sets.bySet = map[string]*permissionSet{}
	c.compileTrees(trees, roles)
	c.compileRoles(roles)
	return c
}

// setCache holds the permission sets rendered from a catalog's universe, by grant.
type setCache struct {
	mu    sync.RWMutex
	bySet map[string]*permissionSet // key: the grant's bitset (bitset.key)
}

// A Compiler compiles platforms as Compile does, and shares what the PermissionTrees and
// Roles compile to between the inputs that hold the same ones: the universe of paths,
// each role's expanded permissions, the rendered permission sets. Every organization's
// subset of a platform holds all of its trees and roles (InputFor), so a controller that
// compiles one subset after another compiles them once instead of once per subset.
//
// Inputs hold the same trees and roles when they hold the same objects, by pointer. So,
// beyond what Compile asks (objects unmodified while a Platform compiled from them is in
// use), an object given to a Compiler must never be modified afterwards: a later input
// holding it would reuse what was compiled from its old content. An informer cache's
// objects qualify, as the cache replaces an object on every change.
//
// A Compiler keeps the catalogs of the most recently compiled trees and roles, up to the
// number NewCompiler is given: one per namespace the controllers serve is enough. It is
// safe for concurrent use, and a nil *Compiler shares nothing.
type Compiler struct {
	keep int

	mu     sync.Mutex
	recent []*catalog // most recently used first
}

// NewCompiler returns a Compiler that keeps the catalogs of up to keep (at least one)
// sets of trees and roles.
func NewCompiler(keep int) *Compiler {
	return &Compiler{keep: max(keep, 1)}
}

// Compile is Compile, reusing the compiled trees and roles of an earlier input that held
// the same ones.
func (c *Compiler) Compile(in Input, now time.Time) *Platform {
	trees := uniqueByName(in.Trees, func(t *v1alpha1.PermissionTree) string { return t.Name })
	roles := uniqueByName(in.Roles, func(r *v1alpha1.Role) string { return r.Name })
	return compile(in, c.catalog(trees, roles), now)
}

// catalog returns the catalog of trees and roles (each sorted by name, one per name),
// compiling it unless a recent input held the same objects.
func (c *Compiler) catalog(trees []*v1alpha1.PermissionTree, roles []*v1alpha1.Role) *catalog {
	if c == nil {
		return compileCatalog(trees, roles)
	}
	c.mu.Lock()
	cat := c.find(trees, roles)
	c.mu.Unlock()
	if cat != nil {
		return cat
	}

	// Compiled outside the lock: reconciles of other namespaces need not wait. Two
	// reconciles that miss at once both compile; the first to store its catalog wins.
	compiled := compileCatalog(trees, roles)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cat := c.find(trees, roles); cat != nil {
		return cat // another reconcile's, so that they share rendered sets
	}
	c.recent = slices.Insert(c.recent, 0, compiled)
	if len(c.recent) > c.keep {
		clear(c.recent[c.keep:])
		c.recent = c.recent[:c.keep]
	}
	return compiled
}

// find returns the catalog of the same trees and roles, moving it to the front, or nil.
// c.mu is held.
func (c *Compiler) find(trees []*v1alpha1.PermissionTree, roles []*v1alpha1.Role) *catalog {
	for i, cat := range c.recent {
		if slices.Equal(cat.treeObjs, trees) && slices.Equal(cat.roleObjs, roles) {
			copy(c.recent[1:i+1], c.recent[:i])
			c.recent[0] = cat
			return cat
		}
	}
	return nil
}
