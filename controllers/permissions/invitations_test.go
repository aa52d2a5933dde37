package permissions_test

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

func TestInvitationPhases(t *testing.T) {
	base := []any{builders.Role("customer").Permissions("subscriptions"), builders.Role("admin").Permissions("*").Assigns("customer"),
		builders.Role("seller-only").Permissions("reports").OrganizationTypes(v1alpha1.OrganizationTypeSeller),
		builders.Role("globex-custom").Permissions("reports").Of("globex"), builders.Role("orphan-custom").Permissions("reports").Of("gone"),
		builders.Role("retired").Permissions("reports").Deprecated("", epoch.Add(-time.Hour)),
		builders.Customer("acme").DefaultRoles("customer").Owner("owner@acme.example"), builders.Customer("globex")}
	tests := []struct {
		name       string
		invite     *builders.InvitationBuilder
		wantPhase  v1alpha1.UserPhase
		wantReason string
		wantRoles  []string
	}{
		{"new", builders.Invitation("u@x.example", "acme", "customer"), v1alpha1.UserPhaseNew, v1alpha1.ReasonPending, nil},
		{"accepted", builders.Invitation("u@x.example", "acme", "customer").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"customer"}},
		{"default roles", builders.Invitation("u@x.example", "acme").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"customer"}},
		{"blocked", builders.Invitation("u@x.example", "acme", "customer").AcceptedAt(acceptedAt).Blocked(), v1alpha1.UserPhaseBlocked, v1alpha1.ReasonBlocked, nil},
		{"expired", builders.Invitation("u@x.example", "acme", "customer").CreatedAt(epoch.Add(-200 * time.Hour)), v1alpha1.UserPhaseExpired, v1alpha1.ReasonExpired, nil},
		{"expiresAfter", builders.Invitation("u@x.example", "acme", "customer").CreatedAt(epoch.Add(-2 * time.Hour)).ExpiresAfter(time.Hour), v1alpha1.UserPhaseExpired, v1alpha1.ReasonExpired, nil},
		{"accepted in time never expires", builders.Invitation("u@x.example", "acme", "customer").CreatedAt(epoch.Add(-2000 * time.Hour)).AcceptedAt(epoch.Add(-1999 * time.Hour)), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"customer"}},
		{"accepted after it expired", builders.Invitation("u@x.example", "acme", "customer").CreatedAt(epoch.Add(-2000 * time.Hour)).AcceptedAt(acceptedAt), v1alpha1.UserPhaseExpired, v1alpha1.ReasonExpired, nil},
		{"accepted at the instant it expired", builders.Invitation("u@x.example", "acme", "customer").CreatedAt(epoch.Add(-2 * time.Hour)).ExpiresAfter(time.Hour).AcceptedAt(epoch.Add(-time.Hour)), v1alpha1.UserPhaseExpired, v1alpha1.ReasonExpired, nil},
		{"accepted later than now", builders.Invitation("u@x.example", "acme", "customer").AcceptedAt(epoch.Add(time.Minute)), v1alpha1.UserPhaseNew, v1alpha1.ReasonPending, nil},
		{"missing role", builders.Invitation("u@x.example", "acme", "ghost").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, v1alpha1.ReasonRoleNotFound, nil},
		{"role for sellers only", builders.Invitation("u@x.example", "acme", "customer", "seller-only").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, v1alpha1.ReasonRoleNotApplicable, nil},
		{"another company's custom role", builders.Invitation("u@x.example", "acme", "globex-custom").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, v1alpha1.ReasonRoleNotApplicable, nil},
		{"custom role of no organization", builders.Invitation("u@x.example", "acme", "orphan-custom"), v1alpha1.UserPhaseRejected, v1alpha1.ReasonRoleNotApplicable, nil},
		{"role removed without replacement", builders.Invitation("u@x.example", "acme", "customer", "retired").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, v1alpha1.ReasonRemoved, nil},
		{"granted before its role was removed", builders.Invitation("u@x.example", "acme", "retired").AcceptedAt(acceptedAt).Granted("", "retired"), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"retired"}},
		{"missing organization", builders.Invitation("u@x.example", "nowhere", "customer").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, v1alpha1.ReasonOrganizationNotFound, nil},
		{"inviter holds nothing", builders.Invitation("u@x.example", "acme", "customer").InvitedBy("stranger@x.example"), v1alpha1.UserPhaseRejected, v1alpha1.ReasonDelegationRefused, nil},
		{"owner may assign anything", builders.Invitation("u@x.example", "acme", "admin").InvitedBy("owner@acme.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := permissions.Compile(platform(append(base, tt.invite)...), epoch)
			res := must(t, p.Invitation, tt.invite.Obj().Name)
			c := ready(t, res.Conditions)
			if res.Phase != tt.wantPhase || c.Reason != tt.wantReason || c.True != (tt.wantPhase == v1alpha1.UserPhaseActive) {
				t.Fatalf("phase %s, Ready %+v; want %s/%s", res.Phase, c, tt.wantPhase, tt.wantReason)
			}
			if !equal(res.GrantedRoles, tt.wantRoles) {
				t.Errorf("granted roles = %v, want %v", res.GrantedRoles, tt.wantRoles)
			}
			if len(res.Bindings) != len(tt.wantRoles) {
				t.Errorf("desired bindings = %+v, want one per granted role", res.Bindings)
			}
			for k, b := range res.Bindings {
				if b.Name != tt.invite.Obj().Name+"-"+tt.wantRoles[k] || b.Role != tt.wantRoles[k] || b.Organization != "acme" || b.Email != "u@x.example" {
					t.Errorf("desired binding %+v", b)
				}
			}
			// Accepted after it expired is not accepted: it keeps its expiry, and says so.
			late := tt.invite.Obj().Spec.AcceptedAt != nil && tt.wantPhase == v1alpha1.UserPhaseExpired
			if accepted := tt.invite.Obj().Spec.AcceptedAt != nil && !late; accepted == (res.ExpiresAt != nil) {
				t.Errorf("ExpiresAt = %v; want it exactly for invitations not accepted in time", res.ExpiresAt)
			}
			if late && !strings.Contains(c.Message, "after it expired at") {
				t.Errorf("message %q does not say the invitation was accepted too late", c.Message)
			}
		})
	}
}

