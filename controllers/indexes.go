package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// Field indexes of the cache. Every watch mapping below and every gather in gather.go
// looks related objects up through these instead of listing a whole namespace.
const (
	// Organization: spec.parentRef.name (children of an organization), spec.defaultRoles.
	indexOrganizationParent      = "spec.parentRef.name"
	indexOrganizationDefaultRole = "spec.defaultRoles"
	// RoleBinding: spec.organizationRef.name, spec.roleRef.name, spec.subject.email.
	indexBindingOrganization = "spec.organizationRef.name"
	indexBindingRole         = "spec.roleRef.name"
	indexBindingEmail        = "spec.subject.email"
	// UserInvitation: spec.organizationRef.name, spec.email, spec.invitedBy.
	indexInvitationOrganization = "spec.organizationRef.name"
	indexInvitationEmail        = "spec.email"
	indexInvitationInviter      = "spec.invitedBy"
	// UserInvitation: the roles it names (spec.roles) or was granted (status.grantedRoles).
	indexInvitationRole = "roles"
	// UserInvitation: "true" while its status does not record the grant its spec asks
	// for (permissions.RecordsItsGrant). Such an invitation is judged again on every
	// change of any role or tree.
	indexInvitationPending = "pending"
	// Role: spec.includes, spec.deprecation.replacement, spec.organizationRef.name.
	indexRoleInclude      = "spec.includes"
	indexRoleReplacement  = "spec.deprecation.replacement"
	indexRoleOrganization = "spec.organizationRef.name"
	// RoleBinding: the UserInvitation that owns it (permissions.InvitationOwner), looked
	// up on every invitation reconcile. By ownership, not by the invitation label: a
	// binding whose label was removed is still the invitation's, to label again or
	// delete, where a lookup by label missed it and the invitation failed to create it
	// again on every reconcile.
	indexBindingInvitation = "metadata.ownerReferences.invitation"
	// ConfigMap: the access.orgaccess.dev/organization label (an organization's
	// document), looked up on every organization reconcile. A label selector makes the
	// cache test every object of the namespace.
	indexConfigMapOrganization = "metadata.labels.organization"
)

// fieldIndex is one index: the object type and the function giving its keys.
type fieldIndex struct {
	obj     client.Object
	field   string
	extract client.IndexerFunc
}

// fieldIndexes lists every index the controllers use.
var fieldIndexes = []fieldIndex{
	{&v1alpha1.Organization{}, indexOrganizationParent, func(o client.Object) []string {
		org := o.(*v1alpha1.Organization)
		if org.Spec.ParentRef == nil {
			return nil
		}
		return []string{string(org.Spec.ParentRef.Name)}
	}},
	{&v1alpha1.Organization{}, indexOrganizationDefaultRole, func(o client.Object) []string {
		return names(o.(*v1alpha1.Organization).Spec.DefaultRoles)
	}},
	{&v1alpha1.RoleBinding{}, indexBindingOrganization, func(o client.Object) []string {
		return []string{string(o.(*v1alpha1.RoleBinding).Spec.OrganizationRef.Name)}
	}},
	{&v1alpha1.RoleBinding{}, indexBindingRole, func(o client.Object) []string {
		return []string{string(o.(*v1alpha1.RoleBinding).Spec.RoleRef.Name)}
	}},
	{&v1alpha1.RoleBinding{}, indexBindingEmail, func(o client.Object) []string {
		return []string{string(o.(*v1alpha1.RoleBinding).Spec.Subject.Email)}
	}},
	{&v1alpha1.RoleBinding{}, indexBindingInvitation, func(o client.Object) []string {
		if owner, ok := permissions.InvitationOwner(o.(*v1alpha1.RoleBinding)); ok {
			return []string{owner}
		}
		return nil
	}},
	{&corev1.ConfigMap{}, indexConfigMapOrganization, func(o client.Object) []string {
		return labelValue(o, v1alpha1.OrganizationLabel)
	}},
	{&v1alpha1.UserInvitation{}, indexInvitationOrganization, func(o client.Object) []string {
		return []string{string(o.(*v1alpha1.UserInvitation).Spec.OrganizationRef.Name)}
	}},
	{&v1alpha1.UserInvitation{}, indexInvitationEmail, func(o client.Object) []string {
		return []string{string(o.(*v1alpha1.UserInvitation).Spec.Email)}
	}},
	{&v1alpha1.UserInvitation{}, indexInvitationInviter, func(o client.Object) []string {
		if by := o.(*v1alpha1.UserInvitation).Spec.InvitedBy; by != "" {
			return []string{string(by)}
		}
		return nil
	}},
	{&v1alpha1.UserInvitation{}, indexInvitationRole, func(o client.Object) []string {
		inv := o.(*v1alpha1.UserInvitation)
		roles := make([]string, 0, len(inv.Spec.Roles)+len(inv.Status.GrantedRoles))
		for _, r := range inv.Spec.Roles {
			roles = append(roles, string(r))
		}
		roles = append(roles, inv.Status.GrantedRoles...)
		slices.Sort(roles)
		return slices.Compact(roles)
	}},
	{&v1alpha1.UserInvitation{}, indexInvitationPending, func(o client.Object) []string {
		if !permissions.RecordsItsGrant(o.(*v1alpha1.UserInvitation)) {
			return []string{"true"}
		}
		return nil
	}},
	{&v1alpha1.Role{}, indexRoleInclude, func(o client.Object) []string {
		return names(o.(*v1alpha1.Role).Spec.Includes)
	}},
	{&v1alpha1.Role{}, indexRoleReplacement, func(o client.Object) []string {
		if d := o.(*v1alpha1.Role).Spec.Deprecation; d != nil && d.Replacement != "" {
			return []string{string(d.Replacement)}
		}
		return nil
	}},
	{&v1alpha1.Role{}, indexRoleOrganization, func(o client.Object) []string {
		if ref := o.(*v1alpha1.Role).Spec.OrganizationRef; ref != nil {
			return []string{string(ref.Name)}
		}
		return nil
	}},
}

