package controllers

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// convergeTimeout bounds how long a test waits for the controllers; generous, because
// the machine running the tests may be busy. No test asserts how fast anything is.
const convergeTimeout = 60 * time.Second

// eventually retries check until it passes or convergeTimeout ends.
func eventually(t *testing.T, check func(g Gomega)) {
	t.Helper()
	NewWithT(t).Eventually(check).WithTimeout(convergeTimeout).WithPolling(100 * time.Millisecond).Should(Succeed())
}

// create creates every object in ns, in order.
func create(t *testing.T, ns string, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		o.SetNamespace(ns)
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// inNamespace puts every object of in into ns, for the readers that answer from an
// input (newInputReader).
func inNamespace(ns string, in *permissions.Input) {
	for i := range in.Organizations {
		in.Organizations[i].Namespace = ns
	}
	for i := range in.Trees {
		in.Trees[i].Namespace = ns
	}
	for i := range in.Roles {
		in.Roles[i].Namespace = ns
	}
	for i := range in.Bindings {
		in.Bindings[i].Namespace = ns
	}
	for i := range in.Invitations {
		in.Invitations[i].Namespace = ns
	}
}

// update reads obj named name in ns fresh, applies change and writes it back, retrying
// on conflicts with the controllers' writes.
func update[T client.Object](t *testing.T, ns, name string, obj T, change func(T), opts ...client.UpdateOption) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
			return err
		}
		change(obj)
		return k8s.Update(context.Background(), obj, opts...)
	})
	if err != nil {
		t.Fatalf("update %T %s: %v", obj, name, err)
	}
}

// remove deletes the object named name in ns.
func remove(t *testing.T, ns, name string, obj client.Object) {
	t.Helper()
	obj.SetNamespace(ns)
	obj.SetName(name)
	if err := k8s.Delete(context.Background(), obj); err != nil {
		t.Fatalf("delete %T %s: %v", obj, name, err)
	}
}

// get reads the object named name in ns into obj.
func get(g Gomega, ns, name string, obj client.Object) {
	g.ExpectWithOffset(1, k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj)).To(Succeed())
}

// gone says whether the object named name no longer exists in ns.
func gone(g Gomega, ns, name string, obj client.Object) {
	err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj)
	g.ExpectWithOffset(1, err).To(HaveOccurred(), "%T %s still exists", obj, name)
	g.ExpectWithOffset(1, client.IgnoreNotFound(err)).To(Succeed())
}

// document reads org's published document (all shards, merged by user).
func document(g Gomega, ns, org string) v1alpha1.AccessDocument {
	shards := documentShards(g, ns, org)
	doc := shards[0]
	for _, s := range shards[1:] {
		for id, set := range s.PermissionSets {
			doc.PermissionSets[id] = set
		}
		for u, access := range s.Users {
			doc.Users[u] = access
		}
	}
	return doc
}

// documentShards reads every ConfigMap of org's document, in shard order.
func documentShards(g Gomega, ns, org string) []v1alpha1.AccessDocument {
	var list corev1.ConfigMapList
	g.ExpectWithOffset(2, k8s.List(context.Background(), &list, client.InNamespace(ns),
		client.MatchingLabels{v1alpha1.OrganizationLabel: org})).To(Succeed())
	g.ExpectWithOffset(2, list.Items).NotTo(BeEmpty(), "no ConfigMap published for %s", org)
	slices.SortFunc(list.Items, func(a, b corev1.ConfigMap) int {
		return strings.Compare(a.Labels[v1alpha1.ShardLabel], b.Labels[v1alpha1.ShardLabel])
	})
	var docs []v1alpha1.AccessDocument
	for _, cm := range list.Items {
		var doc v1alpha1.AccessDocument
		g.ExpectWithOffset(2, json.Unmarshal([]byte(cm.Data[v1alpha1.DocumentKey]), &doc)).To(Succeed())
		docs = append(docs, doc)
	}
	return docs
}

// permissionsOf returns user's permission set in doc; nil when the user is not listed
// or holds no set (not Active).
func permissionsOf(doc v1alpha1.AccessDocument, user string) []string {
	u, ok := doc.Users[user]
	if !ok || u.PermissionSet == "" {
		return nil
	}
	return doc.PermissionSets[u.PermissionSet]
}

// condition returns the condition of type typ, or an empty one.
func condition(conds []metav1.Condition, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(conds, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// haveCondition matches a condition of status with reason.
func haveCondition(status metav1.ConditionStatus, reason string) OmegaMatcher {
	return And(
		WithTransform(func(c metav1.Condition) metav1.ConditionStatus { return c.Status }, Equal(status)),
		WithTransform(func(c metav1.Condition) string { return c.Reason }, Equal(reason)),
	)
}

// eventsFor returns the reasons of the events recorded about the object named name.
func eventsFor(g Gomega, ns, kind, name string) []string {
	var list eventsv1.EventList
	g.ExpectWithOffset(1, k8s.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}
