package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
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

// InvitationFinalizer makes deleting an invitation wait while other bindings still grant
// its user something: the invitation is the user's record (and, when blocked, their
// block), removed for good only once nothing grants them access.
const InvitationFinalizer = "access.orgaccess.dev/user-record"

// UserInvitationReconciler advances each user's status (New, Active, Blocked, Expired,
// Rejected) and keeps the RoleBindings of an Active invitation in step with its roles.
//
// Its requests name an organization, as the RoleBinding reconciler's do: one reconcile
// gathers and compiles the organization's subset once and advances every invitation
// into it (docs/controllers.md).
type UserInvitationReconciler struct {
	client   client.Client
	clock    clock.PassiveClock
	gather   gatherer
	backlog  *publishBacklog
	recorder events.EventRecorder
}

var _ reconcile.Reconciler = &UserInvitationReconciler{}

func newUserInvitationReconciler(c client.Client, clk clock.PassiveClock, g gatherer, backlog *publishBacklog, recorder events.EventRecorder) *UserInvitationReconciler {
	return &UserInvitationReconciler{client: c, clock: clk, gather: g, backlog: backlog, recorder: recorder}
}

// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=userinvitations,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=userinvitations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=userinvitations/finalizers,verbs=update
// +kubebuilder:rbac:groups=access.orgaccess.dev,resources=rolebindings,verbs=get;list;watch;create;update;patch;delete

// Reconcile advances every invitation whose organizationRef is req's name. One that
// fails does not hold back the others; the reconcile then fails and is retried, and
// what was already written compares equal.
func (r *UserInvitationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// Invitations wait for the documents too: the engine judges an invitation from its
	// spec when it publishes, and what this reconcile writes (bindings, the persisted
	// grant) is published again after it.
	r.backlog.wait(ctx)
	now := r.clock.Now()
	in, err := r.gather.forOrganization(ctx, req.Namespace, req.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	var p *permissions.Platform // compiled when a live invitation needs it
	var errs []error
	var requeue ctrl.Result
	// The subset also holds the ancestors' invitations and other invitations of the
	// same users; their own organizations' reconciles advance them.
	for _, cached := range in.Invitations {
		if string(cached.Spec.OrganizationRef.Name) != req.Name {
			continue
		}
		if p == nil && cached.DeletionTimestamp.IsZero() {
			p = r.gather.compile(in, now)
		}
		// The gather hands out the cache's own objects: each is changed on a copy.
		res, err := r.advance(ctx, cached.DeepCopy(), p, now)
		if err != nil {
			errs = append(errs, err)
		}
		requeue = soonest(requeue, res)
	}
	if err := errors.Join(errs...); err != nil {
		return ctrl.Result{}, err
	}
	return requeue, nil
}

// advance does for one invitation what the engine's platform p decided: its bindings,
// then its status, then its events; or, when it is being deleted, its finalization.
func (r *UserInvitationReconciler) advance(ctx context.Context, inv *v1alpha1.UserInvitation, p *permissions.Platform, now time.Time) (ctrl.Result, error) {
	if !inv.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, inv)
	}
	// Its own update event is dropped (notOwnWrites): this reconcile goes on.
	if _, err := ensureFinalizer(ctx, r.client, inv, InvitationFinalizer); err != nil {
		return ctrl.Result{}, err
	}
	result, ok := p.Invitation(inv.Name)
	if !ok {
		// Compiled from the gather that found it, the platform judges every invitation.
		return ctrl.Result{}, fmt.Errorf("the engine has no result for UserInvitation %s/%s", inv.Namespace, inv.Name)
	}
	// A binding name held by another binding is the user's to resolve: the status says
	// so, and nothing else the invitation does waits for it.
	bindErr := r.applyBindings(ctx, inv, result.Bindings)
	var taken *bindingNamesTaken
	if bindErr != nil && !errors.As(bindErr, &taken) {
		return ctrl.Result{}, bindErr
	}
	previous := inv.Status.Phase
	wasTaken := readyReason(inv.Status.Conditions) == v1alpha1.ReasonBindingNameTaken
	status := invitationStatus(inv, result)
	if taken != nil {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{
			Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonBindingNameTaken,
			Message: fitMessage(taken.conditionMessage()), ObservedGeneration: inv.Generation,
		})
	}
	if err := r.writeStatus(ctx, inv, status); err != nil {
		return ctrl.Result{}, err
	}
	// Only after the status says so: an event never announces what a failed write lost.
	r.recordTransition(inv, previous)
	// Requeued when this invitation's result changes by time: a settled one (its grant
	// recorded, or blocked) never is, whatever expires around it.
	next, ok := p.NextInvitationChange(inv.Name)
	res := requeueAt(next, ok, now)
	if taken != nil {
		if !wasTaken {
			r.recorder.Eventf(inv, nil, corev1.EventTypeWarning, v1alpha1.ReasonBindingNameTaken, "CreateBinding", "%s", taken.conditionMessage())
		}
		// The name's deletion reconciles the invitation (invitationsWantingName); the
		// recheck covers what that map cannot see: a hashed name, or a deletion the
		// cache showed before this status.
		res = soonest(res, ctrl.Result{RequeueAfter: takenNameRecheck})
	}
	return res, nil
}

