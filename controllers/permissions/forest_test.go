package permissions_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestNestingRules(t *testing.T) {
	D, S, C, U := v1alpha1.OrganizationTypeDistributor, v1alpha1.OrganizationTypeSeller, v1alpha1.OrganizationTypeCustomer, v1alpha1.OrganizationTypeUnit
	tests := []struct {
		child, parent v1alpha1.OrganizationType // parent "" = root
		valid         bool
	}{
		{D, "", true}, {D, D, false}, {D, S, false},
		{S, "", true}, {S, D, true}, {S, S, false}, {S, C, false},
		{C, "", true}, {C, D, true}, {C, S, true}, {C, C, false}, {C, U, false},
		{U, "", false}, {U, C, true}, {U, U, true}, {U, S, false}, {U, D, false},
		{"Galaxy", "", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.child)+"-under-"+string(tt.parent), func(t *testing.T) {
			objs := []any{builders.Role("all").Permissions("*"), builders.Binding("admin@x.example", "all", "top")}
			if tt.parent == "" {
				objs = append(objs, builders.Org("child", tt.child))
				// "top" exists so that the binding resolves; it is unrelated here.
				objs = append(objs, builders.Distributor("top"))
			} else {
				parentBuilder := builders.Org("top", tt.parent)
				if tt.parent == U {
					parentBuilder.Under("c")
					objs = append(objs, builders.Customer("c"))
				}
				objs = append(objs, parentBuilder, builders.Org("child", tt.child).Under("top"))
			}
			p := permissions.Compile(platform(objs...), epoch)
			c := ready(t, must(t, p.Organization, "child").Conditions)
			if c.True != tt.valid {
				t.Fatalf("Ready = %v (%s: %s), want %v", c.True, c.Reason, c.Message, tt.valid)
			}
			if !tt.valid && c.Reason != v1alpha1.ReasonInvalidNesting {
				t.Errorf("reason = %s, want InvalidNesting", c.Reason)
			}
			// An invalid link is cut: the child inherits nothing from above.
			inherits := access(t, p, "child", "admin@x.example").present
			if tt.parent != "" && inherits != tt.valid {
				t.Errorf("child inherits the parent's binding: %v, want %v", inherits, tt.valid)
			}
		})
	}
}

func TestForestBreaksFailClosed(t *testing.T) {
	in := platform(
		builders.Role("all").Permissions("*"),
		builders.Distributor("north"),
		builders.Seller("s1").Under("north"),
		builders.Customer("c1").Under("s1"),
		builders.Unit("u1").Under("c1"),
		builders.Customer("orphan").Under("gone"),
		builders.Unit("below-orphan").Under("orphan"),
		builders.Customer("loop-a").Under("loop-b"),
		builders.Customer("loop-b").Under("loop-a"),
		builders.Unit("below-loop").Under("loop-a"),
		builders.Binding("boss@x.example", "all", "north"),
		builders.Binding("looper@x.example", "all", "loop-b"),
		builders.Binding("orphaned@x.example", "all", "orphan"),
	)
	p := permissions.Compile(in, epoch)

	u1 := must(t, p.Organization, "u1")
	if !slices.Equal(u1.Path, []string{"north", "s1", "c1", "u1"}) || u1.Depth != 3 || !ready(t, u1.Conditions).True {
		t.Errorf("u1: path %v depth %d ready %+v", u1.Path, u1.Depth, u1.Conditions)
	}
	if !allowed(t, p, "u1", "boss@x.example", "anything") {
		t.Error("a Subtree binding at the distributor must reach a unit four levels down")
	}

	orphan := must(t, p.Organization, "orphan")
	if c := ready(t, orphan.Conditions); c.True || c.Reason != v1alpha1.ReasonParentNotFound || !strings.Contains(c.Message, "gone") {
		t.Errorf("orphan Ready = %+v, want ParentNotFound naming gone", c)
	}
	if !slices.Equal(orphan.Path, []string{"orphan"}) {
		t.Errorf("orphan path = %v, want [orphan]", orphan.Path)
	}
	below := must(t, p.Organization, "below-orphan")
	if c := ready(t, below.Conditions); c.True || c.Reason != v1alpha1.ReasonAncestorNotReady || !strings.Contains(c.Message, "orphan") {
		t.Errorf("below-orphan Ready = %+v, want AncestorNotReady naming orphan", c)
	}
	// Below the break the organization still gets its own document with the grants of
	// the part of the chain that is intact.
	if !allowed(t, p, "below-orphan", "orphaned@x.example", "x") {
		t.Error("below-orphan must inherit from orphan, which is below the break")
	}

	for _, name := range []string{"loop-a", "loop-b"} {
		r := must(t, p.Organization, name)
		if c := ready(t, r.Conditions); c.True || c.Reason != v1alpha1.ReasonInCycle {
			t.Errorf("%s Ready = %+v, want InCycle", name, c)
		}
		if !slices.Equal(r.Path, []string{name}) {
			t.Errorf("%s path = %v, want itself only", name, r.Path)
		}
	}
	if access(t, p, "loop-a", "looper@x.example").present {
		t.Error("loop-a must inherit nothing from loop-b: they are in a cycle")
	}
	if !allowed(t, p, "loop-b", "looper@x.example", "x") {
		t.Error("a binding in a cycle member still holds in that organization")
	}
	if c := ready(t, must(t, p.Organization, "below-loop").Conditions); c.Reason != v1alpha1.ReasonAncestorNotReady {
		t.Errorf("below-loop Ready = %+v, want AncestorNotReady", c)
	}
	if access(t, p, "below-loop", "looper@x.example").present {
		t.Error("below-loop must inherit nothing from above loop-a")
	}
}

func TestInheritance(t *testing.T) {
	in := platform(
		builders.Role("viewer").Permissions("reports"),
		builders.Role("manager").Permissions("stores"),
		builders.Customer("acme"),
		builders.Unit("store-1").Under("acme"), builders.Unit("store-2").Under("acme"), builders.Unit("store-3").Under("acme"),
		builders.Unit("store-1a").Under("store-1"),
		builders.Binding("admin@acme.example", "viewer", "acme"),
		builders.Binding("mgr@acme.example", "manager", "store-1").ThisOrganizationOnly(),
		builders.Binding("mgr@acme.example", "manager", "store-2").ThisOrganizationOnly(),
	)
	p := permissions.Compile(in, epoch)
	for _, store := range []string{"acme", "store-1", "store-2", "store-3", "store-1a"} {
		if !allowed(t, p, store, "admin@acme.example", "reports/daily") {
			t.Errorf("Subtree binding at acme must hold in %s", store)
		}
	}
	for store, want := range map[string]bool{"acme": false, "store-1": true, "store-2": true, "store-3": false, "store-1a": false} {
		if got := allowed(t, p, store, "mgr@acme.example", "stores"); got != want {
			t.Errorf("manager bound with None to store-1 and store-2: allowed in %s = %v, want %v", store, got, want)
		}
		if got := access(t, p, store, "mgr@acme.example").present; got != want {
			t.Errorf("manager listed in %s's document = %v, want %v", store, got, want)
		}
	}
}
