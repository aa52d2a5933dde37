package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