// takenNameRecheck is how long an invitation that reported a binding name taken waits
// before it looks again when no deletion brought it back sooner.
const takenNameRecheck = 5 * time.Minute

// readyReason is the reason of conditions' Ready condition, or "".
func readyReason(conditions []metav1.Condition) string {
	if ready := meta.FindStatusCondition(conditions, v1alpha1.ConditionReady); ready != nil {
		return ready.Reason
	}
	return ""
}

// organizationsOfOwner maps a RoleBinding that a UserInvitation owns
// (permissions.InvitationOwner) to that invitation's organization: the binding's own,
// where the invitation creates it, and the one the invitation names, in case the
// binding was moved by hand.
func (r relations) organizationsOfOwner(ctx context.Context, o client.Object) []reconcile.Request {
	rb := o.(*v1alpha1.RoleBinding)
	owner, ok := permissions.InvitationOwner(rb)
	if !ok {
		return nil
	}
	orgs := []string{string(rb.Spec.OrganizationRef.Name)}
	var inv v1alpha1.UserInvitation
	if err := r.reader.Get(ctx, types.NamespacedName{Namespace: o.GetNamespace(), Name: owner}, &inv, noCopy); err == nil {
		orgs = append(orgs, string(inv.Spec.OrganizationRef.Name))
	}
	return requests(o.GetNamespace(), orgs...)
}

// invitationsWantingName maps a deleted RoleBinding to the organizations of the
// invitations that list its name among their bindings (status.bindings): one that
// reported the name taken (BindingNameTaken) creates its binding as soon as the name is
// free, not at its next recheck (takenNameRecheck). An invitation's binding names start
// with "<invitation>-" (permissions.BindingName), so the candidates are the name's
// prefixes before each '-', looked up in the cache; a name hashed down to
// "invitation-<hash>" is left to the recheck.
func (r relations) invitationsWantingName(ctx context.Context, o client.Object) []reconcile.Request {
	name := o.GetName()
	var orgs []string
	for i, c := range name {
		if c != '-' || i == 0 {
			continue
		}
		var inv v1alpha1.UserInvitation
		if err := r.reader.Get(ctx, types.NamespacedName{Namespace: o.GetNamespace(), Name: name[:i]}, &inv, noCopy); err != nil {
			continue
		}
		if slices.Contains(inv.Status.Bindings, name) {
			orgs = append(orgs, string(inv.Spec.OrganizationRef.Name))
		}
	}
	return requests(o.GetNamespace(), orgs...)
}

// invitationStatus is inv's status for the engine's result.
func invitationStatus(inv *v1alpha1.UserInvitation, result permissions.InvitationResult) v1alpha1.UserInvitationStatus {
	var bindings []string
	for _, b := range result.Bindings {
		bindings = append(bindings, b.Name)
	}
	slices.Sort(bindings)
	return v1alpha1.UserInvitationStatus{
		ObservedGeneration:  inv.Generation,
		Phase:               result.Phase,
		ExpiresAt:           metaTime(result.ExpiresAt),
		GrantedRoles:        result.GrantedRoles,
		GrantedBy:           result.GrantedBy,
		GrantedDefaultRoles: result.GrantedDefaultRoles,
		GrantedInheritance:  result.GrantedInheritance,
		Bindings:            bindings,
		Conditions:          mergeConditions(inv.Status.Conditions, result.Conditions, inv.Generation),
	}
}

