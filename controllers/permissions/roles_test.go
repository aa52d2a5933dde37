package permissions_test

import (
	"strings"
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestRoleResolution(t *testing.T) {
	tree := builders.Tree("t", "a", "a/x", "b", "c", "d")
	tests := []struct {
		name       string
		roles      []any
		bound      string
		wantPerms  []string // what the bound role grants
		wantReady  bool
		wantReason string
		wantInMsg  string
	}{
		{"includes, recursively", []any{builders.Role("top").Permissions("a").Includes("mid"), builders.Role("mid").Permissions("b").Includes("leaf"), builders.Role("leaf").Permissions("c")},
			"top", []string{"a", "a/x", "b", "c"}, true, v1alpha1.ReasonReconciled, ""},
		{"include cycle grants nothing", []any{builders.Role("top").Permissions("a").Includes("mid"), builders.Role("mid").Permissions("b").Includes("top")},
			"top", nil, false, v1alpha1.ReasonIncludeCycle, "include cycle with mid and top"},
		{"including a cycle member", []any{builders.Role("outer").Permissions("d").Includes("top"), builders.Role("top").Includes("mid"), builders.Role("mid").Includes("top")},
			"outer", nil, false, v1alpha1.ReasonIncludeNotReady, "top"},
		{"missing include", []any{builders.Role("top").Permissions("a").Includes("ghost")},
			"top", nil, false, v1alpha1.ReasonIncludeNotFound, "ghost"},
		{"unknown permission", []any{builders.Role("top").Permissions("a", "nope")},
			"top", nil, false, v1alpha1.ReasonUnknownPermission, "nope"},
		{"pattern matching nothing", []any{builders.Role("top").Permissions("*/zzz")},
			"top", nil, false, v1alpha1.ReasonUnknownPermission, "*/zzz"},
		{"features only", []any{builders.Role("beta").Features("beta-preview")},
			"beta", []string{}, true, v1alpha1.ReasonReconciled, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := append([]any{tree, builders.Customer("acme"), builders.Binding("u@acme.example", tt.bound, "acme")}, tt.roles...)
			p := permissions.Compile(platform(objs...), epoch)
			r := must(t, p.Role, tt.bound)
			c := ready(t, r.Conditions)
			if c.True != tt.wantReady || c.Reason != tt.wantReason || !strings.Contains(c.Message, tt.wantInMsg) {
				t.Errorf("role %s Ready = %+v, want %v/%s mentioning %q", tt.bound, c, tt.wantReady, tt.wantReason, tt.wantInMsg)
			}
			if tt.wantReady && !equal(r.Permissions, tt.wantPerms) {
				t.Errorf("role status permissions = %v, want %v", r.Permissions, tt.wantPerms)
			}
			h := access(t, p, "acme", "u@acme.example")
			if !equal(h.perms, tt.wantPerms) {
				t.Errorf("bound user's permissions = %v, want %v", h.perms, tt.wantPerms)
			}
			b := must(t, p.Binding, "rb-u-acme-example-"+tt.bound+"-acme")
			if b.Ready != tt.wantReady {
				t.Errorf("binding Ready = %v, want %v (%+v)", b.Ready, tt.wantReady, b.Conditions)
			}
			if !tt.wantReady && ready(t, b.Conditions).Reason != v1alpha1.ReasonRoleNotReady {
				t.Errorf("binding reason = %s, want RoleNotReady", ready(t, b.Conditions).Reason)
			}
		})
	}
}

func TestFeatures(t *testing.T) {
	p := permissions.Compile(platform(
		builders.Role("beta").Features("beta-preview"), builders.Role("product").Permissions("products").Includes("beta"),
		builders.Customer("acme"), builders.Binding("u@acme.example", "beta", "acme"), builders.Binding("v@acme.example", "product", "acme"),
	), epoch)
	u := access(t, p, "acme", "u@acme.example")
	if !equal(u.features, []string{"beta-preview"}) || len(u.perms) != 0 {
		t.Errorf("beta preview user: features %v perms %v, want the feature only", u.features, u.perms)
	}
	v := access(t, p, "acme", "v@acme.example")
	if !equal(v.features, []string{"beta-preview"}) || !equal(v.perms, []string{"products"}) {
		t.Errorf("included feature: features %v perms %v", v.features, v.perms)
	}
	if !hasFeature(t, p, "acme", "u@acme.example", "beta-preview") {
		t.Error("HasFeature on the published document")
	}
}

