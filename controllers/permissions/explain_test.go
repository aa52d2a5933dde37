package permissions_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestExplain(t *testing.T) {
	in := platform(
		builders.Tree("t", "orders", "orders/read", "orders/write", "customers", "customers/read", "reports").
			Implies("orders/write", "orders/read", "customers/read"),
		builders.Role("seller-admin").Includes("account-manager").Permissions("reports"),
		builders.Role("account-manager").Permissions("orders/write"),
		builders.Role("viewer").Permissions("reports"),
		builders.Distributor("north"), builders.Seller("s").Under("north"), builders.Customer("acme").Under("s"),
		builders.Binding("sa@x.example", "seller-admin", "s").Named("sa-s"),
		builders.Binding("sa@x.example", "viewer", "acme").Named("sa-acme"),
		builders.Binding("none@x.example", "viewer", "s").ThisOrganizationOnly().Named("none-s"),
		builders.Binding("exp@x.example", "viewer", "acme").ExpiresAt(epoch.Add(-1)).Named("exp-acme"),
		builders.Invitation("new@x.example", "acme", "viewer"),
	)
	p := permissions.Compile(in, epoch)

	e := p.Explain("sa@x.example", "acme", "customers/read")
	if !e.Allowed || len(e.Grants) != 1 {
		t.Fatalf("Explain = %+v, want one grant", e)
	}
	g := e.Grants[0]
	want := permissions.Grant{Binding: "sa-s", Organization: "s", Role: "seller-admin",
		IncludeChain: []string{"seller-admin", "account-manager"}, Via: "orders/write",
		Implied: []string{"orders/write implies customers/read"}}
	if g.Binding != want.Binding || g.Organization != want.Organization || g.Role != want.Role || g.Via != want.Via ||
		!slices.Equal(g.IncludeChain, want.IncludeChain) || !slices.Equal(g.Implied, want.Implied) {
		t.Errorf("grant = %+v, want %+v", g, want)
	}

	// Two bindings grant reports: both are listed.
	if e := p.Explain("sa@x.example", "acme", "reports"); !e.Allowed || len(e.Grants) != 2 {
		t.Errorf("reports: %+v, want grants from both bindings", e)
	}

	for _, tt := range []struct{ user, org, perm, reason string }{
		{"sa@x.example", "acme", "customers", "no role"},
		{"none@x.example", "acme", "reports", "no binding"},
		{"exp@x.example", "acme", "reports", "exp-acme (Expired)"},
		{"new@x.example", "acme", "reports", "New"},
		{"nobody@x.example", "acme", "reports", "no binding or invitation"},
		{"sa@x.example", "nowhere", "reports", "does not exist"},
	} {
		e := p.Explain(tt.user, tt.org, tt.perm)
		if e.Allowed || !strings.Contains(e.Reason, tt.reason) {
			t.Errorf("Explain(%s, %s, %s) = %+v, want refused mentioning %q", tt.user, tt.org, tt.perm, e, tt.reason)
		}
	}
}

func TestExplainReplacement(t *testing.T) {
	p := permissions.Compile(platform(
		builders.Role("old").Permissions("legacy").Deprecated("new", epoch.Add(-1)), builders.Role("new").Permissions("modern"),
		builders.Customer("acme"), builders.Binding("u@x.example", "old", "acme").Named("b"),
	), epoch)
	e := p.Explain("u@x.example", "acme", "modern/x")
	if !e.Allowed || e.Grants[0].Replacement != "new" || !slices.Equal(e.Grants[0].IncludeChain, []string{"old", "new"}) || e.Grants[0].Via != "modern" {
		t.Errorf("Explain through a replacement = %+v", e)
	}
	if e := p.Explain("u@x.example", "acme", "legacy"); e.Allowed {
		t.Errorf("a removed role's own permission is still explained as granted: %+v", e)
	}
}