// setupIndexes registers every field index with the manager's cache, keyed by
// namespace and value only.
//
// controller-runtime's FieldIndexer.IndexField keys every namespaced object twice: under
// "namespace/value" and, for cluster-wide lookups, under "__all_namespaces/value". The
// reconcilers never look up across namespaces (every lookup goes through listByIndex,
// which requires one), and on a platform of 300,000 bindings and invitations that
// second copy was about a sixth of the manager's heap (docs/performance-log.md). So the
// indexes are added to the informers directly, under the name and key format
// controller-runtime's cache reader looks up for client.MatchingFields with
// client.InNamespace: "field:<field>" and "<namespace>/<value>". The envtest suite
// looks up every index through the client, which would fail if that format changed.
func setupIndexes(ctx context.Context, c cache.Cache) error {
	for _, ix := range fieldIndexes {
		informer, err := c.GetInformer(ctx, ix.obj)
		if err != nil {
			return fmt.Errorf("informer for %T: %w", ix.obj, err)
		}
		indexers := toolscache.Indexers{fieldIndexName(ix.field): perNamespace(ix.extract)}
		if err := informer.AddIndexers(indexers); err != nil {
			return fmt.Errorf("index %T by %s: %w", ix.obj, ix.field, err)
		}
	}
	return nil
}

// fieldIndexName is the informer index controller-runtime's cache reader looks up for
// client.MatchingFields{field: ...}.
func fieldIndexName(field string) string { return "field:" + field }

// perNamespace keys an object's index values by its namespace, as controller-runtime's
// cache reader looks them up for a list in one namespace.
func perNamespace(extract client.IndexerFunc) toolscache.IndexFunc {
	return func(obj any) ([]string, error) {
		o, ok := obj.(client.Object)
		if !ok {
			return nil, fmt.Errorf("index: %T is not a client.Object", obj)
		}
		values := extract(o)
		keys := make([]string, len(values))
		for i, v := range values {
			keys[i] = indexKey(o.GetNamespace(), v)
		}
		return keys, nil
	}
}

// indexKey is the key of value in namespace ns's part of an index.
func indexKey(ns, value string) string { return ns + "/" + value }

// listByIndex lists into list the objects of namespace ns whose field index holds key.
// Every index lookup goes through here or indexedEach: the indexes are kept per
// namespace only (setupIndexes), so a lookup without a namespace would find nothing,
// and would, for instance, miss a block.
func listByIndex(ctx context.Context, r client.Reader, list client.ObjectList, ns, field, key string, opts ...client.ListOption) error {
	if ns == "" {
		return errNoNamespace(field, key)
	}
	opts = append([]client.ListOption{client.InNamespace(ns), client.MatchingFields{field: key}}, opts...)
	return r.List(ctx, list, opts...)
}

// indexedEach calls each with every object of namespace ns whose field index holds
// key, read straight from the informers' indexers: the cache's own objects, as
// listByIndex with client.UnsafeDisableDeepCopy returns them, without the list it
// builds and fills by reflection for each lookup (a gather makes hundreds).
func indexedEach[PT client.Object](indexers []toolscache.Indexer, ns, field, key string, each func(PT)) error {
	if ns == "" {
		return errNoNamespace(field, key)
	}
	return eachIndexed(indexers, fieldIndexName(field), indexKey(ns, key), each)
}

// eachIndexed calls each with every object whose index holds key in the indexers of
// one type's informers. A cache of several namespaces has an informer per namespace,
// and only the object's namespace's holds it.
func eachIndexed[PT client.Object](indexers []toolscache.Indexer, index, key string, each func(PT)) error {
	for _, indexer := range indexers {
		objs, err := indexer.ByIndex(index, key)
		if err != nil {
			return fmt.Errorf("look up %s=%s: %w", index, key, err)
		}
		for _, o := range objs {
			obj, ok := o.(PT)
			if !ok {
				return fmt.Errorf("look up %s=%s: the cache holds a %T", index, key, o)
			}
			each(obj)
		}
	}
	return nil
}

func errNoNamespace(field, key string) error {
	return fmt.Errorf("look up %s=%s: the field indexes are per namespace and no namespace was given", field, key)
}

