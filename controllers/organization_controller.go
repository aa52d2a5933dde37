package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// OrganizationReconciler publishes each Organization's access document and writes the
// Organization's status. Publishing and status are one reconcile because the status
// reports the publish (publishedConfigMaps, Ready=False with PublishFailed) and both
// come from the same gathered input: two reconcilers would gather and compile twice and
// would have to pass the publish outcome through the API server.
type OrganizationReconciler struct {
	client    client.Client
	clock     clock.PassiveClock
	gather    gatherer
	publisher publisher
	changes   *changeTimes
	backlog   *publishBacklog
	// deletions logs what a standby's informers see deleted before it leads.
	deletions *standbyDeletions
	// races paces the retries of an organization whose publish lost a write race
	// (Conflict, AlreadyExists, NotFound) as the work queue would pace an error: 5 ms,
	// doubling while it keeps losing, up to 10 s.
	races workqueue.TypedRateLimiter[reconcile.Request]
}

var _ reconcile.Reconciler = &OrganizationReconciler{}

// newOrganizationReconciler returns the Organization reconciler (the publisher),
// writing with c (the manager's cache-backed client), reading ConfigMaps the cache
// leaves out with uncached, gathering with g, taking time from clk and recording its
// work in backlog.
func newOrganizationReconciler(c client.Client, uncached client.Reader, clk clock.PassiveClock, g gatherer, backlog *publishBacklog) *OrganizationReconciler {
	return &OrganizationReconciler{client: c, clock: clk, gather: g,
		publisher: publisher{client: c, uncached: uncached, own: newOwnWrites()},
		changes:   newChangeTimes(clk), backlog: backlog, deletions: newStandbyDeletions(unobservedAheadLimit, clk),
		races: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, 10*time.Second)}
}

// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=organizations;permissiontrees;roles;rolebindings;userinvitations,verbs=get;list;watch
// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=organizations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=organizations/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete

// Reconcile publishes one organization's document and writes its status.
func (r *OrganizationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.deletions.led()
	// The events this reconcile answers; a failed reconcile leaves them to the retry.
	changed, observed := r.changes.take(req.NamespacedName)
	result, err := r.reconcile(ctx, req, changed, observed)
	if err != nil && observed {
		r.changes.restore(req.NamespacedName, changed)
	}
	return result, err
}

// reconcile publishes and writes the status; changed is when the manager first saw an
// event for the organization since the previous reconcile began, when observed.
func (r *OrganizationReconciler) reconcile(ctx context.Context, req ctrl.Request, changed time.Time, observed bool) (ctrl.Result, error) {
	org := &v1alpha1.Organization{}
	if err := r.client.Get(ctx, req.NamespacedName, org); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, r.publisher.unpublish(ctx, req.Namespace, req.Name)
		}
		return ctrl.Result{}, fmt.Errorf("get Organization %s: %w", req, err)
	}
	if !org.DeletionTimestamp.IsZero() {
		// Deleted: it grants nothing from now on, even while a finalizer holds it.
		return ctrl.Result{}, r.publisher.unpublish(ctx, req.Namespace, req.Name)
	}

	in, err := r.gather.forOrganization(ctx, org.Namespace, org.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.clock.Now()
	platform := r.gather.compile(in, now)
	result, found := platform.Organization(org.Name)
	shards, withheld, published := platform.Shards(org.Name)
	if !found || !published {
		return ctrl.Result{}, notCompiled(ctx, r.client, &v1alpha1.Organization{}, "Organization", req)
	}

	written, publishErr := r.publisher.publish(ctx, org, shards)
	if publishErr != nil && transient(publishErr) {
		// A race with another writer, most often this manager's own last write that the
		// cache has not seen yet: retry shortly and report nothing. Returned as an error it
		// would be logged as one and counted by the "Reconciles fail" alert.
		ctrl.LoggerFrom(ctx).V(1).Info("Publishing raced with another write; retrying", "error", publishErr.Error())
		return ctrl.Result{RequeueAfter: r.races.When(req)}, nil
	}
	r.races.Forget(req)
	if written.wrote {
		r.observePublish(in, changed, observed)
	}
	status := organizationStatus(org, result, written.names, publishErr, withheld)
	if written.wrote && publishErr == nil && !equality.Semantic.DeepEqual(org.Status, status) {
		// Documents before statuses: the status is written by a later reconcile, queued
		// behind every organization still waiting to publish (a cold start queues them
		// all). The organizations' status writes would otherwise take turns with the
		// ConfigMap writes in the workers.
		return ctrl.Result{RequeueAfter: time.Millisecond, Priority: ptr.To(statusPriority)}, nil
	}
	if err := r.writeStatus(ctx, org, status); err != nil {
		return ctrl.Result{}, err
	}
	if publishErr != nil {
		return ctrl.Result{}, publishErr
	}
	return requeueForTime(platform, now), nil
}

