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
// what permissions.InputFor selects from the whole platform (controllers/permissions/
// doc.go), read through the cache's indexes:
//   - the organization and its ancestors, walked through parentRef up to a missing
//     parent or a cycle,
//   - every Role and PermissionTree of the namespace, and the organization (with its
//     ancestors) of every custom role (a custom role is Ready only while it exists),
//   - the bindings and invitations of the organization and its ancestors,
//   - every invitation of each user those name (a block anywhere blocks everywhere; an
//     Active invitation anywhere makes a user Active), with each such invitation's
//     organization and ancestors, and the same for each of those invitations'
//     inviters, transitively (their access decides whether an invitation not yet
//     granted is),
//   - every binding of the inviter of each invitation not granted yet
//     (permissions.JudgedOnInviter): it is judged on what they hold where it invites,
//   - for each of those users, one binding managed outside if they have one anywhere
//     (addManagedOutside), where InputFor takes all their bindings.
//
// The organization need not exist: a binding into a missing organization is still
// gathered, so its reconciler can report OrganizationNotFound.
//
// TestGatheredRandomSubsetsGiveTheWholePlatformsResults holds it to that: on random
// platforms every organization's subset gives the whole platform's results.
func (g gatherer) forOrganization(ctx context.Context, ns, name string) (permissions.Input, error) {
	var in permissions.Input
	s := subsetGather{gatherer: g, ns: ns, looked: make(map[string]bool, 32),
		bindings: map[string]*v1alpha1.RoleBinding{}, invitations: map[string]*v1alpha1.UserInvitation{}}
	if err := s.addChain(ctx, name); err != nil {
		return in, err
	}
	chain := sortedKeys(s.looked) // with a missing parent's name, as InputFor has it
	var err error
	if in.Roles, in.Trees, err = g.rolesAndTrees(ctx, ns); err != nil {
		return in, err
	}
	if err := s.addMembers(ctx, chain); err != nil {
		return in, err
	}
	if err := s.addInvitationsOfUsers(ctx, in.Roles); err != nil {
		return in, err
	}
	if err := s.addInvitersBindings(ctx); err != nil {
		return in, err
	}
	if err := s.addManagedOutside(ctx); err != nil {
		return in, err
	}
	in.Organizations = s.orgs
	in.Bindings, in.Invitations = sortedValues(s.bindings), sortedValues(s.invitations)
	return in, nil
}

// subsetGather is the state of one forOrganization: the organizations found so far, in
// the order found, the names looked for, and the users who appear, with those whose
// invitations are still to be added.
type subsetGather struct {
	gatherer
	ns          string
	orgs        []*v1alpha1.Organization
	looked      map[string]bool
	bindings    map[string]*v1alpha1.RoleBinding
	invitations map[string]*v1alpha1.UserInvitation
	users       map[string]bool
	queue       []string
}

// addUser adds a user who appears in the subset.
func (s *subsetGather) addUser(email string) {
	if email != "" && !s.users[email] {
		s.users[email] = true
		s.queue = append(s.queue, email)
	}
}

// addMembers adds the bindings and invitations into the organizations of chain, and
// the users they name.
func (s *subsetGather) addMembers(ctx context.Context, chain []string) error {
	for _, org := range chain {
		if err := intoByIndex(ctx, s.gatherer, s.ns, indexBindingOrganization, org, s.bindings); err != nil {
			return err
		}
		if err := intoByIndex(ctx, s.gatherer, s.ns, indexInvitationOrganization, org, s.invitations); err != nil {
			return err
		}
	}
	s.users = make(map[string]bool, len(s.bindings)+len(s.invitations))
	s.queue = make([]string, 0, len(s.bindings)+len(s.invitations))
	for _, b := range s.bindings {
		s.addUser(string(b.Spec.Subject.Email))
	}
	for _, inv := range s.invitations {
		s.addUser(string(inv.Spec.Email))
	}
	return nil
}