// noting enqueues what fn maps an event to, calling note for each request before it
// is enqueued: a reconciler that must know which events came since it read the cache
// (changeTimes) notes them here.
func noting(fn handler.MapFunc, note func(context.Context, types.NamespacedName)) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		reqs := fn(ctx, obj)
		for _, r := range reqs {
			note(ctx, r.NamespacedName)
		}
		return reqs
	})
}

// notingObject is a predicate that passes every event and calls note for the object
// itself (a For watch); it goes after the predicates that filter.
func notingObject(note func(types.NamespacedName)) predicate.Predicate {
	return predicate.NewPredicateFuncs(func(obj client.Object) bool {
		note(client.ObjectKeyFromObject(obj))
		return true
	})
}

// labelValue is o's label key as an index key: none when o does not carry it.
func labelValue(o client.Object, key string) []string {
	if v, ok := o.GetLabels()[key]; ok {
		return []string{v}
	}
	return nil
}

// names turns a list of role names into strings.
func names(roles []v1alpha1.RoleName) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// relations answers "what does a change of this object affect" from the cache's indexes,
// reading the cache's objects without copying them (it never modifies them).
// Map functions cannot return errors: a failed lookup is logged and maps to fewer
// requests, which the next change or resync repairs.
type relations struct {
	reader client.Reader
}

// list lists obj's kind in ns whose field index holds key, logging a failure.
func (r relations) list(ctx context.Context, list client.ObjectList, ns, field, key string) bool {
	if err := listByIndex(ctx, r.reader, list, ns, field, key, noCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List for watch mapping failed", "namespace", ns, "field", field, "key", key)
		return false
	}
	return true
}

// subtree returns the roots and all their descendants, each once; a parent cycle ends
// where it closes.
func (r relations) subtree(ctx context.Context, ns string, roots ...string) []string {
	seen := map[string]bool{}
	queue := slices.Clone(roots)
	var out []string
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
		var children v1alpha1.OrganizationList
		if r.list(ctx, &children, ns, indexOrganizationParent, name) {
			for _, c := range children.Items {
				queue = append(queue, c.Name)
			}
		}
	}
	return out
}

// dependentRoles returns role and every role whose grants depend on it: the roles that
// include it and the roles it replaces, transitively.
func (r relations) dependentRoles(ctx context.Context, ns, role string) []string {
	seen := map[string]bool{}
	queue := []string{role}
	var out []string
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
		for _, field := range []string{indexRoleInclude, indexRoleReplacement} {
			var roles v1alpha1.RoleList
			if r.list(ctx, &roles, ns, field, name) {
				for _, dependent := range roles.Items {
					queue = append(queue, dependent.Name)
				}
			}
		}
	}
	return out
}

// bindingsOf returns the bindings in ns whose field index holds any of keys.
func (r relations) bindingsOf(ctx context.Context, ns, field string, keys ...string) []v1alpha1.RoleBinding {
	var out []v1alpha1.RoleBinding
	for _, key := range keys {
		var bindings v1alpha1.RoleBindingList
		if r.list(ctx, &bindings, ns, field, key) {
			out = append(out, bindings.Items...)
		}
	}
	return out
}

// invitationsOf returns the invitations in ns whose field index holds any of keys.
func (r relations) invitationsOf(ctx context.Context, ns, field string, keys ...string) []v1alpha1.UserInvitation {
	var out []v1alpha1.UserInvitation
	for _, key := range keys {
		var invitations v1alpha1.UserInvitationList
		if r.list(ctx, &invitations, ns, field, key) {
			out = append(out, invitations.Items...)
		}
	}
	return out
}

// invitationsNaming returns the invitations of roles: those that name one of them or
// were granted one (indexInvitationRole), and those naming no roles into an
// organization whose defaultRoles hold one, which an index of the invitation alone
// cannot see.
func (r relations) invitationsNaming(ctx context.Context, ns string, roles ...string) []v1alpha1.UserInvitation {
	out := r.invitationsOf(ctx, ns, indexInvitationRole, roles...)
	for _, role := range roles {
		var orgs v1alpha1.OrganizationList
		if !r.list(ctx, &orgs, ns, indexOrganizationDefaultRole, role) {
			continue
		}
		for _, org := range orgs.Items {
			for _, inv := range r.invitationsOf(ctx, ns, indexInvitationOrganization, org.Name) {
				if len(inv.Spec.Roles) == 0 {
					out = append(out, inv)
				}
			}
		}
	}
	return out
}

// reachedBy returns the organizations a binding's grant reaches: its organization and,
// for Subtree inheritance (the default), every descendant.
func (r relations) reachedBy(ctx context.Context, b *v1alpha1.RoleBinding) []string {
	org := string(b.Spec.OrganizationRef.Name)
	if b.Spec.Inheritance == v1alpha1.InheritanceNone {
		return []string{org}
	}
	return r.subtree(ctx, b.Namespace, org)
}

