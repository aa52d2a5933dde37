package controllers

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
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

// recordedAdds is a priority queue that records the options of every add.
type recordedAdds struct {
	priorityqueue.PriorityQueue[reconcile.Request]
	adds []priorityqueue.AddOpts
}

func (q *recordedAdds) AddWithOpts(o priorityqueue.AddOpts, _ ...reconcile.Request) {
	q.adds = append(q.adds, o)
}

func TestYieldingQueueDelaysOnlyLiveEvents(t *testing.T) {
	const delay = 100 * time.Millisecond
	binding := func(rv string) *v1alpha1.RoleBinding {
		return &v1alpha1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "b", ResourceVersion: rv}}
	}
	handle := &handler.EnqueueRequestForObject{}
	ctx := context.Background()
	low := handler.LowPriority
	for _, tc := range []struct {
		name string
		add  func(q requestQueue)
		want priorityqueue.AddOpts
	}{
		// What controller-runtime's handlers add for watch events.
		{"live create", func(q requestQueue) {
			handle.Create(ctx, event.CreateEvent{Object: binding("2")}, q)
		}, priorityqueue.AddOpts{After: delay}},
		{"live update", func(q requestQueue) {
			handle.Update(ctx, event.UpdateEvent{ObjectOld: binding("1"), ObjectNew: binding("2")}, q)
		}, priorityqueue.AddOpts{After: delay}},
		{"live deletion", func(q requestQueue) {
			handle.Delete(ctx, event.DeleteEvent{Object: binding("2")}, q)
		}, priorityqueue.AddOpts{After: delay}},
		{"initial list", func(q requestQueue) {
			handle.Create(ctx, event.CreateEvent{Object: binding("2"), IsInInitialList: true}, q)
		}, priorityqueue.AddOpts{Priority: &low}},
		{"resync", func(q requestQueue) {
			handle.Update(ctx, event.UpdateEvent{ObjectOld: binding("2"), ObjectNew: binding("2")}, q)
		}, priorityqueue.AddOpts{Priority: &low}},
		// What controller-runtime's controller adds after a reconcile.
		{"requeue after", func(q requestQueue) {
			q.(priorityqueue.PriorityQueue[reconcile.Request]).AddWithOpts(priorityqueue.AddOpts{After: time.Minute}, reconcile.Request{})
		}, priorityqueue.AddOpts{After: time.Minute}},
		{"retry", func(q requestQueue) {
			q.(priorityqueue.PriorityQueue[reconcile.Request]).AddWithOpts(priorityqueue.AddOpts{RateLimited: true}, reconcile.Request{})
		}, priorityqueue.AddOpts{RateLimited: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &recordedAdds{}
			tc.add(afterEvents{PriorityQueue: inner, delay: delay})
			if len(inner.adds) != 1 {
				t.Fatalf("%d adds, want 1", len(inner.adds))
			}
			got := inner.adds[0]
			if got.After != tc.want.After || got.RateLimited != tc.want.RateLimited ||
				(got.Priority == nil) != (tc.want.Priority == nil) ||
				(got.Priority != nil && *got.Priority != *tc.want.Priority) {
				t.Errorf("added with %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestYieldingQueueHoldsALiveEventForTheDelay(t *testing.T) {
	b := newPublishBacklog()
	b.eventDelay = 200 * time.Millisecond
	q := b.yieldingQueue("rolebinding", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	t.Cleanup(q.ShutDown)
	if _, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); !ok {
		t.Fatal("the yielding queue is not a priority queue: controller-runtime would not give the initial list a low priority")
	}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "p", Name: "b"}}
	added := time.Now()
	q.Add(req)
	if got := q.Len(); got != 0 {
		t.Fatalf("%d requests ready at once, want 0 until the delay has passed", got)
	}
	got, _ := q.Get()
	if got != req {
		t.Fatalf("got %v, want %v", got, req)
	}
	if waited := time.Since(added); waited < b.eventDelay {
		t.Errorf("the request was ready after %v, before the delay of %v", waited, b.eventDelay)
	}
	q.Done(got)
}
