package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

func TestTrimForCacheDropsManagedFieldsAndLastApplied(t *testing.T) {
	b := &v1alpha1.RoleBinding{}
	b.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate}}
	b.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"big":"json"}`, "team": "payments"}
	out, err := trimForCache(b, newInterner(internerCapacity))
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*v1alpha1.RoleBinding)
	if got.ManagedFields != nil {
		t.Errorf("managedFields = %v, want none", got.ManagedFields)
	}
	if _, ok := got.Annotations[corev1.LastAppliedConfigAnnotation]; ok || got.Annotations["team"] != "payments" {
		t.Errorf("annotations = %v, want only team=payments", got.Annotations)
	}

	only := &v1alpha1.Role{}
	only.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}
	if out, _ := trimForCache(only, newInterner(internerCapacity)); out.(*v1alpha1.Role).Annotations != nil {
		t.Errorf("annotations = %v, want none", out.(*v1alpha1.Role).Annotations)
	}
	// A document ConfigMap keeps it: the publisher updates the ConfigMap from this copy.
	cm := &corev1.ConfigMap{Data: map[string]string{v1alpha1.DocumentKey: "{}"}}
	cm.ManagedFields = b.ManagedFields
	cm.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"big":"json"}`}
	out, err = trimForCache(cm, newInterner(internerCapacity))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*corev1.ConfigMap); got.Annotations[corev1.LastAppliedConfigAnnotation] != `{"big":"json"}` || got.ManagedFields != nil {
		t.Errorf("ConfigMap annotations %v, managedFields %v; want the annotation kept and no managedFields", got.Annotations, got.ManagedFields)
	}
	// A tombstone passes unchanged.
	if out, err := trimForCache("tombstone", newInterner(internerCapacity)); err != nil || out != "tombstone" {
		t.Errorf("trimForCache(tombstone) = %v, %v", out, err)
	}
}

func TestCacheOptionsCacheOnlyDocumentConfigMaps(t *testing.T) {
	opts, err := CacheOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	var selector labels.Selector
	for obj, by := range opts.ByObject {
		if _, ok := obj.(*corev1.ConfigMap); ok {
			selector = by.Label
		}
	}
	if selector == nil {
		t.Fatal("no label selector for ConfigMaps")
	}
	if !selector.Matches(labels.Set{v1alpha1.OrganizationLabel: "acme", v1alpha1.ShardLabel: "1"}) {
		t.Error("a document ConfigMap is not cached")
	}
	if selector.Matches(labels.Set{"app": "other"}) {
		t.Error("an unrelated ConfigMap is cached")
	}
	if opts.DefaultTransform == nil {
		t.Error("no transform")
	}
}

// A document ConfigMap whose label someone removed is missing from the labelled ones
// (and from a cache that holds only labelled ConfigMaps): the publisher's create fails,
// and it reads and patches the ConfigMap instead, keeping what the cache leaves out.
func TestPublishTakesBackADocumentWhoseLabelWasRemoved(t *testing.T) {
	org := testOrganization()
	want := desiredConfigMaps(org, [][]byte{[]byte(`{"v":2}`)})[0]
	unlabelled := want.DeepCopy()
	unlabelled.Labels = map[string]string{"team": "payments"}
	unlabelled.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}
	unlabelled.Data = map[string]string{v1alpha1.DocumentKey: `{"v":1}`}
	c := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(unlabelled).Build()
	p := publisher{client: c, uncached: c}

	wrote, err := p.write(context.Background(), org, nil, &want)
	if err != nil || !wrote {
		t.Fatalf("write = %v, %v; want a write", wrote, err)
	}
	var got corev1.ConfigMap
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(&want), &got); err != nil {
		t.Fatal(err)
	}
	if got.Data[v1alpha1.DocumentKey] != `{"v":2}` || got.Labels[v1alpha1.OrganizationLabel] != "acme" {
		t.Errorf("ConfigMap = %v %v, want the document and its label", got.Labels, got.Data)
	}
	if got.Labels["team"] != "payments" || got.Annotations[corev1.LastAppliedConfigAnnotation] != "{}" {
		t.Errorf("ConfigMap lost what others added: labels %v, annotations %v", got.Labels, got.Annotations)
	}
}

