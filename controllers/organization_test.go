package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestReparentedOrganizationMovesItsSubtree(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Seller("fabrikam").Under("north").Obj(),
		builders.Binding("alice@contoso.example", "seller-admin", "contoso").Named("alice-seller-admin").Obj(),
		builders.Binding("dave@fabrikam.example", "seller-admin", "fabrikam").Named("dave-seller-admin").Obj(),
	)
	eventually(t, func(g Gomega) {
		g.Expect(document(g, ns, "store-1").Users).To(HaveKey("alice@contoso.example"))
		g.Expect(document(g, ns, "store-1").Users).NotTo(HaveKey("dave@fabrikam.example"))
	})
	var globexCM corev1.ConfigMap
	eventually(t, func(g Gomega) {
		g.Expect(document(g, ns, "globex").Users).To(HaveKey("alice@contoso.example"))
		get(g, ns, "access-globex", &globexCM)
	})

	update(t, ns, "acme", &v1alpha1.Organization{}, func(o *v1alpha1.Organization) {
		o.Spec.ParentRef.Name = "fabrikam"
	})
	eventually(t, func(g Gomega) {
		for _, org := range []string{"acme", "store-1"} {
			doc := document(g, ns, org)
			g.Expect(doc.Users).To(HaveKey("dave@fabrikam.example"), org)
			g.Expect(doc.Users).NotTo(HaveKey("alice@contoso.example"), org)
		}
		g.Expect(document(g, ns, "store-1").Path).To(Equal([]string{"north", "fabrikam", "acme", "store-1"}))
		var store v1alpha1.Organization
		get(g, ns, "store-1", &store)
		g.Expect(store.Status.Path).To(Equal([]string{"north", "fabrikam", "acme", "store-1"}))
		g.Expect(store.Status.Depth).To(Equal(int32(3)))
	})
	// An organization the move does not affect is not written.
	var after corev1.ConfigMap
	eventually(t, func(g Gomega) { get(g, ns, "access-globex", &after) })
	if after.ResourceVersion != globexCM.ResourceVersion {
		t.Errorf("access-globex was written (resourceVersion %s -> %s) though the move does not affect globex",
			globexCM.ResourceVersion, after.ResourceVersion)
	}
}