func TestNewInvitationExpiryIsANextChange(t *testing.T) {
	inv := builders.Invitation("u@x.example", "acme").CreatedAt(epoch.Add(-time.Hour))
	p := permissions.Compile(platform(builders.Customer("acme"), inv), epoch)
	want := epoch.Add(-time.Hour + 168*time.Hour)
	if res := must(t, p.Invitation, inv.Obj().Name); res.ExpiresAt == nil || !res.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", res.ExpiresAt, want)
	}
	if next, ok := p.NextChange(); !ok || !next.Equal(want) {
		t.Errorf("NextChange = %v, want the expiry %v", next, want)
	}
	if got := must(t, permissions.Compile(platform(builders.Customer("acme"), inv), want).Invitation, inv.Obj().Name).Phase; got != v1alpha1.UserPhaseExpired {
		t.Errorf("at the expiry instant the invitation is %s, want Expired", got)
	}
}

// TestAcceptanceRecordedForLaterCountsFromThen: an acceptedAt after now (a sign-in
// service's clock ahead of the operator's) is not an acceptance yet. The invitation is
// New, says why, and names that instant as its next change; from it on, it is Active.
// A grant recorded already is kept.
func TestAcceptanceRecordedForLaterCountsFromThen(t *testing.T) {
	at := epoch.Add(90 * time.Second)
	org := builders.Customer("acme").DefaultRoles("customer")
	inv := builders.Invitation("u@x.example", "acme").AcceptedAt(at)
	in := platform(builders.Role("customer").Permissions("subscriptions"), org, inv)

	p := permissions.Compile(in, epoch)
	res := must(t, p.Invitation, inv.Obj().Name)
	if res.Phase != v1alpha1.UserPhaseNew || len(res.Bindings) != 0 {
		t.Fatalf("before its acceptedAt the invitation is %s with bindings %v, want New with none", res.Phase, res.Bindings)
	}
	if msg := ready(t, res.Conditions).Message; !strings.Contains(msg, at.UTC().Format(time.RFC3339)) || !strings.Contains(msg, "later than now") {
		t.Errorf("message %q does not say the acceptance is recorded for a later instant", msg)
	}
	if h := access(t, p, "acme", "u@x.example"); h.status != v1alpha1.UserPhaseNew || len(h.perms) != 0 {
		t.Errorf("the document says %+v, want the user New with no permission", h)
	}
	if next, ok := p.NextChange(); !ok || !next.Equal(at) {
		t.Errorf("NextChange = %v %v, want the recorded acceptance %v", next, ok, at)
	}
	if next, ok := p.NextInvitationChange(inv.Obj().Name); !ok || !next.Equal(at) {
		t.Errorf("NextInvitationChange = %v %v, want the recorded acceptance %v", next, ok, at)
	}

	if got := must(t, permissions.Compile(in, at).Invitation, inv.Obj().Name); got.Phase != v1alpha1.UserPhaseActive || len(got.Bindings) != 1 {
		t.Errorf("at its acceptedAt the invitation is %s with bindings %v, want Active with one", got.Phase, got.Bindings)
	}

	// Granted before the sign-in service moved acceptedAt later: the grant is recorded
	// and kept, as every recorded grant is.
	granted := platform(builders.Role("customer").Permissions("subscriptions"), org, inv.Granted("", "customer"))
	if got := must(t, permissions.Compile(granted, epoch).Invitation, inv.Obj().Name); got.Phase != v1alpha1.UserPhaseActive {
		t.Errorf("a recorded grant with acceptedAt later than now is %s, want it kept Active", got.Phase)
	}
}

func TestBlockedUserHoldsNothingAnywhere(t *testing.T) {
	in := platform(
		builders.Role("all").Permissions("*"), builders.Distributor("north"), builders.Customer("acme").Under("north"), builders.Customer("other"),
		builders.Invitation("u@x.example", "acme", "all").AcceptedAt(acceptedAt).Blocked(),
		builders.Binding("u@x.example", "all", "north"), builders.Binding("u@x.example", "all", "other"),
	)
	p := permissions.Compile(in, epoch)
	for _, org := range []string{"north", "acme", "other"} {
		h := access(t, p, org, "u@x.example")
		if h.status != v1alpha1.UserPhaseBlocked || h.perms != nil {
			t.Errorf("%s: %+v, want Blocked without permissions", org, h)
		}
	}
	b := must(t, p.Binding, "rb-u-x-example-all-other")
	if b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonSubjectBlocked {
		t.Errorf("binding of a blocked user: %+v", b)
	}
	if got := must(t, p.Organization, "acme").Users; got.Blocked != 1 || got.Active != 0 {
		t.Errorf("acme user counts = %+v", got)
	}
}

