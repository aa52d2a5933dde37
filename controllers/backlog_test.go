package controllers

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
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

func TestStatusesWaitWhileThePublisherMapsAndReconciles(t *testing.T) {
	b := newPublishBacklog()
	b.poll = time.Millisecond
	release := make(chan struct{})
	started := make(chan struct{})
	blocking := func(context.Context) {
		close(started)
		<-release
	}

	for _, tc := range []struct {
		name string
		run  func()
	}{
		{"map function", func() {
			b.mapping(func(ctx context.Context, _ client.Object) []reconcile.Request {
				blocking(ctx)
				return nil
			})(context.Background(), &v1alpha1.Role{})
		}},
		{"reconcile", func() {
			_, _ = b.reconciling(reconcile.Func(func(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
				blocking(ctx)
				return reconcile.Result{}, nil
			})).Reconcile(context.Background(), reconcile.Request{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release, started = make(chan struct{}), make(chan struct{})
			done := make(chan struct{})
			go func() {
				tc.run()
				close(done)
			}()
			<-started
			waited := make(chan struct{})
			go func() {
				b.wait(context.Background())
				close(waited)
			}()
			select {
			case <-waited:
				t.Fatalf("a status reconcile went ahead while the publisher's %s ran", tc.name)
			case <-time.After(50 * time.Millisecond):
			}
			close(release)
			<-done
			select {
			case <-waited:
			case <-time.After(10 * time.Second):
				t.Fatalf("a status reconcile still waits after the publisher's %s returned", tc.name)
			}
			if got := b.pending(); got != 0 {
				t.Errorf("pending = %d after the %s returned, want 0", got, tc.name)
			}
		})
	}
}
