package controllers

import (
	"context"
	"sync/atomic"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
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
// It watches the length of the publisher's queue: items ready to be processed, not
// those waiting for a requeue or a backoff.
type publishBacklog struct {
	queue   atomic.Pointer[requestQueue]
	poll    time.Duration
	maxWait time.Duration
}

func newPublishBacklog() *publishBacklog {
	return &publishBacklog{poll: 100 * time.Millisecond, maxWait: 30 * time.Second}
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

// pending is how many organizations are ready to be published.
func (b *publishBacklog) pending() int {
	if b == nil {
		return 0
	}
	q := b.queue.Load()
	if q == nil {
		return 0
	}
	return (*q).Len()
}

// wait returns once no organization is ready to be published, after maxWait, or when
// ctx ends.
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
