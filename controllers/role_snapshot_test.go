package controllers

import (
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// snapshotPlatform is one customer, two roles and one binding, in namespace "p"; the
// reader answers from the returned input, so tests change the input under it.
// A binding expires at expires and a deprecated role is removed at removeAfter.
func snapshotPlatform(expires, removeAfter time.Time) (*permissions.Input, *roleSnapshots) {
	in := &permissions.Input{
		Organizations: []*v1alpha1.Organization{builders.Customer("acme").Obj()},
		Roles: []*v1alpha1.Role{
			builders.Role("editor").Permissions("sales").Obj(),
			builders.Role("viewer").Permissions("reports").Obj(),
			builders.Role("legacy").Permissions("old").Deprecated("", removeAfter).Obj(),
		},
		Bindings: []*v1alpha1.RoleBinding{
			builders.Binding("ann@x.example", "editor", "acme").ExpiresAt(expires).Obj(),
		},
	}
	inNamespace("p", in)
	s := newRoleSnapshots(gatherer{reader: newInputReader(*in)})
	s.minInterval, s.costFactor, s.settle = 0, 0, 0
	return in, s
}

func boundUsers(t *testing.T, s *roleSnapshots, role string, now time.Time) int32 {
	t.Helper()
	roles, _, wait, err := s.roles(context.Background(), "p", now)
	r, found := roles[role]
	if err != nil || !found || wait > 0 {
		t.Fatalf("role %s: found %v, wait %v, error %v", role, found, wait, err)
	}
	return r.BoundUsers
}

func TestRoleSnapshotIsSharedUntilAnEventBumpsItsEpoch(t *testing.T) {
	now := platformgen.Now()
	in, s := snapshotPlatform(now.Add(time.Hour), now.Add(3*time.Hour))
	if got := boundUsers(t, s, "editor", now); got != 1 {
		t.Fatalf("editor bound to %d users, want 1", got)
	}

	// The binding moves to viewer in the cache, but no event has been handled yet: the
	// snapshot is shared, not gathered again.
	in.Bindings[0].Spec.RoleRef.Name = "viewer"
	if got := boundUsers(t, s, "editor", now); got != 1 {
		t.Fatalf("without an event the snapshot was gathered again: editor bound to %d users", got)
	}

	s.bump("p")
	if e, v := boundUsers(t, s, "editor", now), boundUsers(t, s, "viewer", now); e != 0 || v != 1 {
		t.Errorf("after the event editor is bound to %d users and viewer to %d, want 0 and 1", e, v)
	}
	s.bump("elsewhere") // another namespace's event does not make p's snapshot stale
	in.Bindings[0].Spec.RoleRef.Name = "editor"
	if got := boundUsers(t, s, "viewer", now); got != 1 {
		t.Errorf("an event in another namespace made p's snapshot stale: viewer bound to %d users", got)
	}
}

func TestRoleSnapshotRecomputesAtMostOncePerInterval(t *testing.T) {
	now := platformgen.Now()
	_, s := snapshotPlatform(now.Add(time.Hour), now.Add(3*time.Hour))
	s.minInterval = time.Hour
	boundUsers(t, s, "editor", now) // the first compute never waits

	s.bump("p")
	roles, _, wait, err := s.roles(context.Background(), "p", now)
	if err != nil || roles != nil || wait <= 0 || wait > time.Hour {
		t.Errorf("a stale snapshot inside the interval: results %v, wait %v, error %v; want a wait of at most an hour", roles, wait, err)
	}
}

// settlingPlatform is snapshotPlatform with settling on a fake clock: settle 1 s,
// maxSettle 5 s.
func settlingPlatform(now time.Time) (*permissions.Input, *roleSnapshots, *clocktesting.FakePassiveClock) {
	in, s := snapshotPlatform(now.Add(time.Hour), now.Add(3*time.Hour))
	clk := clocktesting.NewFakePassiveClock(now)
	s.clock, s.settle, s.maxSettle = clk, time.Second, 5*time.Second
	return in, s, clk
}

// settleWait is how long roles asks a reconcile of a stale snapshot to wait; it fails
// the test when roles computes instead.
func settleWait(t *testing.T, s *roleSnapshots, now time.Time) time.Duration {
	t.Helper()
	roles, _, wait, err := s.roles(context.Background(), "p", now)
	if err != nil || roles != nil || wait <= 0 {
		t.Fatalf("roles computed (results %v, error %v), want a wait; got wait %v", roles, err, wait)
	}
	return wait
}

func TestRoleSnapshotRecomputeWaitsForTheEventsToSettle(t *testing.T) {
	now := platformgen.Now()
	in, s, clk := settlingPlatform(now)
	boundUsers(t, s, "editor", now) // the first compute never waits

	in.Bindings[0].Spec.RoleRef.Name = "viewer"
	s.bump("p")
	if wait := settleWait(t, s, now); wait != time.Second {
		t.Fatalf("a snapshot stale since an instant ago waits %v, want the settle time, 1s", wait)
	}
	clk.SetTime(now.Add(time.Second))
	if got := boundUsers(t, s, "viewer", now); got != 1 {
		t.Fatalf("after settling viewer is bound to %d users, want 1", got)
	}
	// Current again: no wait until the next event.
	if _, _, wait, _ := s.roles(context.Background(), "p", now); wait != 0 {
		t.Errorf("a current snapshot waits %v", wait)
	}
	// The clock of settling restarts with the first event after the recompute.
	s.bump("p")
	if _, _, wait, _ := s.roles(context.Background(), "p", now); wait != time.Second {
		t.Errorf("an event after the recompute made a wait of %v, want 1s", wait)
	}
}

// A change whose events enqueued no role (a re-parent) leaves the snapshot stale. The
// next change's recompute still waits for its own events to settle: counted from the
// old event, it would start at once, before the publisher had queued the change's
// documents.
func TestRoleSnapshotSettlesFromTheLastEventNotAnOldOne(t *testing.T) {
	now := platformgen.Now()
	_, s, clk := settlingPlatform(now)
	boundUsers(t, s, "editor", now)

	s.bump("p") // no reconcile asks for the snapshot after this one
	later := now.Add(time.Minute)
	clk.SetTime(later)
	s.bump("p")
	if wait := settleWait(t, s, later); wait != time.Second {
		t.Errorf("an event an instant ago, after one a minute old: the recompute waits %v, want 1s", wait)
	}
}

// Events without a pause push the recompute back, but no further than maxSettle after
// settling first made it wait.
func TestRoleSnapshotSettlingEndsAfterMaxSettle(t *testing.T) {
	now := platformgen.Now()
	in, s, clk := settlingPlatform(now)
	boundUsers(t, s, "editor", now)
	in.Bindings[0].Spec.RoleRef.Name = "viewer"

	at := now
	for range 9 { // an event every half second for 4.5 s
		s.bump("p")
		if wait := settleWait(t, s, at); wait != time.Second {
			t.Fatalf("at +%v, an event an instant ago: wait %v, want 1s", at.Sub(now), wait)
		}
		at = at.Add(500 * time.Millisecond)
		clk.SetTime(at)
	}
	s.bump("p") // +4.5 s: half a second of settling is left before maxSettle
	if wait := settleWait(t, s, at); wait != 500*time.Millisecond {
		t.Fatalf("at +4.5s the wait is %v, want the 500ms left of maxSettle", wait)
	}
	at = now.Add(5 * time.Second)
	clk.SetTime(at)
	s.bump("p") // still no pause, but maxSettle has passed
	if got := boundUsers(t, s, "viewer", at); got != 1 {
		t.Errorf("after maxSettle viewer is bound to %d users, want 1: the recompute waited on", got)
	}
}

func TestRoleSnapshotEndsAtARolesRemovalNotAtExpiries(t *testing.T) {
	now := platformgen.Now()
	in, s := snapshotPlatform(now.Add(time.Hour), now.Add(3*time.Hour))
	_, next, _, err := s.roles(context.Background(), "p", now)
	if err != nil || next.Sub(now) != 3*time.Hour {
		t.Fatalf("next change after %v (error %v), want 3h: when legacy is removed", next.Sub(now), err)
	}
	// No event. The binding's expiry changes no role's result: the snapshot holds past
	// it. The role's removal does: a snapshot asked for after it is gathered again and
	// sees the cache as it is.
	in.Bindings[0].Spec.RoleRef.Name = "viewer"
	if got := boundUsers(t, s, "viewer", now.Add(2*time.Hour)); got != 0 {
		t.Errorf("after the binding's expiry the snapshot was gathered again: viewer bound to %d users", got)
	}
	if got := boundUsers(t, s, "viewer", now.Add(4*time.Hour)); got != 1 {
		t.Errorf("after legacy's removal the snapshot was not gathered again: viewer bound to %d users", got)
	}
}