// listedBy returns every organization whose document lists the subjects of bindings
// and invitations: those the bindings reach and the subtrees of the organizations the
// invitations are into. Each subtree is walked once, however many bindings and
// invitations share it: a widely used role has tens of thousands of them in a few
// thousand organizations, and walking each one's subtree made the publisher's map of
// a role edit take seconds on the full-size platform.
func (r relations) listedBy(ctx context.Context, ns string, bindings []v1alpha1.RoleBinding, invitations []v1alpha1.UserInvitation) []string {
	var only, roots []string
	for i := range bindings {
		org := string(bindings[i].Spec.OrganizationRef.Name)
		if bindings[i].Spec.Inheritance == v1alpha1.InheritanceNone {
			only = append(only, org)
		} else {
			roots = append(roots, org)
		}
	}
	for i := range invitations {
		roots = append(roots, string(invitations[i].Spec.OrganizationRef.Name))
	}
	return append(only, r.subtree(ctx, ns, roots...)...)
}

// organizationsOfUser returns every organization whose document lists email.
func (r relations) organizationsOfUser(ctx context.Context, ns, email string) []string {
	return r.listedBy(ctx, ns, r.bindingsOf(ctx, ns, indexBindingEmail, email),
		r.invitationsOf(ctx, ns, indexInvitationEmail, email))
}

// organizationsOfUsers returns every organization where the users of invitations
// appear (organizationsOfUser of each, in one walk of the subtrees).
func (r relations) organizationsOfUsers(ctx context.Context, ns string, invitations []v1alpha1.UserInvitation) []string {
	emails := emailsOf(invitations)
	if len(emails) == 0 {
		return nil
	}
	return r.listedBy(ctx, ns, r.bindingsOf(ctx, ns, indexBindingEmail, emails...),
		r.invitationsOf(ctx, ns, indexInvitationEmail, emails...))
}

// requests turns names in ns into reconcile requests, each once, sorted.
func requests(ns string, names ...string) []reconcile.Request {
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]reconcile.Request, 0, len(names))
	for _, n := range names {
		if n == "" {
			continue
		}
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: n}})
	}
	return out
}

// allNames lists the names of every object of list's kind in ns.
func (r relations) allNames(ctx context.Context, list client.ObjectList, ns string) []string {
	if err := r.reader.List(ctx, list, client.InNamespace(ns), noCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List for watch mapping failed", "namespace", ns)
		return nil
	}
	var out []string
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		out = append(out, o.(client.Object).GetName())
		return nil
	})
	return out
}

// afterInitialList drops the create events of a watch's initial list from the watches
// that map an object to others. Every reconciler's own kind is listed too, and its
// workers start only once every watch has synced, so each object is reconciled once
// against a complete cache anyway; mapping the initial list only repeats those
// enqueues, at great cost: on a platform of 200,000 bindings the mapping walked an
// organization's subtree for each of them (a distributor-level binding reaches 10,101
// organizations), which was 30 % of a cold start's CPU and held back the informers'
// sync, since a watch has synced only when its handler has seen every initial object.
// Only the initial list is dropped: client-go flags its adds, not those of later
// relists. The publisher's watches keep the initial list's objects that changed while no
// manager led, to publish them ahead of the first pass (unobservedFirst).
var afterInitialList = predicate.Funcs{
	CreateFunc: func(e event.CreateEvent) bool { return !e.IsInInitialList },
}

// onlyDeletions passes deletions only.
var onlyDeletions = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// notOwnStatus passes every event of a reconciler's own kind except an update that
// changed nothing but the object's status: the reconciler's own status write. Without
// it each status write enqueues the object once more, and a cold start of 200,000
// bindings gathers and compiles every binding's organization twice. Spec (generation),
// labels, annotations, owner references, finalizers and deletion still enqueue. A status
// edited by someone else is corrected at the object's next change. The UserInvitation
// reconciler filters its owned bindings' events with it too: it reads their spec and
// metadata, never their status.
var notOwnStatus = notOwnWrites("")

// notOwnWrites is notOwnStatus that also drops the update that only added finalizer,
// when the reconciler that adds it goes on to the rest of its reconcile in the same
// pass: that update changes nothing the reconcile reads, and reconciling it again read
// a cache from before the status the first pass wrote. An update that removes the
// finalizer, or adds it beside another change, passes.
func notOwnWrites(finalizer string) predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, cur := e.ObjectOld, e.ObjectNew
			return old.GetGeneration() != cur.GetGeneration() ||
				!maps.Equal(old.GetLabels(), cur.GetLabels()) ||
				!maps.Equal(old.GetAnnotations(), cur.GetAnnotations()) ||
				!equality.Semantic.DeepEqual(old.GetOwnerReferences(), cur.GetOwnerReferences()) ||
				(!slices.Equal(old.GetFinalizers(), cur.GetFinalizers()) && !onlyAdded(old.GetFinalizers(), cur.GetFinalizers(), finalizer)) ||
				!old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp())
		},
	}
}

// onlyAdded says whether cur is old with finalizer appended, as
// controllerutil.AddFinalizer makes it.
func onlyAdded(old, cur []string, finalizer string) bool {
	return finalizer != "" && !slices.Contains(old, finalizer) &&
		len(cur) == len(old)+1 && cur[len(old)] == finalizer && slices.Equal(cur[:len(old)], old)
}

