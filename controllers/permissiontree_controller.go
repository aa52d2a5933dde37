package controllers

import (
	"context"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// PermissionTreeReconciler writes each PermissionTree's status: its path count and the
// problems of the merged catalog (DuplicatePath, UnknownImplication, MissingParent).
type PermissionTreeReconciler struct {
	client client.Client
	clock  clock.PassiveClock
	gather gatherer
}

var _ reconcile.Reconciler = &PermissionTreeReconciler{}

func newPermissionTreeReconciler(c client.Client, clk clock.PassiveClock, g gatherer) *PermissionTreeReconciler {
	return &PermissionTreeReconciler{client: c, clock: clk, gather: g}
}

// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=permissiontrees/status,verbs=get;update;patch

// Reconcile writes one PermissionTree's status.
func (r *PermissionTreeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tree := &v1alpha1.PermissionTree{}
	if err := r.client.Get(ctx, req.NamespacedName, tree); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	in, err := r.gather.forTrees(ctx, tree.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	result, found := r.gather.compile(in, r.clock.Now()).Tree(tree.Name)
	if !found {
		return ctrl.Result{}, notCompiled(ctx, r.client, &v1alpha1.PermissionTree{}, "PermissionTree", req)
	}

	before := tree.DeepCopy()
	tree.Status = v1alpha1.PermissionTreeStatus{
		ObservedGeneration: tree.Generation,
		Paths:              result.Paths,
		Conditions:         mergeConditions(tree.Status.Conditions, result.Conditions, tree.Generation),
	}
	err = patchStatus(ctx, r.client, before, tree)
	return ctrl.Result{}, err
}

// SetupWithManager registers the PermissionTree reconciler; every tree of a namespace
// is judged together, so a change of one enqueues them all.
func (r *PermissionTreeReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	rel := relations{reader: mgr.GetClient()}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.PermissionTree{}, builder.WithPredicates(notOwnStatus)).
		Watches(&v1alpha1.PermissionTree{}, handler.EnqueueRequestsFromMapFunc(rel.treesForTree),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}, afterInitialList)).
		WithOptions(opts).
		Complete(r)
}
