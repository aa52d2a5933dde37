package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// A Role's status counts users across the whole platform (boundUsers,
// deprecatedOnlyUsers, usedBy), so the input of one role is most of its namespace: a
// role bound in every customer gathers every binding and every binding of those users.
// Gathering and compiling that once per role, and again on every binding event, made
// role statuses the largest cost of a large platform's cold start (docs/performance-log.md).
//
// roleSnapshots computes every role's result of a namespace from one compile of the
// whole namespace and shares it between the role reconciles that follow. A snapshot
// stays current while no event that can change a role's result has arrived since its
// gather began: the Role reconciler's event handlers bump the namespace's epoch before
// they enqueue, so a reconcile that an event caused always sees the epoch move and
// never reuses a snapshot gathered before that event; by time alone it ends at the next
// removeAfter of a deprecated role (permissions.Platform.NextRoleChange), not at every
// expiry of the platform. Recomputing is rate limited per
// namespace to a multiple of what the last compute cost, which bounds the CPU role
// statuses can take while bindings churn; a reconcile that finds its snapshot stale
// within that interval is requeued for the interval's end.
//
// A recompute also waits until settle has passed since the namespace's last event. The
// same event reaches the publisher's watches in other goroutines, and a recompute that
// began before they had queued their organizations would take the CPU the documents
// need: on the full-size platform it costs 2 s of CPU, and blocking a user took
// 3.6–11.6 s to reach every document instead of the 1.3 s of CPU its publishing needs
// (docs/performance-log.md). After settle the reconcile finds the publisher's work in the
// backlog and waits for it. Settling counts from the last event, not the first since
// the last compute: an event that enqueued no role (a re-parent) leaves the snapshot
// stale, and the next change's recompute, counted from that old event, would not wait
// at all. So that events without a pause cannot put a recompute off for ever,
// settling stops maxSettle after it first made a recompute wait.
type roleSnapshots struct {
	gather gatherer
	// minInterval and costFactor bound recomputes: at most one per
	// max(minInterval, costFactor × the last compute's duration) per namespace.
	minInterval time.Duration
	costFactor  int
	settle      time.Duration
	maxSettle   time.Duration
	clock       clock.PassiveClock

	mu       sync.Mutex
	epochs   map[string]uint64
	lastSeen map[string]time.Time // the last event since the last compute's gather began
	settling map[string]time.Time // when settling first made a recompute wait since then
	byNS     map[string]*namespaceRoles
}

// namespaceRoles is one namespace's snapshot; its mutex serializes recomputes, so the
// reconciles that find it stale together wait for one compile rather than each running
// their own.
type namespaceRoles struct {
	mu         sync.Mutex
	epoch      uint64    // the namespace's epoch when its gather began
	valid      bool      // computed at least once
	at         time.Time // the engine's now it was computed for
	validUntil time.Time // the platform's NextRoleChange; zero when time changes nothing
	computed   time.Time // wall clock at the end of the compute, for the rate limit
	cost       time.Duration
	roles      map[string]permissions.RoleResult
}

func newRoleSnapshots(g gatherer) *roleSnapshots {
	return &roleSnapshots{
		gather:      g,
		minInterval: time.Second,
		costFactor:  4,
		settle:      500 * time.Millisecond,
		maxSettle:   5 * time.Second,
		clock:       clock.RealClock{},
		epochs:      map[string]uint64{},
		lastSeen:    map[string]time.Time{},
		settling:    map[string]time.Time{},
		byNS:        map[string]*namespaceRoles{},
	}
}

// bump records an event in ns that may change a role's result.
func (s *roleSnapshots) bump(ns string) {
	s.mu.Lock()
	s.epochs[ns]++
	s.lastSeen[ns] = s.clock.Now()
	s.mu.Unlock()
}

func (s *roleSnapshots) namespace(ns string) *namespaceRoles {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.byNS[ns]
	if !ok {
		n = &namespaceRoles{}
		s.byNS[ns] = n
	}
	return n
}

func (s *roleSnapshots) epoch(ns string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epochs[ns]
}

// gatherBegins returns ns's epoch for a gather that begins now; events from now on
// make its result stale again.
func (s *roleSnapshots) gatherBegins(ns string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.lastSeen, ns)
	delete(s.settling, ns)
	return s.epochs[ns]
}

// settleLeft is how much longer a recompute of ns waits for settle to pass since its
// last event: at most until maxSettle after the first such wait.
func (s *roleSnapshots) settleLeft(ns string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.lastSeen[ns]
	if !ok {
		return 0
	}
	now := s.clock.Now()
	left := s.settle - now.Sub(last)
	if left <= 0 {
		return 0
	}
	first, ok := s.settling[ns]
	if !ok {
		first = now
		s.settling[ns] = first
	}
	return min(left, s.maxSettle-now.Sub(first))
}

