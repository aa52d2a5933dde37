package permissions_test

import (
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

// One scenario per seed article (DESIGN.md's seeds/): each encodes the article's role
// table and rules as expected permissions.

// Seed 000, "User permissions and roles Seller level": a seller's users may see all of
// the seller's customers; end customers are invited as "Customer" (purchase and manage
// subscriptions) or "Customer admin" (also invite users of the same organization);
// users are New, Active or Blocked, and a blocked user has no access.
func TestScenarioSellerLevel(t *testing.T) {
	in := platform(
		builders.Tree("portal", "customers", "customers/view", "customers/edit", "subscriptions", "subscriptions/purchase",
			"subscriptions/manage", "invoices", "users", "users/invite", "reports"),
		builders.Role("seller-admin").Permissions("customers", "subscriptions", "invoices", "users", "reports").Assigns("*").
			OrganizationTypes(v1alpha1.OrganizationTypeSeller),
		builders.Role("product-manager").Permissions("subscriptions/manage", "customers/view"),
		builders.Role("customer").Permissions("subscriptions/purchase", "subscriptions/manage"),
		builders.Role("customer-admin").Includes("customer").Permissions("users/invite").Assigns("customer", "customer-admin"),
		builders.Seller("contoso"), builders.Customer("acme").Under("contoso"), builders.Customer("globex").Under("contoso"),
		builders.Binding("sara@contoso.example", "seller-admin", "contoso"),
		builders.Invitation("ann@acme.example", "acme", "customer-admin").Named("ann").AcceptedAt(acceptedAt),
		builders.Binding("ann@acme.example", "customer-admin", "acme").Named("ann-customer-admin").OwnedBy("ann"),
		builders.Invitation("carl@acme.example", "acme", "customer").Named("carl").AcceptedAt(acceptedAt).InvitedBy("ann@acme.example"),
		builders.Binding("carl@acme.example", "customer", "acme").Named("carl-customer").OwnedBy("carl"),
		builders.Invitation("dora@acme.example", "acme", "customer").Named("dora").InvitedBy("carl@acme.example"),
		builders.Invitation("nina@acme.example", "acme", "customer").Named("nina").InvitedBy("ann@acme.example"),
		builders.Invitation("bob@acme.example", "acme", "customer").Named("bob").AcceptedAt(acceptedAt).Blocked(),
		builders.Binding("bob@acme.example", "customer", "acme").Named("bob-customer").OwnedBy("bob"),
	)
	p := permissions.Compile(in, epoch)

	for _, customer := range []string{"acme", "globex"} {
		if !allowed(t, p, customer, "sara@contoso.example", "customers/edit") {
			t.Errorf("the seller's admin must manage customer %s", customer)
		}
	}
	if !allowed(t, p, "acme", "carl@acme.example", "subscriptions/purchase") || allowed(t, p, "acme", "carl@acme.example", "invoices") {
		t.Error("a Customer purchases and manages subscriptions without seeing sensitive data")
	}
	if !allowed(t, p, "acme", "ann@acme.example", "users/invite") || allowed(t, p, "globex", "ann@acme.example", "subscriptions/purchase") {
		t.Error("a Customer admin invites users in their own organization only")
	}
	if got := must(t, p.Invitation, "carl").Phase; got != v1alpha1.UserPhaseActive {
		t.Errorf("an invitation by a Customer admin is %s, want Active", got)
	}
	if got := must(t, p.Invitation, "dora").Phase; got != v1alpha1.UserPhaseRejected {
		t.Errorf("a Customer cannot invite: dora is %s, want Rejected", got)
	}
	for user, want := range map[string]v1alpha1.UserPhase{"nina@acme.example": v1alpha1.UserPhaseNew, "carl@acme.example": v1alpha1.UserPhaseActive, "bob@acme.example": v1alpha1.UserPhaseBlocked} {
		if h := access(t, p, "acme", user); h.status != want {
			t.Errorf("%s is %s, want %s", user, h.status, want)
		}
	}
	if allowed(t, p, "acme", "bob@acme.example", "subscriptions/purchase") {
		t.Error("a blocked user has no access rights")
	}
	if c := must(t, p.Organization, "acme").Users; c.Active != 3 || c.New != 1 || c.Blocked != 1 || c.Rejected != 1 {
		t.Errorf("acme's user counts = %+v", c) // sara, ann, carl Active; nina New; bob Blocked; dora Rejected
	}
}

// Seed 001, "A Guide for Distributors, Sellers, and Customers": only a Distributor
// admin or Super admin may grant Distributor ReadOnly; that role alone gives read
// permissions; Reseller Report is added on top of existing roles; only Seller Admin and
// Account Manager edit markups; Distributor and Seller Admins see the 360° Report
// without the 360° Report Viewer role; Customer billing admin makes invoices visible.
func TestScenarioDistributorGuide(t *testing.T) {
	in := platform(
		builders.Tree("portal", "catalog", "catalog/read", "catalog/write", "subscriptions", "subscriptions/read", "subscriptions/write",
			"markups", "markups/read", "markups/write", "reports", "reports/read", "reports/reseller", "reports/360",
			"invoices", "invoices/read", "products", "products/read", "products/write", "cpq"),
		builders.Role("super-admin").Permissions("*").Assigns("*"),
		builders.Role("distributor-admin").Permissions("catalog", "markups", "reports/360", "subscriptions").
			Assigns("distributor-readonly", "report-viewer-360").OrganizationTypes(v1alpha1.OrganizationTypeDistributor),
		builders.Role("distributor-readonly").Permissions("*/read").OrganizationTypes(v1alpha1.OrganizationTypeDistributor),
		builders.Role("seller-admin").Permissions("markups", "subscriptions", "reports/360").Assigns("reseller-report", "report-viewer-360"),
		builders.Role("account-manager").Permissions("markups/write", "subscriptions/read"),
		builders.Role("subscription-manager").Permissions("subscriptions"),
		builders.Role("product-manager").Permissions("products", "cpq"),
		builders.Role("reseller-report").Permissions("reports/reseller"),
		builders.Role("report-viewer-360").Permissions("reports/360"),
		builders.Role("customer").Permissions("subscriptions/read"),
		builders.Role("customer-billing-admin").Includes("customer").Permissions("invoices"),
		builders.Distributor("northwind").Owner("owner@northwind.example"), builders.Seller("contoso").Under("northwind"), builders.Customer("acme").Under("contoso"),
		builders.Binding("dist@northwind.example", "distributor-admin", "northwind"),
		builders.Binding("super@northwind.example", "super-admin", "northwind"),
		builders.Binding("sel@contoso.example", "seller-admin", "contoso"),
		builders.Binding("am@contoso.example", "account-manager", "contoso"),
		builders.Binding("sm@contoso.example", "subscription-manager", "contoso"),
		builders.Binding("pm@contoso.example", "product-manager", "contoso"),
		builders.Binding("pm@contoso.example", "reseller-report", "contoso"),
		builders.Binding("bill@acme.example", "customer-billing-admin", "acme"),
		builders.Binding("cust@acme.example", "customer", "acme"),
		builders.Invitation("r1@northwind.example", "northwind", "distributor-readonly").InvitedBy("dist@northwind.example").Named("by-dist").AcceptedAt(acceptedAt),
		builders.Invitation("r2@northwind.example", "northwind", "distributor-readonly").InvitedBy("super@northwind.example").Named("by-super").AcceptedAt(acceptedAt),
		builders.Invitation("r3@northwind.example", "northwind", "distributor-readonly").InvitedBy("sel@contoso.example").Named("by-seller").AcceptedAt(acceptedAt),
		builders.Binding("r1@northwind.example", "distributor-readonly", "northwind").Named("by-dist-distributor-readonly").OwnedBy("by-dist"),
	)
	p := permissions.Compile(in, epoch)

	for inv, want := range map[string]v1alpha1.UserPhase{"by-dist": v1alpha1.UserPhaseActive, "by-super": v1alpha1.UserPhaseActive, "by-seller": v1alpha1.UserPhaseRejected} {
		if got := must(t, p.Invitation, inv).Phase; got != want {
			t.Errorf("Distributor ReadOnly invited %s: %s, want %s", inv, got, want)
		}
	}
	for _, perm := range []string{"catalog/read", "markups/read", "reports/read", "subscriptions/read"} {
		if !allowed(t, p, "acme", "r1@northwind.example", perm) {
			t.Errorf("Distributor ReadOnly alone must read %s", perm)
		}
	}
	if allowed(t, p, "acme", "r1@northwind.example", "catalog/write") {
		t.Error("Distributor ReadOnly must not write")
	}
	for user, want := range map[string]bool{"sel@contoso.example": true, "am@contoso.example": true, "sm@contoso.example": false, "pm@contoso.example": false} {
		if got := allowed(t, p, "acme", user, "markups/write"); got != want {
			t.Errorf("%s edits markups: %v, want %v", user, got, want)
		}
	}
	if !allowed(t, p, "acme", "pm@contoso.example", "reports/reseller") || !allowed(t, p, "acme", "pm@contoso.example", "cpq") {
		t.Error("Reseller Report adds to the Product Manager's existing access")
	}
	for _, admin := range []string{"dist@northwind.example", "sel@contoso.example"} {
		if !allowed(t, p, "acme", admin, "reports/360") {
			t.Errorf("%s sees the 360° Report without the viewer role", admin)
		}
	}
	if !allowed(t, p, "acme", "bill@acme.example", "invoices/read") || allowed(t, p, "acme", "cust@acme.example", "invoices/read") {
		t.Error("invoices are visible to the Customer billing admin only")
	}
}

// Seed 002, "Rights and Roles": Super User has everything, Auditor reads everything and
// changes nothing, Beta Preview gains only the feature, a user without a role has an
// empty set, and deprecated roles stop at their removal date.
func TestScenarioRightsAndRoles(t *testing.T) {
	areas := []string{"access", "tenant", "integration", "contracts", "orders", "documents", "products", "receivables", "customers", "accounting", "clearing", "reports"}
	tree := builders.Tree("webportal")
	for _, a := range areas {
		tree.Paths(a, a+"/read").Implies(a+"/write", a+"/read")
	}
	removal := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	build := func(now time.Time) *permissions.Platform {
		return permissions.Compile(platform(tree,
			builders.Role("super-user").Permissions("*"),
			builders.Role("admin").Permissions("access/write", "tenant/write", "integration/write"),
			builders.Role("auditor").Permissions("*/read"),
			builders.Role("order-manager").Permissions("tenant/read", "contracts/write", "orders/write", "documents/write", "products/read", "receivables/read", "customers/write"),
			builders.Role("finance-manager").Permissions("tenant/read", "accounting/write", "clearing/write", "reports/write", "documents/write",
				"customers/read", "contracts/read", "products/read", "receivables/read"),
			builders.Role("ar-manager").Permissions("receivables/write", "customers/read", "clearing/write", "documents/write", "tenant/read",
				"accounting/read", "reports/read", "contracts/read", "products/read"),
			builders.Role("product-manager").Permissions("products/write", "tenant/read", "contracts/read", "documents/read"),
			builders.Role("beta-preview").Features("beta-preview"),
			builders.Role("v1-operator").Permissions("orders/write").Deprecated("", removal),
			builders.Customer("tenant-1"),
			builders.Binding("root@t.example", "super-user", "tenant-1"),
			builders.Binding("audit@t.example", "auditor", "tenant-1"),
			builders.Binding("beta@t.example", "beta-preview", "tenant-1"),
			builders.Binding("pm@t.example", "product-manager", "tenant-1"), builders.Binding("pm@t.example", "beta-preview", "tenant-1"),
			builders.Binding("old@t.example", "v1-operator", "tenant-1"),
			builders.Invitation("plain@t.example", "tenant-1").CreatedAt(removal.Add(-3*time.Hour)).AcceptedAt(removal.Add(-2*time.Hour)),
		), now)
	}
	p := build(removal.Add(-time.Hour))
	for _, a := range areas {
		if !allowed(t, p, "tenant-1", "root@t.example", a+"/write") {
			t.Errorf("Super User must hold %s/write", a)
		}
		if !allowed(t, p, "tenant-1", "audit@t.example", a+"/read") || allowed(t, p, "tenant-1", "audit@t.example", a+"/write") {
			t.Errorf("Auditor must read %s and write nothing", a)
		}
	}
	if h := access(t, p, "tenant-1", "beta@t.example"); len(h.perms) != 0 || !equal(h.features, []string{"beta-preview"}) {
		t.Errorf("Beta Preview alone gains only the feature: %+v", h)
	}
	pm := access(t, p, "tenant-1", "pm@t.example")
	if !equal(pm.features, []string{"beta-preview"}) || !equal(pm.perms, []string{"contracts/read", "documents/read", "products/read", "products/write", "tenant/read"}) {
		t.Errorf("Product Manager with Beta Preview: %+v", pm)
	}
	if h := access(t, p, "tenant-1", "plain@t.example"); h.status != v1alpha1.UserPhaseActive || h.perms == nil || len(h.perms) != 0 {
		t.Errorf("a user without a role signs in with an empty set: %+v", h)
	}
	if !allowed(t, p, "tenant-1", "old@t.example", "orders/write") {
		t.Error("a deprecated role works until its removal date")
	}
	if allowed(t, build(removal), "tenant-1", "old@t.example", "orders/read") {
		t.Error("from the removal date a deprecated role without replacement grants nothing")
	}
}

// Seed 003, "Company roles and permissions": permissions form a tree and selecting a
// main option selects all subordinate options; companies define their own roles
// (Default User, Senior Buyer, Assistant Buyer) for their users.
func TestScenarioCompanyRoles(t *testing.T) {
	in := platform(
		builders.Tree("storefront",
			"sales", "sales/checkout", "sales/pay-on-account", "sales/orders", "sales/orders/subordinates",
			"quotes", "quotes/view", "quotes/edit", "quotes/checkout", "quotes/subordinates", "quotes/subordinates/view",
			"quotes/templates", "quotes/templates/view", "quotes/templates/edit",
			"company", "company/account", "company/account/edit", "company/address", "company/contacts", "company/payment", "company/shipping",
			"users", "users/roles", "users/roles/view", "users/roles/manage", "users/teams", "users/teams/view", "users/teams/manage",
			"credit", "credit/history"),
		builders.Role("default-user").Of("acme").Permissions("sales", "quotes", "company/account", "company/address", "credit/history"),
		builders.Role("senior-buyer").Of("acme").Permissions("sales", "quotes", "company/account", "company/address", "company/contacts",
			"company/payment", "users/roles/view", "users/teams/view", "credit/history"),
		builders.Role("assistant-buyer").Of("acme").Permissions("quotes/checkout", "sales/orders", "quotes/view", "company/account"),
		builders.Role("company-admin").Permissions("*").Assigns("*"),
		builders.Customer("acme").Owner("admin@acme.example"), builders.Customer("globex"),
		builders.Binding("admin@acme.example", "company-admin", "acme"),
		builders.Binding("dee@acme.example", "default-user", "acme"),
		builders.Binding("sam@acme.example", "senior-buyer", "acme"),
		builders.Binding("ash@acme.example", "assistant-buyer", "acme"),
		builders.Binding("ash@acme.example", "assistant-buyer", "globex").Named("ash-globex"),
	)
	p := permissions.Compile(in, epoch)
	if h := access(t, p, "acme", "dee@acme.example"); !containsAll(h.perms, "sales", "sales/checkout", "sales/pay-on-account", "sales/orders", "sales/orders/subordinates") {
		t.Errorf("selecting Sales selects all its subordinates: %v", h.perms)
	}
	if !allowed(t, p, "acme", "dee@acme.example", "company/account/edit") {
		t.Error("Account Information selected selects its nested Edit")
	}
	if allowed(t, p, "acme", "sam@acme.example", "users/roles/manage") || !allowed(t, p, "acme", "sam@acme.example", "users/roles/view") {
		t.Error("Senior Buyer views roles and permissions, does not manage them")
	}
	if !allowed(t, p, "acme", "ash@acme.example", "quotes/checkout") || allowed(t, p, "acme", "ash@acme.example", "sales/checkout") {
		t.Error("Assistant Buyer checks out with a quote only")
	}
	if b := must(t, p.Binding, "ash-globex"); b.Ready {
		t.Error("a company's own role cannot be bound in another company")
	}
	if !allowed(t, p, "acme", "admin@acme.example", "users/teams/manage") {
		t.Error("the company administrator has full permissions")
	}
}

// Seed 004, "User management": Administrators see all stores; Accountants, Managers and
// Team members only the stores they were given; Accountant and Team member cannot
// invite; a Manager adds team members for their own stores only; the account owner is
// the main contact (and may assign any role).
func TestScenarioStoreUserManagement(t *testing.T) {
	in := platform(
		builders.Tree("merchant", "business", "business/view", "stores", "stores/view", "bank-accounts", "bank-accounts/view",
			"products", "products/view", "pricing", "pricing/view", "transactions", "transactions/view", "transactions/download",
			"invoices", "invoices/view", "team", "team/view", "team/manage", "documents", "documents/sign"),
		builders.Role("administrator").Permissions("business/view", "stores/view", "bank-accounts/view", "products/view", "pricing/view",
			"transactions", "invoices", "documents/sign", "team").Assigns("administrator", "accountant", "manager", "team-member"),
		builders.Role("accountant").Permissions("business/view", "stores/view", "bank-accounts/view", "products/view", "pricing/view", "transactions", "invoices/view"),
		builders.Role("manager").Permissions("stores/view", "products/view", "transactions", "bank-accounts/view", "invoices/view", "team").Assigns("team-member"),
		builders.Role("team-member").Permissions("stores/view", "products/view", "transactions"),
		builders.Customer("shop").Owner("owner@shop.example"),
		builders.Unit("store-1").Under("shop"), builders.Unit("store-2").Under("shop"), builders.Unit("store-3").Under("shop"),
		builders.Binding("adm@shop.example", "administrator", "shop"),
		builders.Binding("acc@shop.example", "accountant", "store-1").ThisOrganizationOnly(),
		builders.Binding("mgr@shop.example", "manager", "store-1").ThisOrganizationOnly(), builders.Binding("mgr@shop.example", "manager", "store-2").ThisOrganizationOnly(),
		builders.Binding("tm@shop.example", "team-member", "store-3").ThisOrganizationOnly(),
		builders.Invitation("new-tm@shop.example", "store-1", "team-member").InvitedBy("mgr@shop.example").Named("mgr-invites-store-1"),
		builders.Invitation("new-tm@shop.example", "store-3", "team-member").InvitedBy("mgr@shop.example").Named("mgr-invites-store-3"),
		builders.Invitation("x@shop.example", "store-3", "team-member").InvitedBy("tm@shop.example").Named("tm-invites"),
		builders.Invitation("y@shop.example", "store-1", "team-member").InvitedBy("acc@shop.example").Named("acc-invites"),
		builders.Invitation("z@shop.example", "shop", "administrator").InvitedBy("owner@shop.example").Named("owner-invites"),
	)
	p := permissions.Compile(in, epoch)
	for _, store := range []string{"store-1", "store-2", "store-3"} {
		if !allowed(t, p, store, "adm@shop.example", "transactions/download") {
			t.Errorf("Administrators have access to all stores: %s", store)
		}
	}
	for store, want := range map[string]bool{"store-1": true, "store-2": true, "store-3": false, "shop": false} {
		if got := allowed(t, p, store, "mgr@shop.example", "stores/view"); got != want {
			t.Errorf("manager of store-1 and store-2 sees %s: %v, want %v", store, got, want)
		}
	}
	if allowed(t, p, "store-2", "acc@shop.example", "invoices/view") || !allowed(t, p, "store-1", "acc@shop.example", "invoices/view") {
		t.Error("Accountants see only the stores they have permissions for")
	}
	if allowed(t, p, "store-1", "mgr@shop.example", "documents/sign") || !allowed(t, p, "shop", "adm@shop.example", "documents/sign") {
		t.Error("signing documents is the administrators' (the owner's) only")
	}
	for inv, want := range map[string]v1alpha1.UserPhase{
		"mgr-invites-store-1": v1alpha1.UserPhaseNew,      // a manager adds team members to their stores
		"mgr-invites-store-3": v1alpha1.UserPhaseRejected, // but not to other stores
		"tm-invites":          v1alpha1.UserPhaseRejected, // a Team member cannot invite
		"acc-invites":         v1alpha1.UserPhaseRejected, // nor can an Accountant
		"owner-invites":       v1alpha1.UserPhaseNew,      // the account owner may assign any role
	} {
		if got := must(t, p.Invitation, inv).Phase; got != want {
			t.Errorf("invitation %s: %s, want %s", inv, got, want)
		}
	}
}

func containsAll(have []string, want ...string) bool {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}
