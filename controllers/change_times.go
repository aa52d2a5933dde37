package controllers

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// changeTimes remembers, per organization, when the manager first saw an event that
// may change its document and that no reconcile has taken up yet: where
// orgaccess_change_to_publish_seconds starts. The cache keeps no managedFields
// (CacheOptions), so objects no longer say when they were edited; the watch events are
// the manager's own record. An entry lives from an event to the next reconcile of its
// organization.
type changeTimes struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	since map[types.NamespacedName]time.Time
}

func newChangeTimes(clk clock.PassiveClock) *changeTimes {
	return &changeTimes{clock: clk, since: map[types.NamespacedName]time.Time{}}
}

// seen records now for key unless an earlier event is still waiting.
func (c *changeTimes) seen(key types.NamespacedName) {
	c.restore(key, c.clock.Now())
}

// seenAt records when the event handled with ctx happened (changedAt) for key, unless
// an earlier event is still waiting.
func (c *changeTimes) seenAt(ctx context.Context, key types.NamespacedName) {
	c.restore(key, changedAt(ctx, c.clock.Now()))
}

// restore records at for key unless an earlier event is waiting: a failed reconcile
// gives back the time it took.
func (c *changeTimes) restore(key types.NamespacedName, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.since[key]; !ok || at.Before(t) {
		c.since[key] = at
	}
}

// take returns and forgets the time of key's first waiting event; ok is false when no
// event is waiting (a requeue).
func (c *changeTimes) take(key types.NamespacedName) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.since[key]
	delete(c.since, key)
	return t, ok
}

// mapped enqueues what fn maps an event to, recording the event for each.
func (c *changeTimes) mapped(fn handler.MapFunc) handler.EventHandler { return noting(fn, c.seenAt) }

// ofObject is a predicate that passes every event and records it for the object
// itself (the watch of the organizations).
func (c *changeTimes) ofObject() predicate.Predicate { return notingObject(c.seen) }

// ofController is a predicate that passes every event and records it for the
// organization controlling the object (the watch of the published ConfigMaps).
func (c *changeTimes) ofController() predicate.Predicate {
	return predicate.NewPredicateFuncs(func(obj client.Object) bool {
		if ref := metav1.GetControllerOf(obj); ref != nil && ref.Kind == "Organization" {
			c.seen(types.NamespacedName{Namespace: obj.GetNamespace(), Name: ref.Name})
		}
		return true
	})
}