// invitationInputChanged passes an invitation's creation, deletion and the updates that
// change what the engine reads of it: the spec and the persisted grant, which is
// whether status.phase records one (Active or Blocked, permissions.RecordsGrant),
// grantedRoles, grantedBy and grantedDefaultRoles. The rest of its status (a phase that
// records no grant: New, Expired, Rejected; conditions, expiresAt, bindings) is the
// operator's output; reacting to it would fan every status write of every invitation
// out to the organizations, roles and bindings of its user, as the first status of
// every pending invitation did on a cold start before such phases were left out.
var invitationInputChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*v1alpha1.UserInvitation)
		cur, okNew := e.ObjectNew.(*v1alpha1.UserInvitation)
		if !okOld || !okNew {
			return true
		}
		return old.Generation != cur.Generation ||
			permissions.RecordsGrant(old.Status.Phase) != permissions.RecordsGrant(cur.Status.Phase) ||
			old.Status.GrantedBy != cur.Status.GrantedBy ||
			old.Status.GrantedDefaultRoles != cur.Status.GrantedDefaultRoles ||
			old.Status.GrantedInheritance != cur.Status.GrantedInheritance ||
			!slices.Equal(old.Status.GrantedRoles, cur.Status.GrantedRoles) ||
			!old.DeletionTimestamp.Equal(cur.DeletionTimestamp)
	},
}

// Map functions, grouped by the reconciler whose requests they return. Each receives
// the changed object; on an update controller-runtime calls it with the old and the new
// object, so a moved reference enqueues both the old and the new side.

// Organizations (the publisher) affected by a change of:

func (r relations) organizationsForOrganization(ctx context.Context, o client.Object) []reconcile.Request {
	ns := o.GetNamespace()
	// A moved, created or deleted organization changes its whole subtree's inheritance.
	orgs := r.subtree(ctx, ns, o.GetName())
	// The invitations into the subtree are judged on it (its owners, types and custom
	// roles' reach, its existence), and those their users sent on them in turn: their
	// users' status, platform-wide, changes wherever they are listed.
	orgs = append(orgs, r.organizationsOfUsers(ctx, ns, r.judgedOnInto(ctx, ns, orgs))...)
	// Its custom roles are Ready only while it exists, and so what the roles including
	// or replacing them grant wherever those are held.
	if roles := r.customRoleDependents(ctx, ns, o.GetName()); len(roles) > 0 {
		orgs = append(orgs, r.listedBy(ctx, ns, r.bindingsOf(ctx, ns, indexBindingRole, roles...),
			r.invitationsNaming(ctx, ns, roles...))...)
	}
	return requests(ns, orgs...)
}

// customRoleDependents returns the custom roles of organization org and the roles
// that include or replace them, transitively: whether org exists decides whether they
// are Ready. None for an organization without custom roles.
func (r relations) customRoleDependents(ctx context.Context, ns, org string) []string {
	var custom v1alpha1.RoleList
	if !r.list(ctx, &custom, ns, indexRoleOrganization, org) {
		return nil
	}
	var out []string
	for _, role := range custom.Items {
		out = append(out, r.dependentRoles(ctx, ns, role.Name)...)
	}
	return out
}

func (r relations) organizationsForRole(ctx context.Context, o client.Object) []reconcile.Request {
	ns := o.GetNamespace()
	roles := r.dependentRoles(ctx, ns, o.GetName())
	// A New invitation lists its roles in the documents before any binding exists. (One
	// naming no roles, which the index by role misses until it records a grant, is not
	// settled: the pending invitations below take it.)
	orgs := r.listedBy(ctx, ns, r.bindingsOf(ctx, ns, indexBindingRole, roles...),
		r.invitationsOf(ctx, ns, indexInvitationRole, roles...))
	// Every invitation not settled is judged again (its roles' readiness, what a "*"
	// covers): its user's status, platform-wide, may change wherever they are listed.
	if pending := r.invitationsOf(ctx, ns, indexInvitationPending, "true"); len(pending) > 0 {
		orgs = append(orgs, r.organizationsOfUsers(ctx, ns, pending)...)
	}
	return requests(ns, orgs...)
}

func (r relations) organizationsForBinding(ctx context.Context, o client.Object) []reconcile.Request {
	b := o.(*v1alpha1.RoleBinding)
	orgs := r.reachedBy(ctx, b)
	// A binding managed outside makes its subject Active on the whole platform: wherever
	// they are listed (by an invitation of theirs, New, Expired or Rejected until then,
	// or by a binding an invitation not Active owns), that changes with it.
	if permissions.ManagedOutside(b) {
		orgs = append(orgs, r.organizationsOfUser(ctx, b.Namespace, string(b.Spec.Subject.Email))...)
	}
	// What the subject holds judges the invitations they sent that are not settled, and
	// so their users' status wherever they are listed.
	if pending := r.pendingInvitedBy(ctx, b.Namespace, string(b.Spec.Subject.Email)); len(pending) > 0 {
		orgs = append(orgs, r.organizationsOfUsers(ctx, b.Namespace, pending)...)
	}
	return requests(b.Namespace, orgs...)
}

