package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// An invitation's result depends on its organization's subset
// (gatherer.forOrganization), and one compile of that subset decides the results of
// every invitation into the organization. Gathering and compiling the subset once per
// invitation made a large platform's statuses CPU-bound: a customer's subset holds its
// ancestors' bindings and their users' invitations too, and a cold start or a restart
// reconciles every invitation, in no useful order (docs/performance.md). (The
// RoleBinding reconciler does without: its requests name the organization, and one
// reconcile writes all of its bindings' statuses.)
//
// orgResults keeps, per organization, the results of its objects of one kind from the
// last compile of its subset, until each has been taken by its object's reconcile. A
// result is current while no event has enqueued its object since the gather began: the
// reconciler's watches mark each object they enqueue (requestMarks) before enqueueing
// it, and they enqueue an object on every change its result depends on. By time alone
// a result ends at the subset's next change (permissions.Platform.NextChange). So a
// reconcile that an event caused never takes a result gathered before that event,
// whatever the order of the controllers' handlers.
//
// A result is handed out once: the first reconcile among an organization's objects
// gathers and compiles, the others take what it left. Only the results of objects
// whose reconcile is queued are kept (keepPending); those left by a compile that no
// other reconcile follows are dropped after resultsTTL.
type orgResults[R any] struct {
	gather gatherer
	marks  *requestMarks
	ttl    time.Duration
	// collect returns the results, by name, of the objects of the kind whose
	// organizationRef is org, from p, compiled from in.
	collect func(p *permissions.Platform, in permissions.Input, org string) map[string]outcome[R]

	mu        sync.Mutex
	byOrg     map[types.NamespacedName]*orgEntry[R]
	lastSweep time.Time
}

// invitationResults serves the UserInvitation reconciler.
type (
	invitationResults = orgResults[permissions.InvitationResult]
	invitationOutcome = outcome[permissions.InvitationResult]
)

// resultsTTL bounds how long results nobody has taken are kept: long enough for a
// large platform's cold start to reach every object it enqueued.
const resultsTTL = 30 * time.Minute

// orgEntry is one compile's results, those not yet taken.
type orgEntry[R any] struct {
	seq        uint64    // requestMarks' sequence when the gather began: every mark up to it came first
	at         time.Time // the engine's now they were compiled for
	validUntil time.Time // the subset's NextChange; zero when time changes nothing
	created    time.Time // wall clock, for resultsTTL
	results    map[string]outcome[R]
}

// outcome is an object's result and when it next changes by time (ok false: never).
type outcome[R any] struct {
	result R
	next   time.Time
	ok     bool
}

func newInvitationResults(g gatherer, marks *requestMarks) *invitationResults {
	return newOrgResults(g, marks, invitationsOf)
}

func newOrgResults[R any](g gatherer, marks *requestMarks, collect func(*permissions.Platform, permissions.Input, string) map[string]outcome[R]) *orgResults[R] {
	return &orgResults[R]{gather: g, marks: marks, ttl: resultsTTL, collect: collect, byOrg: map[types.NamespacedName]*orgEntry[R]{}}
}

// invitationsOf returns the results of the invitations into org; the subset also holds
// other invitations of the same users, which their own organizations' compiles decide.
func invitationsOf(p *permissions.Platform, in permissions.Input, org string) map[string]invitationOutcome {
	return outcomesIn(in.Invitations, org, func(i *v1alpha1.UserInvitation) v1alpha1.ObjectName { return i.Spec.OrganizationRef.Name },
		p.Invitation, p.NextInvitationChange)
}

// outcomesIn returns, by name, the result and next change of each of objects whose
// organization is org.
func outcomesIn[T client.Object, R any](objects []T, org string, orgOf func(T) v1alpha1.ObjectName,
	result func(string) (R, bool), next func(string) (time.Time, bool)) map[string]outcome[R] {
	out := map[string]outcome[R]{}
	for _, obj := range objects {
		if string(orgOf(obj)) != org {
			continue
		}
		if r, ok := result(obj.GetName()); ok {
			o := outcome[R]{result: r}
			o.next, o.ok = next(obj.GetName())
			out[obj.GetName()] = o
		}
	}
	return out
}

// result returns the result at now of the object key, whose organizationRef is org, and
// the object's mark it was judged against (for done); found is false when the engine
// has no result for it (the cache is not in step yet).
func (r *orgResults[R]) result(ctx context.Context, key types.NamespacedName, org string, now time.Time) (o outcome[R], mark uint64, found bool, err error) {
	orgKey := types.NamespacedName{Namespace: key.Namespace, Name: org}
	mark = r.marks.last(key)
	if o, found = r.takeCurrent(orgKey, key.Name, mark, now); found {
		return o, mark, true, nil
	}
	e, err := r.compile(ctx, orgKey, now)
	if err != nil {
		return o, mark, false, err
	}
	o, found = e.results[key.Name]
	delete(e.results, key.Name)
	r.keepPending(key.Namespace, e)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep()
	// Entries only move forward: a compile that finishes after a newer one does not
	// replace it, so no entry older than an object's last mark holds its result once
	// the mark is forgotten (done).
	if have, ok := r.byOrg[orgKey]; !ok || have.seq <= e.seq {
		if len(e.results) > 0 {
			r.byOrg[orgKey] = e
		} else {
			delete(r.byOrg, orgKey)
		}
	}
	return o, mark, found, nil
}

