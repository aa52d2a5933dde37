package permissions_test

import (
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// One scenario per seed article (DESIGN.md's seeds/): each encodes the article's role
// table and rules as expected permissions.

// Seed 000, "User permissions and roles Seller level": a seller's users may see all of
// the seller's customers; end customers are invited as "Customer" (purchase and manage
// subscriptions) or "Customer admin" (also invite users of the same organization);
// users are New, Active or Blocked, and a blocked user has no access.
func TestScenarioSellerLevel(t *testing.T) {
	in := platform(
		Tree("portal", "customers", "customers/view", "customers/edit", "subscriptions", "subscriptions/purchase",
			"subscriptions/manage", "invoices", "users", "users/invite", "reports"),
		Role("seller-admin").Permissions("customers", "subscriptions", "invoices", "users", "reports").Assigns("*").
			Types(v1alpha1.OrganizationTypeSeller),
		Role("product-manager").Permissions("subscriptions/manage", "customers/view"),
		Role("customer").Permissions("subscriptions/purchase", "subscriptions/manage"),
		Role("customer-admin").Includes("customer").Permissions("users/invite").Assigns("customer", "customer-admin"),
		Seller("contoso"), Customer("acme").Under("contoso"), Customer("globex").Under("contoso"),
		Bind("sara@contoso.example", "seller-admin", "contoso"),
		Invite("ann@acme.example", "acme", "customer-admin").Named("ann").Accepted(),
		Bind("ann@acme.example", "customer-admin", "acme").Named("ann-customer-admin").OwnedBy("ann"),
		Invite("carl@acme.example", "acme", "customer").Named("carl").Accepted().By("ann@acme.example"),
		Bind("carl@acme.example", "customer", "acme").Named("carl-customer").OwnedBy("carl"),
		Invite("dora@acme.example", "acme", "customer").Named("dora").By("carl@acme.example"),
		Invite("nina@acme.example", "acme", "customer").Named("nina").By("ann@acme.example"),
		Invite("bob@acme.example", "acme", "customer").Named("bob").Accepted().Blocked(),
		Bind("bob@acme.example", "customer", "acme").Named("bob-customer").OwnedBy("bob"),
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
	if got := mustInvitation(t, p, "carl").Phase; got != v1alpha1.UserPhaseActive {
		t.Errorf("an invitation by a Customer admin is %s, want Active", got)
	}
	if got := mustInvitation(t, p, "dora").Phase; got != v1alpha1.UserPhaseRejected {
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
	if c := mustOrg(t, p, "acme").Users; c.Active != 3 || c.New != 1 || c.Blocked != 1 || c.Rejected != 1 {
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
		Tree("portal", "catalog", "catalog/read", "catalog/write", "subscriptions", "subscriptions/read", "subscriptions/write",
			"markups", "markups/read", "markups/write", "reports", "reports/read", "reports/reseller", "reports/360",
			"invoices", "invoices/read", "products", "products/read", "products/write", "cpq"),
		Role("super-admin").Permissions("*").Assigns("*"),
		Role("distributor-admin").Permissions("catalog", "markups", "reports/360", "subscriptions").
			Assigns("distributor-readonly", "report-viewer-360").Types(v1alpha1.OrganizationTypeDistributor),
		Role("distributor-readonly").Permissions("*/read").Types(v1alpha1.OrganizationTypeDistributor),
		Role("seller-admin").Permissions("markups", "subscriptions", "reports/360").Assigns("reseller-report", "report-viewer-360"),
		Role("account-manager").Permissions("markups/write", "subscriptions/read"),
		Role("subscription-manager").Permissions("subscriptions"),
		Role("product-manager").Permissions("products", "cpq"),
		Role("reseller-report").Permissions("reports/reseller"),
		Role("report-viewer-360").Permissions("reports/360"),
		Role("customer").Permissions("subscriptions/read"),
		Role("customer-billing-admin").Includes("customer").Permissions("invoices"),
		Distributor("northwind").Owner("owner@northwind.example"), Seller("contoso").Under("northwind"), Customer("acme").Under("contoso"),
		Bind("dist@northwind.example", "distributor-admin", "northwind"),
		Bind("super@northwind.example", "super-admin", "northwind"),
		Bind("sel@contoso.example", "seller-admin", "contoso"),
		Bind("am@contoso.example", "account-manager", "contoso"),
		Bind("sm@contoso.example", "subscription-manager", "contoso"),
		Bind("pm@contoso.example", "product-manager", "contoso"),
		Bind("pm@contoso.example", "reseller-report", "contoso"),
		Bind("bill@acme.example", "customer-billing-admin", "acme"),
		Bind("cust@acme.example", "customer", "acme"),
		Invite("r1@northwind.example", "northwind", "distributor-readonly").By("dist@northwind.example").Named("by-dist").Accepted(),
		Invite("r2@northwind.example", "northwind", "distributor-readonly").By("super@northwind.example").Named("by-super").Accepted(),
		Invite("r3@northwind.example", "northwind", "distributor-readonly").By("sel@contoso.example").Named("by-seller").Accepted(),
		Bind("r1@northwind.example", "distributor-readonly", "northwind").Named("by-dist-distributor-readonly").OwnedBy("by-dist"),
	)
	p := permissions.Compile(in, epoch)

	for inv, want := range map[string]v1alpha1.UserPhase{"by-dist": v1alpha1.UserPhaseActive, "by-super": v1alpha1.UserPhaseActive, "by-seller": v1alpha1.UserPhaseRejected} {
		if got := mustInvitation(t, p, inv).Phase; got != want {
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
	tree := Tree("webportal")
	for _, a := range areas {
		tree.t.Spec.Permissions = append(tree.t.Spec.Permissions,
			v1alpha1.Permission{Path: v1alpha1.PermissionPath(a)},
			v1alpha1.Permission{Path: v1alpha1.PermissionPath(a + "/read")},
			v1alpha1.Permission{Path: v1alpha1.PermissionPath(a + "/write"), Implies: []v1alpha1.PermissionPath{v1alpha1.PermissionPath(a + "/read")}})
	}
	removal := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	build := func(now time.Time) *permissions.Platform {
		return permissions.Compile(platform(tree,
			Role("super-user").Permissions("*"),
			Role("admin").Permissions("access/write", "tenant/write", "integration/write"),
			Role("auditor").Permissions("*/read"),
			Role("order-manager").Permissions("tenant/read", "contracts/write", "orders/write", "documents/write", "products/read", "receivables/read", "customers/write"),
			Role("finance-manager").Permissions("tenant/read", "accounting/write", "clearing/write", "reports/write", "documents/write",
				"customers/read", "contracts/read", "products/read", "receivables/read"),
			Role("ar-manager").Permissions("receivables/write", "customers/read", "clearing/write", "documents/write", "tenant/read",
				"accounting/read", "reports/read", "contracts/read", "products/read"),
			Role("product-manager").Permissions("products/write", "tenant/read", "contracts/read", "documents/read"),
			Role("beta-preview").Features("beta-preview"),
			Role("v1-operator").Permissions("orders/write").Deprecated("", removal),
			Customer("tenant-1"),
			Bind("root@t.example", "super-user", "tenant-1"),
			Bind("audit@t.example", "auditor", "tenant-1"),
			Bind("beta@t.example", "beta-preview", "tenant-1"),
			Bind("pm@t.example", "product-manager", "tenant-1"), Bind("pm@t.example", "beta-preview", "tenant-1"),
			Bind("old@t.example", "v1-operator", "tenant-1"),
			Invite("plain@t.example", "tenant-1").Accepted(),
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
		Tree("storefront",
			"sales", "sales/checkout", "sales/pay-on-account", "sales/orders", "sales/orders/subordinates",
			"quotes", "quotes/view", "quotes/edit", "quotes/checkout", "quotes/subordinates", "quotes/subordinates/view",
			"quotes/templates", "quotes/templates/view", "quotes/templates/edit",
			"company", "company/account", "company/account/edit", "company/address", "company/contacts", "company/payment", "company/shipping",
			"users", "users/roles", "users/roles/view", "users/roles/manage", "users/teams", "users/teams/view", "users/teams/manage",
			"credit", "credit/history"),
		Role("default-user").Of("acme").Permissions("sales", "quotes", "company/account", "company/address", "credit/history"),
		Role("senior-buyer").Of("acme").Permissions("sales", "quotes", "company/account", "company/address", "company/contacts",
			"company/payment", "users/roles/view", "users/teams/view", "credit/history"),
		Role("assistant-buyer").Of("acme").Permissions("quotes/checkout", "sales/orders", "quotes/view", "company/account"),
		Role("company-admin").Permissions("*").Assigns("*"),
		Customer("acme").Owner("admin@acme.example"), Customer("globex"),
		Bind("admin@acme.example", "company-admin", "acme"),
		Bind("dee@acme.example", "default-user", "acme"),
		Bind("sam@acme.example", "senior-buyer", "acme"),
		Bind("ash@acme.example", "assistant-buyer", "acme"),
		Bind("ash@acme.example", "assistant-buyer", "globex").Named("ash-globex"),
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
	if b := mustBinding(t, p, "ash-globex"); b.Ready {
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
		Tree("merchant", "business", "business/view", "stores", "stores/view", "bank-accounts", "bank-accounts/view",
			"products", "products/view", "pricing", "pricing/view", "transactions", "transactions/view", "transactions/download",
			"invoices", "invoices/view", "team", "team/view", "team/manage", "documents", "documents/sign"),
		Role("administrator").Permissions("business/view", "stores/view", "bank-accounts/view", "products/view", "pricing/view",
			"transactions", "invoices", "documents/sign", "team").Assigns("administrator", "accountant", "manager", "team-member"),
		Role("accountant").Permissions("business/view", "stores/view", "bank-accounts/view", "products/view", "pricing/view", "transactions", "invoices/view"),
		Role("manager").Permissions("stores/view", "products/view", "transactions", "bank-accounts/view", "invoices/view", "team").Assigns("team-member"),
		Role("team-member").Permissions("stores/view", "products/view", "transactions"),
		Customer("shop").Owner("owner@shop.example"),
		Unit("store-1").Under("shop"), Unit("store-2").Under("shop"), Unit("store-3").Under("shop"),
		Bind("adm@shop.example", "administrator", "shop"),
		Bind("acc@shop.example", "accountant", "store-1").Only(),
		Bind("mgr@shop.example", "manager", "store-1").Only(), Bind("mgr@shop.example", "manager", "store-2").Only(),
		Bind("tm@shop.example", "team-member", "store-3").Only(),
		Invite("new-tm@shop.example", "store-1", "team-member").By("mgr@shop.example").Named("mgr-invites-store-1"),
		Invite("new-tm@shop.example", "store-3", "team-member").By("mgr@shop.example").Named("mgr-invites-store-3"),
		Invite("x@shop.example", "store-3", "team-member").By("tm@shop.example").Named("tm-invites"),
		Invite("y@shop.example", "store-1", "team-member").By("acc@shop.example").Named("acc-invites"),
		Invite("z@shop.example", "shop", "administrator").By("owner@shop.example").Named("owner-invites"),
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
		if got := mustInvitation(t, p, inv).Phase; got != want {
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
