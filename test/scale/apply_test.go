package main

import (
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// The harness moves the generated platform to the real clock before it renders the
// invitations' bindings: every invitation keeps the phase it has at platformgen.Now,
// so the platform applied is the one generated, whenever the harness runs.
func TestShiftedPlatformKeepsItsPhases(t *testing.T) {
	in := platformgen.Generate(platformgen.Small(), 1)
	want := phases(permissions.Compile(in, platformgen.Now()), in)
	now := time.Now()
	shiftTimes(&in, now)
	got := phases(permissions.Compile(in, now), in)
	active := 0
	for name, phase := range want {
		if got[name] != phase {
			t.Fatalf("invitation %s: %s after the shift, %s before", name, got[name], phase)
		}
		if phase == v1alpha1.UserPhaseActive {
			active++
		}
	}
	if active == 0 {
		t.Fatal("no Active invitation: the check checked little")
	}
}

func phases(p *permissions.Platform, in permissions.Input) map[string]v1alpha1.UserPhase {
	out := map[string]v1alpha1.UserPhase{}
	for _, inv := range in.Invitations {
		res, _ := p.Invitation(inv.Name)
		out[inv.Name] = res.Phase
	}
	return out
}