func (r *UserInvitationReconciler) writeStatus(ctx context.Context, inv *v1alpha1.UserInvitation, status v1alpha1.UserInvitationStatus) error {
	before := inv.DeepCopy()
	inv.Status = status
	return patchStatus(ctx, r.client, before, inv)
}

// recordTransition emits an event when the user's phase changed from previous.
func (r *UserInvitationReconciler) recordTransition(inv *v1alpha1.UserInvitation, previous v1alpha1.UserPhase) {
	phase := inv.Status.Phase
	if phase == previous {
		return
	}
	message := ""
	if ready := meta.FindStatusCondition(inv.Status.Conditions, v1alpha1.ConditionReady); ready != nil {
		message = ready.Message
	}
	switch {
	case phase == v1alpha1.UserPhaseActive:
		r.recorder.Eventf(inv, nil, corev1.EventTypeNormal, "Activated", "Activate",
			"%s is Active in %s with roles %s", inv.Spec.Email, inv.Spec.OrganizationRef.Name, strings.Join(inv.Status.GrantedRoles, ", "))
	case phase == v1alpha1.UserPhaseExpired:
		r.recorder.Eventf(inv, nil, corev1.EventTypeNormal, "Expired", "Expire",
			"The invitation of %s expired before it was accepted", inv.Spec.Email)
	case phase == v1alpha1.UserPhaseBlocked:
		r.recorder.Eventf(inv, nil, corev1.EventTypeWarning, "Blocked", "Block",
			"%s is Blocked and holds no permission on the platform", inv.Spec.Email)
	case phase == v1alpha1.UserPhaseRejected:
		r.recorder.Eventf(inv, nil, corev1.EventTypeWarning, "Rejected", "Reject", "%s", message)
	case previous == v1alpha1.UserPhaseBlocked:
		r.recorder.Eventf(inv, nil, corev1.EventTypeNormal, "Renewed", "Renew",
			"%s is no longer blocked and is %s", inv.Spec.Email, phase)
	}
}

// applyBindings makes the RoleBindings inv owns exactly desired: it creates the missing,
// updates the changed, and deletes the rest. A binding whose role changed is deleted
// (roleRef is immutable) and created again by the next reconcile.
func (r *UserInvitationReconciler) applyBindings(ctx context.Context, inv *v1alpha1.UserInvitation, desired []permissions.DesiredBinding) error {
	owned, err := r.ownedBindings(ctx, inv)
	if err != nil {
		return err
	}
	var taken []string
	for _, d := range desired {
		want := invitationBinding(inv, d)
		have, found := owned[want.Name]
		delete(owned, want.Name)
		switch {
		case !found:
			err := r.client.Create(ctx, want)
			if apierrors.IsAlreadyExists(err) {
				if err = r.adopt(ctx, inv, want); errors.Is(err, errNotAdoptable) {
					taken = append(taken, want.Name)
					continue
				}
			}
			if err != nil {
				return fmt.Errorf("create RoleBinding %s/%s for UserInvitation %s: %w", want.Namespace, want.Name, inv.Name, err)
			}
		case have.Spec.RoleRef != want.Spec.RoleRef:
			if err := r.deleteBinding(ctx, &have); err != nil {
				return err
			}
		case bindingUpToDate(&have, want):
			writesSkipped.WithLabelValues(resourceRoleBinding).Inc()
		default:
			if err := r.patchBinding(ctx, inv, &have, want); err != nil {
				return err
			}
		}
	}
	for _, name := range sortedKeys(owned) {
		stale := owned[name]
		if err := r.deleteBinding(ctx, &stale); err != nil {
			return err
		}
	}
	if len(taken) > 0 {
		return &bindingNamesTaken{invitation: inv.Namespace + "/" + inv.Name, names: taken}
	}
	return nil
}

// errNotAdoptable: the RoleBinding holding a name the invitation wants is not one it
// may take over.
var errNotAdoptable = errors.New("the RoleBinding is not the invitation's")

