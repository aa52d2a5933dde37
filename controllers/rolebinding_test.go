package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

func TestBindingExpiryIsPublishedWhenDue(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	// Due in a few seconds: nothing but the requeue at the expiry reconciles again.
	expiry := testClock.Now().Add(4 * time.Second).Truncate(time.Second)
	create(t, ns,
		makeBinding("ivy-temp", "ivy@acme.example", "customer", "acme").expiresAt(expiry),
		makeBinding("jack-customer", "jack@acme.example", "customer", "acme"),
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

func TestPermissionTreesAreJudgedTogether(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns,
		makeOrg("acme", v1alpha1.OrganizationTypeCustomer),
		makeRole("editor").permissions("contracts/write"),
		makeBinding("kim-editor", "kim@acme.example", "editor", "acme"),
		makeTree("contracts").path("contracts").path("contracts/read").path("contracts/write", "contracts/read"),
	)
	eventually(t, func(g Gomega) {
		var tree v1alpha1.PermissionTree
		get(g, ns, "contracts", &tree)
		g.Expect(tree.Status.Paths).To(Equal(int32(3)))
		g.Expect(condition(tree.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		// With a tree, sets hold the closure: the implied read comes with the write.
		doc := document(g, ns, "acme")
		g.Expect(doc.Closure).To(BeTrue())
		g.Expect(permissionsOf(doc, "kim@acme.example")).To(ContainElements("contracts/write", "contracts/read"))
	})

	// A second tree defining the same path: both report it.
	create(t, ns, makeTree("duplicate").path("contracts"))
	eventually(t, func(g Gomega) {
		for _, name := range []string{"contracts", "duplicate"} {
			var tree v1alpha1.PermissionTree
			get(g, ns, name, &tree)
			g.Expect(condition(tree.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonDuplicatePath), name)
		}
	})
}
