package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestChangeOfAnIncludedRoleReachesTheOrganizationsUsingIt(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Binding("carol@acme.example", "customer-admin", "acme").Named("carol-customer-admin").Obj(),
		builders.Binding("alice@contoso.example", "seller-admin", "globex").Named("alice-seller-admin").Obj(),
	)
	// The version compared below must be the one globex converged to: seeing alice in
	// globex's document is not enough, since an earlier write of the setup (the document
	// before alice's binding) can be what a read taken just before returned. So the wait
	// is for the very ConfigMap read to hold the bytes the engine compiles from everything
	// in the namespace.
	var globexCM corev1.ConfigMap
	eventually(t, func(g Gomega) {
		g.Expect(permissionsOf(document(g, ns, "store-1"), "carol@acme.example")).To(ContainElement("sales"))
		get(g, ns, "access-globex", &globexCM)
		want := compiledShards(g, ns, "globex")
		g.Expect(want).To(HaveLen(1), "globex's document is small enough for one ConfigMap")
		g.Expect(globexCM.Data[v1alpha1.DocumentKey]).To(Equal(string(want[0])))
		g.Expect(document(g, ns, "globex").Users).To(HaveKey("alice@contoso.example"))
	})

	// customer is included by customer-admin, which carol holds at acme (and below).
	update(t, ns, "customer", &v1alpha1.Role{}, func(r *v1alpha1.Role) {
		r.Spec.Permissions = append(r.Spec.Permissions, "invoices")
	})
	eventually(t, func(g Gomega) {
		for _, org := range []string{"acme", "store-1"} {
			g.Expect(permissionsOf(document(g, ns, org), "carol@acme.example")).To(ContainElement("invoices"), org)
		}
		var role v1alpha1.Role
		get(g, ns, "customer-admin", &role)
		g.Expect(role.Status.Permissions).To(ContainElement("invoices"))
	})
	var after corev1.ConfigMap
	eventually(t, func(g Gomega) { get(g, ns, "access-globex", &after) })
	if after.ResourceVersion != globexCM.ResourceVersion {
		t.Errorf("access-globex was written though no binding there uses the changed role")
	}
}

func TestDeprecatedRoleGrantsItsReplacementFromRemoveAfter(t *testing.T) {
	ns := newPlatform(t)
	// Due in a few seconds: nothing but the requeue at removeAfter reconciles again.
	removeAfter := testClock.Now().Add(4 * time.Second).Truncate(time.Second)
	create(t, ns,
		builders.Customer("acme").Obj(),
		builders.Role("modern").Permissions("new-area").Obj(),
		builders.Role("legacy").Permissions("old-area").Deprecated("modern", removeAfter).Obj(),
		builders.Binding("pat@acme.example", "legacy", "acme").Named("pat-legacy").Obj(),
	)
	eventually(t, func(g Gomega) {
		var binding v1alpha1.RoleBinding
		get(g, ns, "pat-legacy", &binding)
		g.Expect(condition(binding.Status.Conditions, v1alpha1.ConditionDeprecated).Status).To(Equal(metav1.ConditionTrue))
		if testClock.Now().Before(removeAfter) {
			g.Expect(permissionsOf(document(g, ns, "acme"), "pat@acme.example")).To(ContainElement("old-area"))
		}
	})
	eventually(t, func(g Gomega) {
		perms := permissionsOf(document(g, ns, "acme"), "pat@acme.example")
		g.Expect(perms).To(ContainElement("new-area"))
		g.Expect(perms).NotTo(ContainElement("old-area"))
	})
}

func TestIncludeCycleFailsClosed(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns,
		builders.Customer("acme").Obj(),
		builders.Role("loop-a").Permissions("alpha").Includes("loop-b").Obj(),
		builders.Role("loop-b").Permissions("beta").Includes("loop-a").Obj(),
		builders.Role("plain").Permissions("gamma").Obj(),
		builders.Binding("ida@acme.example", "loop-a", "acme").Named("ida-loop").Obj(),
		builders.Binding("ida@acme.example", "plain", "acme").Named("ida-plain").Obj(),
	)
	eventually(t, func(g Gomega) {
		for _, name := range []string{"loop-a", "loop-b"} {
			var role v1alpha1.Role
			get(g, ns, name, &role)
			g.Expect(condition(role.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonIncludeCycle), name)
		}
		// The roles in the cycle grant nothing; the user's other role still does.
		perms := permissionsOf(document(g, ns, "acme"), "ida@acme.example")
		g.Expect(perms).To(ContainElement("gamma"))
		g.Expect(perms).NotTo(ContainElements("alpha"))
		g.Expect(perms).NotTo(ContainElements("beta"))
	})
}

