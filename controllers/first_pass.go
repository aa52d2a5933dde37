package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// unobservedFirst puts the changes made while no manager led ahead of a new leader's
// first pass.
//
// A manager that starts leading (a standby taking over, a restart) reconciles every
// organization once, at the initial list's low priority: on the full platform that
// pass takes seconds. A change made while no replica led (between a leader's exit and
// its successor's start) is already in the new leader's informers when its controllers
// start, so it comes as part of the initial list too, and the publisher's map
// functions drop the initial list (afterInitialList): the change waited somewhere in
// the pass, a block included. Such a change is visible in the object itself: its
// reconciler has not written status.observedGeneration for its generation yet, or it
// is being deleted. The publisher's watches pass those objects' initial-list events on
// as live ones, so their organizations are queued at the default priority, above the
// pass. Their organizations are still reconciled once: the queue raises a queued
// request's priority rather than adding it again.
//
// On a cold start nothing is observed yet, and mapping every object is what
// afterInitialList avoids (30 % of a cold start's CPU). So at most limit objects per
// manager start go ahead; the rest are published by the pass, as before. A handover's
// changes are a few; a platform applied before its first manager started is the pass
// anyway. A deletion made while no replica led leaves no object to find: a standby's
// own informers saw it, and standbyDeletions puts it ahead.
type unobservedFirst struct {
	left atomic.Int64 // how many more objects may go ahead
}

// unobservedAheadLimit bounds the objects one manager start queues ahead of its first
// pass: mapping a thousand objects costs a fraction of a second where the full
// platform's pass takes seconds.
const unobservedAheadLimit = 1000

func newUnobservedFirst(limit int64) *unobservedFirst {
	u := &unobservedFirst{}
	u.left.Store(limit)
	return u
}

// ahead wraps one of the publisher's map handlers, in place of afterInitialList: an
// initial-list create passes, as a live event, only for an object no reconcile has
// observed, while the limit lasts.
func (u *unobservedFirst) ahead(h handler.EventHandler) handler.EventHandler {
	return aheadOfFirstPass{EventHandler: h, first: u}
}

// take says whether obj's initial-list event goes ahead, and counts it.
func (u *unobservedFirst) take(obj client.Object) bool {
	if !unobserved(obj) {
		return false
	}
	if u.left.Add(-1) < 0 {
		unobservedInPass.Inc()
		return false
	}
	unobservedAhead.Inc()
	return true
}

type aheadOfFirstPass struct {
	handler.EventHandler
	first *unobservedFirst
}

// Create maps live creates, and the initial list's unobserved objects as if they were
// live (controller-runtime's map handlers queue the initial list at low priority).
func (h aheadOfFirstPass) Create(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if e.IsInInitialList {
		if !h.first.take(e.Object) {
			return
		}
		e.IsInInitialList = false
	}
	h.EventHandler.Create(ctx, e, q)
}

// unobservedUp wraps the watch of a status reconciler's own kind, whose initial list
// it maps in full (each object's status is checked once per start), so that an object
// changed while no manager led is queued at the default priority rather than the
// initial list's low one: a binding created or an invitation accepted during a handover
// gets its status (and an invitation its owned bindings) ahead of the reconciler's pass
// over every organization, as its document does with unobservedFirst. No limit is
// needed: the initial list is mapped either way, only its order changes.
func unobservedUp(h handler.EventHandler) handler.EventHandler {
	return raiseUnobserved{h}
}

type raiseUnobserved struct{ handler.EventHandler }

// Create passes an unobserved object's initial-list event on as a live one.
func (h raiseUnobserved) Create(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if e.IsInInitialList && unobserved(e.Object) {
		e.IsInInitialList = false
	}
	h.EventHandler.Create(ctx, e, q)
}

// unobserved says whether obj changed since its reconciler last wrote its status: a
// generation its status.observedGeneration does not record (a new object has none), or
// a deletion in progress. Objects of other kinds never are.
func unobserved(obj client.Object) bool {
	if obj.GetDeletionTimestamp() != nil {
		return true
	}
	var observed int64
	switch o := obj.(type) {
	case *v1alpha1.Organization:
		observed = o.Status.ObservedGeneration
	case *v1alpha1.PermissionTree:
		observed = o.Status.ObservedGeneration
	case *v1alpha1.Role:
		observed = o.Status.ObservedGeneration
	case *v1alpha1.RoleBinding:
		observed = o.Status.ObservedGeneration
	case *v1alpha1.UserInvitation:
		observed = o.Status.ObservedGeneration
	default:
		return false
	}
	return obj.GetGeneration() != observed
}

