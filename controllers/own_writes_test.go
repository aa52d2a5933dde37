package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// ownWritesFixture is a published document ConfigMap in a fake API server, its copy as
// the cache holds it, and a publisher that records its writes.
type ownWritesFixture struct {
	t      *testing.T
	c      client.Client
	p      publisher
	own    *ownWrites
	org    *v1alpha1.Organization
	cached *corev1.ConfigMap // the cache's copy: trimmed, data as a digest
}

func newOwnWritesFixture(t *testing.T) *ownWritesFixture {
	org := testOrganization()
	published := desiredConfigMaps(org, [][]byte{[]byte(`{"v":1}`)})[0]
	c := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(&published).Build()
	own := newOwnWrites()
	f := &ownWritesFixture{t: t, c: c, p: publisher{client: c, own: own}, own: own, org: org}
	f.cached = f.read()
	return f
}

// read returns the ConfigMap as the cache would hold it now.
func (f *ownWritesFixture) read() *corev1.ConfigMap {
	f.t.Helper()
	var cm corev1.ConfigMap
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: "platform", Name: "access-acme"}, &cm); err != nil {
		f.t.Fatal(err)
	}
	out, err := trimForCache(&cm, newInterner(internerCapacity))
	if err != nil {
		f.t.Fatal(err)
	}
	return out.(*corev1.ConfigMap)
}

// publish writes the document data through the publisher, from the cache's copy.
func (f *ownWritesFixture) publish(data string) {
	f.t.Helper()
	want := desiredConfigMaps(f.org, [][]byte{[]byte(data)})[0]
	if wrote, err := f.p.write(context.Background(), f.org, f.cached, &want); err != nil || !wrote {
		f.t.Fatalf("write = %v, %v; want a write", wrote, err)
	}
}

// handEdit changes the ConfigMap as someone other than the publisher would.
func (f *ownWritesFixture) handEdit(change func(*corev1.ConfigMap)) {
	f.t.Helper()
	var cm corev1.ConfigMap
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: "platform", Name: "access-acme"}, &cm); err != nil {
		f.t.Fatal(err)
	}
	change(&cm)
	if err := f.c.Update(context.Background(), &cm); err != nil {
		f.t.Fatal(err)
	}
}

// event is the watch's update from the cache's copy to the ConfigMap as it is now,
// which becomes the cache's copy; it says whether the organization is enqueued.
func (f *ownWritesFixture) event() bool {
	f.t.Helper()
	cur := f.read()
	e := event.UpdateEvent{ObjectOld: f.cached, ObjectNew: cur}
	f.cached = cur
	return f.own.notOwnWrite().Update(e)
}

func TestOwnWriteDoesNotBringTheOrganizationBack(t *testing.T) {
	f := newOwnWritesFixture(t)
	f.publish(`{"v":2}`)
	if f.event() {
		t.Error("the publisher's own update enqueued its organization")
	}
	if n := len(f.own.pending); n != 0 {
		t.Errorf("%d writes still pending after their event", n)
	}
	// Each write answers one event: the same data arriving again (someone wrote it
	// back) is not taken for the publisher's.
	f.handEdit(func(cm *corev1.ConfigMap) { cm.Annotations = map[string]string{"note": "x"} })
	if !f.event() {
		t.Error("an update after the own write's event was taken for the publisher's")
	}
}

func TestHandEditsStillBringTheOrganizationBack(t *testing.T) {
	for name, edit := range map[string]func(*corev1.ConfigMap){
		"data":        func(cm *corev1.ConfigMap) { cm.Data[v1alpha1.DocumentKey] = `{"v":"forged"}` },
		"extra key":   func(cm *corev1.ConfigMap) { cm.Data["extra"] = "x" },
		"binary data": func(cm *corev1.ConfigMap) { cm.BinaryData = map[string][]byte{"b": {1}} },
		"our label":   func(cm *corev1.ConfigMap) { cm.Labels[v1alpha1.OrganizationLabel] = "globex" },
		"owner":       func(cm *corev1.ConfigMap) { cm.OwnerReferences = nil },
	} {
		t.Run(name, func(t *testing.T) {
			// A hand edit with no write of the publisher's pending.
			f := newOwnWritesFixture(t)
			f.handEdit(edit)
			if !f.event() {
				t.Error("a hand edit did not enqueue the organization")
			}
			// A hand edit that lands on top of the publisher's write, before its event:
			// the ConfigMap holds the edit, and the organization comes back for it.
			f = newOwnWritesFixture(t)
			f.publish(`{"v":2}`)
			f.handEdit(edit)
			if !f.event() {
				t.Error("a hand edit after an own write did not enqueue the organization")
			}
		})
	}
}