func TestRoleApplicability(t *testing.T) {
	in := platform(
		builders.Role("distributor-readonly").Permissions("*").OrganizationTypes(v1alpha1.OrganizationTypeDistributor),
		builders.Role("acme-buyer").Permissions("sales").Of("acme"),
		builders.Role("ghost-role").Permissions("sales").Of("ghost"),
		builders.Distributor("north"), builders.Seller("s").Under("north"), builders.Customer("acme").Under("s"), builders.Unit("store").Under("acme"), builders.Customer("other").Under("s"),
		builders.Binding("d@x.example", "distributor-readonly", "north"),
		builders.Binding("d@x.example", "distributor-readonly", "s"),
		builders.Binding("b@x.example", "acme-buyer", "store"),
		builders.Binding("b@x.example", "acme-buyer", "other"),
		builders.Binding("g@x.example", "ghost-role", "acme"),
	)
	p := permissions.Compile(in, epoch)
	for name, want := range map[string]string{
		"rb-d-x-example-distributor-readonly-north": "",
		"rb-d-x-example-distributor-readonly-s":     v1alpha1.ReasonRoleNotApplicable,
		"rb-b-x-example-acme-buyer-store":           "",
		"rb-b-x-example-acme-buyer-other":           v1alpha1.ReasonRoleNotApplicable,
		"rb-g-x-example-ghost-role-acme":            v1alpha1.ReasonRoleNotReady,
	} {
		b := must(t, p.Binding, name)
		if b.Ready != (want == "") || (want != "" && ready(t, b.Conditions).Reason != want) {
			t.Errorf("%s: Ready %v %+v, want reason %q", name, b.Ready, b.Conditions, want)
		}
	}
	if !allowed(t, p, "store", "b@x.example", "sales") || allowed(t, p, "other", "b@x.example", "sales") {
		t.Error("a custom role holds only inside its organization's subtree")
	}
	if c := ready(t, must(t, p.Role, "ghost-role").Conditions); c.Reason != v1alpha1.ReasonOrganizationNotFound {
		t.Errorf("custom role of a missing organization: %+v", c)
	}
	// The distributor binding's Subtree reach holds below; the refused one at the seller
	// adds nothing.
	if !allowed(t, p, "acme", "d@x.example", "sales") {
		t.Error("distributor readonly bound at the distributor reaches the customers")
	}
}

func TestDeprecation(t *testing.T) {
	removeAfter := epoch.Add(24 * time.Hour)
	build := func(now time.Time) *permissions.Platform {
		return permissions.Compile(platform(
			builders.Role("v1-admin").Permissions("admin").Deprecated("v2-admin", removeAfter),
			builders.Role("v2-admin").Permissions("access", "tenant"),
			builders.Role("v1-viewer").Permissions("reports").Deprecated("", removeAfter),
			builders.Role("v1-gone").Permissions("x").Deprecated("ghost", removeAfter),
			builders.Customer("acme"),
			builders.Binding("a@x.example", "v1-admin", "acme"), builders.Binding("v@x.example", "v1-viewer", "acme"),
			builders.Binding("g@x.example", "v1-gone", "acme"), builders.Binding("v@x.example", "v2-admin", "acme").ThisOrganizationOnly().Named("v-v2"),
		), now)
	}
	before, after := build(epoch), build(removeAfter)

	if h := access(t, before, "acme", "a@x.example"); !equal(h.perms, []string{"admin"}) {
		t.Errorf("before removeAfter the role grants itself: %v", h.perms)
	}
	if c, ok := condition(must(t, before.Role, "v1-admin").Conditions, v1alpha1.ConditionDeprecated); !ok || !c.True || c.Reason != v1alpha1.ReasonDeprecated {
		t.Errorf("role Deprecated condition before removal: %+v", c)
	}
	if c, ok := condition(must(t, before.Binding, "rb-a-x-example-v1-admin-acme").Conditions, v1alpha1.ConditionDeprecated); !ok || !c.True {
		t.Errorf("binding to a deprecated role must say so: %+v", c)
	}
	if c, _ := condition(must(t, before.Role, "v1-gone").Conditions, v1alpha1.ConditionDeprecated); c.Reason != v1alpha1.ReasonReplacementNotFound {
		t.Errorf("missing replacement: %+v", c)
	}
	if next, ok := before.NextChange(); !ok || !next.Equal(removeAfter) {
		t.Errorf("NextChange = %v %v, want removeAfter %v", next, ok, removeAfter)
	}

	if h := access(t, after, "acme", "a@x.example"); !equal(h.perms, []string{"access", "tenant"}) || !equal(h.roles, []string{"v1-admin"}) {
		t.Errorf("after removeAfter the binding grants the replacement: %v (roles %v)", h.perms, h.roles)
	}
	if c, _ := condition(must(t, after.Role, "v1-admin").Conditions, v1alpha1.ConditionDeprecated); c.Reason != v1alpha1.ReasonRemoved {
		t.Errorf("role after removal: %+v", c)
	}
	if b := must(t, after.Binding, "rb-v-x-example-v1-viewer-acme"); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonRemoved {
		t.Errorf("binding to a removed role without replacement: %+v", b)
	}
	if h := access(t, after, "acme", "v@x.example"); !equal(h.perms, []string{"access", "tenant"}) {
		t.Errorf("a removed role without replacement grants nothing: %v", h.perms)
	}
	if r := must(t, before.Role, "v1-viewer"); r.DeprecatedOnlyUsers != 0 || r.BoundUsers != 1 {
		t.Errorf("v1-viewer: bound %d, deprecated only %d; v also holds v2-admin", r.BoundUsers, r.DeprecatedOnlyUsers)
	}
	if r := must(t, before.Role, "v1-admin"); r.DeprecatedOnlyUsers != 1 {
		t.Errorf("v1-admin deprecated-only users = %d, want 1", r.DeprecatedOnlyUsers)
	}
	if _, ok := after.NextChange(); ok {
		t.Error("nothing changes by time after every removeAfter")
	}

	// Two removed roles replacing each other grant nothing, and say so.
	cycle := permissions.Compile(platform(
		builders.Role("da").Permissions("a").Deprecated("db", epoch), builders.Role("db").Permissions("b").Deprecated("da", epoch),
	), epoch)
	if c, _ := condition(must(t, cycle.Role, "da").Conditions, v1alpha1.ConditionDeprecated); !strings.Contains(c.Message, "grant nothing, because replacement role db grants nothing now") {
		t.Errorf("a removed role replaced by a removed role replaced by it: %+v", c)
	}
	if c, _ := condition(must(t, after.Role, "v1-admin").Conditions, v1alpha1.ConditionDeprecated); !strings.Contains(c.Message, "grant the permissions of role v2-admin") {
		t.Errorf("a removed role with a working replacement: %+v", c)
	}
}