// Admission stores addresses in lowercase, but an object that did not pass through it
// must not escape a block by spelling the address in capitals: the engine compares
// addresses in their canonical form and lists users in it.
func TestAddressesDifferingInCaseAreOneUser(t *testing.T) {
	in := platform(
		builders.Role("all").Permissions("*"), builders.Customer("acme"), builders.Customer("other"),
		builders.Invitation("u@x.example", "acme", "all").AcceptedAt(acceptedAt).Blocked(),
		builders.Binding("U@X.Example", "all", "other").Named("u-other"),
		builders.Binding("Ann@X.example", "all", "acme").Named("ann-acme"),
	)
	for name, p := range map[string]*permissions.Platform{
		"whole":  permissions.Compile(in, epoch),
		"subset": permissions.Compile(permissions.InputFor(in, "other"), epoch),
	} {
		if h := access(t, p, "other", "u@x.example"); h.status != v1alpha1.UserPhaseBlocked || h.perms != nil {
			t.Errorf("%s: the blocked user bound as U@X.Example holds %+v in other, want Blocked without permissions", name, h)
		}
		if h := access(t, p, "other", "U@X.Example"); h.present {
			t.Errorf("%s: other's document lists the address as written, want it only in lowercase", name)
		}
		if b := must(t, p.Binding, "u-other"); b.Ready {
			t.Errorf("%s: the binding of a blocked user spelled in capitals is Ready", name)
		}
	}
	p := permissions.Compile(in, epoch)
	if h := access(t, p, "acme", "ann@x.example"); h.status != v1alpha1.UserPhaseActive || h.perms == nil {
		t.Errorf("Ann@X.example's binding gives ann@x.example %+v, want Active with the role's permissions", h)
	}
	if e := p.Explain("ANN@x.example", "acme", "sales"); !e.Allowed {
		t.Errorf("Explain for ANN@x.example: %+v, want allowed", e)
	}
}

func TestUserStatusAndOwnedBindings(t *testing.T) {
	inv := builders.Invitation("u@x.example", "acme", "customer", "billing").Named("u-acme")
	in := func(inv *builders.InvitationBuilder, extra ...any) permissions.Input {
		return platform(append([]any{
			builders.Role("customer").Permissions("subscriptions"), builders.Role("billing").Permissions("invoices"), builders.Role("extra").Permissions("extra"),
			builders.Customer("acme"),
			inv,
			builders.Binding("u@x.example", "customer", "acme").Named("u-acme-customer").OwnedBy("u-acme"),
			builders.Binding("u@x.example", "billing", "acme").Named("u-acme-billing").OwnedBy("u-acme"),
			builders.Binding("u@x.example", "extra", "acme").Named("u-acme-extra").OwnedBy("u-acme"),
		}, extra...)...)
	}
	// New: owned bindings (left over, or created early) grant nothing.
	p := permissions.Compile(in(inv), epoch)
	if h := access(t, p, "acme", "u@x.example"); h.status != v1alpha1.UserPhaseNew || h.perms != nil {
		t.Errorf("New user: %+v", h)
	}
	if b := must(t, p.Binding, "u-acme-customer"); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonInvitationNotActive {
		t.Errorf("binding of a New invitation: %+v", b)
	}
	// Active: the granted roles' bindings grant; a binding for a role not granted does not.
	p = permissions.Compile(in(inv.AcceptedAt(acceptedAt)), epoch)
	if h := access(t, p, "acme", "u@x.example"); h.status != v1alpha1.UserPhaseActive || !equal(h.perms, []string{"invoices", "subscriptions"}) {
		t.Errorf("Active user: %+v", h)
	}
	if b := must(t, p.Binding, "u-acme-extra"); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonRoleNotGranted {
		t.Errorf("binding for a role the invitation does not grant: %+v", b)
	}
	// A binding whose invitation is gone grants nothing, and does not list the user.
	p = permissions.Compile(platform(builders.Role("customer").Permissions("subscriptions"), builders.Customer("acme"),
		builders.Binding("u@x.example", "customer", "acme").Named("orphan").OwnedBy("gone")), epoch)
	if b := must(t, p.Binding, "orphan"); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonInvitationNotActive {
		t.Errorf("orphaned binding: %+v", b)
	}
	if h := access(t, p, "acme", "u@x.example"); h.present {
		t.Errorf("a user with only an orphaned binding is listed: %+v", h)
	}
	// A user with a binding managed outside and no invitation is Active.
	p = permissions.Compile(platform(builders.Role("customer").Permissions("subscriptions"), builders.Customer("acme"), builders.Customer("beta"),
		builders.Binding("m@x.example", "customer", "acme"), builders.Invitation("m@x.example", "beta")), epoch)
	if h := access(t, p, "beta", "m@x.example"); h.status != v1alpha1.UserPhaseActive || !equal(h.perms, []string{}) {
		t.Errorf("a user managed outside is Active everywhere, with an empty set where they hold nothing: %+v", h)
	}
}