// adopt takes over the RoleBinding named like want that the invitation could not
// create, when it is the invitation's own that lost its controller reference (removed
// by hand, or restored without it): it carries the invitation's label and no
// controller. It is patched to want, controller reference included. Any other binding
// of that name is someone else's: errNotAdoptable.
func (r *UserInvitationReconciler) adopt(ctx context.Context, inv *v1alpha1.UserInvitation, want *v1alpha1.RoleBinding) error {
	var have v1alpha1.RoleBinding
	if err := r.client.Get(ctx, client.ObjectKeyFromObject(want), &have); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("RoleBinding %s/%s exists and is not in the cache yet: %w", want.Namespace, want.Name, err)
		}
		return err
	}
	controller := metav1.GetControllerOf(&have)
	switch {
	case controller != nil && controller.UID == inv.UID:
		return nil // its own, created by an earlier reconcile the cache had not seen
	case have.Labels[v1alpha1.InvitationLabel] != inv.Name || controller != nil:
		return errNotAdoptable
	}
	return r.patchBinding(ctx, inv, &have, want)
}

// patchBinding makes have, a RoleBinding of inv, what want says: its spec, the
// invitation's label and its controller reference (an adopted binding gets it back;
// any other reference to inv is replaced rather than doubled).
func (r *UserInvitationReconciler) patchBinding(ctx context.Context, inv *v1alpha1.UserInvitation, have, want *v1alpha1.RoleBinding) error {
	updated := have.DeepCopy()
	updated.Spec = want.Spec
	if updated.Labels == nil {
		updated.Labels = map[string]string{}
	}
	updated.Labels[v1alpha1.InvitationLabel] = inv.Name
	updated.OwnerReferences = slices.DeleteFunc(updated.OwnerReferences, func(ref metav1.OwnerReference) bool { return ref.UID == inv.UID })
	updated.OwnerReferences = append(updated.OwnerReferences, want.OwnerReferences...)
	// A patch of what changed, not an update: the cache's copy is trimmed (no
	// last-applied annotation, canonical addresses), and an update from it would write
	// that too. The optimistic lock makes it fail on a concurrent write.
	patch := client.MergeFromWithOptions(have, client.MergeFromWithOptimisticLock{})
	if err := r.client.Patch(ctx, updated, patch); err != nil {
		return fmt.Errorf("update RoleBinding %s/%s of UserInvitation %s: %w", have.Namespace, have.Name, inv.Name, err)
	}
	return nil
}

// bindingNamesTaken: RoleBindings the invitation should own have names that other
// RoleBindings hold.
type bindingNamesTaken struct {
	invitation string
	names      []string
}

func (e *bindingNamesTaken) Error() string {
	return fmt.Sprintf("UserInvitation %s: RoleBinding %s already exists and is not the invitation's", e.invitation, strings.Join(e.names, ", "))
}

// conditionMessage is the invitation's Ready message: what to do about it.
func (e *bindingNamesTaken) conditionMessage() string {
	return fmt.Sprintf("RoleBinding %s already exists and is not this invitation's; the invitation grants nothing through it until that binding is renamed or deleted",
		strings.Join(e.names, ", "))
}

// invitationBinding is the RoleBinding inv owns for d: labelled with and controlled by
// the invitation, holding where the grant holds (the organization's subtree, or, when
// the inviter could assign the role there only, the organization alone).
func invitationBinding(inv *v1alpha1.UserInvitation, d permissions.DesiredBinding) *v1alpha1.RoleBinding {
	return &v1alpha1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name,
			Namespace:       inv.Namespace,
			Labels:          map[string]string{v1alpha1.InvitationLabel: inv.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(inv, v1alpha1.GroupVersion.WithKind("UserInvitation"))},
		},
		Spec: v1alpha1.RoleBindingSpec{
			Subject:         v1alpha1.Subject{Email: d.Email},
			RoleRef:         v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(d.Role)},
			OrganizationRef: v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(d.Organization)},
			Inheritance:     d.Inheritance,
		},
	}
}

