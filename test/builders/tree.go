package builders

import "github.com/orgaccess/orgaccess/api/v1alpha1"

// TreeBuilder builds a PermissionTree.
type TreeBuilder struct {
	objectMeta[*TreeBuilder]
	t v1alpha1.PermissionTree
}

// Tree starts a permission tree listing paths, none implying another.
func Tree(name string, paths ...string) *TreeBuilder {
	b := &TreeBuilder{}
	b.objectMeta = objectMeta[*TreeBuilder]{meta: &b.t.ObjectMeta, self: b}
	b.t.Name = name
	return b.Paths(paths...)
}

// Paths adds paths to the tree, none implying another.
func (b *TreeBuilder) Paths(paths ...string) *TreeBuilder {
	for _, p := range paths {
		b.t.Spec.Permissions = append(b.t.Spec.Permissions, v1alpha1.Permission{Path: v1alpha1.PermissionPath(p)})
	}
	return b
}

// Implies makes path imply the implied paths, adding path to the tree if it is not
// listed yet.
func (b *TreeBuilder) Implies(path string, implied ...string) *TreeBuilder {
	perms := &b.t.Spec.Permissions
	i := 0
	for i < len(*perms) && string((*perms)[i].Path) != path {
		i++
	}
	if i == len(*perms) {
		*perms = append(*perms, v1alpha1.Permission{Path: v1alpha1.PermissionPath(path)})
	}
	(*perms)[i].Implies = append((*perms)[i].Implies, as[v1alpha1.PermissionPath](implied)...)
	return b
}

// Obj returns a copy of the tree built so far.
func (b *TreeBuilder) Obj() *v1alpha1.PermissionTree { return b.t.DeepCopy() }