// standbyDeletions puts the deletions made while no manager led ahead of a new
// leader's first pass, as unobservedFirst does for changed objects.
//
// A deleted object leaves nothing in the new leader's initial list to find, and a
// deleted binding kept granting in its organizations' documents until the pass reached
// them. But a standby's informers run before it leads, and they see the deletion as an
// event. This log is registered on them at setup and keeps the last limit objects
// deleted, each with the publisher's map handler of its kind. When the publisher
// starts, its source (takeOver) replays them through those handlers as live deletions,
// newest first, so their organizations are queued at the default priority, above the
// pass. From then on the log hands each deletion it sees straight to the queue, until
// the publisher's first reconcile (led): by then every watch has registered its own
// handler (a controller's workers start only once its sources have synced), so no
// deletion falls between the log and the watches.
//
// A replayed deletion the previous leader had published costs its mapping only: its
// organizations are in the pass anyway, and the queue reconciles each once. A manager
// that was not running before it led (a restart) has nothing in its log. A replayed
// deletion carries when the log saw it (changedAt), and the publisher's
// orgaccess_change_to_publish_seconds starts there, not at the replay.
type standbyDeletions struct {
	limit int
	clock clock.PassiveClock
	// ended is set by the publisher's first reconcile: from then on the watches'
	// handlers see every deletion, and the log none.
	ended atomic.Bool

	mu      sync.Mutex
	log     []loggedDeletion // oldest first
	dropped int              // deletions that fell off the log, left to the pass
	queue   workqueue.TypedRateLimitingInterface[reconcile.Request]
}

// loggedDeletion is one deleted object, when the log saw it, and the publisher's
// handler of its kind.
type loggedDeletion struct {
	obj client.Object
	at  time.Time
	to  handler.EventHandler
}

func newStandbyDeletions(limit int, clk clock.PassiveClock) *standbyDeletions {
	return &standbyDeletions{limit: limit, clock: clk}
}

// watch logs the deletions of obj's kind that c's informer sees, for handler to map.
func (d *standbyDeletions) watch(ctx context.Context, c cache.Cache, obj client.Object, to handler.EventHandler) error {
	informer, err := c.GetInformer(ctx, obj)
	if err != nil {
		return fmt.Errorf("informer for %T: %w", obj, err)
	}
	_, err = informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{DeleteFunc: d.onDelete(to)})
	return err
}

// onDelete is the informer handler of one kind's deletions, tombstones included (a
// deletion the informer learnt of by listing again).
func (d *standbyDeletions) onDelete(to handler.EventHandler) func(any) {
	return func(o any) {
		if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			o = tomb.Obj
		}
		if obj, ok := o.(client.Object); ok {
			d.deleted(obj, to)
		}
	}
}

// deleted logs obj's deletion or, once the publisher has started, hands it to the
// publisher's queue.
func (d *standbyDeletions) deleted(obj client.Object, to handler.EventHandler) {
	if d.ended.Load() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.ended.Load():
	case d.queue != nil:
		to.Delete(context.Background(), event.DeleteEvent{Object: obj}, d.queue)
	default:
		if len(d.log) == d.limit {
			d.log = slices.Delete(d.log, 0, 1)
			d.dropped++
		}
		d.log = append(d.log, loggedDeletion{obj: obj, at: d.clock.Now(), to: to})
	}
}

// takeOver is the publisher's source: it queues the logged deletions' organizations,
// newest first, and has later deletions handed to q.
func (d *standbyDeletions) takeOver(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, del := range slices.Backward(d.log) {
		del.to.Delete(withChangedAt(ctx, del.at), event.DeleteEvent{Object: del.obj}, q)
	}
	deletedAhead.Add(float64(len(d.log)))
	deletedInPass.Add(float64(d.dropped))
	d.log, d.dropped, d.queue = nil, 0, q
	return nil
}

// led ends the log: the publisher has reconciled, so its watches see every deletion.
func (d *standbyDeletions) led() {
	if d.ended.Load() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ended.Store(true)
	d.log, d.queue = nil, nil
}

// changedAtKey is the context key of when a replayed event happened.
type changedAtKey struct{}

// withChangedAt says that the events handled with ctx happened at t, before they are
// handled (a deletion replayed when the manager starts leading).
func withChangedAt(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, changedAtKey{}, t)
}

// changedAt is when the event handled with ctx happened: what withChangedAt said, or
// now.
func changedAt(ctx context.Context, now time.Time) time.Time {
	if t, ok := ctx.Value(changedAtKey{}).(time.Time); ok {
		return t
	}
	return now
}