func TestRoleDeletionWaitsWhileInUse(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns,
		builders.Customer("acme").Obj(),
		builders.Role("temp").Permissions("sales").Obj(),
		builders.Role("wrapper").Includes("temp").Obj(),
		builders.Binding("jo@acme.example", "temp", "acme").Named("jo-temp").Obj(),
	)
	eventually(t, func(g Gomega) {
		var role v1alpha1.Role
		get(g, ns, "temp", &role)
		g.Expect(role.Finalizers).To(ContainElement(RoleInUseFinalizer))
	})

	remove(t, ns, "temp", &v1alpha1.Role{})
	eventually(t, func(g Gomega) {
		var role v1alpha1.Role
		get(g, ns, "temp", &role)
		g.Expect(role.DeletionTimestamp).NotTo(BeNil())
		g.Expect(role.Status.UsedBy).To(ContainElements("RoleBinding/jo-temp", "Role/wrapper"))
		inUse := condition(role.Status.Conditions, v1alpha1.ConditionInUse)
		g.Expect(inUse).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonInUse))
		g.Expect(inUse.Message).To(ContainSubstring("RoleBinding/jo-temp"))
		g.Expect(eventsFor(g, ns, "Role", "temp")).To(ContainElement("DeletionWaiting"))
		// While it waits, the role still works.
		g.Expect(permissionsOf(document(g, ns, "acme"), "jo@acme.example")).To(ContainElement("sales"))
	})

	remove(t, ns, "jo-temp", &v1alpha1.RoleBinding{})
	eventually(t, func(g Gomega) {
		var role v1alpha1.Role
		get(g, ns, "temp", &role)
		g.Expect(role.Status.UsedBy).To(Equal([]string{"Role/wrapper"}))
	})
	update(t, ns, "wrapper", &v1alpha1.Role{}, func(r *v1alpha1.Role) { r.Spec.Includes = nil })
	eventually(t, func(g Gomega) { gone(g, ns, "temp", &v1alpha1.Role{}) })
}

// Roles being deleted that include each other go together, once no role kept
// (keeper, until it is deleted too) uses them: before, each waited for the other for
// ever.
func TestRolesDeletedTogetherDoNotWaitForEachOther(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns,
		builders.Role("ring-a").Permissions("sales").Includes("ring-b").Obj(),
		builders.Role("ring-b").Permissions("quotes").Includes("ring-a").Obj(),
		builders.Role("keeper").Includes("ring-a").Obj(),
	)
	eventually(t, func(g Gomega) {
		for _, name := range []string{"ring-a", "ring-b", "keeper"} {
			var role v1alpha1.Role
			get(g, ns, name, &role)
			g.Expect(role.Finalizers).To(ContainElement(RoleInUseFinalizer))
		}
	})
	remove(t, ns, "ring-a", &v1alpha1.Role{})
	remove(t, ns, "ring-b", &v1alpha1.Role{})
	eventually(t, func(g Gomega) {
		var a v1alpha1.Role
		get(g, ns, "ring-a", &a)
		g.Expect(condition(a.Status.Conditions, v1alpha1.ConditionInUse)).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonInUse))
		g.Expect(a.Status.UsedBy).To(ConsistOf("Role/keeper", "Role/ring-b"))
	})
	remove(t, ns, "keeper", &v1alpha1.Role{})
	eventually(t, func(g Gomega) {
		for _, name := range []string{"ring-a", "ring-b", "keeper"} {
			gone(g, ns, name, &v1alpha1.Role{})
		}
	})
}

// A role naming a role that does not exist in assignableRoles says so, and stops
// saying so when that role is created: a Role event reaches every role of its
// namespace, not only those related by includes or replacement.
func TestAssignableRoleFoundWhenCreated(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns, builders.Role("admin").Permissions("users").Assigns("viewer").Obj())
	eventually(t, func(g Gomega) {
		var admin v1alpha1.Role
		get(g, ns, "admin", &admin)
		g.Expect(condition(admin.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonAssignableRoleNotFound))
	})
	create(t, ns, builders.Role("viewer").Permissions("reports").Obj())
	eventually(t, func(g Gomega) {
		var admin v1alpha1.Role
		get(g, ns, "admin", &admin)
		g.Expect(condition(admin.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonReconciled))
	})
}

func TestRoleStatusConditionsDoNotFlap(t *testing.T) {
	role := &v1alpha1.Role{}
	role.Generation = 3
	result := permissions.RoleResult{Conditions: []permissions.Condition{
		{Type: v1alpha1.ConditionReady, True: true, Reason: v1alpha1.ReasonReconciled, Message: "ok"},
	}}
	first := roleStatus(role, result)
	role.Status = first
	second := roleStatus(role, result)
	if !second.Conditions[0].LastTransitionTime.Equal(&first.Conditions[0].LastTransitionTime) {
		t.Errorf("LastTransitionTime moved without a status change: %v -> %v", first.Conditions[0].LastTransitionTime, second.Conditions[0].LastTransitionTime)
	}
}

// compiledShards is org's document as the engine compiles it from every object now in
// ns (read from the API server): what the operator publishes once it has converged.
func compiledShards(g Gomega, ns, org string) [][]byte {
	in, err := gatherer{reader: k8s}.forNamespace(context.Background(), ns)
	g.ExpectWithOffset(1, err).NotTo(HaveOccurred())
	platform := permissions.Compile(in, testClock.Now())
	doc, ok := platform.Document(org)
	g.ExpectWithOffset(1, ok).To(BeTrue(), "no document compiled for %s", org)
	return doc.Shards
}

// A role of 256 long permissions that no tree defines (written against a catalog not
// applied yet): one UnknownPermission message longer than a condition admits. The
// status is written with the message cut; until 2026-12-07 the role said nothing.
func TestUnknownPermissionsOfALargeRoleAreReported(t *testing.T) {
	ns := newPlatform(t)
	var perms []string
	for i := range 256 {
		perms = append(perms, fmt.Sprintf("storefront/company-user-management/manage-roles-and-permissions/purchase-order-approval-rules/custom-rule-%03d/edit-and-delete-entries", i))
	}
	create(t, ns,
		builders.Tree("other", "other").Obj(),
		builders.Role("big").Permissions(perms...).Obj(),
	)
	eventually(t, func(g Gomega) {
		var role v1alpha1.Role
		get(g, ns, "big", &role)
		ready := condition(role.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(ready).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonUnknownPermission))
		g.Expect(ready.Message).To(HavePrefix("role big grants storefront/"))
	})
}