func TestChildAppliedBeforeItsParentConvergesWhenTheParentArrives(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns,
		builders.Role("customer").Permissions("sales").Obj(),
		builders.Unit("store-9").Under("late").Obj(),
		builders.Binding("erin@late.example", "customer", "late").Named("erin-customer").Obj(),
		builders.Binding("fred@late.example", "customer", "store-9").Named("fred-customer").Obj(),
	)
	eventually(t, func(g Gomega) {
		doc := document(g, ns, "store-9")
		g.Expect(doc.Users).To(HaveKey("fred@late.example"))
		g.Expect(doc.Users).NotTo(HaveKey("erin@late.example"), "nothing is inherited from a missing parent")
		var org v1alpha1.Organization
		get(g, ns, "store-9", &org)
		g.Expect(condition(org.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonParentNotFound))
		var binding v1alpha1.RoleBinding
		get(g, ns, "erin-customer", &binding)
		g.Expect(condition(binding.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonOrganizationNotFound))
	})

	create(t, ns, builders.Customer("late").Obj())
	eventually(t, func(g Gomega) {
		doc := document(g, ns, "store-9")
		g.Expect(doc.Path).To(Equal([]string{"late", "store-9"}))
		g.Expect(permissionsOf(doc, "erin@late.example")).To(ContainElement("sales"))
		var org v1alpha1.Organization
		get(g, ns, "store-9", &org)
		g.Expect(condition(org.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		var binding v1alpha1.RoleBinding
		get(g, ns, "erin-customer", &binding)
		g.Expect(condition(binding.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})
}

func TestOrganizationCycleFailsClosed(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns,
		builders.Role("customer").Permissions("sales").Obj(),
		builders.Customer("cust").Obj(),
		builders.Unit("unit-a").Under("unit-b").Obj(),
		builders.Unit("unit-b").Under("unit-a").Obj(),
		builders.Binding("gina@cycle.example", "customer", "unit-a").Named("gina-a").Obj(),
		builders.Binding("hal@cycle.example", "customer", "unit-b").Named("hal-b").Obj(),
	)
	eventually(t, func(g Gomega) {
		for _, name := range []string{"unit-a", "unit-b"} {
			var org v1alpha1.Organization
			get(g, ns, name, &org)
			g.Expect(condition(org.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonInCycle), name)
		}
		// Neither inherits the other's grants through the cycle.
		g.Expect(permissionsOf(document(g, ns, "unit-a"), "hal@cycle.example")).NotTo(ContainElement("sales"))
		g.Expect(permissionsOf(document(g, ns, "unit-b"), "gina@cycle.example")).NotTo(ContainElement("sales"))
	})

	// Breaking the cycle (unit-b moves under a customer) and unit-a inherits from unit-b.
	update(t, ns, "unit-b", &v1alpha1.Organization{}, func(o *v1alpha1.Organization) { o.Spec.ParentRef.Name = "cust" })
	eventually(t, func(g Gomega) {
		doc := document(g, ns, "unit-a")
		g.Expect(doc.Path).To(Equal([]string{"cust", "unit-b", "unit-a"}))
		g.Expect(permissionsOf(doc, "hal@cycle.example")).To(ContainElement("sales"))
		var org v1alpha1.Organization
		get(g, ns, "unit-a", &org)
		g.Expect(condition(org.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})
}

// An organization whose deletion waits for a finalizer (another controller's, an
// orphaning delete's) grants nothing from its deletion on: its documents go at once,
// not when the garbage collector reaches them after the organization is gone. Until
// 2026-12-07 the publisher left a deleting organization alone, and a binding deleted
// meanwhile kept granting in its document for as long as the deletion waited.
func TestDeletingOrganizationStopsGrantingWhileAFinalizerHoldsIt(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	zeta := builders.Customer("zeta").Under("contoso").Obj()
	zeta.Finalizers = []string{"example.com/hold"}
	create(t, ns, zeta, builders.Binding("bob@zeta.example", "customer", "zeta").Named("bob-customer").Obj())
	t.Cleanup(func() {
		update(t, ns, "zeta", &v1alpha1.Organization{}, func(o *v1alpha1.Organization) { o.Finalizers = nil })
	})
	eventually(t, func(g Gomega) {
		g.Expect(permissionsOf(document(g, ns, "zeta"), "bob@zeta.example")).To(ContainElement("sales"))
	})

	remove(t, ns, "zeta", &v1alpha1.Organization{}) // held by example.com/hold
	eventually(t, func(g Gomega) {
		var cms corev1.ConfigMapList
		g.Expect(k8s.List(context.Background(), &cms, client.InNamespace(ns), client.MatchingLabels{v1alpha1.OrganizationLabel: "zeta"})).To(Succeed())
		g.Expect(cms.Items).To(BeEmpty())
		var org v1alpha1.Organization
		get(g, ns, "zeta", &org)
		g.Expect(org.DeletionTimestamp).NotTo(BeNil()) // still there, held
	})
	// Nothing publishes it again while it waits (its binding's change brings it back).
	remove(t, ns, "bob-customer", &v1alpha1.RoleBinding{})
	NewWithT(t).Consistently(func(g Gomega) {
		var cms corev1.ConfigMapList
		g.Expect(k8s.List(context.Background(), &cms, client.InNamespace(ns), client.MatchingLabels{v1alpha1.OrganizationLabel: "zeta"})).To(Succeed())
		g.Expect(cms.Items).To(BeEmpty())
	}).WithTimeout(2 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
}