func (r relations) organizationsForInvitation(ctx context.Context, o client.Object) []reconcile.Request {
	inv := o.(*v1alpha1.UserInvitation)
	ns := inv.Namespace
	// A user's status is platform-wide: every document that lists them changes. The
	// invitation's own subtree is added because a deleted one is no longer indexed.
	orgs := r.organizationsOfUser(ctx, ns, string(inv.Spec.Email))
	orgs = append(orgs, r.subtree(ctx, ns, string(inv.Spec.OrganizationRef.Name))...)
	// A block refuses the invitations the user sent that are not settled, and that
	// changes their users' status wherever they are listed (an owner is not listed where
	// they own), and so on down the invitations those users sent. Their own status
	// writes (New to Rejected) are not watched: they record no grant
	// (invitationInputChanged).
	if pending := r.pendingInvitedBy(ctx, ns, string(inv.Spec.Email)); len(pending) > 0 {
		orgs = append(orgs, r.organizationsOfUsers(ctx, ns, pending)...)
	}
	return requests(ns, orgs...)
}

// judgedOnInto returns the invitations into orgs, and those their users sent that are
// judged on them (pendingInvitedBy): what a change of those organizations (their
// owners, types, existence) may change the phase of.
func (r relations) judgedOnInto(ctx context.Context, ns string, orgs []string) []v1alpha1.UserInvitation {
	invitations := r.invitationsOf(ctx, ns, indexInvitationOrganization, orgs...)
	for _, email := range emailsOf(invitations) {
		invitations = append(invitations, r.pendingInvitedBy(ctx, ns, email)...)
	}
	return invitations
}

// emailsOf returns the users of invitations, sorted, each once.
func emailsOf(invitations []v1alpha1.UserInvitation) []string {
	emails := make([]string, len(invitations))
	for i := range invitations {
		emails[i] = string(invitations[i].Spec.Email)
	}
	slices.Sort(emails)
	return slices.Compact(emails)
}

// pendingInvitedBy returns the invitations email sent that the engine judges on what
// their inviter holds (permissions.JudgedOnInviter: not blocked, their status not
// recording the grant they ask for), and those their users sent, transitively. A
// settled one keeps its grant whatever its inviter becomes, and one granted later
// announces itself (its status write records the grant), so these are all an
// inviter's change reaches before any status write.
func (r relations) pendingInvitedBy(ctx context.Context, ns, email string) []v1alpha1.UserInvitation {
	var out []v1alpha1.UserInvitation
	seen := map[string]bool{email: true}
	for queue := []string{email}; len(queue) > 0; queue = queue[1:] {
		for _, inv := range r.invitationsOf(ctx, ns, indexInvitationInviter, queue[0]) {
			if !permissions.JudgedOnInviter(&inv) {
				continue
			}
			out = append(out, inv)
			if user := string(inv.Spec.Email); !seen[user] {
				seen[user] = true
				queue = append(queue, user)
			}
		}
	}
	return out
}

func (r relations) organizationsForTree(ctx context.Context, o client.Object) []reconcile.Request {
	// The tree decides every permission set's closure: every document may change.
	return requests(o.GetNamespace(), r.allNames(ctx, &v1alpha1.OrganizationList{}, o.GetNamespace())...)
}

// organizationNamedByDocument maps a deleted document ConfigMap to the organization
// whose document would have its name: access-x-2, shard 2 of x, is also the name of
// organization x-2's document, which could not be published while x held it
// (PublishFailed). Without this, x-2 would wait for its error backoff, up to minutes,
// after x shrinks.
func organizationNamedByDocument(_ context.Context, o client.Object) []reconcile.Request {
	name, ok := strings.CutPrefix(o.GetName(), v1alpha1.DocumentConfigMapPrefix)
	if !ok || name == "" {
		return nil
	}
	return requests(o.GetNamespace(), name)
}

// Roles affected (expanded grants, usedBy, boundUsers, deprecatedOnlyUsers) by a change of:

func (r relations) rolesForRole(ctx context.Context, o client.Object) []reconcile.Request {
	// Every role of the namespace: a role's status can depend on any other's. Roles that
	// include or replace it change their grants, the roles it includes or replaces their
	// usedBy; but deprecatedOnlyUsers counts every role of each user bound to it, so a
	// role deprecated or no longer deprecated changes the counts of other roles its
	// users hold, and AssignableRoleNotFound names roles that do not exist, so a role
	// created or deleted changes the roles naming it. (Until 2026-12-07 only the first
	// were enqueued, and the others waited for a resync: the controller audit.) Roles
	// are few next to bindings, and every role's result comes from one snapshot of the
	// namespace (role_snapshot.go), so the reconciles cost one compile and a comparison
	// each.
	var roles v1alpha1.RoleList
	if err := r.reader.List(ctx, &roles, client.InNamespace(o.GetNamespace()), noCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List for watch mapping failed", "namespace", o.GetNamespace(), "kind", "Role")
		return requests(o.GetNamespace(), o.GetName())
	}
	all := make([]string, len(roles.Items))
	for i := range roles.Items {
		all[i] = roles.Items[i].Name
	}
	return requests(o.GetNamespace(), all...)
}

