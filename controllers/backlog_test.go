package controllers

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// queuedBacklog returns a backlog whose publisher queue holds one organization, and
// a channel closed when a wait that starts now returns.
func queuedBacklog(t *testing.T, b *publishBacklog) (requestQueue, <-chan struct{}) {
	t.Helper()
	q := b.newQueue("organization", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	t.Cleanup(q.ShutDown)
	q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "p", Name: "acme"}})
	if got := b.pending(); got != 1 {
		t.Fatalf("pending = %d with one organization queued, want 1", got)
	}
	waited := make(chan struct{})
	go func() {
		b.wait(context.Background())
		close(waited)
	}()
	return q, waited
}

func TestStatusesWaitWhileDocumentsAreQueued(t *testing.T) {
	b := newPublishBacklog()
	b.poll = time.Millisecond
	b.wait(context.Background()) // before the publisher starts: nothing to wait for

	q, waited := queuedBacklog(t, b)
	select {
	case <-waited:
		t.Fatal("a status reconcile went ahead while a document was queued")
	case <-time.After(50 * time.Millisecond):
	}
	item, _ := q.Get() // the publisher takes the organization
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("a status reconcile still waits although no document is queued")
	}
	q.Done(item)
}

func TestStatusesWaitAtMostMaxWait(t *testing.T) {
	b := newPublishBacklog()
	b.poll, b.maxWait = time.Millisecond, 20*time.Millisecond
	_, waited := queuedBacklog(t, b)
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("a publisher that never drains its queue starved a status reconcile")
	}
}
