package controllers

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// RoleBindingReconciler writes RoleBindings' conditions: whether each grants, and why
// not (RoleNotFound, OrganizationNotFound, SubjectBlocked, Expired ...).
//
// Its requests name an organization, not a binding: one reconcile gathers and compiles
// the organization's subset once and writes the status of every binding whose
// organizationRef names it. A binding's result depends on no more than that subset
// (docs/controllers.md), so an event that changes one binding's result enqueues its
// organization, and the reconcile writes only the statuses that differ. Keyed by
// binding, a cold start or a restart queued all 198,090 bindings of the full-size
// platform, each with its queue entry, and the bindings of an organization shared one
// compile through results kept for each other until the last of them was reconciled;
// keyed by organization the queue holds at most the 10,101 organizations and nothing
// is kept between reconciles (docs/controllers.md).
type RoleBindingReconciler struct {
	client  client.Client
	clock   clock.PassiveClock
	gather  gatherer
	backlog *publishBacklog
}

var _ reconcile.Reconciler = &RoleBindingReconciler{}

func newRoleBindingReconciler(c client.Client, clk clock.PassiveClock, g gatherer, backlog *publishBacklog) *RoleBindingReconciler {
	return &RoleBindingReconciler{client: c, clock: clk, gather: g, backlog: backlog}
}

// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=rolebindings/status,verbs=get;update;patch

// Reconcile writes the status of each RoleBinding whose organizationRef is req's name,
// whether that organization exists or not.
func (r *RoleBindingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// Statuses wait for the documents: they share the CPU with the publisher.
	r.backlog.wait(ctx)
	now := r.clock.Now()
	in, err := r.gather.forOrganization(ctx, req.Namespace, req.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	p := r.gather.compile(in, now)

	var errs []error
	var requeue ctrl.Result
	// The subset also holds the ancestors' bindings; their own organizations'
	// reconciles write them.
	for _, b := range in.Bindings {
		if string(b.Spec.OrganizationRef.Name) != req.Name {
			continue
		}
		result, ok := p.Binding(b.Name)
		if !ok {
			// Compiled from in, the platform judges every binding of it.
			errs = append(errs, fmt.Errorf("the engine has no result for RoleBinding %s/%s", b.Namespace, b.Name))
			continue
		}
		if err := r.writeStatus(ctx, b, result); err != nil {
			errs = append(errs, err)
		}
		// Requeued when one of these bindings' results changes by time (its expiry, a
		// role's removal), not at every expiry of the subset.
		next, ok := p.NextBindingChange(b.Name)
		requeue = soonest(requeue, requeueAt(next, ok, now))
	}
	if err := errors.Join(errs...); err != nil {
		return ctrl.Result{}, err
	}
	return requeue, nil
}

// writeStatus writes cached's status when the engine's result changes it. cached is the
// cache's own object (the gather does not copy): it is copied before it is changed.
func (r *RoleBindingReconciler) writeStatus(ctx context.Context, cached *v1alpha1.RoleBinding, result permissions.BindingResult) error {
	status := v1alpha1.RoleBindingStatus{
		ObservedGeneration: cached.Generation,
		Conditions:         mergeConditions(cached.Status.Conditions, result.Conditions, cached.Generation),
	}
	if equality.Semantic.DeepEqual(cached.Status, status) {
		writesSkipped.WithLabelValues(resourceStatus).Inc()
		return nil
	}
	binding := cached.DeepCopy()
	binding.Status = status
	return patchStatus(ctx, r.client, cached, binding)
}

// SetupWithManager registers the RoleBinding reconciler and the watches of what a
// binding's conditions depend on, each mapped to the organizations of the bindings it
// changes.
func (r *RoleBindingReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	rel := relations{reader: mgr.GetClient()}
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{}, afterInitialList)
	opts.NewQueue = r.backlog.yieldingQueue // its reconciles yield to the publisher
	return ctrl.NewControllerManagedBy(mgr).
		Named("rolebinding").
		// A binding's own events, its initial list included (every status is written
		// once on a cold start), enqueue its organization, the old one too when moved;
		// a binding changed while no manager led goes ahead of the initial list.
		Watches(&v1alpha1.RoleBinding{}, unobservedUp(handler.EnqueueRequestsFromMapFunc(organizationOfBinding)),
			builder.WithPredicates(notOwnStatus)).
		// Another binding's change judges the invitations its subject sent, and so the
		// bindings those own.
		Watches(&v1alpha1.RoleBinding{}, handler.EnqueueRequestsFromMapFunc(rel.bindingOrganizationsForBinding), specChanged).
		Watches(&v1alpha1.Role{}, handler.EnqueueRequestsFromMapFunc(rel.bindingOrganizationsForRole), specChanged).
		Watches(&v1alpha1.PermissionTree{}, handler.EnqueueRequestsFromMapFunc(rel.bindingOrganizationsForTree), specChanged).
		Watches(&v1alpha1.Organization{}, handler.EnqueueRequestsFromMapFunc(rel.bindingOrganizationsForOrganization), specChanged).
		Watches(&v1alpha1.UserInvitation{}, handler.EnqueueRequestsFromMapFunc(rel.bindingOrganizationsForInvitation),
			builder.WithPredicates(invitationInputChanged, afterInitialList)).
		WithOptions(opts).
		Complete(r)
}