// bindingUpToDate says whether have already holds want's spec and label (ownership is
// how have was found: a binding whose label was removed gets it back).
func bindingUpToDate(have, want *v1alpha1.RoleBinding) bool {
	return equality.Semantic.DeepEqual(have.Spec, want.Spec) &&
		have.Labels[v1alpha1.InvitationLabel] == want.Labels[v1alpha1.InvitationLabel]
}

// ownedBindings returns, by name, the RoleBindings controlled by inv.
func (r *UserInvitationReconciler) ownedBindings(ctx context.Context, inv *v1alpha1.UserInvitation) (map[string]v1alpha1.RoleBinding, error) {
	var list v1alpha1.RoleBindingList
	if err := listByIndex(ctx, r.client, &list, inv.Namespace, indexBindingInvitation, inv.Name); err != nil {
		return nil, fmt.Errorf("list RoleBindings of UserInvitation %s/%s: %w", inv.Namespace, inv.Name, err)
	}
	owned := map[string]v1alpha1.RoleBinding{}
	for _, b := range list.Items {
		if controlledBy(&b, inv.UID) {
			owned[b.Name] = b
		}
	}
	return owned, nil
}

func (r *UserInvitationReconciler) deleteBinding(ctx context.Context, b *v1alpha1.RoleBinding) error {
	if err := r.client.Delete(ctx, b, client.Preconditions{UID: &b.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete RoleBinding %s/%s: %w", b.Namespace, b.Name, err)
	}
	return nil
}

// finalize completes a deletion: it deletes the invitation's own bindings (the garbage
// collector would, later) and removes the finalizer. A blocked invitation carries its
// user's block, and deleting it would lift the block, so its deletion waits until no
// other binding grants the user anything: while some remain, InUse says which, and the
// wait is looked at again when one of them changes or expires. Any other invitation is
// one membership, and its deletion ends that membership at once, whatever else the
// user holds (until 2026-12-07 it waited too, and its own bindings kept granting).
func (r *UserInvitationReconciler) finalize(ctx context.Context, inv *v1alpha1.UserInvitation) (ctrl.Result, error) {
	if !slices.Contains(inv.Finalizers, InvitationFinalizer) {
		return ctrl.Result{}, nil
	}
	now := r.clock.Now()
	var remaining []string
	var nextExpiry time.Time
	if inv.Spec.Blocked {
		var err error
		if remaining, nextExpiry, err = r.otherGrants(ctx, inv, now); err != nil {
			return ctrl.Result{}, err
		}
	}
	if len(remaining) > 0 {
		wasWaiting := meta.IsStatusConditionTrue(inv.Status.Conditions, v1alpha1.ConditionInUse)
		status := inv.Status.DeepCopy()
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{
			Type:               v1alpha1.ConditionInUse,
			Status:             metav1.ConditionTrue,
			Reason:             v1alpha1.ReasonInUse,
			Message:            fmt.Sprintf("deletion waits while other bindings grant %s access: %s", inv.Spec.Email, strings.Join(remaining, ", ")),
			ObservedGeneration: inv.Generation,
		})
		if err := r.writeStatus(ctx, inv, *status); err != nil {
			return ctrl.Result{}, err
		}
		if !wasWaiting {
			r.recorder.Eventf(inv, nil, corev1.EventTypeWarning, "DeletionWaiting", "Delete",
				"Deletion waits while other bindings grant %s access: %s", inv.Spec.Email, strings.Join(remaining, ", "))
		}
		if nextExpiry.IsZero() {
			return ctrl.Result{}, nil // a change of the bindings enqueues this invitation
		}
		return ctrl.Result{RequeueAfter: nextExpiry.Sub(now)}, nil
	}
	owned, err := r.ownedBindings(ctx, inv)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, name := range sortedKeys(owned) {
		b := owned[name]
		if err := r.deleteBinding(ctx, &b); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, removeFinalizer(ctx, r.client, inv, InvitationFinalizer)
}

// otherGrants names, sorted, the RoleBindings of inv's user that inv does not own and
// that have not expired at now, and says when the first of them expires (zero if none
// does). Bindings of another invitation that is being deleted too do not count, so two
// invitations of one user deleted together do not wait for each other.
func (r *UserInvitationReconciler) otherGrants(ctx context.Context, inv *v1alpha1.UserInvitation, now time.Time) ([]string, time.Time, error) {
	var nextExpiry time.Time
	var list v1alpha1.RoleBindingList
	if err := listByIndex(ctx, r.client, &list, inv.Namespace, indexBindingEmail, string(inv.Spec.Email)); err != nil {
		return nil, nextExpiry, fmt.Errorf("list RoleBindings of %s in %s: %w", inv.Spec.Email, inv.Namespace, err)
	}
	var out []string
	for _, b := range list.Items {
		if controlledBy(&b, inv.UID) || (b.Spec.ExpiresAt != nil && !now.Before(b.Spec.ExpiresAt.Time)) {
			continue
		}
		if owner, ok := permissions.InvitationOwner(&b); ok {
			var other v1alpha1.UserInvitation
			err := r.client.Get(ctx, types.NamespacedName{Namespace: inv.Namespace, Name: owner}, &other)
			if apierrors.IsNotFound(err) || (err == nil && !other.DeletionTimestamp.IsZero()) {
				continue
			}
			if err != nil {
				return nil, nextExpiry, fmt.Errorf("get UserInvitation %s/%s: %w", inv.Namespace, owner, err)
			}
		}
		out = append(out, "RoleBinding/"+b.Name)
		if e := b.Spec.ExpiresAt; e != nil && (nextExpiry.IsZero() || e.Before(&metav1.Time{Time: nextExpiry})) {
			nextExpiry = e.Time
		}
	}
	slices.Sort(out)
	return out, nextExpiry, nil
}

// SetupWithManager registers the UserInvitation reconciler: it owns its RoleBindings
// (a hand-deleted one is recreated) and watches what a user's status depends on, each
// mapped to the organizations of the invitations it changes.
func (r *UserInvitationReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	rel := relations{reader: mgr.GetClient()}
	specChanged := builder.WithPredicates(predicate.GenerationChangedPredicate{}, afterInitialList)
	opts.NewQueue = r.backlog.yieldingQueue // its reconciles yield to the publisher
	return ctrl.NewControllerManagedBy(mgr).
		Named("userinvitation").
		// An invitation's own events, its initial list included, enqueue its
		// organization; one changed while no manager led goes ahead of the initial list.
		// Its own status writes enqueue again only when they change the persisted grant,
		// which the engine reads (invitationInputChanged); adding its finalizer does not.
		Watches(&v1alpha1.UserInvitation{}, unobservedUp(handler.EnqueueRequestsFromMapFunc(organizationOfInvitation)),
			builder.WithPredicates(predicate.Or[client.Object](notOwnWrites(InvitationFinalizer), invitationInputChanged))).
		// An owned binding changed by hand is put back; its status, which the RoleBinding
		// reconciler writes and this one never reads, is left out: on a cold start every
		// owned binding's status write would reconcile its invitation once more. (What
		// Owns does, by the engine's rule of ownership, mapped to the owner's organization.)
		Watches(&v1alpha1.RoleBinding{}, handler.EnqueueRequestsFromMapFunc(rel.organizationsOfOwner), builder.WithPredicates(notOwnStatus)).
		// A binding deleted frees its name for the invitation that reported it taken.
		Watches(&v1alpha1.RoleBinding{}, handler.EnqueueRequestsFromMapFunc(rel.invitationsWantingName), builder.WithPredicates(onlyDeletions)).
		Watches(&v1alpha1.UserInvitation{}, handler.EnqueueRequestsFromMapFunc(rel.invitationOrganizationsForInvitation),
			builder.WithPredicates(invitationInputChanged, afterInitialList)).
		Watches(&v1alpha1.RoleBinding{}, handler.EnqueueRequestsFromMapFunc(rel.invitationOrganizationsForBinding), specChanged).
		Watches(&v1alpha1.Role{}, handler.EnqueueRequestsFromMapFunc(rel.invitationOrganizationsForRole), specChanged).
		Watches(&v1alpha1.PermissionTree{}, handler.EnqueueRequestsFromMapFunc(rel.invitationOrganizationsForTree), specChanged).
		Watches(&v1alpha1.Organization{}, handler.EnqueueRequestsFromMapFunc(rel.invitationOrganizationsForOrganization), specChanged).
		WithOptions(opts).
		Complete(r)
}