func (r relations) rolesForBinding(ctx context.Context, o client.Object) []reconcile.Request {
	b := o.(*v1alpha1.RoleBinding)
	// deprecatedOnlyUsers of every role the user holds depends on all their bindings.
	roles := []string{string(b.Spec.RoleRef.Name)}
	for _, other := range r.bindingsOf(ctx, b.Namespace, indexBindingEmail, string(b.Spec.Subject.Email)) {
		roles = append(roles, string(other.Spec.RoleRef.Name))
	}
	return requests(b.Namespace, roles...)
}

func (r relations) rolesForInvitation(ctx context.Context, o client.Object) []reconcile.Request {
	inv := o.(*v1alpha1.UserInvitation)
	roles := names(inv.Spec.Roles)
	roles = append(roles, inv.Status.GrantedRoles...)
	if len(inv.Spec.Roles) == 0 {
		var org v1alpha1.Organization
		key := types.NamespacedName{Namespace: inv.Namespace, Name: string(inv.Spec.OrganizationRef.Name)}
		if err := r.reader.Get(ctx, key, &org, noCopy); err == nil {
			roles = append(roles, names(org.Spec.DefaultRoles)...)
		}
	}
	return requests(inv.Namespace, roles...)
}

func (r relations) rolesForOrganization(ctx context.Context, o client.Object) []reconcile.Request {
	org := o.(*v1alpha1.Organization)
	// An invitation naming no roles uses the organization's defaultRoles, or the grant it
	// recorded of them, only while the organization exists.
	roles := names(org.Spec.DefaultRoles)
	for _, inv := range r.invitationsOf(ctx, org.Namespace, indexInvitationOrganization, org.Name) {
		if len(inv.Spec.Roles) == 0 {
			roles = append(roles, inv.Status.GrantedRoles...)
		}
	}
	roles = append(roles, r.customRoleDependents(ctx, org.Namespace, org.Name)...)
	return requests(org.Namespace, roles...)
}

func (r relations) rolesForTree(ctx context.Context, o client.Object) []reconcile.Request {
	return requests(o.GetNamespace(), r.allNames(ctx, &v1alpha1.RoleList{}, o.GetNamespace())...)
}

// Organizations whose RoleBindings' conditions (the RoleBinding reconciler's requests,
// which name the bindings' organization) are affected by a change of:

func organizationOfBinding(_ context.Context, o client.Object) []reconcile.Request {
	b := o.(*v1alpha1.RoleBinding)
	return requests(b.Namespace, string(b.Spec.OrganizationRef.Name))
}

func (r relations) bindingOrganizationsForRole(ctx context.Context, o client.Object) []reconcile.Request {
	ns := o.GetNamespace()
	bindings := r.bindingsOf(ctx, ns, indexBindingRole, r.dependentRoles(ctx, ns, o.GetName())...)
	// A role change judges again every invitation not settled (its roles' readiness and
	// what a "*" covers), and the bindings those own say whether they are Active.
	if pending := r.invitationsOf(ctx, ns, indexInvitationPending, "true"); len(pending) > 0 {
		bindings = append(bindings, r.bindingsOf(ctx, ns, indexBindingEmail, emailsOf(pending)...)...)
	}
	return bindingOrganizations(ns, bindings)
}

func (r relations) bindingOrganizationsForOrganization(ctx context.Context, o client.Object) []reconcile.Request {
	ns := o.GetNamespace()
	subtree := r.subtree(ctx, ns, o.GetName())
	bindings := r.bindingsOf(ctx, ns, indexBindingOrganization, subtree...)
	// The bindings the invitations judged on the subtree own (InvitationNotActive).
	bindings = append(bindings, r.bindingsOf(ctx, ns, indexBindingEmail, emailsOf(r.judgedOnInto(ctx, ns, subtree))...)...)
	// The bindings of its custom roles, and of the roles including or replacing them;
	// and those owned by the invitations naming such roles, which are judged again
	// (invitationOrganizationsForOrganization) and may stop being Active.
	if roles := r.customRoleDependents(ctx, ns, o.GetName()); len(roles) > 0 {
		bindings = append(bindings, r.bindingsOf(ctx, ns, indexBindingRole, roles...)...)
		bindings = append(bindings, r.bindingsOf(ctx, ns, indexBindingEmail, emailsOf(r.invitationsNaming(ctx, ns, roles...))...)...)
	}
	return bindingOrganizations(ns, bindings)
}

func (r relations) bindingOrganizationsForBinding(ctx context.Context, o client.Object) []reconcile.Request {
	b := o.(*v1alpha1.RoleBinding)
	// What the subject holds judges the invitations they sent that are not settled, and
	// the bindings those invitations own say whether they are Active.
	pending := r.pendingInvitedBy(ctx, b.Namespace, string(b.Spec.Subject.Email))
	if len(pending) == 0 {
		return nil
	}
	return bindingOrganizations(b.Namespace, r.bindingsOf(ctx, b.Namespace, indexBindingEmail, emailsOf(pending)...))
}