// roles returns every role's result in ns at now, by name, and when they next change
// by time alone (zero: never). The map is the snapshot's own and must not be modified;
// a recompute replaces it. When the snapshot is stale and either was computed less
// than the rate limit's interval ago or went stale less than settle ago, roles returns
// no results and how long to wait instead.
func (s *roleSnapshots) roles(ctx context.Context, ns string, now time.Time) (results map[string]permissions.RoleResult, next time.Time, wait time.Duration, err error) {
	n := s.namespace(ns)
	n.mu.Lock()
	defer n.mu.Unlock()
	current := n.valid && n.epoch == s.epoch(ns) && !now.Before(n.at) &&
		(n.validUntil.IsZero() || now.Before(n.validUntil))
	if !current {
		if n.valid {
			interval := max(s.minInterval, time.Duration(s.costFactor)*n.cost)
			if left := max(n.computed.Add(interval).Sub(s.clock.Now()), s.settleLeft(ns)); left > 0 {
				return nil, time.Time{}, left, nil
			}
		}
		if err := s.compute(ctx, n, ns, now); err != nil {
			return nil, time.Time{}, 0, err
		}
	}
	return n.roles, n.validUntil, 0, nil
}

// compute gathers and compiles the whole namespace and keeps every role's result. The
// compiled platform itself is not kept, nor offered to the compile cache: no other
// reconcile gathers a whole namespace, and on a large platform it is the largest
// compile there is, which would stay in the cache until other compiles push it out.
func (s *roleSnapshots) compute(ctx context.Context, n *namespaceRoles, ns string, now time.Time) error {
	start := s.clock.Now()
	epoch := s.gatherBegins(ns) // before the gather: an event during it makes the result stale
	in, err := s.gather.forNamespace(ctx, ns)
	if err != nil {
		return err
	}
	p := s.gather.compileOnce(in, now)
	roles := p.Roles(maxUsedBy)
	n.epoch, n.valid, n.at, n.roles = epoch, true, now, roles
	n.validUntil = time.Time{}
	if next, ok := p.NextRoleChange(); ok {
		n.validUntil = next
	}
	n.computed = s.clock.Now()
	n.cost = n.computed.Sub(start)
	return nil
}

// forNamespace gathers every object of ns the engine reads.
func (g gatherer) forNamespace(ctx context.Context, ns string) (permissions.Input, error) {
	var in permissions.Input
	var err error
	if in.Roles, in.Trees, err = g.rolesAndTrees(ctx, ns); err != nil {
		return in, err
	}
	if in.Organizations, err = listed[*v1alpha1.Organization](ctx, g, ns); err != nil {
		return in, err
	}
	if in.Bindings, err = listed[*v1alpha1.RoleBinding](ctx, g, ns); err != nil {
		return in, err
	}
	in.Invitations, err = listed[*v1alpha1.UserInvitation](ctx, g, ns)
	return in, err
}

// bumping wraps an event handler so that every event it receives bumps its object's
// namespace's epoch in snapshots before it enqueues anything. relevant, when set, tells
// which updates can change a role's result; the others only enqueue.
func (s *roleSnapshots) bumping(inner handler.EventHandler, relevant func(old, cur client.Object) bool) handler.EventHandler {
	return epochHandler{snapshots: s, inner: inner, relevant: relevant}
}

type epochHandler struct {
	snapshots *roleSnapshots
	inner     handler.EventHandler
	relevant  func(old, cur client.Object) bool
}

type requestQueue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (h epochHandler) Create(ctx context.Context, e event.CreateEvent, q requestQueue) {
	h.snapshots.bump(e.Object.GetNamespace())
	h.inner.Create(ctx, e, q)
}

func (h epochHandler) Update(ctx context.Context, e event.UpdateEvent, q requestQueue) {
	if h.relevant == nil || h.relevant(e.ObjectOld, e.ObjectNew) {
		h.snapshots.bump(e.ObjectNew.GetNamespace())
	}
	h.inner.Update(ctx, e, q)
}

func (h epochHandler) Delete(ctx context.Context, e event.DeleteEvent, q requestQueue) {
	h.snapshots.bump(e.Object.GetNamespace())
	h.inner.Delete(ctx, e, q)
}

func (h epochHandler) Generic(ctx context.Context, e event.GenericEvent, q requestQueue) {
	h.snapshots.bump(e.Object.GetNamespace())
	h.inner.Generic(ctx, e, q)
}

// specOrDeletionChanged is the update a Role's own watch counts as a change of input:
// its spec or its deletion. Its status and finalizers are the operator's output.
func specOrDeletionChanged(old, cur client.Object) bool {
	return old.GetGeneration() != cur.GetGeneration() ||
		!old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp())
}