// statusPriority is the work queue priority of a reconcile that only writes an
// organization's status: below every event's (handler.LowPriority is the initial
// list's), so that it waits for every pending publish.
const statusPriority = handler.LowPriority - 100

// organizationStatus is org's status for the engine's result and the publish outcome:
// a failed publish makes Ready False with PublishFailed and keeps the last names.
func organizationStatus(org *v1alpha1.Organization, result permissions.OrganizationResult, published []string, publishErr error, withheld []permissions.WithheldUser) v1alpha1.OrganizationStatus {
	status := v1alpha1.OrganizationStatus{
		ObservedGeneration:  org.Generation,
		Path:                result.Path,
		Depth:               result.Depth,
		Users:               result.Users,
		PublishedConfigMaps: published,
		Conditions:          mergeConditions(org.Status.Conditions, result.Conditions, org.Generation),
	}
	if len(withheld) > 0 {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{
			Type:               v1alpha1.ConditionReady,
			Status:             metav1.ConditionFalse,
			Reason:             v1alpha1.ReasonPermissionsTooLarge,
			Message:            fitMessage(withheldMessage(org.Name, withheld)),
			ObservedGeneration: org.Generation,
		})
	}
	var failed *publishError
	if errors.As(publishErr, &failed) {
		status.PublishedConfigMaps = org.Status.PublishedConfigMaps
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{
			Type:               v1alpha1.ConditionReady,
			Status:             metav1.ConditionFalse,
			Reason:             v1alpha1.ReasonPublishFailed,
			Message:            failed.conditionMessage(),
			ObservedGeneration: org.Generation,
		})
	}
	return status
}

// withheldMessage says whose permissions org's document withholds, and why.
func withheldMessage(org string, withheld []permissions.WithheldUser) string {
	users := make([]string, len(withheld))
	for i, w := range withheld {
		users[i] = fmt.Sprintf("%s (%d bytes)", w.Email, w.Bytes)
	}
	return fmt.Sprintf("the permissions of %s are larger than a document can hold (%d bytes); they hold nothing in %s until their roles grant less",
		strings.Join(users, ", "), v1alpha1.MaxDocumentBytes, org)
}

func (r *OrganizationReconciler) writeStatus(ctx context.Context, org *v1alpha1.Organization, status v1alpha1.OrganizationStatus) error {
	before := org.DeepCopy()
	org.Status = status
	return patchStatus(ctx, r.client, before, org)
}

// observePublish records how long a published change took: from the event that
// announced it, or, for a publish no event announced (a requeue at an expiry), from the
// newest creation or deletion among the document's inputs.
func (r *OrganizationReconciler) observePublish(in permissions.Input, changed time.Time, observed bool) {
	if !observed {
		var objs []metav1.Object
		eachObject(in, func(o client.Object) { objs = append(objs, o) })
		if changed = newestChange(objs...); changed.IsZero() {
			return
		}
	}
	changeToPublish.Observe(max(r.clock.Since(changed).Seconds(), 0))
}

