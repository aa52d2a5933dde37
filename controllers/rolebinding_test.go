package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestBindingExpiryIsPublishedWhenDue(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	// Due in a few seconds: nothing but the requeue at the expiry reconciles again.
	expiry := testClock.Now().Add(4 * time.Second).Truncate(time.Second)
	create(t, ns,
		builders.Binding("ivy@acme.example", "customer", "acme").Named("ivy-temp").ExpiresAt(expiry).Obj(),
		builders.Binding("jack@acme.example", "customer", "acme").Named("jack-customer").Obj(),
	)
	eventually(t, func(g Gomega) {
		if testClock.Now().Before(expiry) {
			g.Expect(permissionsOf(document(g, ns, "acme"), "ivy@acme.example")).To(ContainElement("sales"))
		}
		g.Expect(permissionsOf(document(g, ns, "acme"), "jack@acme.example")).To(ContainElement("sales"))
	})
	eventually(t, func(g Gomega) {
		for _, org := range []string{"acme", "store-1"} {
			g.Expect(permissionsOf(document(g, ns, org), "ivy@acme.example")).NotTo(ContainElement("sales"), org)
		}
		var binding v1alpha1.RoleBinding
		get(g, ns, "ivy-temp", &binding)
		g.Expect(condition(binding.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonExpired))
	})
}

// A binding deleted between the reconcile's read and its status write (a blocked user's
// bindings are, while their statuses are being written) ends the reconcile without an
// error: the status has nowhere to go, and the delete event does the rest.
func TestBindingDeletedBeforeItsStatusWriteIsNoError(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns, builders.Binding("ivy@acme.example", "customer", "acme").Named("ivy-customer").Obj())
	key := types.NamespacedName{Namespace: ns, Name: "ivy-customer"}
	eventually(t, func(g Gomega) {
		var binding v1alpha1.RoleBinding
		g.Expect(cached.Get(context.Background(), key, &binding)).To(Succeed())
		g.Expect(condition(binding.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})

	c := &deletedBeforeStatusWrite{Client: cached}
	r := newRoleBindingReconciler(c, testClock, gatherer{reader: cached}, newPublishBacklog())
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatalf("reconcile of a binding deleted before its status write: %v", err)
	}
	if !c.patched {
		t.Fatal("the reconcile wrote no status, so it never met the deletion")
	}
	eventually(t, func(g Gomega) { gone(g, ns, key.Name, &v1alpha1.RoleBinding{}) })
}

// deletedBeforeStatusWrite reads every RoleBinding as if its status had never been
// written, so that a reconcile writes one, and deletes the object just before the
// status write reaches the API server.
type deletedBeforeStatusWrite struct {
	client.Client
	patched bool
}

func (c *deletedBeforeStatusWrite) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if binding, ok := obj.(*v1alpha1.RoleBinding); ok {
		binding.Status = v1alpha1.RoleBindingStatus{}
	}
	return nil
}

func (c *deletedBeforeStatusWrite) Status() client.SubResourceWriter {
	return deletingStatusWriter{SubResourceWriter: c.Client.Status(), c: c}
}

type deletingStatusWriter struct {
	client.SubResourceWriter
	c *deletedBeforeStatusWrite
}

func (w deletingStatusWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	w.c.patched = true
	if err := k8s.Delete(ctx, obj.DeepCopyObject().(client.Object)); err != nil {
		return err
	}
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// A binding deleted after the reconcile's Get but before its gather read the cache has
// no result: the reconcile ends without an error rather than retry a binding that is
// gone (a blocked user's bindings are deleted while their events are in flight).
func TestBindingDeletedBeforeItsResultIsNoError(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns, builders.Binding("ivy@acme.example", "customer", "acme").Named("ivy-customer").Obj())
	var binding v1alpha1.RoleBinding
	eventually(t, func(g Gomega) {
		g.Expect(cached.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "ivy-customer"}, &binding)).To(Succeed())
	})
	// What a cache that has not seen the deletion yet would still answer for the gone one.
	binding.Name = "ivy-gone"
	c := &goneAfterFirstGet{Client: cached, stale: &binding}
	r := newRoleBindingReconciler(c, testClock, gatherer{reader: cached}, newPublishBacklog())
	key := types.NamespacedName{Namespace: ns, Name: "ivy-gone"}
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatalf("reconcile of a binding deleted before its gather: %v", err)
	}
	if !c.served {
		t.Fatal("the reconcile never read the deleted binding")
	}
}

// goneAfterFirstGet answers the first Get of stale's name with stale, as a cache would
// that has not seen its deletion yet, and every later read with what the cache holds.
type goneAfterFirstGet struct {
	client.Client
	stale  *v1alpha1.RoleBinding
	served bool
}

func (c *goneAfterFirstGet) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if binding, ok := obj.(*v1alpha1.RoleBinding); ok && key.Name == c.stale.Name && !c.served {
		c.served = true
		c.stale.DeepCopyInto(binding)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}
