package controllers

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// publishBacklog lets the other reconcilers yield to the publisher. The manager's
// reconcilers share its CPU and the API server, and on a large platform the statuses of
// bindings, invitations and roles are far more work than the documents: a cold start
// enqueues every binding and invitation, and each reconcile gathers and compiles its
// organization's subset again. Documents are what workloads authorize with, so those
// reconcilers wait while organizations are queued for publishing (or for the status
// writes the publisher defers behind its documents), up to maxWait so that a publisher
// kept busy does not starve them.
//
// The backlog is the publisher's work from the event to the last document: its map
// functions still finding the organizations an event affects (on a platform of 10,000
// organizations the map of a widely used role takes seconds, and until it returns the
// queue is empty), the organizations ready in its queue (not those waiting for a
// requeue or a backoff), and its reconciles in progress.
//
// A watch event reaches the publisher's map functions and the yielding reconciler's
// queue on separate goroutines (one per controller's handler), so a reconcile that
// takes the event up at once can ask before the publisher has counted it, find no
// backlog, and run beside the very documents the event changes: a blocked user's
// invitation reconcile did, compiling its organization's subset while 206 documents
// were published. The yielding reconcilers' queues (yieldingQueue) therefore hold a
// live event's request for eventDelay before it is ready.
type publishBacklog struct {
	queue      atomic.Pointer[requestQueue]
	working    atomic.Int64 // map functions and reconciles in progress
	poll       time.Duration
	maxWait    time.Duration
	eventDelay time.Duration
}

func newPublishBacklog() *publishBacklog {
	return &publishBacklog{poll: 100 * time.Millisecond, maxWait: 30 * time.Second, eventDelay: 100 * time.Millisecond}
}

// newQueue is the publisher's controller.Options.NewQueue: controller-runtime's default
// queue, recorded so that its length can be read.
func (b *publishBacklog) newQueue(name string, limiter workqueue.TypedRateLimiter[reconcile.Request]) requestQueue {
	var q requestQueue = priorityqueue.New(name, func(o *priorityqueue.Opts[reconcile.Request]) {
		o.RateLimiter = limiter
	})
	b.queue.Store(&q)
	return q
}

// yieldingQueue is the controller.Options.NewQueue of a reconciler that yields to the
// publisher (calls wait): controller-runtime's default queue, except that a request a
// live watch event adds is ready only eventDelay later, once the publisher's handlers
// have counted the same event as backlog. The initial list's requests (low priority),
// requeues after a time and rate-limited retries are added as they come: delaying them
// would gain nothing, the initial list's backlog being counted long before.
func (b *publishBacklog) yieldingQueue(name string, limiter workqueue.TypedRateLimiter[reconcile.Request]) requestQueue {
	return afterEvents{
		PriorityQueue: priorityqueue.New(name, func(o *priorityqueue.Opts[reconcile.Request]) {
			o.RateLimiter = limiter
		}),
		delay: b.eventDelay,
	}
}

// afterEvents delays the requests of live watch events by delay (yieldingQueue).
type afterEvents struct {
	priorityqueue.PriorityQueue[reconcile.Request]
	delay time.Duration
}

// Add is how an event handler enqueues when it does not use priorities.
func (q afterEvents) Add(item reconcile.Request) {
	q.AddWithOpts(priorityqueue.AddOpts{}, item)
}

// AddWithOpts delays what a live event adds: a request with no delay, no rate limit
// and the default priority. controller-runtime's handlers add the initial list with
// a low priority, and its controller requeues with a delay or rate-limited.
func (q afterEvents) AddWithOpts(o priorityqueue.AddOpts, items ...reconcile.Request) {
	if o.After == 0 && !o.RateLimited && o.Priority == nil {
		o.After = q.delay
	}
	q.PriorityQueue.AddWithOpts(o, items...)
}

// mapping wraps one of the publisher's map functions so that it counts as backlog
// while it runs.
func (b *publishBacklog) mapping(fn handler.MapFunc) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		b.working.Add(1)
		defer b.working.Add(-1)
		return fn(ctx, obj)
	}
}

// reconciling wraps the publisher so that its reconciles count as backlog while they run.
func (b *publishBacklog) reconciling(r reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		b.working.Add(1)
		defer b.working.Add(-1)
		return r.Reconcile(ctx, req)
	})
}

// pending is the publisher's work in progress: organizations ready to be published,
// plus its map functions and reconciles running.
func (b *publishBacklog) pending() int {
	if b == nil {
		return 0
	}
	n := int(b.working.Load())
	if q := b.queue.Load(); q != nil {
		n += (*q).Len()
	}
	return n
}

// wait returns once the publisher has no work in progress, after maxWait, or when ctx
// ends.
func (b *publishBacklog) wait(ctx context.Context) {
	if b.pending() == 0 {
		return
	}
	deadline := time.NewTimer(b.maxWait)
	defer deadline.Stop()
	tick := time.NewTicker(b.poll)
	defer tick.Stop()
	for b.pending() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}