func TestRoleUsedBy(t *testing.T) {
	r := builders.Role("base").Permissions("a")
	r.Deleting(epoch)
	p := permissions.Compile(platform(r, builders.Role("top").Includes("base"), builders.Customer("acme"),
		builders.Binding("u@x.example", "base", "acme"), builders.Invitation("i@x.example", "acme", "base")), epoch)
	res := must(t, p.Role, "base")
	want := []string{"Role/top", "RoleBinding/rb-u-x-example-base-acme", "UserInvitation/inv-i-x-example-acme"}
	if !equal(res.UsedBy, want) {
		t.Errorf("UsedBy = %v, want %v", res.UsedBy, want)
	}
	if c, ok := condition(res.Conditions, v1alpha1.ConditionInUse); !ok || !c.True || !strings.Contains(c.Message, "Role/top") {
		t.Errorf("InUse on a role being deleted: %+v", c)
	}
}

// A condition's message starts with the problem its reason names: a role in an include
// cycle that also includes a role that is not Ready (the other member) says first that
// it is in the cycle.
func TestConditionMessageStartsWithItsReason(t *testing.T) {
	p := permissions.Compile(platform(
		builders.Role("top").Permissions("a").Includes("mid"), builders.Role("mid").Permissions("b").Includes("top"),
	), epoch)
	c := ready(t, must(t, p.Role, "top").Conditions)
	if c.Reason != v1alpha1.ReasonIncludeCycle || !strings.HasPrefix(c.Message, "role top is in an include cycle") {
		t.Errorf("Ready = %+v, want IncludeCycle with a message that starts with the cycle", c)
	}
}

// A removed role grants its replacement's permissions, nothing of its own: taking its
// own paths out of the tree after removeAfter (a clean-up) leaves it Ready, passing its
// replacement on to its bindings and to the roles that include it. Before the
// lifecycle audit of 2026-12-07 it became UnknownPermission, and its holders and every
// composite including it lost everything, with a Deprecated message blaming the
// replacement.
func TestRemovedRoleOutlivesItsOwnPaths(t *testing.T) {
	p := permissions.Compile(platform(
		builders.Tree("t", "sales", "sales/view", "billing"),
		builders.Role("old").Permissions("legacy").Includes("ghost").Deprecated("new", epoch.Add(-time.Hour)),
		builders.Role("new").Permissions("sales/view"),
		builders.Role("combo").Permissions("billing").Includes("old"),
		builders.Customer("acme"),
		builders.Binding("a@x.example", "old", "acme"), builders.Binding("b@x.example", "combo", "acme"),
	), epoch)
	for _, name := range []string{"old", "combo"} {
		if c := ready(t, must(t, p.Role, name).Conditions); !c.True {
			t.Errorf("role %s: %+v, want Ready", name, c)
		}
	}
	if c, _ := condition(must(t, p.Role, "old").Conditions, v1alpha1.ConditionDeprecated); !strings.Contains(c.Message, "grant the permissions of role new") {
		t.Errorf("removed role's Deprecated condition: %+v", c)
	}
	if h := access(t, p, "acme", "a@x.example"); !equal(h.perms, []string{"sales/view"}) {
		t.Errorf("a binding to the removed role holds %v, want its replacement's sales/view", h.perms)
	}
	if h := access(t, p, "acme", "b@x.example"); !equal(h.perms, []string{"billing", "sales/view"}) {
		t.Errorf("a binding to a role including the removed one holds %v, want billing and sales/view", h.perms)
	}
	// Before removeAfter its own definition counts, problems and all.
	before := permissions.Compile(platform(
		builders.Tree("t", "sales", "sales/view", "billing"),
		builders.Role("old").Permissions("legacy").Deprecated("new", epoch.Add(time.Hour)),
		builders.Role("new").Permissions("sales/view"),
	), epoch)
	if c := ready(t, must(t, before.Role, "old").Conditions); c.True || c.Reason != v1alpha1.ReasonUnknownPermission {
		t.Errorf("a deprecated role not yet removed with an unknown path: %+v, want UnknownPermission", c)
	}
}
