package controllers

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestPermissionTreesAreJudgedTogetherAndReachEveryDocument(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns,
		builders.Customer("acme").Obj(),
		builders.Customer("globex").Obj(),
		builders.Role("editor").Permissions("contracts/write").Obj(),
		builders.Binding("kim@acme.example", "editor", "acme").Named("kim-editor").Obj(),
	)
	eventually(t, func(g Gomega) {
		doc := document(g, ns, "acme")
		g.Expect(doc.Closure).To(BeFalse())
		g.Expect(permissionsOf(doc, "kim@acme.example")).To(Equal([]string{"contracts/write"}))
		g.Expect(document(g, ns, "globex").Closure).To(BeFalse())
	})

	// A tree appears: every document of the namespace now holds closures.
	create(t, ns, builders.Tree("contracts", "contracts", "contracts/read").Implies("contracts/write", "contracts/read").Obj())
	eventually(t, func(g Gomega) {
		var tree v1alpha1.PermissionTree
		get(g, ns, "contracts", &tree)
		g.Expect(tree.Status.Paths).To(Equal(int32(3)))
		g.Expect(condition(tree.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		// With a tree, sets hold the closure: the implied read comes with the write.
		doc := document(g, ns, "acme")
		g.Expect(doc.Closure).To(BeTrue())
		g.Expect(permissionsOf(doc, "kim@acme.example")).To(ContainElements("contracts/write", "contracts/read"))
		g.Expect(document(g, ns, "globex").Closure).To(BeTrue())
	})

	// A second tree defining the same path: both report it.
	create(t, ns, builders.Tree("duplicate", "contracts").Obj())
	eventually(t, func(g Gomega) {
		for _, name := range []string{"contracts", "duplicate"} {
			var tree v1alpha1.PermissionTree
			get(g, ns, name, &tree)
			g.Expect(condition(tree.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonDuplicatePath), name)
		}
	})
}

// A tree edit changes which roles are Ready and what a `*` delegation covers; the
// statuses of bindings and invitations follow it, not only the documents. Removing the
// path a role grants makes its binding not Ready; a new implication that brings the
// invited role within what the inviter holds grants the invitation it refused.
func TestTreeEditReachesBindingAndInvitationStatuses(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns,
		builders.Tree("t", "sales", "sales/view", "billing", "legacy").Obj(),
		builders.Role("old").Permissions("legacy").Obj(),
		builders.Role("inviter").Permissions("sales/view").Assigns("*").Obj(),
		builders.Role("tgt").Permissions("billing").Obj(),
		builders.Customer("acme").Obj(),
		builders.Binding("al@acme.example", "old", "acme").Named("al-old").Obj(),
		builders.Binding("ivan@acme.example", "inviter", "acme").Named("ivan-inviter").Obj(),
		builders.Invitation("tina@acme.example", "acme", "tgt").Named("tina").InvitedBy("ivan@acme.example").AcceptedAt(testClock.Now()).Obj(),
	)
	eventually(t, func(g Gomega) {
		var b v1alpha1.RoleBinding
		get(g, ns, "al-old", &b)
		g.Expect(condition(b.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		var inv v1alpha1.UserInvitation
		get(g, ns, "tina", &inv)
		g.Expect(condition(inv.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonDelegationRefused))
	})

	update(t, ns, "t", &v1alpha1.PermissionTree{}, func(tree *v1alpha1.PermissionTree) {
		tree.Spec = builders.Tree("t", "sales", "sales/view", "billing").Implies("sales/view", "billing").Obj().Spec
	})
	eventually(t, func(g Gomega) {
		var b v1alpha1.RoleBinding
		get(g, ns, "al-old", &b)
		g.Expect(condition(b.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonRoleNotReady))
		var inv v1alpha1.UserInvitation
		get(g, ns, "tina", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(ownedBindingsOf(g, ns, "tina")).To(HaveLen(1))
	})
}

// Renaming a catalog of a few hundred paths the GitOps way (apply the new name, then
// delete the old) defines every path twice for a while: the DuplicatePath message
// lists them all and is longer than a condition admits. The status is still written,
// its message cut (fitMessage); until 2026-12-07 the API server refused it, and both
// trees kept saying Ready=True.
func TestDuplicatePathsOfALargeCatalogAreReported(t *testing.T) {
	ns := newPlatform(t)
	paths := []string{"catalog"}
	for i := range 300 {
		paths = append(paths, fmt.Sprintf("catalog/item-%03d", i))
	}
	create(t, ns, builders.Tree("catalog", paths...).Obj())
	eventually(t, func(g Gomega) {
		var tree v1alpha1.PermissionTree
		get(g, ns, "catalog", &tree)
		g.Expect(condition(tree.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonReconciled))
	})
	create(t, ns, builders.Tree("catalog-v2", paths...).Obj())
	eventually(t, func(g Gomega) {
		for _, name := range []string{"catalog", "catalog-v2"} {
			var tree v1alpha1.PermissionTree
			get(g, ns, name, &tree)
			ready := condition(tree.Status.Conditions, v1alpha1.ConditionReady)
			g.Expect(ready).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonDuplicatePath), name)
			g.Expect(ready.Message).To(ContainSubstring("more bytes)"), name)
		}
	})
}