func TestFailedWriteIsForgotten(t *testing.T) {
	f := newOwnWritesFixture(t)
	stale := f.cached
	f.handEdit(func(cm *corev1.ConfigMap) { cm.Labels["team"] = "payments" }) // the cache's copy is now stale
	want := desiredConfigMaps(f.org, [][]byte{[]byte(`{"v":2}`)})[0]
	if _, err := f.p.write(context.Background(), f.org, stale, &want); err == nil {
		t.Fatal("an update from a stale copy succeeded; want a conflict")
	}
	if n := len(f.own.pending); n != 0 {
		t.Errorf("%d writes pending after the write failed", n)
	}
}

func TestReconcileBeforeOwnWriteEventDoesNotWriteAgain(t *testing.T) {
	f := newOwnWritesFixture(t)
	stale := f.cached
	f.publish(`{"v":2}`)
	// The organization is reconciled again before the update's event reaches the cache:
	// its copy is the one from before the write, with an older resourceVersion.
	want := desiredConfigMaps(f.org, [][]byte{[]byte(`{"v":2}`)})[0]
	wrote, err := f.p.write(context.Background(), f.org, stale, &want)
	if err != nil || wrote {
		t.Fatalf("write from the copy before the own write's event = %v, %v; want no write", wrote, err)
	}
	// The update's event still answers the write, and does not enqueue the organization.
	if f.event() {
		t.Error("the own update's event enqueued the organization")
	}
	if f.own.awaiting(f.cached, dataDigest(want.Data)) {
		t.Error("a write observed by its event is still awaited")
	}
}

func TestOnlyTheOwnWriteIsTakenAsDone(t *testing.T) {
	f := newOwnWritesFixture(t)
	stale := f.cached
	f.publish(`{"v":2}`)
	// Other data, from the same stale copy, is written: it conflicts, as the copy is
	// stale, and is retried from a fresh one.
	want := desiredConfigMaps(f.org, [][]byte{[]byte(`{"v":3}`)})[0]
	if _, err := f.p.write(context.Background(), f.org, stale, &want); err == nil {
		t.Error("new data from a stale copy was taken as written")
	}
	// So is the own data when someone else changed the labels the document needs.
	f = newOwnWritesFixture(t)
	stale = f.cached.DeepCopy()
	f.publish(`{"v":2}`)
	stale.Labels[v1alpha1.OrganizationLabel] = "globex"
	want = desiredConfigMaps(f.org, [][]byte{[]byte(`{"v":2}`)})[0]
	if _, err := f.p.write(context.Background(), f.org, stale, &want); err == nil {
		t.Error("a copy without the document's labels was taken as written")
	}
}

// A document that changes and changes back before the cache sees the first write (a
// binding created and deleted within the cache's lag): the second reconcile finds the
// cache's stale copy equal to what it wants, but the API server holds the first write,
// whose event is the publisher's own and brings nothing back. The second write must not
// be skipped: it fails with a conflict (retried once the cache caught up) or the first
// write's event must bring the organization back. Before 2026-12-07 neither happened,
// and the first write's grant stayed published until an unrelated change.
func TestDocumentChangedBackBeforeTheCacheSawTheChangeIsWrittenAgain(t *testing.T) {
	f := newOwnWritesFixture(t)
	stale := f.cached // holds {"v":1}
	f.publish(`{"v":2}`)
	want := desiredConfigMaps(f.org, [][]byte{[]byte(`{"v":1}`)})[0]
	wrote, err := f.p.write(context.Background(), f.org, stale, &want)
	retried := err != nil && transient(err)
	enqueued := f.event() // the {"v":2} update's event arrives
	var cm corev1.ConfigMap
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: "platform", Name: "access-acme"}, &cm); err != nil {
		t.Fatal(err)
	}
	if got := cm.Data[v1alpha1.DocumentKey]; got != `{"v":1}` && !retried && !enqueued {
		t.Errorf("the API server holds %s, want {\"v\":1}; the write said %v, %v and the first write's event enqueued nothing", got, wrote, err)
	}
}
