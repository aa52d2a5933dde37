package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// parallel runs fn on every item with at most workers at a time and returns the first
// error.
func parallel[T any](ctx context.Context, workers int, items []T, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(items)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, items[i]); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// shiftTimes moves the platform's instants from platformgen.Now to now, so the same
// bindings are about to expire, the same deprecated role is still before its
// removeAfter and the same invitations were accepted in time when the manager judges
// them against the real clock.
func shiftTimes(in *permissions.Input, now time.Time) {
	delta := now.Sub(platformgen.Now()).Truncate(time.Second)
	shift := func(t *metav1.Time) {
		if t != nil {
			t.Time = t.Add(delta)
		}
	}
	for i := range in.Roles {
		if d := in.Roles[i].Spec.Deprecation; d != nil {
			shift(&d.RemoveAfter)
		}
	}
	for i := range in.Bindings {
		shift(in.Bindings[i].Spec.ExpiresAt)
	}
	for i := range in.Invitations {
		// Creation moves too: an invitation accepted after it expired is Expired, and
		// ownBindingsAsController judges them before the apiserver sets the real one.
		shift(&in.Invitations[i].CreationTimestamp)
		shift(in.Invitations[i].Spec.AcceptedAt)
	}
}

// forCreate clears what the apiserver assigns, so a generated object can be created.
func forCreate(m *metav1.ObjectMeta) {
	m.UID, m.ResourceVersion, m.Generation, m.CreationTimestamp = "", "", 0, metav1.Time{}
}

// applyPlatform creates every object of in with at most workers requests in flight.
// Objects are updated in place with what the apiserver assigned (UIDs, creation
// times), so in can be compiled into the documents the manager should publish.
// Invitations get their recorded status (phase and granted roles: decisions the
// controller made when they were granted, which a restore keeps), and the bindings
// they own point at their real UIDs.
func applyPlatform(ctx context.Context, c client.Client, in *permissions.Input, workers int) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: platformgen.Namespace}}
	if err := c.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	create := func(ctx context.Context, obj client.Object) error {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("create %T %s: %w", obj, obj.GetName(), err)
		}
		return nil
	}
	if err := parallel(ctx, workers, in.Trees, func(ctx context.Context, t *v1alpha1.PermissionTree) error {
		forCreate(&t.ObjectMeta)
		t.Status = v1alpha1.PermissionTreeStatus{}
		return create(ctx, t)
	}); err != nil {
		return err
	}
	if err := parallel(ctx, workers, in.Roles, func(ctx context.Context, r *v1alpha1.Role) error {
		forCreate(&r.ObjectMeta)
		r.Status = v1alpha1.RoleStatus{}
		return create(ctx, r)
	}); err != nil {
		return err
	}
	if err := parallel(ctx, workers, in.Organizations, func(ctx context.Context, o *v1alpha1.Organization) error {
		forCreate(&o.ObjectMeta)
		o.Status = v1alpha1.OrganizationStatus{}
		return create(ctx, o)
	}); err != nil {
		return err
	}
	var mu sync.Mutex
	uids := map[string]metav1.OwnerReference{}
	if err := parallel(ctx, workers, in.Invitations, func(ctx context.Context, inv *v1alpha1.UserInvitation) error {
		forCreate(&inv.ObjectMeta)
		recorded := v1alpha1.UserInvitationStatus{
			Phase: inv.Status.Phase, GrantedRoles: inv.Status.GrantedRoles, GrantedBy: inv.Status.GrantedBy,
			GrantedDefaultRoles: inv.Status.GrantedDefaultRoles, GrantedInheritance: inv.Status.GrantedInheritance,
		}
		if err := create(ctx, inv); err != nil {
			return err
		}
		mu.Lock()
		uids[inv.Name] = metav1.OwnerReference{UID: inv.UID}
		mu.Unlock()
		if recorded.Phase == "" {
			return nil
		}
		inv.Status = recorded
		if err := c.Status().Update(ctx, inv); err != nil {
			return fmt.Errorf("record status of UserInvitation %s: %w", inv.Name, err)
		}
		return nil
	}); err != nil {
		return err
	}
	return parallel(ctx, workers, in.Bindings, func(ctx context.Context, b *v1alpha1.RoleBinding) error {
		forCreate(&b.ObjectMeta)
		b.Status = v1alpha1.RoleBindingStatus{}
		for i, ref := range b.OwnerReferences {
			b.OwnerReferences[i].UID = uids[ref.Name].UID
		}
		return create(ctx, b)
	})
}

// readPlatform lists the platform back from the apiserver: the objects as they are now,
// statuses and resourceVersions included.
func readPlatform(ctx context.Context, c client.Client) (permissions.Input, error) {
	var in permissions.Input
	ns := client.InNamespace(platformgen.Namespace)
	var trees v1alpha1.PermissionTreeList
	var roles v1alpha1.RoleList
	var orgs v1alpha1.OrganizationList
	var invitations v1alpha1.UserInvitationList
	var bindings v1alpha1.RoleBindingList
	for _, list := range []client.ObjectList{&trees, &roles, &orgs, &invitations, &bindings} {
		if err := c.List(ctx, list, ns); err != nil {
			return in, fmt.Errorf("list %T: %w", list, err)
		}
	}
	in.Trees, in.Roles, in.Organizations = permissions.Pointers(trees.Items), permissions.Pointers(roles.Items), permissions.Pointers(orgs.Items)
	in.Invitations, in.Bindings = permissions.Pointers(invitations.Items), permissions.Pointers(bindings.Items)
	return in, nil
}

// ownBindingsAsController replaces the bindings the generator wrote for invitations
// with the ones the invitation controller keeps in step with them: one per granted
// role, Subtree, none for a blocked or not yet active invitation. The generator's own
// version differs in places (None inheritance, a blocked user's bindings), and applying
// it would make cold convergence measure the controller correcting those, not the
// publishing of a platform. The RoleBinding rendered here mirrors
// controllers.invitationBinding; the owner's UID is filled in by applyPlatform.
func ownBindingsAsController(in *permissions.Input, now time.Time) {
	p := permissions.Compile(*in, now)
	kept := in.Bindings[:0]
	for _, b := range in.Bindings {
		if b.Labels[v1alpha1.InvitationLabel] == "" {
			kept = append(kept, b)
		}
	}
	for _, inv := range in.Invitations {
		res, _ := p.Invitation(inv.Name)
		for _, d := range res.Bindings {
			kept = append(kept, &v1alpha1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{
					Name: d.Name, Namespace: inv.Namespace,
					Labels: map[string]string{v1alpha1.InvitationLabel: inv.Name},
					OwnerReferences: []metav1.OwnerReference{{
						APIVersion: v1alpha1.GroupVersion.String(), Kind: "UserInvitation", Name: inv.Name,
						Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
					}},
				},
				Spec: v1alpha1.RoleBindingSpec{
					Subject:         v1alpha1.Subject{Email: d.Email},
					RoleRef:         v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(d.Role)},
					OrganizationRef: v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(d.Organization)},
					Inheritance:     d.Inheritance,
				},
			})
		}
	}
	in.Bindings = kept
}