func TestChangeTimesKeepTheFirstWaitingEvent(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := newChangeTimes(clk)
	key := types.NamespacedName{Namespace: "platform", Name: "acme"}
	if _, ok := c.take(key); ok {
		t.Fatal("an event is waiting before any was seen")
	}
	first := clk.Now()
	c.seen(key)
	clk.SetTime(first.Add(time.Second))
	c.seen(key) // a second event before the reconcile: the first one counts
	got, ok := c.take(key)
	if !ok || !got.Equal(first) {
		t.Fatalf("take = %v, %v; want %v", got, ok, first)
	}
	if _, ok := c.take(key); ok {
		t.Fatal("the event is still waiting after it was taken")
	}
	// A failed reconcile gives its time back, ahead of an event seen meanwhile.
	c.seen(key)
	c.restore(key, first)
	if got, _ := c.take(key); !got.Equal(first) {
		t.Errorf("after restore, take = %v, want %v", got, first)
	}
}

// The cache keeps a document ConfigMap's data as a digest: the publisher still tells an
// up-to-date ConfigMap from a changed one, and its patch still removes a key someone
// added.
func TestPublishComparesAndPatchesADigestedConfigMap(t *testing.T) {
	org := testOrganization()
	want := desiredConfigMaps(org, [][]byte{[]byte(`{"v":2}`)})[0]

	same := want.DeepCopy()
	trimmed, _ := trimForCache(same, newInterner(internerCapacity))
	trimmed, _ = trimForCache(trimmed, newInterner(internerCapacity)) // client-go may transform twice (an initial list)
	if got := trimmed.(*corev1.ConfigMap); len(got.Data[v1alpha1.DocumentKey]) != 0 || !configMapUpToDate(got, &want, dataDigest(want.Data)) {
		t.Errorf("the digested copy of an up-to-date ConfigMap = %v, want up to date and no document", got.Data)
	}

	edited := want.DeepCopy()
	edited.Data["extra"] = "x"
	c := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(edited).Build()
	var stored corev1.ConfigMap
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(&want), &stored); err != nil {
		t.Fatal(err)
	}
	cached, _ := trimForCache(stored.DeepCopy(), newInterner(internerCapacity))
	have := cached.(*corev1.ConfigMap)
	if configMapUpToDate(have, &want, dataDigest(want.Data)) {
		t.Fatal("a ConfigMap with an extra key is up to date")
	}
	p := publisher{client: c}
	if wrote, err := p.write(context.Background(), org, have, &want); err != nil || !wrote {
		t.Fatalf("write = %v, %v; want a write", wrote, err)
	}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(&want), &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored.Data) != 1 || stored.Data[v1alpha1.DocumentKey] != `{"v":2}` {
		t.Errorf("data = %v, want only the document", stored.Data)
	}
}

// TestDataDigestHashesEachStringLengthPrefixed holds dataDigest to its definition, the
// SHA-256 of every key and value in key order, each after its length, for values
// shorter and longer than the buffer it hashes through, and empty ones.
func TestDataDigestHashesEachStringLengthPrefixed(t *testing.T) {
	data := map[string]string{
		v1alpha1.DocumentKey: strings.Repeat(`{"users":{}}`, 1000),
		"b":                  "",
		"a":                  "x",
	}
	var want []byte
	for _, k := range []string{"a", v1alpha1.DocumentKey, "b"} { // key order: "access.json" is second
		for _, s := range []string{k, data[k]} {
			want = binary.LittleEndian.AppendUint64(want, uint64(len(s)))
			want = append(want, s...)
		}
	}
	sum := sha256.Sum256(want)
	if got := dataDigest(data); got != hex.EncodeToString(sum[:]) {
		t.Errorf("dataDigest = %s, want %x", got, sum)
	}
	data["b"], data["a"] = "x", ""
	if dataDigest(data) == hex.EncodeToString(sum[:]) {
		t.Error("moving a value to another key keeps the digest")
	}
}

// BenchmarkDataDigest digests a 120 kB document, the size of a customer's with 200
// users.
func BenchmarkDataDigest(b *testing.B) {
	data := map[string]string{v1alpha1.DocumentKey: strings.Repeat(`{"users":{}}`, 10_000)}
	b.ReportAllocs()
	for b.Loop() {
		dataDigest(data)
	}
}
