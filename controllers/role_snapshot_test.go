package controllers

import (
	"context"
	"testing"
	"time"

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
		Organizations: []v1alpha1.Organization{*builders.Customer("acme").Obj()},
		Roles: []v1alpha1.Role{
			*builders.Role("editor").Permissions("sales").Obj(),
			*builders.Role("viewer").Permissions("reports").Obj(),
			*builders.Role("legacy").Permissions("old").Deprecated("", removeAfter).Obj(),
		},
		Bindings: []v1alpha1.RoleBinding{
			*builders.Binding("ann@x.example", "editor", "acme").ExpiresAt(expires).Obj(),
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

func TestRoleSnapshotRecomputeWaitsForTheEventsToSettle(t *testing.T) {
	now := platformgen.Now()
	in, s := snapshotPlatform(now.Add(time.Hour), now.Add(3*time.Hour))
	s.settle = time.Hour
	boundUsers(t, s, "editor", now) // the first compute never waits

	in.Bindings[0].Spec.RoleRef.Name = "viewer"
	s.bump("p")
	roles, _, wait, err := s.roles(context.Background(), "p", now)
	if err != nil || roles != nil || wait <= 0 || wait > time.Hour {
		t.Fatalf("a snapshot stale since an instant ago: results %v, wait %v, error %v; want a wait of at most an hour", roles, wait, err)
	}
	s.bump("p") // a later event does not push the recompute back
	if _, _, again, _ := s.roles(context.Background(), "p", now); again > wait {
		t.Errorf("a second event moved the recompute from %v to %v away", wait, again)
	}

	s.settle = 0 // the hour has passed
	if got := boundUsers(t, s, "viewer", now); got != 1 {
		t.Fatalf("after settling viewer is bound to %d users, want 1", got)
	}
	// The clock of settling restarts with the first event after the recompute.
	s.settle = time.Hour
	if _, _, wait, _ := s.roles(context.Background(), "p", now); wait != 0 {
		t.Errorf("a current snapshot waits %v", wait)
	}
	s.bump("p")
	if _, _, wait, _ := s.roles(context.Background(), "p", now); wait <= 0 {
		t.Errorf("an event after the recompute made no wait: %v", wait)
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