func TestDelegation(t *testing.T) {
	roles := []any{
		builders.Role("admin").Permissions("*").Assigns("*"),
		builders.Role("customer-admin").Permissions("subscriptions", "users").Assigns("customer", "accountant"),
		builders.Role("customer").Permissions("subscriptions"),
		builders.Role("accountant").Permissions("invoices"),
		builders.Role("manager").Permissions("stores").Assigns("*"),
		builders.Role("store-clerk").Permissions("stores/read"),
		builders.Role("team").Permissions("stores/read", "reports"),
		// Within what mgr holds, but leading beyond it: a gate to admin, a role that
		// becomes admin at its removeAfter, a gate to a gate to admin; and a gate to a
		// role mgr holds, and a deprecated role replaced by one.
		builders.Role("gate").Permissions("stores/read").Assigns("admin"),
		builders.Role("becomes-admin").Permissions("stores/read").Deprecated("admin", epoch.Add(time.Hour)),
		builders.Role("gate-to-gate").Permissions("stores/read").Assigns("gate"),
		builders.Role("clerk-gate").Permissions("stores/read").Assigns("store-clerk", "clerk-gate"),
		builders.Role("becomes-clerk").Permissions("stores").Deprecated("store-clerk", epoch.Add(time.Hour)),
		// Within what mgr holds today, but not for sure: a role including one that
		// becomes admin, and one not Ready (its include is missing) that would grant
		// everything once the include is created.
		builders.Role("wraps-becomes-admin").Includes("becomes-admin"),
		builders.Role("unfinished").Permissions("*").Includes("not-yet-created"),
		builders.Distributor("north").Owner("boss@north.example"), builders.Seller("s").Under("north"), builders.Customer("acme").Under("s"), builders.Unit("store").Under("acme"),
		builders.Binding("ca@x.example", "customer-admin", "acme"),
		builders.Binding("mgr@x.example", "manager", "store"),
		builders.Binding("blocked@x.example", "admin", "north"),
		builders.Invitation("blocked@x.example", "north", "admin").AcceptedAt(acceptedAt).Blocked(),
	}
	tests := []struct {
		name      string
		invite    *builders.InvitationBuilder
		wantPhase v1alpha1.UserPhase
		wantInMsg string
	}{
		{"listed in assignableRoles", builders.Invitation("u@x.example", "acme", "customer").InvitedBy("ca@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, ""},
		{"listed, in a descendant", builders.Invitation("u@x.example", "store", "accountant").InvitedBy("ca@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, ""},
		{"not listed", builders.Invitation("u@x.example", "acme", "customer", "manager").InvitedBy("ca@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "role manager"},
		{"not held in that organization", builders.Invitation("u@x.example", "s", "customer").InvitedBy("ca@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "role customer"},
		{"star covers roles whose permissions they hold", builders.Invitation("u@x.example", "store", "store-clerk").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, ""},
		{"star refuses more than they hold", builders.Invitation("u@x.example", "store", "team").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "role team"},
		{"star refuses a role that may assign more than they hold", builders.Invitation("u@x.example", "store", "gate").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "role gate"},
		{"star refuses a role that becomes more than they hold", builders.Invitation("u@x.example", "store", "becomes-admin").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "role becomes-admin"},
		{"star refuses a role that leads, through another, to more than they hold", builders.Invitation("u@x.example", "store", "gate-to-gate").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "role gate-to-gate"},
		{"star refuses a role including one that becomes more than they hold", builders.Invitation("u@x.example", "store", "wraps-becomes-admin").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "role wraps-becomes-admin"},
		{"star refuses a role that is not Ready", builders.Invitation("u@x.example", "store", "unfinished").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "role unfinished"},
		{"star covers a role that may assign only what they hold, itself included", builders.Invitation("u@x.example", "store", "clerk-gate").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, ""},
		{"star covers a role replaced by one they hold", builders.Invitation("u@x.example", "store", "becomes-clerk").InvitedBy("mgr@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, ""},
		{"owner of an ancestor", builders.Invitation("u@x.example", "store", "admin").InvitedBy("boss@north.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseActive, ""},
		{"blocked inviter", builders.Invitation("u@x.example", "acme", "customer").InvitedBy("blocked@x.example").AcceptedAt(acceptedAt), v1alpha1.UserPhaseRejected, "blocked"},
		{"judged even before acceptance", builders.Invitation("u@x.example", "acme", "manager").InvitedBy("ca@x.example"), v1alpha1.UserPhaseRejected, "role manager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := permissions.Compile(platform(append(roles, tt.invite)...), epoch)
			res := must(t, p.Invitation, tt.invite.Obj().Name)
			c := ready(t, res.Conditions)
			if res.Phase != tt.wantPhase || !strings.Contains(c.Message, tt.wantInMsg) {
				t.Errorf("phase %s (%s: %s), want %s mentioning %q", res.Phase, c.Reason, c.Message, tt.wantPhase, tt.wantInMsg)
			}
			if tt.wantPhase == v1alpha1.UserPhaseRejected && c.Reason != v1alpha1.ReasonDelegationRefused {
				t.Errorf("reason = %s, want DelegationRefused", c.Reason)
			}
			if tt.wantPhase == v1alpha1.UserPhaseActive && res.GrantedBy != string(tt.invite.Obj().Spec.InvitedBy) {
				t.Errorf("grantedBy = %q", res.GrantedBy)
			}
		})
	}
}

func TestDelegationIsJudgedOnceWhenGranted(t *testing.T) {
	roles := []any{builders.Role("customer-admin").Permissions("users").Assigns("customer"), builders.Role("customer").Permissions("subscriptions"), builders.Customer("acme")}
	// The inviter has since lost their role: a grant already judged stays.
	kept := builders.Invitation("u@x.example", "acme", "customer").InvitedBy("left@x.example").AcceptedAt(acceptedAt).Granted("left@x.example", "customer")
	p := permissions.Compile(platform(append(roles, kept)...), epoch)
	if got := must(t, p.Invitation, kept.Obj().Name).Phase; got != v1alpha1.UserPhaseActive {
		t.Errorf("granted invitation re-judged after the inviter left: %s", got)
	}
	// Changing the roles re-judges.
	changed := builders.Invitation("u@x.example", "acme", "customer", "customer-admin").InvitedBy("left@x.example").AcceptedAt(acceptedAt).Granted("left@x.example", "customer")
	p = permissions.Compile(platform(append(roles, changed)...), epoch)
	if got := must(t, p.Invitation, changed.Obj().Name).Phase; got != v1alpha1.UserPhaseRejected {
		t.Errorf("changed roles must be judged again: %s", got)
	}
	// A Rejected invitation converges once the inviter's access arrives, in any order.
	inviter := builders.Invitation("ca@x.example", "acme", "customer-admin").Named("ca").AcceptedAt(acceptedAt)
	invitee := builders.Invitation("u@x.example", "acme", "customer").InvitedBy("ca@x.example").AcceptedAt(acceptedAt)
	invitee.Phase(v1alpha1.UserPhaseRejected)
	p = permissions.Compile(platform(append(roles, invitee, inviter,
		builders.Binding("ca@x.example", "customer-admin", "acme").Named("ca-customer-admin").OwnedBy("ca"))...), epoch)
	if got := must(t, p.Invitation, invitee.Obj().Name).Phase; got != v1alpha1.UserPhaseActive {
		t.Errorf("invitation by a user whose own invitation is Active: %s, want Active", got)
	}
}

// An inviter who may assign a role in an organization only through a binding with
// inheritance None grants it there only: the invitation's bindings hold in the
// organization alone, as the inviter's do, and not in the units below it, where the
// inviter holds nothing (DESIGN.md: a user can never grant more than they hold). Found
// by the engine audit of 2026-12-07: the invitee held the role in every unit.
func TestDelegationThroughInheritanceNoneGrantsInTheOrganizationOnly(t *testing.T) {
	base := []any{
		builders.Role("manager").Permissions("stores").Assigns("clerk"),
		builders.Role("clerk").Permissions("stores/read"),
		builders.Customer("acme"), builders.Unit("store").Under("acme"),
		builders.Binding("lead@x.example", "manager", "acme").ThisOrganizationOnly(),
		builders.Binding("boss@x.example", "manager", "acme"),
	}
	for _, tt := range []struct {
		inviter     string
		granted     v1alpha1.Inheritance // the status's grantedInheritance
		inheritance v1alpha1.Inheritance // of the invitation's bindings
	}{
		{"lead@x.example", v1alpha1.InheritanceNone, v1alpha1.InheritanceNone},
		{"boss@x.example", "", v1alpha1.InheritanceSubtree},
	} {
		inv := builders.Invitation("u@x.example", "acme", "clerk").InvitedBy(tt.inviter).AcceptedAt(acceptedAt)
		res := must(t, permissions.Compile(platform(append(base, inv)...), epoch).Invitation, inv.Obj().Name)
		if res.Phase != v1alpha1.UserPhaseActive || res.GrantedInheritance != tt.granted || len(res.Bindings) != 1 || res.Bindings[0].Inheritance != tt.inheritance {
			t.Errorf("invited by %s: %s, grantedInheritance %q, bindings %+v; want Active, %q, one binding with inheritance %s",
				tt.inviter, res.Phase, res.GrantedInheritance, res.Bindings, tt.granted, tt.inheritance)
		}
	}

	// Recorded, the grant stays where it was made; the binding rendered from it grants
	// in acme and not below, and one claiming the subtree grants nothing.
	granted := builders.Invitation("u@x.example", "acme", "clerk").InvitedBy("lead@x.example").AcceptedAt(acceptedAt).
		Granted("lead@x.example", "clerk").GrantedHere()
	name := granted.Obj().Name
	here := permissions.Compile(platform(append(base, granted,
		builders.Binding("u@x.example", "clerk", "acme").OwnedBy(name).ThisOrganizationOnly())...), epoch)
	if !allowed(t, here, "acme", "u@x.example", "stores/read") || allowed(t, here, "store", "u@x.example", "stores/read") {
		t.Error("a grant in acme only must hold in acme and not in its unit")
	}
	wide := builders.Binding("u@x.example", "clerk", "acme").OwnedBy(name).Named("wide")
	p := permissions.Compile(platform(append(base, granted, wide)...), epoch)
	if allowed(t, p, "store", "u@x.example", "stores/read") || allowed(t, p, "acme", "u@x.example", "stores/read") {
		t.Error("an owned binding holding in the subtree of a grant in acme only must grant nothing")
	}
	if c := ready(t, must(t, p.Binding, "wide").Conditions); c.Reason != v1alpha1.ReasonRoleNotGranted || !strings.Contains(c.Message, "grantedInheritance None") {
		t.Errorf("binding wide: %+v, want RoleNotGranted naming grantedInheritance None", c)
	}
}

// An invitation that names no roles gets its organization's defaultRoles when granted,
// and keeps the roles recorded then: a later change of defaultRoles neither widens a
// trusted member's grant nor re-judges a delegated one (the adversarial audit made a
// trusted member administrator, and refused a delegated one, by editing defaultRoles).
// New invitations get the new defaults. Only a grant of defaultRoles is kept so
// (status.grantedDefaultRoles): a grant of roles the invitation named, once they are
// removed from it, and a Blocked status recorded before any grant, are judged again
// with today's defaults (the lifecycle audit kept an administrator's grant after its
// roles were removed, and granted nothing to a member blocked before acceptance).
func TestChangedDefaultRolesApplyToNewGrantsOnly(t *testing.T) {
	blockedWhileNew := builders.Invitation("early@x.example", "acme").Named("early").AcceptedAt(acceptedAt)
	blockedWhileNew.Phase(v1alpha1.UserPhaseBlocked)
	in := platform(
		builders.Role("viewer").Permissions("sales"), builders.Role("boss").Permissions("*"),
		builders.Role("lead").Permissions("sales").Assigns("viewer"),
		builders.Customer("acme").DefaultRoles("boss"),
		builders.Binding("ed@x.example", "lead", "acme"),
		builders.Invitation("trusted@x.example", "acme").Named("trusted").AcceptedAt(acceptedAt).GrantedDefaults("", "viewer"),
		builders.Binding("trusted@x.example", "viewer", "acme").Named("trusted-viewer").OwnedBy("trusted"),
		builders.Binding("trusted@x.example", "boss", "acme").Named("trusted-boss").OwnedBy("trusted"),
		builders.Invitation("delegated@x.example", "acme").Named("delegated").InvitedBy("ed@x.example").AcceptedAt(acceptedAt).GrantedDefaults("ed@x.example", "viewer"),
		builders.Invitation("new@x.example", "acme").Named("new").AcceptedAt(acceptedAt),
		// Granted viewer by name; its roles since removed: today's defaults.
		builders.Invitation("cleared@x.example", "acme").Named("cleared").AcceptedAt(acceptedAt).Granted("", "viewer"),
		// Recorded before grantedDefaultRoles existed, equal to today's defaults: kept.
		builders.Invitation("older@x.example", "acme").Named("older").AcceptedAt(acceptedAt).Granted("", "boss"),
		blockedWhileNew,
	)
	p := permissions.Compile(in, epoch)
	for name, want := range map[string][]string{"trusted": {"viewer"}, "delegated": {"viewer"}, "new": {"boss"}, "cleared": {"boss"}, "older": {"boss"}, "early": {"boss"}} {
		if res := must(t, p.Invitation, name); res.Phase != v1alpha1.UserPhaseActive || !equal(res.GrantedRoles, want) || !res.GrantedDefaultRoles {
			t.Errorf("%s: %s with %v (grantedDefaultRoles %t), want Active with %v, defaults", name, res.Phase, res.GrantedRoles, res.GrantedDefaultRoles, want)
		}
	}
	named := builders.Invitation("named@x.example", "acme", "viewer").Named("named").AcceptedAt(acceptedAt)
	if res := must(t, permissions.Compile(platform(builders.Role("viewer").Permissions("sales"), builders.Customer("acme"), named), epoch).Invitation, "named"); res.GrantedDefaultRoles {
		t.Errorf("an invitation naming its roles is granted them, not defaultRoles: %+v", res)
	}
	if h := access(t, p, "acme", "trusted@x.example"); !equal(h.roles, []string{"viewer"}) {
		t.Errorf("trusted holds %v in acme, want viewer alone (a binding to boss left by an earlier render grants nothing)", h.roles)
	}
}

// A binding that names an invitation as its owner grants only what that invitation
// grants: its role, to its user, in its organization. One written by hand for another
// user or organization grants nothing, and says why, rather than showing Ready while
// its subject stays New.
func TestOwnedBindingGrantsOnlyWhatItsInvitationGrants(t *testing.T) {
	in := platform(
		builders.Role("viewer").Permissions("sales"), builders.Distributor("north"), builders.Customer("acme").Under("north"),
		builders.Invitation("carl@x.example", "acme", "viewer").Named("carl").AcceptedAt(acceptedAt),
		builders.Binding("carl@x.example", "viewer", "acme").Named("carl-viewer").OwnedBy("carl"),
		builders.Binding("carl@x.example", "viewer", "north").Named("forged-org").OwnedBy("carl"),
		builders.Binding("mallory@x.example", "viewer", "acme").Named("forged-subject").OwnedBy("carl"),
	)
	p := permissions.Compile(in, epoch)
	if b := must(t, p.Binding, "carl-viewer"); !b.Ready {
		t.Errorf("the invitation's own binding: %+v, want Ready", b)
	}
	for _, name := range []string{"forged-org", "forged-subject"} {
		if b := must(t, p.Binding, name); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonRoleNotGranted {
			t.Errorf("%s: %+v, want not Ready, RoleNotGranted", name, b)
		}
	}
	if h := access(t, p, "north", "carl@x.example"); len(h.perms) != 0 {
		t.Errorf("carl holds %v in north through a binding his invitation does not grant", h.perms)
	}
}

// A grant into an organization that was deleted is not kept: the invitation is Rejected
// (OrganizationNotFound) and no longer makes its user Active in the organizations
// where they are only listed.
func TestGrantIntoADeletedOrganizationIsNotKept(t *testing.T) {
	in := platform(
		builders.Role("viewer").Permissions("sales"), builders.Distributor("north"),
		builders.Invitation("u@x.example", "gone", "viewer").Named("u-gone").AcceptedAt(acceptedAt).Granted("", "viewer"),
		builders.Invitation("u@x.example", "north", "viewer").Named("u-north"),
	)
	p := permissions.Compile(in, epoch)
	res := must(t, p.Invitation, "u-gone")
	if c := ready(t, res.Conditions); res.Phase != v1alpha1.UserPhaseRejected || c.Reason != v1alpha1.ReasonOrganizationNotFound {
		t.Errorf("granted invitation into a deleted organization: %s (%s), want Rejected, OrganizationNotFound", res.Phase, c.Reason)
	}
	if h := access(t, p, "north", "u@x.example"); h.status != v1alpha1.UserPhaseNew {
		t.Errorf("u in north: %s, want New (their only grant is into a deleted organization)", h.status)
	}
}

func TestBindingName(t *testing.T) {
	if got := permissions.BindingName("alice-acme", "customer"); got != "alice-acme-customer" {
		t.Errorf("BindingName = %s", got)
	}
	long := strings.Repeat("a", 200)
	got := permissions.BindingName(long, strings.Repeat("r", 100))
	other := permissions.BindingName(long, strings.Repeat("r", 99)+"s")
	if len(got) > 253 || got == other || !strings.HasPrefix(got, long) {
		t.Errorf("long names: %q (%d) vs %q", got, len(got), other)
	}
}

// The watches that fan an invitation's change out to organizations, roles, bindings and
// invitations pass a status write only when it changes what RecordsGrant, grantedRoles,
// grantedBy or grantedDefaultRoles say (controllers.invitationInputChanged). That is safe only while the
// engine reads nothing else of an invitation's status: here every other part of every
// status changes (a phase that records no grant for another such phase, Active for
// Blocked, conditions, expiresAt, bindings), and no result and no document may.
func TestEngineReadsOnlyThePersistedGrantOfAnInvitationsStatus(t *testing.T) {
	for seed, in := range randomPlatforms(500, 7) {
		if diff := outputsAfterStatusEdits(t, in); diff != "" {
			t.Fatalf("seed %d: a status change that records no other grant changed %s", seed, diff)
		}
	}
	if diff := outputsAfterStatusEdits(t, platformgen.Generate(platformgen.Small(), 1)); diff != "" {
		t.Fatalf("Small platform: a status change that records no other grant changed %s", diff)
	}
}

// outputsAfterStatusEdits compiles in, and again with every invitation's status changed
// but for what RecordsGrant says, grantedRoles, grantedBy and grantedDefaultRoles, and
// names the first output that differs ("" if none).
func outputsAfterStatusEdits(t *testing.T, in permissions.Input) string {
	t.Helper()
	noGrant := []v1alpha1.UserPhase{"", v1alpha1.UserPhaseNew, v1alpha1.UserPhaseExpired, v1alpha1.UserPhaseRejected}
	before := permissions.Compile(in, epoch)
	changed := in
	changed.Invitations = slices.Clone(in.Invitations)
	for i := range changed.Invitations {
		changed.Invitations[i] = changed.Invitations[i].DeepCopy()
		st := &changed.Invitations[i].Status
		switch st.Phase {
		case v1alpha1.UserPhaseActive:
			st.Phase = v1alpha1.UserPhaseBlocked
		case v1alpha1.UserPhaseBlocked:
			st.Phase = v1alpha1.UserPhaseActive
		default:
			st.Phase = noGrant[(slices.Index(noGrant, st.Phase)+1+i)%len(noGrant)]
			if permissions.RecordsGrant(st.Phase) {
				t.Fatalf("phase %q records a grant", st.Phase)
			}
		}
		st.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionUnknown, Reason: "Edited", Message: "by hand"}}
		st.ExpiresAt = &metav1.Time{Time: epoch.Add(time.Duration(i) * time.Hour)}
		st.Bindings = []string{fmt.Sprintf("edited-%d", i)}
	}
	return compareOutputs(in, before, permissions.Compile(changed, epoch))
}

// compareOutputs names the first result or document of in's objects that differs
// between a and b, or returns "".
func compareOutputs(in permissions.Input, a, b *permissions.Platform) string {
	for _, org := range a.Organizations() {
		da, _ := a.Document(org)
		db, _ := b.Document(org)
		if len(da.Shards) != len(db.Shards) {
			return "the document of " + org
		}
		for i := range da.Shards {
			if !bytes.Equal(da.Shards[i], db.Shards[i]) {
				return "the document of " + org
			}
		}
	}
	for _, inv := range in.Invitations {
		ra, _ := a.Invitation(inv.Name)
		rb, _ := b.Invitation(inv.Name)
		if !reflect.DeepEqual(ra, rb) {
			return fmt.Sprintf("invitation %s: %+v, then %+v", inv.Name, ra, rb)
		}
	}
	for _, bnd := range in.Bindings {
		ra, _ := a.Binding(bnd.Name)
		rb, _ := b.Binding(bnd.Name)
		if !reflect.DeepEqual(ra, rb) {
			return fmt.Sprintf("binding %s: %+v, then %+v", bnd.Name, ra, rb)
		}
	}
	for _, role := range in.Roles {
		ra, _ := a.Role(role.Name)
		rb, _ := b.Role(role.Name)
		if !reflect.DeepEqual(ra, rb) {
			return fmt.Sprintf("role %s: %+v, then %+v", role.Name, ra, rb)
		}
	}
	na, oka := a.NextChange()
	nb, okb := b.NextChange()
	if oka != okb || !na.Equal(nb) {
		return fmt.Sprintf("NextChange: %v, then %v", na, nb)
	}
	return ""
}

// JudgedOnInviter names every invitation the engine may judge on its inviter's access,
// and leaves out those it never does: trusted, blocked, or with its grant recorded.
func TestJudgedOnInviter(t *testing.T) {
	inv := func() *builders.InvitationBuilder {
		return builders.Invitation("u@x.example", "acme", "customer", "viewer").InvitedBy("boss@x.example").CreatedAt(epoch.Add(-time.Hour)).AcceptedAt(acceptedAt)
	}
	for _, tt := range []struct {
		name string
		inv  *builders.InvitationBuilder
		want bool
	}{
		{"trusted", builders.Invitation("u@x.example", "acme", "customer").AcceptedAt(acceptedAt), false},
		{"blocked", inv().Blocked(), false},
		{"granted", inv().Granted("boss@x.example", "viewer", "customer"), false},
		{"blocked after its grant", inv().Granted("boss@x.example", "customer", "viewer").Phase(v1alpha1.UserPhaseBlocked), false},
		{"not granted yet", inv(), true},
		{"granted, but accepted after it expired", inv().CreatedAt(epoch.Add(-200*time.Hour)).Granted("boss@x.example", "customer", "viewer"), true},
		{"New", builders.Invitation("u@x.example", "acme", "customer").InvitedBy("boss@x.example"), true},
		{"roles changed since the grant", inv().Granted("boss@x.example", "customer"), true},
		{"inviter changed since the grant", inv().Granted("other@x.example", "customer", "viewer"), true},
		{"the organization's defaultRoles, not accepted", builders.Invitation("u@x.example", "acme").InvitedBy("boss@x.example").Granted("boss@x.example", "customer"), true},
		{"granted the organization's defaultRoles", builders.Invitation("u@x.example", "acme").InvitedBy("boss@x.example").CreatedAt(epoch.Add(-time.Hour)).AcceptedAt(acceptedAt).GrantedDefaults("boss@x.example", "customer"), false},
		{"no roles, granted others before", builders.Invitation("u@x.example", "acme").InvitedBy("boss@x.example").CreatedAt(epoch.Add(-time.Hour)).AcceptedAt(acceptedAt).Granted("boss@x.example", "customer"), true},
	} {
		if got := permissions.JudgedOnInviter(tt.inv.Obj()); got != tt.want {
			t.Errorf("%s: JudgedOnInviter = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A user may assign themselves a role they may assign (the seeds' admins give
// themselves the 360° Report Viewer role), judged on what they hold without it: a
// self-invitation cannot grant itself the right it needs.
func TestUserAssignsThemselves(t *testing.T) {
	p := permissions.Compile(platform(
		builders.Customer("acme"),
		builders.Role("admin").Permissions("users").Assigns("viewer"),
		builders.Role("viewer").Permissions("reports"),
		builders.Role("boss").Permissions("users").Assigns("boss"),
		builders.Binding("ann@x.example", "admin", "acme").Named("ann-admin"),
		builders.Invitation("ann@x.example", "acme", "viewer").Named("ann-viewer").InvitedBy("ann@x.example").AcceptedAt(acceptedAt),
		builders.Invitation("bob@x.example", "acme", "boss").Named("bob-boss").InvitedBy("bob@x.example").AcceptedAt(acceptedAt),
	), epoch)
	if res := must(t, p.Invitation, "ann-viewer"); res.Phase != v1alpha1.UserPhaseActive || !equal(res.GrantedRoles, []string{"viewer"}) {
		t.Errorf("ann assigning herself viewer: %s %v, want Active [viewer]", res.Phase, res.GrantedRoles)
	}
	res := must(t, p.Invitation, "bob-boss")
	if c := ready(t, res.Conditions); res.Phase != v1alpha1.UserPhaseRejected || c.Reason != v1alpha1.ReasonDelegationRefused {
		t.Errorf("bob assigning himself boss, holding nothing: %s %+v, want Rejected DelegationRefused", res.Phase, c)
	}
}
