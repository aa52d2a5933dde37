package controllers

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// gatherer reads the engine's input from the cache and compiles it. Each reconciler
// gathers the smallest input its results depend on (controllers/permissions/doc.go says
// which).
//
// The objects gathered are the cache's own, not copies: bindings, invitations and every
// namespace-wide list come straight from the informers' indexers as pointers, and the
// few Gets and Lists that go through the reader use client.UnsafeDisableDeepCopy. A
// reconcile of a large platform would otherwise copy every binding it reads, and a
// compiled platform in the compile cache would keep the copies. Neither the engine,
// which only reads its input, nor the reconcilers modify them; a reconciler modifies
// only the object it got for itself, and an informer replaces an object on an update
// rather than modifying it, so a platform compiled from the old one stays consistent.
type gatherer struct {
	reader    client.Reader
	informers *Informers            // the cache's informers; without them, look-ups go through reader
	compiler  *permissions.Compiler // shares compiled trees and roles between compiles; nil shares nothing
	compiled  *compileCache         // shared by every reconciler; nil compiles every time
}

// noCopy reads the cache's objects without copying them (see gatherer).
var noCopy = client.UnsafeDisableDeepCopy

// compile compiles in at now, reusing a platform compiled for the same input when its
// results still hold, and otherwise the trees and roles compiled for an earlier input.
func (g gatherer) compile(in permissions.Input, now time.Time) *permissions.Platform {
	return g.compiled.compile(in, now, g.compiler)
}

// compileOnce compiles in at now for a caller that will not ask again, outside the
// compile cache (it is still counted in orgaccess_compiles_total).
func (g gatherer) compileOnce(in permissions.Input, now time.Time) *permissions.Platform {
	return compileCounted(in, now, g.compiler)
}

// forOrganization gathers what one organization's results depend on, and with it every
// result of the bindings and invitations whose organizationRef is that organization:
//   - the organization and its ancestors, walked through parentRef up to a missing
//     parent or a cycle,
//   - every Role and PermissionTree of the namespace,
//   - the bindings and invitations of the organization and its ancestors,
//   - every invitation of each user those name, and of each inviter (a block anywhere
//     blocks everywhere).
//
// The organization need not exist: a binding into a missing organization is still
// gathered, so its reconciler can report OrganizationNotFound.
func (g gatherer) forOrganization(ctx context.Context, ns, name string) (permissions.Input, error) {
	var in permissions.Input
	chain, err := g.ancestry(ctx, ns, name)
	if err != nil {
		return in, err
	}
	in.Organizations = chain
	if in.Roles, in.Trees, err = g.rolesAndTrees(ctx, ns); err != nil {
		return in, err
	}

	bindings := map[string]*v1alpha1.RoleBinding{}
	invitations := map[string]*v1alpha1.UserInvitation{}
	orgNames := []string{name}
	for _, org := range chain {
		if org.Name != name {
			orgNames = append(orgNames, org.Name)
		}
	}
	for _, org := range orgNames {
		if err := g.bindingsInto(ctx, ns, indexBindingOrganization, org, bindings); err != nil {
			return in, err
		}
		if err := g.invitationsInto(ctx, ns, indexInvitationOrganization, org, invitations); err != nil {
			return in, err
		}
	}
	users := map[string]bool{}
	for _, b := range bindings {
		users[string(b.Spec.Subject.Email)] = true
	}
	for _, inv := range invitations {
		users[string(inv.Spec.Email)] = true
		if inv.Spec.InvitedBy != "" {
			users[string(inv.Spec.InvitedBy)] = true
		}
	}
	for _, user := range sortedKeys(users) {
		if err := g.invitationsInto(ctx, ns, indexInvitationEmail, user, invitations); err != nil {
			return in, err
		}
	}
	in.Bindings, in.Invitations = sortedValues(bindings), sortedValues(invitations)
	return in, nil
}

// ancestry returns the organization (when it exists) and its ancestors, nearest first,
// stopping at a missing parent or where a parent cycle closes.
func (g gatherer) ancestry(ctx context.Context, ns, name string) ([]*v1alpha1.Organization, error) {
	var chain []*v1alpha1.Organization
	seen := map[string]bool{}
	for next := name; next != "" && !seen[next]; {
		seen[next] = true
		org := &v1alpha1.Organization{}
		err := g.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: next}, org, noCopy)
		if apierrors.IsNotFound(err) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("get Organization %s/%s: %w", ns, next, err)
		}
		chain = append(chain, org)
		next = ""
		if org.Spec.ParentRef != nil {
			next = string(org.Spec.ParentRef.Name)
		}
	}
	return chain, nil
}