func (r relations) bindingOrganizationsForInvitation(ctx context.Context, o client.Object) []reconcile.Request {
	inv := o.(*v1alpha1.UserInvitation)
	// The user's bindings (SubjectBlocked, their invitations' phases), and those of the
	// users of the invitations they sent that are judged on them: a block refuses those
	// invitations, and the bindings they own say so.
	emails := append(emailsOf(r.pendingInvitedBy(ctx, inv.Namespace, string(inv.Spec.Email))), string(inv.Spec.Email))
	return bindingOrganizations(inv.Namespace, r.bindingsOf(ctx, inv.Namespace, indexBindingEmail, emails...))
}

func (r relations) bindingOrganizationsForTree(ctx context.Context, o client.Object) []reconcile.Request {
	// The tree decides which roles are Ready, and so which bindings are: every binding.
	ns := o.GetNamespace()
	var list v1alpha1.RoleBindingList
	if err := r.reader.List(ctx, &list, client.InNamespace(ns), noCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List for watch mapping failed", "namespace", ns)
		return nil
	}
	return bindingOrganizations(ns, list.Items)
}

// bindingOrganizations returns a request for each organization bindings name.
func bindingOrganizations(ns string, bindings []v1alpha1.RoleBinding) []reconcile.Request {
	orgs := make([]string, len(bindings))
	for i := range bindings {
		orgs[i] = string(bindings[i].Spec.OrganizationRef.Name)
	}
	return requests(ns, orgs...)
}

// PermissionTrees affected (duplicates and parents are judged across trees) by a change of:

func (r relations) treesForTree(ctx context.Context, o client.Object) []reconcile.Request {
	return requests(o.GetNamespace(), r.allNames(ctx, &v1alpha1.PermissionTreeList{}, o.GetNamespace())...)
}

// Organizations whose UserInvitations (the UserInvitation reconciler's requests, which
// name the invitations' organization) are affected (phase, delegation, owned bindings,
// deletion) by a change of:

func organizationOfInvitation(_ context.Context, o client.Object) []reconcile.Request {
	inv := o.(*v1alpha1.UserInvitation)
	return requests(inv.Namespace, string(inv.Spec.OrganizationRef.Name))
}

func (r relations) invitationOrganizationsForInvitation(ctx context.Context, o client.Object) []reconcile.Request {
	inv := o.(*v1alpha1.UserInvitation)
	// A block on any of a user's invitations blocks the user everywhere, and refuses the
	// invitations they sent that are judged on them.
	invitations := r.invitationsOf(ctx, inv.Namespace, indexInvitationEmail, string(inv.Spec.Email))
	invitations = append(invitations, r.pendingInvitedBy(ctx, inv.Namespace, string(inv.Spec.Email))...)
	return invitationOrganizations(inv.Namespace, invitations)
}

func (r relations) invitationOrganizationsForBinding(ctx context.Context, o client.Object) []reconcile.Request {
	b := o.(*v1alpha1.RoleBinding)
	email := string(b.Spec.Subject.Email)
	// The subject's invitations wait on their other bindings when deleted; the
	// invitations the subject sent are judged against what the subject holds, and
	// those their users sent against what those hold, in turn.
	invitations := r.invitationsOf(ctx, b.Namespace, indexInvitationEmail, email)
	invitations = append(invitations, r.pendingInvitedBy(ctx, b.Namespace, email)...)
	return invitationOrganizations(b.Namespace, invitations)
}

func (r relations) invitationOrganizationsForRole(ctx context.Context, o client.Object) []reconcile.Request {
	ns := o.GetNamespace()
	// The pending invitations include those naming no roles that the index by role
	// misses (invitationsNaming).
	invitations := r.invitationsOf(ctx, ns, indexInvitationRole, r.dependentRoles(ctx, ns, o.GetName())...)
	invitations = append(invitations, r.invitationsOf(ctx, ns, indexInvitationPending, "true")...)
	return invitationOrganizations(ns, invitations)
}

func (r relations) invitationOrganizationsForOrganization(ctx context.Context, o client.Object) []reconcile.Request {
	ns := o.GetNamespace()
	// An owner or defaultRoles change, or the organization appearing, changes the
	// invitations into it and, through ownership of the subtree, below it, and those
	// their users sent, judged on them.
	invitations := r.judgedOnInto(ctx, ns, r.subtree(ctx, ns, o.GetName()))
	// Invitations naming its custom roles: whether those may be bound depends on it.
	if roles := r.customRoleDependents(ctx, ns, o.GetName()); len(roles) > 0 {
		invitations = append(invitations, r.invitationsNaming(ctx, ns, roles...)...)
	}
	return invitationOrganizations(ns, invitations)
}

func (r relations) invitationOrganizationsForTree(ctx context.Context, o client.Object) []reconcile.Request {
	// The tree decides which roles are Ready and what a `*` delegation covers: every
	// invitation not granted yet is judged again (a granted one keeps its grant).
	ns := o.GetNamespace()
	return invitationOrganizations(ns, r.invitationsOf(ctx, ns, indexInvitationPending, "true"))
}

// invitationOrganizations returns a request for each organization invitations name.
func invitationOrganizations(ns string, invitations []v1alpha1.UserInvitation) []reconcile.Request {
	orgs := make([]string, len(invitations))
	for i := range invitations {
		orgs[i] = string(invitations[i].Spec.OrganizationRef.Name)
	}
	return requests(ns, orgs...)
}
