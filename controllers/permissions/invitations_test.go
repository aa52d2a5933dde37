package permissions_test

import (
	"strings"
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

func TestInvitationPhases(t *testing.T) {
	base := []any{Role("customer").Permissions("subscriptions"), Role("admin").Permissions("*").Assigns("customer"),
		Customer("acme").DefaultRoles("customer").Owner("owner@acme.example")}
	tests := []struct {
		name       string
		invite     *inviteB
		wantPhase  v1alpha1.UserPhase
		wantReason string
		wantRoles  []string
	}{
		{"new", Invite("u@x.example", "acme", "customer"), v1alpha1.UserPhaseNew, v1alpha1.ReasonPending, nil},
		{"accepted", Invite("u@x.example", "acme", "customer").Accepted(), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"customer"}},
		{"default roles", Invite("u@x.example", "acme").Accepted(), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"customer"}},
		{"blocked", Invite("u@x.example", "acme", "customer").Accepted().Blocked(), v1alpha1.UserPhaseBlocked, v1alpha1.ReasonBlocked, nil},
		{"expired", Invite("u@x.example", "acme", "customer").CreatedAgo(200 * time.Hour), v1alpha1.UserPhaseExpired, v1alpha1.ReasonExpired, nil},
		{"expiresAfter", Invite("u@x.example", "acme", "customer").CreatedAgo(2 * time.Hour).ExpiresAfter(time.Hour), v1alpha1.UserPhaseExpired, v1alpha1.ReasonExpired, nil},
		{"accepted never expires", Invite("u@x.example", "acme", "customer").CreatedAgo(2000 * time.Hour).Accepted(), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"customer"}},
		{"missing role", Invite("u@x.example", "acme", "ghost").Accepted(), v1alpha1.UserPhaseRejected, v1alpha1.ReasonRoleNotFound, nil},
		{"missing organization", Invite("u@x.example", "nowhere", "customer").Accepted(), v1alpha1.UserPhaseRejected, v1alpha1.ReasonOrganizationNotFound, nil},
		{"inviter holds nothing", Invite("u@x.example", "acme", "customer").By("stranger@x.example"), v1alpha1.UserPhaseRejected, v1alpha1.ReasonDelegationRefused, nil},
		{"owner may assign anything", Invite("u@x.example", "acme", "admin").By("owner@acme.example").Accepted(), v1alpha1.UserPhaseActive, v1alpha1.ReasonAccepted, []string{"admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := permissions.Compile(platform(append(base, tt.invite)...), epoch)
			res := mustInvitation(t, p, tt.invite.i.Name)
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
				if b.Name != tt.invite.i.Name+"-"+tt.wantRoles[k] || b.Role != tt.wantRoles[k] || b.Organization != "acme" || b.Email != "u@x.example" {
					t.Errorf("desired binding %+v", b)
				}
			}
			if accepted := tt.invite.i.Spec.AcceptedAt != nil; accepted == (res.ExpiresAt != nil) {
				t.Errorf("ExpiresAt = %v; want it exactly for invitations not accepted", res.ExpiresAt)
			}
		})
	}
}

func TestNewInvitationExpiryIsANextChange(t *testing.T) {
	inv := Invite("u@x.example", "acme").CreatedAgo(time.Hour)
	p := permissions.Compile(platform(Customer("acme"), inv), epoch)
	want := epoch.Add(-time.Hour + 168*time.Hour)
	if res := mustInvitation(t, p, inv.i.Name); res.ExpiresAt == nil || !res.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", res.ExpiresAt, want)
	}
	if next, ok := p.NextChange(); !ok || !next.Equal(want) {
		t.Errorf("NextChange = %v, want the expiry %v", next, want)
	}
	if got := mustInvitation(t, permissions.Compile(platform(Customer("acme"), inv), want), inv.i.Name).Phase; got != v1alpha1.UserPhaseExpired {
		t.Errorf("at the expiry instant the invitation is %s, want Expired", got)
	}
}