// addInvitationsOfUsers adds each user's invitations, and their inviters in turn, then
// the chains of the organizations those invitations and the custom roles name. The
// organizations are added after, in name order, so that the same platform gives the
// same subset.
func (s *subsetGather) addInvitationsOfUsers(ctx context.Context, roles []*v1alpha1.Role) error {
	more := map[string]bool{} // organizations whose chains the subset also holds
	for _, r := range roles {
		if ref := r.Spec.OrganizationRef; ref != nil {
			more[string(ref.Name)] = true
		}
	}
	for len(s.queue) > 0 {
		user := s.queue[0]
		s.queue = s.queue[1:]
		err := eachByIndex(ctx, s.gatherer, s.ns, indexInvitationEmail, user, func(inv *v1alpha1.UserInvitation) {
			s.invitations[inv.Name] = inv
			more[string(inv.Spec.OrganizationRef.Name)] = true
			s.addUser(string(inv.Spec.InvitedBy))
		})
		if err != nil {
			return err
		}
	}
	for _, org := range sortedKeys(more) {
		if err := s.addChain(ctx, org); err != nil {
			return err
		}
	}
	return nil
}

// addInvitersBindings adds every binding of the inviter of each invitation not granted
// yet: it is judged on what its inviter holds where it invites, wherever that is.
func (s *subsetGather) addInvitersBindings(ctx context.Context) error {
	inviters := map[string]bool{}
	for _, inv := range s.invitations {
		if permissions.JudgedOnInviter(inv) {
			inviters[string(inv.Spec.InvitedBy)] = true
		}
	}
	for _, inviter := range sortedKeys(inviters) {
		if err := intoByIndex(ctx, s.gatherer, s.ns, indexBindingEmail, inviter, s.bindings); err != nil {
			return err
		}
	}
	return nil
}

// addManagedOutside adds, for each user who has none gathered, one binding managed
// outside (no invitation owns it) from anywhere in the namespace, the first by name:
// such a binding makes its subject Active on the whole platform, and one is all the
// engine needs to know it. Their other bindings elsewhere change nothing this subset's
// organization shows: what a user holds there comes from bindings into it or an
// ancestor, gathered above. (InputFor takes them all; this keeps the subset, and every
// reconcile's compile, small, where a user bound across thousands of organizations
// would otherwise bring all of those bindings into every subset he appears in.)
func (s *subsetGather) addManagedOutside(ctx context.Context) error {
	active := map[string]bool{}
	for _, b := range s.bindings {
		if permissions.ManagedOutside(b) {
			active[string(b.Spec.Subject.Email)] = true
		}
	}
	for _, user := range sortedKeys(s.users) {
		if active[user] {
			continue
		}
		var first *v1alpha1.RoleBinding
		err := eachByIndex(ctx, s.gatherer, s.ns, indexBindingEmail, user, func(b *v1alpha1.RoleBinding) {
			if permissions.ManagedOutside(b) && (first == nil || b.Name < first.Name) {
				first = b
			}
		})
		if err != nil {
			return err
		}
		if first != nil {
			s.bindings[first.Name] = first
		}
	}
	return nil
}

// addChain adds the organization name and its ancestors, walked through parentRef up
// to a missing parent, a cycle or an organization already added.
func (s *subsetGather) addChain(ctx context.Context, name string) error {
	for next := name; next != "" && !s.looked[next]; {
		s.looked[next] = true
		org, err := s.organization(ctx, s.ns, next)
		if err != nil {
			return err
		}
		if org == nil {
			return nil
		}
		s.orgs = append(s.orgs, org)
		next = ""
		if org.Spec.ParentRef != nil {
			next = string(org.Spec.ParentRef.Name)
		}
	}
	return nil
}

// organization returns Organization ns/name, nil when there is none. It is the cache's
// own object, read straight from the informers when they are recorded (a Get copies it
// into a new one; a gather reads dozens).
func (g gatherer) organization(ctx context.Context, ns, name string) (*v1alpha1.Organization, error) {
	if ix := g.informers.indexers(orgType); len(ix) > 0 {
		for _, indexer := range ix {
			o, found, err := indexer.GetByKey(ns + "/" + name)
			if err != nil {
				return nil, fmt.Errorf("get Organization %s/%s: %w", ns, name, err)
			}
			if found {
				org, ok := o.(*v1alpha1.Organization)
				if !ok {
					return nil, fmt.Errorf("get Organization %s/%s: the cache holds a %T", ns, name, o)
				}
				return org, nil
			}
		}
		return nil, nil
	}
	org := &v1alpha1.Organization{}
	err := g.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, org, noCopy)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get Organization %s/%s: %w", ns, name, err)
	}
	return org, nil
}