// newestChange is when the newest of objs last changed, as far as the cache's copies
// tell: their creation and deletion (the cache strips managedFields, which would date
// edits). A deleted input leaves no trace, so a publish caused by a deletion is
// measured from the newest surviving change, an overestimate.
func newestChange(objs ...metav1.Object) time.Time {
	var newest time.Time
	later := func(t *metav1.Time) {
		if t != nil && t.After(newest) {
			newest = t.Time
		}
	}
	for _, o := range objs {
		ct := o.GetCreationTimestamp()
		later(&ct)
		later(o.GetDeletionTimestamp())
	}
	return newest
}

// ofMissingOrganization says whether document ConfigMap cm is controlled by an
// Organization that does not exist: one deleted while no manager ran, whose documents a
// cluster without a garbage collector (envtest, `make run`) keeps, granting what they
// granted, until something deletes them. It reads the informer's indexer, which neither
// copies nor waits for the Organization informer to sync (the client's Get would block
// the ConfigMap informer's handler until then): an organization not listed yet counts
// as missing, and so does a read error; the reconcile it brings, which runs once every
// cache has synced, reads again.
func (r *OrganizationReconciler) ofMissingOrganization(cm client.Object) bool {
	ref := metav1.GetControllerOf(cm)
	if ref == nil || ref.Kind != "Organization" {
		return false
	}
	org, err := r.gather.organization(context.Background(), cm.GetNamespace(), ref.Name)
	return err != nil || org == nil
}

// SetupWithManager registers the publisher and the watches that enqueue the
// organizations each change affects (indexes.go). Its queue, map functions and
// reconciles are the backlog the other reconcilers yield to.
func (r *OrganizationReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	rel := relations{reader: mgr.GetClient()}
	// The initial list is mapped only for the objects changed while no manager led,
	// which go ahead of the first pass (first_pass.go), in place of afterInitialList, and
	// so do the deletions this replica saw before it led.
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{})
	seen, first := r.changes, newUnobservedFirst(unobservedAheadLimit)
	var logged error
	mapped := func(obj client.Object, fn handler.MapFunc) handler.EventHandler {
		h := first.ahead(seen.mapped(r.backlog.mapping(fn)))
		logged = errors.Join(logged, r.deletions.watch(context.Background(), mgr.GetCache(), obj, h))
		return h
	}
	org, role, binding := &v1alpha1.Organization{}, &v1alpha1.Role{}, &v1alpha1.RoleBinding{}
	invitation, tree, document := &v1alpha1.UserInvitation{}, &v1alpha1.PermissionTree{}, &corev1.ConfigMap{}
	opts.NewQueue = r.backlog.newQueue
	b := ctrl.NewControllerManagedBy(mgr).
		For(org, builder.WithPredicates(notOwnStatus, seen.ofObject())).
		// Not the ConfigMaps' creation, nor the update the publisher wrote: its own write
		// would bring the organization back at once, ahead of those still waiting to
		// publish, to find its document published. A ConfigMap whose organization does
		// not exist is the exception: its creation (the manager's first list included)
		// brings that organization's reconcile, which deletes it.
		Owns(document, builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(e event.CreateEvent) bool { return r.ofMissingOrganization(e.Object) },
		}, r.publisher.own.notOwnWrite(), seen.ofController())).
		Watches(org, mapped(org, rel.organizationsForOrganization), specChanged).
		Watches(role, mapped(role, rel.organizationsForRole), specChanged).
		Watches(binding, mapped(binding, rel.organizationsForBinding), specChanged).
		Watches(invitation, mapped(invitation, rel.organizationsForInvitation),
			builder.WithPredicates(invitationInputChanged)).
		Watches(tree, mapped(tree, rel.organizationsForTree), specChanged).
		Watches(document, mapped(document, organizationNamedByDocument), builder.WithPredicates(onlyDeletions)).
		WatchesRawSource(source.Func(r.deletions.takeOver))
	if logged != nil {
		return logged
	}
	return b.
		WithOptions(opts).
		Complete(r.backlog.reconciling(r))
}