// bindingsInto adds to into, by name, the RoleBindings in ns whose field index holds key.
func (g gatherer) bindingsInto(ctx context.Context, ns, field, key string, into map[string]*v1alpha1.RoleBinding) error {
	if ix := g.informers.indexers(bindingType); len(ix) > 0 {
		return indexedInto(ix, ns, field, key, into)
	}
	var list v1alpha1.RoleBindingList
	if err := listByIndex(ctx, g.reader, &list, ns, field, key, noCopy); err != nil {
		return fmt.Errorf("list RoleBindings by %s=%s in %s: %w", field, key, ns, err)
	}
	for i := range list.Items {
		into[list.Items[i].Name] = &list.Items[i]
	}
	return nil
}

// invitationsInto adds to into, by name, the UserInvitations in ns whose field index
// holds key.
func (g gatherer) invitationsInto(ctx context.Context, ns, field, key string, into map[string]*v1alpha1.UserInvitation) error {
	if ix := g.informers.indexers(invitationType); len(ix) > 0 {
		return indexedInto(ix, ns, field, key, into)
	}
	var list v1alpha1.UserInvitationList
	if err := listByIndex(ctx, g.reader, &list, ns, field, key, noCopy); err != nil {
		return fmt.Errorf("list UserInvitations by %s=%s in %s: %w", field, key, ns, err)
	}
	for i := range list.Items {
		into[list.Items[i].Name] = &list.Items[i]
	}
	return nil
}

// sortedValues returns the objects m points to, ordered by key. They are not copied.
func sortedValues[T any](m map[string]*T) []*T {
	out := make([]*T, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

// forTrees gathers what PermissionTree results depend on: the namespace's trees, and its
// roles so the engine sees the platform the trees describe.
func (g gatherer) forTrees(ctx context.Context, ns string) (permissions.Input, error) {
	var in permissions.Input
	var err error
	in.Roles, in.Trees, err = g.rolesAndTrees(ctx, ns)
	return in, err
}

func (g gatherer) rolesAndTrees(ctx context.Context, ns string) ([]*v1alpha1.Role, []*v1alpha1.PermissionTree, error) {
	roles, err := listed[*v1alpha1.Role](ctx, g, ns, &v1alpha1.RoleList{})
	if err != nil {
		return nil, nil, err
	}
	trees, err := listed[*v1alpha1.PermissionTree](ctx, g, ns, &v1alpha1.PermissionTreeList{})
	if err != nil {
		return nil, nil, err
	}
	return roles, trees, nil
}

// listed returns every object of type PT in ns. They are the cache's own, read straight
// from the namespace index of its informers when those are recorded: a List, even
// without deep copies, copies every object into its Items, which for the bindings of a
// whole namespace is tens of megabytes. Without recorded informers it lists into list
// through reader.
func listed[PT client.Object](ctx context.Context, g gatherer, ns string, list client.ObjectList) ([]PT, error) {
	var out []PT
	if ix := g.informers.indexers(reflect.TypeFor[PT]()); len(ix) > 0 {
		err := eachIndexed(ix, toolscache.NamespaceIndex, ns, func(obj PT) { out = append(out, obj) })
		return out, err
	}
	if err := g.reader.List(ctx, list, client.InNamespace(ns), noCopy); err != nil {
		return nil, fmt.Errorf("list %T in %s: %w", list, ns, err)
	}
	// ExtractList points into the list's Items rather than copying them.
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, fmt.Errorf("list %T in %s: %w", list, ns, err)
	}
	for _, item := range items {
		obj, ok := item.(PT)
		if !ok {
			return nil, fmt.Errorf("list %T in %s: it holds a %T", list, ns, item)
		}
		out = append(out, obj)
	}
	return out, nil
}

// eachObject calls each with every object of in, kind by kind.
func eachObject(in permissions.Input, each func(client.Object)) {
	for _, o := range in.Organizations {
		each(o)
	}
	for _, o := range in.Trees {
		each(o)
	}
	for _, o := range in.Roles {
		each(o)
	}
	for _, o := range in.Bindings {
		each(o)
	}
	for _, o := range in.Invitations {
		each(o)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
