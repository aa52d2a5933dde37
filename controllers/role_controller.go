package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// RoleInUseFinalizer keeps a Role that bindings, invitations or including roles still use.
const RoleInUseFinalizer = "access.orgaccess.dev/role-in-use"

// maxUsedBy bounds status.usedBy, as the API documents.
const maxUsedBy = 20

// RoleReconciler writes each Role's status (expanded grants, users, what uses it) and
// protects a role in use from deletion.
type RoleReconciler struct {
	client    client.Client
	clock     clock.PassiveClock
	snapshots *roleSnapshots
	backlog   *publishBacklog
	recorder  events.EventRecorder
}

var _ reconcile.Reconciler = &RoleReconciler{}

func newRoleReconciler(c client.Client, clk clock.PassiveClock, g gatherer, backlog *publishBacklog, recorder events.EventRecorder) *RoleReconciler {
	return &RoleReconciler{client: c, clock: clk, snapshots: newRoleSnapshots(g), backlog: backlog, recorder: recorder}
}

// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=roles,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=roles/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=roles/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile writes one Role's status; a deleted role's finalizer is removed once
// nothing uses it.
func (r *RoleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	role := &v1alpha1.Role{}
	if err := r.client.Get(ctx, req.NamespacedName, role); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	deleting := !role.DeletionTimestamp.IsZero()
	if !deleting {
		// Having added it, return and leave the rest to the reconcile its update event
		// brings. Going on would write the status too, and that next reconcile, which
		// can start before the cache holds the status write, would compute the same
		// status from the cache's older copy and patch it once more. (The invitation
		// reconciler goes on instead: its own finalizer's event is dropped, notOwnWrites.)
		if added, err := ensureFinalizer(ctx, r.client, role, RoleInUseFinalizer); err != nil || added {
			return ctrl.Result{}, err
		}
	}

	// Statuses wait for the documents: they share the CPU with the publisher.
	r.backlog.wait(ctx)
	now := r.clock.Now()
	roles, next, wait, err := r.snapshots.roles(ctx, role.Namespace, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	if wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	result, found := roles[role.Name]
	if !found {
		return ctrl.Result{}, notCompiled(ctx, r.client, &v1alpha1.Role{}, "Role", req)
	}

	if deleting && len(result.UsedBy) == 0 {
		return ctrl.Result{}, removeFinalizer(ctx, r.client, role, RoleInUseFinalizer)
	}
	wasWaiting := meta.IsStatusConditionTrue(role.Status.Conditions, v1alpha1.ConditionInUse)
	status := roleStatus(role, result)
	if err := r.writeStatus(ctx, role, status); err != nil {
		return ctrl.Result{}, err
	}
	// Announced when the status written starts to say so, not when this reconcile's Get
	// saw the deletion: the snapshot can see a deletion the Get did not, and the status
	// written then says InUse while no later reconcile finds it newly so.
	if !wasWaiting && meta.IsStatusConditionTrue(status.Conditions, v1alpha1.ConditionInUse) {
		r.recorder.Eventf(role, nil, corev1.EventTypeWarning, "DeletionWaiting", "Delete",
			"Deletion waits until nothing uses the role: %s", strings.Join(status.UsedBy, ", "))
	}
	return requeueAt(next, !next.IsZero(), now), nil
}

// roleStatus is role's status for the engine's result. While a deletion waits, the
// engine's InUse condition says what still uses the role.
func roleStatus(role *v1alpha1.Role, result permissions.RoleResult) v1alpha1.RoleStatus {
	usedBy := result.UsedBy
	if len(usedBy) > maxUsedBy {
		usedBy = usedBy[:maxUsedBy]
	}
	return v1alpha1.RoleStatus{
		ObservedGeneration:  role.Generation,
		Permissions:         result.Permissions,
		Features:            result.Features,
		BoundUsers:          result.BoundUsers,
		DeprecatedOnlyUsers: result.DeprecatedOnlyUsers,
		UsedBy:              usedBy,
		Conditions:          mergeConditions(role.Status.Conditions, result.Conditions, role.Generation),
	}
}

func (r *RoleReconciler) writeStatus(ctx context.Context, role *v1alpha1.Role, status v1alpha1.RoleStatus) error {
	before := role.DeepCopy()
	role.Status = status
	return patchStatus(ctx, r.client, before, role)
}

// ensureFinalizer adds finalizer to obj unless it is there, with an optimistic lock so
// that no other writer's finalizers are lost, and says whether it added it.
func ensureFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) (bool, error) {
	if controllerutil.ContainsFinalizer(obj, finalizer) {
		return false, nil
	}
	before := obj.DeepCopyObject().(client.Object)
	controllerutil.AddFinalizer(obj, finalizer)
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("add finalizer to %s %s: %w", kindOf(obj), client.ObjectKeyFromObject(obj), err)
	}
	return true, nil
}

// removeFinalizer removes finalizer from obj, letting its deletion complete.
func removeFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) error {
	if !controllerutil.ContainsFinalizer(obj, finalizer) {
		return nil
	}
	before := obj.DeepCopyObject().(client.Object)
	controllerutil.RemoveFinalizer(obj, finalizer)
	err := c.Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer from %s %s: %w", kindOf(obj), client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// SetupWithManager registers the Role reconciler and the watches of what a role's
// status depends on.
func (r *RoleReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	rel := relations{reader: mgr.GetClient()}
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{}, afterInitialList)
	// Every handler bumps the namespace's epoch before it enqueues (roleSnapshots); the
	// role's own watch also enqueues on its status and finalizer changes, which are not
	// input.
	mapped := func(fn handler.MapFunc) handler.EventHandler {
		return r.snapshots.bumping(handler.EnqueueRequestsFromMapFunc(fn), nil)
	}
	opts.NewQueue = r.backlog.yieldingQueue // its reconciles yield to the publisher
	return ctrl.NewControllerManagedBy(mgr).
		Named("role").
		Watches(&v1alpha1.Role{}, r.snapshots.bumping(&handler.EnqueueRequestForObject{}, specOrDeletionChanged)).
		Watches(&v1alpha1.Role{}, mapped(rel.rolesForRole), specChanged).
		Watches(&v1alpha1.RoleBinding{}, mapped(rel.rolesForBinding), specChanged).
		Watches(&v1alpha1.UserInvitation{}, mapped(rel.rolesForInvitation), builder.WithPredicates(invitationInputChanged, afterInitialList)).
		Watches(&v1alpha1.Organization{}, mapped(rel.rolesForOrganization), specChanged).
		Watches(&v1alpha1.PermissionTree{}, mapped(rel.rolesForTree), specChanged).
		WithOptions(opts).
		Complete(r)
}
