package controllers

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

func fingerprintInput() permissions.Input {
	org := builders.Customer("acme").Obj()
	role := builders.Role("customer").Permissions("sales").Obj()
	b1 := builders.Binding("ann@acme.example", "customer", "acme").Named("b1").Obj()
	b2 := builders.Binding("ben@acme.example", "customer", "acme").Named("b2").Obj()
	inv := builders.Invitation("ann@acme.example", "acme", "customer").Named("ann").Obj()
	for i, o := range []metav1.Object{org, role, b1, b2, inv} {
		o.SetUID(types.UID("uid-" + o.GetName()))
		o.SetGeneration(int64(i + 1))
	}
	return permissions.Input{
		Organizations: []*v1alpha1.Organization{org},
		Roles:         []*v1alpha1.Role{role},
		Bindings:      []*v1alpha1.RoleBinding{b1, b2},
		Invitations:   []*v1alpha1.UserInvitation{inv},
	}
}

func TestFingerprintChangesWithWhatTheEngineReadsOnly(t *testing.T) {
	base := fingerprintOf(fingerprintInput())
	tests := []struct {
		name    string
		change  func(*permissions.Input)
		changed bool
	}{
		{"listing order", func(in *permissions.Input) { in.Bindings[0], in.Bindings[1] = in.Bindings[1], in.Bindings[0] }, false},
		{"status conditions", func(in *permissions.Input) {
			in.Bindings[0].Status.Conditions = []metav1.Condition{{Type: "Ready"}}
			in.Organizations[0].Status.Depth = 3
			in.Invitations[0].Status.ExpiresAt = &metav1.Time{}
		}, false},
		{"resourceVersion of a status write", func(in *permissions.Input) { in.Roles[0].ResourceVersion = "99" }, false},
		{"spec (generation)", func(in *permissions.Input) { in.Roles[0].Generation++ }, true},
		{"recreated under the same name", func(in *permissions.Input) { in.Bindings[1].UID = "other" }, true},
		{"an object more", func(in *permissions.Input) { in.Bindings = append(in.Bindings, in.Bindings[0]) }, true},
		{"an object less", func(in *permissions.Input) { in.Bindings = in.Bindings[:1] }, true},
		{"binding owner", func(in *permissions.Input) {
			in.Bindings[0].OwnerReferences = []metav1.OwnerReference{{APIVersion: "access.orgaccess.dev/v1alpha1", Kind: "UserInvitation", Name: "ann"}}
		}, true},
		{"persisted grant", func(in *permissions.Input) { in.Invitations[0].Status.GrantedRoles = []string{"customer"} }, true},
		{"persisted phase", func(in *permissions.Input) { in.Invitations[0].Status.Phase = v1alpha1.UserPhaseActive }, true},
		{"persisted grant of defaultRoles", func(in *permissions.Input) { in.Invitations[0].Status.GrantedDefaultRoles = true }, true},
		{"persisted grant in the organization only", func(in *permissions.Input) {
			in.Invitations[0].Status.GrantedInheritance = v1alpha1.InheritanceNone
		}, true},
		{"role deleted", func(in *permissions.Input) { in.Roles[0].DeletionTimestamp = &metav1.Time{} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fingerprintInput()
			tt.change(&in)
			if got := fingerprintOf(in) != base; got != tt.changed {
				t.Errorf("fingerprint changed = %v, want %v", got, tt.changed)
			}
		})
	}
}

func TestCompileCacheReusesOnlyWhileResultsHold(t *testing.T) {
	in := fingerprintInput()
	expiry := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	in.Bindings[0].Spec.ExpiresAt = &metav1.Time{Time: expiry}
	cache := newCompileCache(4)
	cache.compiled, cache.reused = prometheus.NewCounter(prometheus.CounterOpts{Name: "c"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "r"})
	now := expiry.Add(-time.Hour)

	first := cache.compile(in, now, nil)
	if again := cache.compile(copyOfInput(in), now.Add(time.Minute), nil); again != first {
		t.Error("same input before the next change: compiled again")
	}
	if earlier := cache.compile(in, now.Add(-time.Minute), nil); earlier == first {
		t.Error("an instant before the compile reused it")
	}
	if after := cache.compile(in, expiry, nil); after == first {
		t.Error("at the binding's expiry the platform compiled before it was reused")
	}
	changed := copyOfInput(in)
	changed.Roles[0].Generation++
	if other := cache.compile(changed, now, nil); other == first {
		t.Error("a changed input reused the platform of the old one")
	}
	for i := range 8 {
		more := copyOfInput(in)
		more.Organizations[0].Generation = int64(100 + i)
		cache.compile(more, now, nil)
	}
	if len(cache.entries) > 4 || len(cache.order) > 4 {
		t.Errorf("cache holds %d entries, limit 4", len(cache.entries))
	}
	// orgaccess_compiles_total: one reuse above, every other call compiled.
	if c, r := testutil.ToFloat64(cache.compiled), testutil.ToFloat64(cache.reused); c != 12 || r != 1 {
		t.Errorf("counted %v compiles and %v reuses, want 12 and 1", c, r)
	}
}

// copyOfInput deep-copies in's objects, so a test can change one input without the other.
func copyOfInput(in permissions.Input) permissions.Input {
	return permissions.Input{
		Organizations: deepCopies(in.Organizations),
		Trees:         deepCopies(in.Trees),
		Roles:         deepCopies(in.Roles),
		Bindings:      deepCopies(in.Bindings),
		Invitations:   deepCopies(in.Invitations),
	}
}

func deepCopies[T interface{ DeepCopy() T }](objs []T) []T {
	out := make([]T, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out
}
