package main

import (
	"crypto/sha256"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// published is a ConfigMap as the tracker's transform leaves it.
func published(name, data string) *corev1.ConfigMap {
	h := sha256.Sum256([]byte(data))
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, BinaryData: map[string][]byte{hashKey: h[:]}}
}

func expecting(docs map[string]string) expectation {
	e := expectation{hashes: map[string][32]byte{}}
	for name, data := range docs {
		e.hashes[name] = sha256.Sum256([]byte(data))
	}
	return e
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// An expectation set after the documents already hold it (compiled again once the
// platform changed by time) is met when the last of them came to hold its bytes, not
// when it was set; one they do not hold yet is met by the update that completes it.
func TestTrackerDatesAMatchByTheLastDocumentsChange(t *testing.T) {
	tr := &tracker{current: map[string][32]byte{}, since: map[string]time.Time{}}
	tr.observe(published("access-a", "a1"), false)
	tr.observe(published("access-b", "b1"), false)
	bChanged := tr.since["access-b"]
	time.Sleep(2 * time.Millisecond)
	tr.observe(published("access-a", "a1"), false) // metadata only: the bytes did not change
	if tr.since["access-a"].After(bChanged) {
		t.Fatalf("an update with the same bytes moved access-a's time to %v", tr.since["access-a"])
	}

	if done := tr.expect(expecting(map[string]string{"access-a": "a1", "access-b": "b1"})); !closed(done) {
		t.Fatal("an expectation the documents already hold is not met")
	}
	if !tr.matchedAt.Equal(bChanged) {
		t.Errorf("met at %v, want %v: when access-b, the last, got its bytes", tr.matchedAt, bChanged)
	}

	done := tr.expect(expecting(map[string]string{"access-a": "a2", "access-b": "b1"}))
	if closed(done) {
		t.Fatal("met before access-a holds its new bytes")
	}
	tr.observe(published("access-a", "a2"), false)
	if !closed(done) {
		t.Fatal("not met once access-a holds its new bytes")
	}
	if !tr.matchedAt.Equal(tr.since["access-a"]) || !tr.matchedAt.After(bChanged) {
		t.Errorf("met at %v, want access-a's update at %v", tr.matchedAt, tr.since["access-a"])
	}
	tr.observe(published("access-b", ""), true)
	if _, ok := tr.since["access-b"]; ok {
		t.Error("a deleted document keeps its time")
	}
}

// A step's first document is the first one that comes to hold its expected bytes after
// the step starts: not a document that held them already, nor a later one.
func TestTrackerDatesAStepsFirstDocument(t *testing.T) {
	tr := &tracker{current: map[string][32]byte{}, since: map[string]time.Time{}}
	tr.observe(published("access-a", "a1"), false)
	tr.observe(published("access-b", "b1"), false)
	tr.observe(published("access-c", "c1"), false)
	tr.expect(expecting(map[string]string{"access-a": "a1", "access-b": "b1", "access-c": "c1"}))

	tr.startStep()
	tr.expect(expecting(map[string]string{"access-a": "a1", "access-b": "b2", "access-c": "c2"}))
	tr.observe(published("access-a", "a1"), false) // held its bytes already
	if first := tr.firstMatch(); !first.IsZero() {
		t.Fatalf("first document at %v before any changed one was published", first)
	}
	tr.observe(published("access-b", "b-other"), false) // changed, but not to the expected bytes
	if first := tr.firstMatch(); !first.IsZero() {
		t.Fatalf("first document at %v when none holds its expected bytes", first)
	}
	tr.observe(published("access-b", "b2"), false)
	first := tr.firstMatch()
	if !first.Equal(tr.since["access-b"]) {
		t.Fatalf("first document at %v, want access-b's update at %v", first, tr.since["access-b"])
	}
	time.Sleep(2 * time.Millisecond)
	tr.observe(published("access-c", "c2"), false)
	if got := tr.firstMatch(); !got.Equal(first) {
		t.Errorf("the second document moved the first to %v", got)
	}
	if !tr.matchedAt.Equal(tr.since["access-c"]) {
		t.Errorf("last document at %v, want access-c's update at %v", tr.matchedAt, tr.since["access-c"])
	}
	tr.startStep()
	if !tr.firstMatch().IsZero() {
		t.Error("a new step keeps the last step's first document")
	}
}