// intoByIndex adds to into, by name, the objects of type PT in ns whose field index
// holds key.
func intoByIndex[PT client.Object](ctx context.Context, g gatherer, ns, field, key string, into map[string]PT) error {
	return eachByIndex(ctx, g, ns, field, key, func(o PT) { into[o.GetName()] = o })
}

// eachByIndex calls each with every object of type PT in ns whose field index holds
// key: the cache's own, read straight from the informers' indexers when they are
// recorded, and otherwise listed through reader.
func eachByIndex[PT client.Object](ctx context.Context, g gatherer, ns, field, key string, each func(PT)) error {
	if ix := g.informers.indexers(reflect.TypeFor[PT]()); len(ix) > 0 {
		return indexedEach(ix, ns, field, key, each)
	}
	list, err := listOf[PT]()
	if err != nil {
		return err
	}
	if err := listByIndex(ctx, g.reader, list, ns, field, key, noCopy); err != nil {
		return fmt.Errorf("list %T by %s=%s in %s: %w", list, field, key, ns, err)
	}
	return eachItem(list, each)
}

// listOf is an empty list of the kind of PT, one of those gathers read.
func listOf[PT client.Object]() (client.ObjectList, error) {
	var obj PT
	switch any(obj).(type) {
	case *v1alpha1.RoleBinding:
		return &v1alpha1.RoleBindingList{}, nil
	case *v1alpha1.UserInvitation:
		return &v1alpha1.UserInvitationList{}, nil
	case *v1alpha1.Role:
		return &v1alpha1.RoleList{}, nil
	case *v1alpha1.PermissionTree:
		return &v1alpha1.PermissionTreeList{}, nil
	case *v1alpha1.Organization:
		return &v1alpha1.OrganizationList{}, nil
	}
	return nil, fmt.Errorf("gathers read no %T", obj)
}

// eachItem calls each with every item of list, which holds objects of type PT. They
// are not copied: meta.ExtractList points into the list's Items.
func eachItem[PT client.Object](list client.ObjectList, each func(PT)) error {
	items, err := meta.ExtractList(list)
	if err != nil {
		return fmt.Errorf("%T: %w", list, err)
	}
	for _, item := range items {
		obj, ok := item.(PT)
		if !ok {
			return fmt.Errorf("%T holds a %T", list, item)
		}
		each(obj)
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
	roles, err := listed[*v1alpha1.Role](ctx, g, ns)
	if err != nil {
		return nil, nil, err
	}
	trees, err := listed[*v1alpha1.PermissionTree](ctx, g, ns)
	if err != nil {
		return nil, nil, err
	}
	return roles, trees, nil
}

// listed returns every object of type PT in ns. They are the cache's own, read straight
// from the namespace index of its informers when those are recorded: a List, even
// without deep copies, copies every object into its Items, which for the bindings of a
// whole namespace is tens of megabytes. Without recorded informers it lists through
// reader.
func listed[PT client.Object](ctx context.Context, g gatherer, ns string) ([]PT, error) {
	var out []PT
	add := func(obj PT) { out = append(out, obj) }
	if ix := g.informers.indexers(reflect.TypeFor[PT]()); len(ix) > 0 {
		err := eachIndexed(ix, toolscache.NamespaceIndex, ns, add)
		return out, err
	}
	list, err := listOf[PT]()
	if err != nil {
		return nil, err
	}
	if err := g.reader.List(ctx, list, client.InNamespace(ns), noCopy); err != nil {
		return nil, fmt.Errorf("list %T in %s: %w", list, ns, err)
	}
	err = eachItem(list, add)
	return out, err
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