func TestBlockedUserHoldsNothingAnywhere(t *testing.T) {
	in := platform(
		Role("all").Permissions("*"), Distributor("north"), Customer("acme").Under("north"), Customer("other"),
		Invite("u@x.example", "acme", "all").Accepted().Blocked(),
		Bind("u@x.example", "all", "north"), Bind("u@x.example", "all", "other"),
	)
	p := permissions.Compile(in, epoch)
	for _, org := range []string{"north", "acme", "other"} {
		h := access(t, p, org, "u@x.example")
		if h.status != v1alpha1.UserPhaseBlocked || h.perms != nil {
			t.Errorf("%s: %+v, want Blocked without permissions", org, h)
		}
	}
	b := mustBinding(t, p, "rb-u-x-example-all-other")
	if b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonSubjectBlocked {
		t.Errorf("binding of a blocked user: %+v", b)
	}
	if got := mustOrg(t, p, "acme").Users; got.Blocked != 1 || got.Active != 0 {
		t.Errorf("acme user counts = %+v", got)
	}
}

func TestUserStatusAndOwnedBindings(t *testing.T) {
	inv := Invite("u@x.example", "acme", "customer", "billing").Named("u-acme")
	in := func(inv *inviteB, extra ...any) permissions.Input {
		return platform(append([]any{
			Role("customer").Permissions("subscriptions"), Role("billing").Permissions("invoices"), Role("extra").Permissions("extra"),
			Customer("acme"),
			inv,
			Bind("u@x.example", "customer", "acme").Named("u-acme-customer").OwnedBy("u-acme"),
			Bind("u@x.example", "billing", "acme").Named("u-acme-billing").OwnedBy("u-acme"),
			Bind("u@x.example", "extra", "acme").Named("u-acme-extra").OwnedBy("u-acme"),
		}, extra...)...)
	}
	// New: owned bindings (left over, or created early) grant nothing.
	p := permissions.Compile(in(inv), epoch)
	if h := access(t, p, "acme", "u@x.example"); h.status != v1alpha1.UserPhaseNew || h.perms != nil {
		t.Errorf("New user: %+v", h)
	}
	if b := mustBinding(t, p, "u-acme-customer"); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonInvitationNotActive {
		t.Errorf("binding of a New invitation: %+v", b)
	}
	// Active: the granted roles' bindings grant; a binding for a role not granted does not.
	p = permissions.Compile(in(inv.Accepted()), epoch)
	if h := access(t, p, "acme", "u@x.example"); h.status != v1alpha1.UserPhaseActive || !equal(h.perms, []string{"invoices", "subscriptions"}) {
		t.Errorf("Active user: %+v", h)
	}
	if b := mustBinding(t, p, "u-acme-extra"); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonRoleNotGranted {
		t.Errorf("binding for a role the invitation does not grant: %+v", b)
	}
	// A binding whose invitation is gone grants nothing, and does not list the user.
	p = permissions.Compile(platform(Role("customer").Permissions("subscriptions"), Customer("acme"),
		Bind("u@x.example", "customer", "acme").Named("orphan").OwnedBy("gone")), epoch)
	if b := mustBinding(t, p, "orphan"); b.Ready || ready(t, b.Conditions).Reason != v1alpha1.ReasonInvitationNotActive {
		t.Errorf("orphaned binding: %+v", b)
	}
	if h := access(t, p, "acme", "u@x.example"); h.present {
		t.Errorf("a user with only an orphaned binding is listed: %+v", h)
	}
	// A user with a binding managed outside and no invitation is Active.
	p = permissions.Compile(platform(Role("customer").Permissions("subscriptions"), Customer("acme"), Customer("beta"),
		Bind("m@x.example", "customer", "acme"), Invite("m@x.example", "beta")), epoch)
	if h := access(t, p, "beta", "m@x.example"); h.status != v1alpha1.UserPhaseActive || !equal(h.perms, []string{}) {
		t.Errorf("a user managed outside is Active everywhere, with an empty set where they hold nothing: %+v", h)
	}
}

