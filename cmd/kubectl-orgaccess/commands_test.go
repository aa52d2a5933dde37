package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	accessv1 "github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

// publishedPlatform publishes acme's document, as the publisher would, into a fake API
// server (the commands' reading of documents; TestPluginAgainstAPIServer runs them
// against a real one): alice holds sales; erin held sales until an hour ago (validUntil passed, the
// operator has not republished yet).
func publishedPlatform(t *testing.T, extra ...client.Object) client.Client {
	t.Helper()
	now := time.Now()
	in := permissions.Input{
		Organizations: []*accessv1.Organization{builders.Customer("acme").Obj()},
		Roles:         []*accessv1.Role{builders.Role("seller").Permissions("sales").Obj()},
		Bindings: []*accessv1.RoleBinding{
			builders.Binding("alice@acme.example", "seller", "acme").Obj(),
			builders.Binding("erin@acme.example", "seller", "acme").ExpiresAt(now.Add(-time.Hour)).Obj(),
		},
	}
	for _, o := range in.Organizations {
		o.Namespace = "platform"
	}
	for _, o := range in.Roles {
		o.Namespace = "platform"
	}
	for _, o := range in.Bindings {
		o.Namespace = "platform"
	}
	// Published two hours ago, before erin's binding expired an hour ago: her entry
	// carries validUntil = now-1h, and the operator has not republished yet (down, or
	// the new copy is late).
	doc, ok := permissions.Compile(in, now.Add(-2*time.Hour)).Document("acme")
	if !ok {
		t.Fatal("no document")
	}
	scheme, err := newScheme()
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "access-acme", Namespace: "platform",
			Labels: map[string]string{accessv1.OrganizationLabel: "acme", accessv1.ShardLabel: "1"}},
		Data: map[string]string{accessv1.DocumentKey: string(doc.Shards[0])},
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(append(extra, cm)...).Build()
}

// `user` finds an address typed with capitals, as can-i and explain do: documents list
// the canonical address. Until 2026-12-07 it said the user appeared nowhere.
func TestUserFindsAnAddressTypedWithCapitals(t *testing.T) {
	c := publishedPlatform(t)
	var out bytes.Buffer
	if err := canI(context.Background(), c, "platform", "Alice@Acme.example", "acme", "sales", &out); err != nil {
		t.Fatalf("can-i: %v", err)
	}
	out.Reset()
	if err := showUser(context.Background(), c, "platform", "Alice@Acme.example", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "acme") || strings.Contains(out.String(), "appears in no published document") {
		t.Errorf("can-i says yes for Alice@Acme.example, but user prints:\n%s", out.String())
	}
}

// `user` does not list an entry past its validUntil as held: can-i (and every
// workload) says the user holds nothing there until the operator publishes again.
func TestUserDoesNotListLapsedPermissions(t *testing.T) {
	c := publishedPlatform(t)
	var out bytes.Buffer
	err := canI(context.Background(), c, "platform", "erin@acme.example", "acme", "sales", &out)
	if !errors.Is(err, errDenied) {
		t.Fatalf("can-i erin sales: %v %q; want no (her entry lapsed)", err, out.String())
	}
	out.Reset()
	if err := showUser(context.Background(), c, "platform", "erin@acme.example", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "  sales") || !strings.Contains(out.String(), "lapsed at") {
		t.Errorf("can-i says no, but user does not say the entry lapsed:\n%s", out.String())
	}
}

// can-i reads the document by name, as docs/document-format.md tells workloads to: a
// ConfigMap that merely carries acme's label is not acme's document, whether access-acme
// is intact (it used to make can-i refuse to answer) or missing (it used to be trusted).
// user ignores it as well.
func TestDocumentsAreReadByName(t *testing.T) {
	forged := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "not-a-document", Namespace: "platform",
			Labels: map[string]string{accessv1.OrganizationLabel: "acme"}},
		Data: map[string]string{accessv1.DocumentKey: `{"organization":"acme","path":["acme"],"permissionSets":{"x":["*"]},"users":{"mallory@evil.example":{"status":"Active","permissionSet":"x"}}}`},
	}
	c := publishedPlatform(t, forged)
	var out bytes.Buffer
	if err := canI(context.Background(), c, "platform", "alice@acme.example", "acme", "sales", &out); err != nil {
		t.Errorf("can-i alice sales with access-acme intact: %v (output %q); a workload reading access-acme says yes", err, out.String())
	}
	// Without access-acme, the stray ConfigMap is taken for acme's document.
	if err := c.Delete(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "access-acme", Namespace: "platform"}}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := canI(context.Background(), c, "platform", "mallory@evil.example", "acme", "sales", &out); err == nil {
		t.Errorf("can-i mallory sales from a ConfigMap not named access-acme: %q, want an error (no published document)", out.String())
	}
	out.Reset()
	if err := showUser(context.Background(), c, "platform", "mallory@evil.example", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "appears in no published document") {
		t.Errorf("user lists mallory from a ConfigMap not named access-acme:\n%s", out.String())
	}
}