// keepPending drops from e the results no reconcile waits for: an object with no mark
// kept has none queued (its last reconcile finished and forgot it), and one marked
// after the gather will not take a result from it. Only what a queued reconcile can
// take stays. Without this, a compile kept the results of objects that had already
// been reconciled until a later compile of the organization or the TTL: after a
// full-size cold start, where an invitation's first reconcile only added its
// finalizer, the last compile of each organization held its other invitations'
// results, 40 MB of the idle heap.
func (r *orgResults[R]) keepPending(ns string, e *orgEntry[R]) {
	r.marks.mu.Lock()
	defer r.marks.mu.Unlock()
	for name := range e.results {
		if m := r.marks.marks[types.NamespacedName{Namespace: ns, Name: name}]; m == 0 || m > e.seq {
			delete(e.results, name)
		}
	}
}

// done forgets the mark a finished reconcile of key was judged against (result), unless
// a newer event has marked it since.
func (r *orgResults[R]) done(key types.NamespacedName, mark uint64) {
	r.marks.forget(key, mark)
}

// takeCurrent takes name's result from org's entry when the entry is current at now and
// was gathered after the object's last mark.
func (r *orgResults[R]) takeCurrent(org types.NamespacedName, name string, marked uint64, now time.Time) (outcome[R], bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byOrg[org]
	if !ok {
		return outcome[R]{}, false
	}
	if now.Before(e.at) || (!e.validUntil.IsZero() && !now.Before(e.validUntil)) {
		delete(r.byOrg, org)
		return outcome[R]{}, false
	}
	o, found := e.results[name]
	// The gather began after the object's last event (marked before it was enqueued,
	// after the cache held it): the result has seen it.
	if !found || e.seq < marked {
		return outcome[R]{}, false
	}
	delete(e.results, name)
	if len(e.results) == 0 {
		delete(r.byOrg, org)
	}
	return o, true
}

// sweep drops, at most once a minute, the entries older than the TTL. r.mu is held.
func (r *orgResults[R]) sweep() {
	if time.Since(r.lastSweep) < time.Minute {
		return
	}
	r.lastSweep = time.Now()
	for org, e := range r.byOrg {
		if time.Since(e.created) > r.ttl {
			delete(r.byOrg, org)
		}
	}
}

// compile gathers and compiles org's subset at now and collects the results of the
// organization's own objects.
func (r *orgResults[R]) compile(ctx context.Context, org types.NamespacedName, now time.Time) (*orgEntry[R], error) {
	seq := r.marks.sequence() // before the gather: an object marked during it is not served from it
	in, err := r.gather.forOrganization(ctx, org.Namespace, org.Name)
	if err != nil {
		return nil, err
	}
	p := r.gather.compile(in, now)
	e := &orgEntry[R]{seq: seq, at: now, created: time.Now(), results: r.collect(p, in, org.Name)}
	if next, ok := p.NextChange(); ok {
		e.validUntil = next
	}
	return e, nil
}

// requestMarks numbers the events that enqueue a controller's requests: each request
// enqueued is marked with the next number of one sequence before it is enqueued.
// Compared with the sequence read before a gather, a mark says whether an event for
// that object arrived since.
type requestMarks struct {
	mu    sync.Mutex
	seq   uint64
	marks map[types.NamespacedName]uint64
	high  int // the most marks kept at once since marks was made
}

// marksKeptLarge is how many marks make an emptied map worth replacing. A cold start
// marks every binding before the first reconcile forgets one (198,090 on the full
// platform, 13 MB), and a Go map keeps its largest size after its entries are deleted;
// replaced once it empties, that memory goes back.
const marksKeptLarge = 1024

func newRequestMarks() *requestMarks {
	return &requestMarks{marks: map[types.NamespacedName]uint64{}}
}

func (m *requestMarks) mark(key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	m.marks[key] = m.seq
	m.high = max(m.high, len(m.marks))
}

// sequence is the number of the last mark.
func (m *requestMarks) sequence() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// last is key's last mark, 0 if none is kept.
func (m *requestMarks) last(key types.NamespacedName) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.marks[key]
}

// forget drops key's mark if it is still at, once a reconcile that read it has
// finished: a later mark stays.
func (m *requestMarks) forget(key types.NamespacedName, at uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.marks[key] == at {
		delete(m.marks, key)
	}
	if len(m.marks) == 0 && m.high >= marksKeptLarge {
		m.marks, m.high = map[types.NamespacedName]uint64{}, 0
	}
}

// mapped marks every request fn maps an event to.
func (m *requestMarks) mapped(fn handler.MapFunc) handler.EventHandler { return noting(fn, m.mark) }

// ofObject is a predicate that passes every event and marks the object itself (the
// For watch); it goes after the predicates that filter.
func (m *requestMarks) ofObject() predicate.Predicate { return notingObject(m.mark) }
