package controllers

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// RoleBindingReconciler writes each RoleBinding's conditions: whether it grants, and
// why not (RoleNotFound, OrganizationNotFound, SubjectBlocked, Expired ...).
type RoleBindingReconciler struct {
	client  client.Client
	clock   clock.PassiveClock
	results *bindingResults
	marks   *requestMarks
	backlog *publishBacklog
}

var _ reconcile.Reconciler = &RoleBindingReconciler{}

func newRoleBindingReconciler(c client.Client, clk clock.PassiveClock, g gatherer, backlog *publishBacklog) *RoleBindingReconciler {
	marks := newRequestMarks()
	return &RoleBindingReconciler{client: c, clock: clk, results: newBindingResults(g, marks), marks: marks, backlog: backlog}
}

// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=rolebindings/status,verbs=get;update;patch

// Reconcile writes one RoleBinding's status.
func (r *RoleBindingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	binding := &v1alpha1.RoleBinding{}
	// Read before the Get: a binding created again after this read keeps its new mark.
	marked := r.marks.last(req.NamespacedName)
	if err := r.client.Get(ctx, req.NamespacedName, binding); err != nil {
		if apierrors.IsNotFound(err) {
			r.results.done(req.NamespacedName, marked) // a deleted binding's mark is not kept
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	// Statuses wait for the documents: they share the CPU with the publisher.
	r.backlog.wait(ctx)
	// A binding's result depends on what its organization's results depend on; one
	// compile of that subset serves every binding of the organization (bindingResults).
	now := r.clock.Now()
	outcome, mark, found, err := r.results.result(ctx, req.NamespacedName, string(binding.Spec.OrganizationRef.Name), now)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !found {
		return ctrl.Result{}, notCompiled(ctx, r.client, &v1alpha1.RoleBinding{}, "RoleBinding", req)
	}

	before := binding.DeepCopy()
	binding.Status = v1alpha1.RoleBindingStatus{
		ObservedGeneration: binding.Generation,
		Conditions:         mergeConditions(binding.Status.Conditions, outcome.result.Conditions, binding.Generation),
	}
	if err := patchStatus(ctx, r.client, before, binding); err != nil {
		return ctrl.Result{}, err
	}
	r.results.done(req.NamespacedName, mark)
	// Requeued when this binding's result changes by time (its expiry, a role's
	// removal), not at every expiry of its organization's subset.
	return requeueAt(outcome.next, outcome.ok, now), nil
}

// SetupWithManager registers the RoleBinding reconciler and the watches of what a
// binding's conditions depend on.
func (r *RoleBindingReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	rel := relations{reader: mgr.GetClient()}
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{}, afterInitialList)
	// Every request is marked before it is enqueued (bindingResults): the For watch's
	// marking predicate goes after the one that filters.
	opts.NewQueue = r.backlog.yieldingQueue // its reconciles yield to the publisher
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.RoleBinding{}, builder.WithPredicates(notOwnStatus, r.marks.ofObject())).
		Watches(&v1alpha1.Role{}, r.marks.mapped(rel.bindingsForRole), specChanged).
		Watches(&v1alpha1.Organization{}, r.marks.mapped(rel.bindingsForOrganization), specChanged).
		Watches(&v1alpha1.UserInvitation{}, r.marks.mapped(rel.bindingsForInvitation),
			builder.WithPredicates(invitationInputChanged, afterInitialList)).
		WithOptions(opts).
		Complete(r)
}
