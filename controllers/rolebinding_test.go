package controllers

import (
	"context"
	"maps"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

func TestBindingExpiryIsPublishedWhenDue(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	// Due in a few seconds: nothing but the requeue at the expiry reconciles again.
	expiry := testClock.Now().Add(4 * time.Second).Truncate(time.Second)
	later := testClock.Now().Add(time.Hour).Truncate(time.Second)
	create(t, ns,
		builders.Binding("ivy@acme.example", "customer", "acme").Named("ivy-temp").ExpiresAt(expiry).Obj(),
		builders.Binding("jack@acme.example", "customer", "acme").Named("jack-customer").Obj(),
		builders.Binding("kim@acme.example", "customer", "acme").Named("kim-temp").ExpiresAt(later).Obj(),
	)
	eventually(t, func(g Gomega) {
		if testClock.Now().Before(expiry) {
			g.Expect(permissionsOf(document(g, ns, "acme"), "ivy@acme.example")).To(ContainElement("sales"))
		}
		for _, org := range []string{"acme", "store-1"} {
			doc := document(g, ns, org)
			g.Expect(permissionsOf(doc, "jack@acme.example")).To(ContainElement("sales"))
			g.Expect(doc.Users["jack@acme.example"].ValidUntil).To(BeNil(), "nothing jack holds expires")
			// The entry says when its grant lapses, so a consumer stops honouring it
			// then even if the operator has not republished (docs/document-format.md).
			g.Expect(doc.Users["kim@acme.example"].ValidUntil).NotTo(BeNil(), org)
			g.Expect(*doc.Users["kim@acme.example"].ValidUntil).To(BeTemporally("==", later), org)
		}
	})
	eventually(t, func(g Gomega) {
		for _, org := range []string{"acme", "store-1"} {
			doc := document(g, ns, org)
			g.Expect(permissionsOf(doc, "ivy@acme.example")).NotTo(ContainElement("sales"), org)
			g.Expect(doc.Users["ivy@acme.example"].ValidUntil).To(BeNil(), "ivy holds nothing left to expire in %s", org)
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
	r := newRoleBindingReconciler(c, testClock, gatherer{reader: c}, newPublishBacklog())
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: "acme"}}); err != nil {
		t.Fatalf("reconcile of bindings deleted before their status writes: %v", err)
	}
	if !c.patched {
		t.Fatal("the reconcile wrote no status, so it never met the deletion")
	}
	eventually(t, func(g Gomega) { gone(g, ns, key.Name, &v1alpha1.RoleBinding{}) })
}

// deletedBeforeStatusWrite lists every RoleBinding as if its status had never been
// written, so that a reconcile writes one, and deletes the object just before the
// status write reaches the API server.
type deletedBeforeStatusWrite struct {
	client.Client
	patched bool
}

func (c *deletedBeforeStatusWrite) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := c.Client.List(ctx, list, opts...); err != nil {
		return err
	}
	if bindings, ok := list.(*v1alpha1.RoleBindingList); ok {
		for i := range bindings.Items {
			// Items are copies of the cache's objects (even without a deep copy): this
			// changes the copy's status field, not the cache's.
			bindings.Items[i].Status = v1alpha1.RoleBindingStatus{}
		}
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

// One reconcile of an organization writes the status of each of its own bindings (not
// its ancestors'), the next writes nothing, and it is requeued at the earliest change
// by time among them. Bindings of an organization that does not exist are that name's.
func TestOneReconcileWritesTheStatusesOfTheOrganizationsBindings(t *testing.T) {
	now := platformgen.Now().Truncate(time.Second)
	expiry := now.Add(time.Hour)
	objs := []client.Object{
		builders.Seller("north").Obj(),
		builders.Customer("acme").Under("north").Obj(),
		builders.Role("editor").Permissions("sales").Obj(),
		builders.Binding("ann@x.example", "editor", "acme").Named("ann").ExpiresAt(expiry).Obj(),
		builders.Binding("bob@x.example", "ghost", "acme").Named("bob").Obj(),
		builders.Binding("cy@x.example", "editor", "nowhere").Named("cy").Obj(),
		builders.Binding("dan@x.example", "editor", "north").Named("dan").ExpiresAt(now.Add(time.Minute)).Obj(),
	}
	for _, o := range objs {
		o.SetNamespace("p")
	}
	patched := map[string]int{}
	b := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(objs...).
		WithStatusSubresource(&v1alpha1.RoleBinding{}).
		WithInterceptorFuncs(interceptor.Funcs{
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
				patched[obj.GetName()]++
				return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
			},
		})
	for _, ix := range fieldIndexes {
		b = b.WithIndex(ix.obj, ix.field, ix.extract)
	}
	c := b.Build()
	r := newRoleBindingReconciler(c, clocktesting.NewFakePassiveClock(now), gatherer{reader: c}, newPublishBacklog())
	reconcileOrg := func(org string) ctrl.Result {
		t.Helper()
		res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "p", Name: org}})
		if err != nil {
			t.Fatalf("reconcile %s: %v", org, err)
		}
		return res
	}
	reason := func(name string) string {
		t.Helper()
		var rb v1alpha1.RoleBinding
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "p", Name: name}, &rb); err != nil {
			t.Fatal(err)
		}
		return condition(rb.Status.Conditions, v1alpha1.ConditionReady).Reason
	}

	res := reconcileOrg("acme")
	if want := map[string]int{"ann": 1, "bob": 1}; !maps.Equal(patched, want) {
		t.Fatalf("status patches %v, want %v: acme's bindings once each, not north's", patched, want)
	}
	if got := reason("ann"); got != v1alpha1.ReasonReconciled {
		t.Errorf("ann's Ready reason %q, want %s", got, v1alpha1.ReasonReconciled)
	}
	if got := reason("bob"); got != v1alpha1.ReasonRoleNotFound {
		t.Errorf("bob's Ready reason %q, want %s", got, v1alpha1.ReasonRoleNotFound)
	}
	if res.RequeueAfter != time.Hour {
		t.Errorf("requeued after %v, want 1h: ann's expiry (dan's, sooner, is north's)", res.RequeueAfter)
	}

	reconcileOrg("acme")
	if want := map[string]int{"ann": 1, "bob": 1}; !maps.Equal(patched, want) {
		t.Errorf("status patches %v after a second reconcile, want none more", patched)
	}

	reconcileOrg("nowhere")
	if got := reason("cy"); got != v1alpha1.ReasonOrganizationNotFound {
		t.Errorf("cy's Ready reason %q, want %s", got, v1alpha1.ReasonOrganizationNotFound)
	}
	if patched["dan"] != 0 {
		t.Errorf("north's binding was written by other organizations' reconciles")
	}
}