func TestDelegation(t *testing.T) {
	roles := []any{
		Role("admin").Permissions("*").Assigns("*"),
		Role("customer-admin").Permissions("subscriptions", "users").Assigns("customer", "accountant"),
		Role("customer").Permissions("subscriptions"),
		Role("accountant").Permissions("invoices"),
		Role("manager").Permissions("stores").Assigns("*"),
		Role("store-clerk").Permissions("stores/read"),
		Role("team").Permissions("stores/read", "reports"),
		Distributor("north").Owner("boss@north.example"), Seller("s").Under("north"), Customer("acme").Under("s"), Unit("store").Under("acme"),
		Bind("ca@x.example", "customer-admin", "acme"),
		Bind("mgr@x.example", "manager", "store"),
		Bind("blocked@x.example", "admin", "north"),
		Invite("blocked@x.example", "north", "admin").Accepted().Blocked(),
	}
	tests := []struct {
		name      string
		invite    *inviteB
		wantPhase v1alpha1.UserPhase
		wantInMsg string
	}{
		{"listed in assignableRoles", Invite("u@x.example", "acme", "customer").By("ca@x.example").Accepted(), v1alpha1.UserPhaseActive, ""},
		{"listed, in a descendant", Invite("u@x.example", "store", "accountant").By("ca@x.example").Accepted(), v1alpha1.UserPhaseActive, ""},
		{"not listed", Invite("u@x.example", "acme", "customer", "manager").By("ca@x.example").Accepted(), v1alpha1.UserPhaseRejected, "role manager"},
		{"not held in that organization", Invite("u@x.example", "s", "customer").By("ca@x.example").Accepted(), v1alpha1.UserPhaseRejected, "role customer"},
		{"star covers roles whose permissions they hold", Invite("u@x.example", "store", "store-clerk").By("mgr@x.example").Accepted(), v1alpha1.UserPhaseActive, ""},
		{"star refuses more than they hold", Invite("u@x.example", "store", "team").By("mgr@x.example").Accepted(), v1alpha1.UserPhaseRejected, "role team"},
		{"owner of an ancestor", Invite("u@x.example", "store", "admin").By("boss@north.example").Accepted(), v1alpha1.UserPhaseActive, ""},
		{"blocked inviter", Invite("u@x.example", "acme", "customer").By("blocked@x.example").Accepted(), v1alpha1.UserPhaseRejected, "blocked"},
		{"judged even before acceptance", Invite("u@x.example", "acme", "manager").By("ca@x.example"), v1alpha1.UserPhaseRejected, "role manager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := permissions.Compile(platform(append(roles, tt.invite)...), epoch)
			res := mustInvitation(t, p, tt.invite.i.Name)
			c := ready(t, res.Conditions)
			if res.Phase != tt.wantPhase || !strings.Contains(c.Message, tt.wantInMsg) {
				t.Errorf("phase %s (%s: %s), want %s mentioning %q", res.Phase, c.Reason, c.Message, tt.wantPhase, tt.wantInMsg)
			}
			if tt.wantPhase == v1alpha1.UserPhaseRejected && c.Reason != v1alpha1.ReasonDelegationRefused {
				t.Errorf("reason = %s, want DelegationRefused", c.Reason)
			}
			if tt.wantPhase == v1alpha1.UserPhaseActive && res.GrantedBy != string(tt.invite.i.Spec.InvitedBy) {
				t.Errorf("grantedBy = %q", res.GrantedBy)
			}
		})
	}
}

func TestDelegationIsJudgedOnceWhenGranted(t *testing.T) {
	roles := []any{Role("customer-admin").Permissions("users").Assigns("customer"), Role("customer").Permissions("subscriptions"), Customer("acme")}
	// The inviter has since lost their role: a grant already judged stays.
	kept := Invite("u@x.example", "acme", "customer").By("left@x.example").Accepted().Granted("left@x.example", "customer")
	p := permissions.Compile(platform(append(roles, kept)...), epoch)
	if got := mustInvitation(t, p, kept.i.Name).Phase; got != v1alpha1.UserPhaseActive {
		t.Errorf("granted invitation re-judged after the inviter left: %s", got)
	}
	// Changing the roles re-judges.
	changed := Invite("u@x.example", "acme", "customer", "customer-admin").By("left@x.example").Accepted().Granted("left@x.example", "customer")
	p = permissions.Compile(platform(append(roles, changed)...), epoch)
	if got := mustInvitation(t, p, changed.i.Name).Phase; got != v1alpha1.UserPhaseRejected {
		t.Errorf("changed roles must be judged again: %s", got)
	}
	// A Rejected invitation converges once the inviter's access arrives, in any order.
	inviter := Invite("ca@x.example", "acme", "customer-admin").Named("ca").Accepted()
	invitee := Invite("u@x.example", "acme", "customer").By("ca@x.example").Accepted()
	invitee.i.Status.Phase = v1alpha1.UserPhaseRejected
	p = permissions.Compile(platform(append(roles, invitee, inviter,
		Bind("ca@x.example", "customer-admin", "acme").Named("ca-customer-admin").OwnedBy("ca"))...), epoch)
	if got := mustInvitation(t, p, invitee.i.Name).Phase; got != v1alpha1.UserPhaseActive {
		t.Errorf("invitation by a user whose own invitation is Active: %s, want Active", got)
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
