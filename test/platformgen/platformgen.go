// Package platformgen generates realistic orgaccess platforms of a given size, as the
// engine's plain input, for benchmarks, the scale harness and property tests. The same
// Size and seed always give the same platform.
//
// A generated platform has one distributor, its sellers and their customers; a
// permission tree split over two PermissionTrees with read/write leaves where write
// implies read; the seed articles' roles (composites with includes, a feature-only role,
// roles limited to organization types, custom roles of a few customers, a deprecated
// role past removeAfter and one before it); Subtree and None bindings at every level,
// some time-bound; and invitations in every phase, some invited by the organization's
// owner, some by an administrator, some by a user who may not assign the role.
package platformgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// Namespace is the namespace every generated object lives in.
const Namespace = "platform"

// Size says how big a platform to generate.
type Size struct {
	Sellers            int // sellers under the one distributor
	CustomersPerSeller int // customers under each seller
	Users              int // distinct user emails
	Bindings           int // RoleBindings in total (invitation-owned and managed outside)
	Roles              int // Roles in total, custom roles included
	TreePaths          int // paths across the PermissionTrees
}

// Full is the scale target: 10,101 organizations, 100,000 users, 200,000
// bindings, 50 roles and a 300-path tree.
func Full() Size {
	return Size{Sellers: 100, CustomersPerSeller: 100, Users: 100_000, Bindings: 200_000, Roles: 50, TreePaths: 300}
}

// Small is about a twentieth of Full, for quick tests.
func Small() Size {
	return Size{Sellers: 20, CustomersPerSeller: 25, Users: 5_000, Bindings: 10_000, Roles: 40, TreePaths: 150}
}

// Now is the instant a generated platform is meant to be compiled at: invitation ages,
// binding expiries and deprecation dates are relative to it.
func Now() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }

// Generate builds a platform of size s. The same s and seed give the same platform.
func Generate(s Size, seed int64) permissions.Input {
	g := &generator{
		size: s,
		rng:  rand.New(rand.NewPCG(uint64(seed), 0x6f7267616363)),
		now:  Now(),
	}
	g.tree()
	g.organizations()
	g.roles()
	g.users()
	return g.in
}

type generator struct {
	size Size
	rng  *rand.Rand
	now  time.Time
	in   permissions.Input

	paths   []string // every tree path, parents first
	areas   []string // top-level paths
	orgs    []orgInfo
	byType  map[v1alpha1.OrganizationType][]int // org indexes by type
	roleFor map[v1alpha1.OrganizationType][]string
	admins  map[string][]string // org name -> emails of its admins (for invitedBy)
	custom  map[string]string   // customer name -> its custom role
}

type orgInfo struct {
	name   string
	typ    v1alpha1.OrganizationType
	parent int // -1 for the root
}

var areaNames = []string{
	"tenant", "access", "integration", "contracts", "orders", "documents", "products",
	"receivables", "customers", "accounting", "clearing", "reports", "sales", "quotes",
	"company", "credit", "billing", "subscriptions", "markups", "stores",
}

var subAreaNames = []string{"settings", "history", "approvals", "exports"}

// tree lists paths level by level, so any prefix of the list holds every listed path's
// parent, and cuts it at TreePaths.
func (g *generator) tree() {
	var level1, level2, level3 []string
	for _, a := range areaNames {
		level1 = append(level1, a)
		level2 = append(level2, a+"/read", a+"/write")
		for _, s := range subAreaNames {
			level2 = append(level2, a+"/"+s)
			level3 = append(level3, a+"/"+s+"/read", a+"/"+s+"/write")
		}
	}
	all := slices.Concat(level1, level2, level3)
	for i := 0; len(all) < g.size.TreePaths; i++ {
		// Beyond the built-in catalogue: deeper leaves under the sub-areas.
		all = append(all, fmt.Sprintf("%s/item-%d", level2[i%len(level2)], i))
	}
	g.paths = all[:min(g.size.TreePaths, len(all))]
	exists := map[string]bool{}
	for _, p := range g.paths {
		exists[p] = true
	}
	for _, a := range areaNames {
		if exists[a] {
			g.areas = append(g.areas, a)
		}
	}
	trees := []*v1alpha1.PermissionTree{g.newTree("platform"), g.newTree("storefront")}
	for _, p := range g.paths {
		perm := v1alpha1.Permission{Path: v1alpha1.PermissionPath(p), Label: p}
		if base, ok := strings.CutSuffix(p, "/write"); ok && exists[base+"/read"] {
			perm.Implies = append(perm.Implies, v1alpha1.PermissionPath(base+"/read"))
		}
		if p == "orders/write" && exists["customers/read"] {
			perm.Implies = append(perm.Implies, "customers/read") // cross-area implication
		}
		// The storefront areas (sales onwards) live in a second tree; trees merge.
		t := trees[0]
		if slices.Index(areaNames, topArea(p)) >= 12 {
			t = trees[1]
		}
		t.Spec.Permissions = append(t.Spec.Permissions, perm)
	}
	for _, t := range trees {
		if len(t.Spec.Permissions) > 0 {
			g.in.Trees = append(g.in.Trees, t)
		}
	}
}

func (g *generator) newTree(name string) *v1alpha1.PermissionTree {
	return &v1alpha1.PermissionTree{ObjectMeta: g.meta(name, 400*24*time.Hour)}
}

func (g *generator) organizations() {
	g.byType = map[v1alpha1.OrganizationType][]int{}
	g.add(orgInfo{name: "northwind", typ: v1alpha1.OrganizationTypeDistributor, parent: -1})
	for s := range g.size.Sellers {
		seller := len(g.orgs)
		g.add(orgInfo{name: fmt.Sprintf("seller-%d", s), typ: v1alpha1.OrganizationTypeSeller, parent: 0})
		for c := range g.size.CustomersPerSeller {
			g.add(orgInfo{name: fmt.Sprintf("customer-%d-%d", s, c), typ: v1alpha1.OrganizationTypeCustomer, parent: seller})
		}
	}
	for _, o := range g.orgs {
		org := v1alpha1.Organization{
			ObjectMeta: g.meta(o.name, 300*24*time.Hour),
			Spec: v1alpha1.OrganizationSpec{
				Type:        o.typ,
				DisplayName: o.name,
				Owner:       v1alpha1.Email("owner@" + o.name + ".example"),
			},
		}
		if o.parent >= 0 {
			org.Spec.ParentRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(g.orgs[o.parent].name)}
		}
		if o.typ == v1alpha1.OrganizationTypeCustomer {
			org.Spec.DefaultRoles = []v1alpha1.RoleName{"customer"}
		}
		g.in.Organizations = append(g.in.Organizations, &org)
	}
}

func (g *generator) add(o orgInfo) {
	g.byType[o.typ] = append(g.byType[o.typ], len(g.orgs))
	g.orgs = append(g.orgs, o)
}

// roleSpec is a role of the catalogue before its paths are checked against the tree.
type roleSpec struct {
	name        string
	perms       []string
	includes    []string
	features    []string
	types       []v1alpha1.OrganizationType
	assignable  []string
	deprecation *v1alpha1.RoleDeprecation
}

var (
	distributorOnly = []v1alpha1.OrganizationType{v1alpha1.OrganizationTypeDistributor}
	sellerLevel     = []v1alpha1.OrganizationType{v1alpha1.OrganizationTypeDistributor, v1alpha1.OrganizationTypeSeller}
)

// catalogue is the seed articles' roles, most important first; Generate keeps the first
// Roles minus the custom ones.
func (g *generator) catalogue() []roleSpec {
	return []roleSpec{
		{name: "super-admin", perms: []string{"*"}, assignable: []string{"*"}},
		{name: "distributor-admin", perms: []string{"tenant", "access", "integration", "reports/read"}, types: distributorOnly,
			assignable: []string{"distributor-readonly", "seller-admin", "report-viewer-360", "customer-admin", "customer"}},
		{name: "distributor-readonly", perms: []string{"*/read"}, types: distributorOnly},
		{name: "seller-admin", perms: []string{"customers", "subscriptions", "markups", "reports/read", "billing/read"},
			includes: []string{"account-manager"}, types: sellerLevel, assignable: []string{"*"}},
		{name: "account-manager", perms: []string{"customers/write", "markups/write", "contracts/read"}},
		{name: "customer-admin", perms: []string{"subscriptions/write", "access/write"}, includes: []string{"customer"},
			assignable: []string{"customer", "customer-billing-admin", "accountant", "team-member"}},
		{name: "customer", perms: []string{"subscriptions/read", "products/read", "orders/write"}},
		{name: "customer-billing-admin", perms: []string{"billing"}, includes: []string{"customer"}},
		{name: "auditor", perms: []string{"*/read"}},
		{name: "beta-preview", features: []string{"beta-preview"}},
		{name: "product-manager", perms: []string{"products/write", "tenant/read", "contracts/read", "documents/read"}},
		{name: "subscription-manager", perms: []string{"subscriptions/write", "customers/read"}},
		{name: "reseller-report", perms: []string{"reports"}, types: sellerLevel},
		{name: "report-viewer-360", perms: []string{"reports/history"}, features: []string{"report-360"}},
		{name: "order-manager", perms: []string{"tenant/read", "contracts/write", "orders/write", "documents/write", "products/read", "receivables/read", "customers/write"}},
		{name: "finance-manager", perms: []string{"tenant/read", "accounting/write", "clearing/write", "reports/write", "documents/write", "customers/read"},
			includes: []string{"read-basics"}},
		{name: "read-basics", perms: []string{"contracts/read", "products/read", "receivables/read"}},
		{name: "ar-manager", perms: []string{"receivables/write", "clearing/write", "documents/write", "accounting/read", "reports/read"},
			includes: []string{"read-basics"}},
		{name: "administrator", perms: []string{"stores", "products/read", "accounting/read", "billing/read", "reports/read"},
			assignable: []string{"accountant", "manager", "team-member"}},
		{name: "accountant", perms: []string{"stores/read", "products/read", "accounting/read", "billing/read", "reports/read"}},
		{name: "manager", perms: []string{"stores/read", "products/read", "reports/read", "access/read"}, assignable: []string{"team-member"}},
		{name: "team-member", perms: []string{"stores/read", "products/read", "reports/read"}},
		{name: "default-user", perms: []string{"sales", "quotes", "company/read", "credit/read"}},
		{name: "senior-buyer", perms: []string{"sales", "quotes"}, includes: []string{"company-viewer"}},
		{name: "company-viewer", perms: []string{"company/read", "credit/read", "access/read", "billing/read"}},
		{name: "assistant-buyer", perms: []string{"sales/read", "quotes/read", "company/read", "orders/read"}},
		// Deprecated roles: one already past removeAfter (bindings grant its replacement),
		// one still working until next month.
		{name: "legacy-admin", perms: []string{"access", "tenant"}, deprecation: &v1alpha1.RoleDeprecation{
			Replacement: "customer-admin", RemoveAfter: metav1.NewTime(g.now.Add(-30 * 24 * time.Hour))}},
		{name: "legacy-viewer", perms: []string{"*/read"}, deprecation: &v1alpha1.RoleDeprecation{
			RemoveAfter: metav1.NewTime(g.now.Add(30 * 24 * time.Hour))}},
		{name: "integration-manager", perms: []string{"integration/write", "tenant/read"}},
		{name: "document-manager", perms: []string{"documents/write"}},
		{name: "quote-manager", perms: []string{"quotes/write", "quotes/approvals"}},
		{name: "approver", perms: []string{"orders/approvals", "quotes/approvals"}},
		{name: "credit-manager", perms: []string{"credit/write", "billing/read"}},
		{name: "sales-viewer", perms: []string{"sales/read", "orders/read"}},
		{name: "store-manager", perms: []string{"stores/write"}, includes: []string{"team-member"}},
		{name: "export-operator", perms: []string{"*/exports"}},
	}
}

func (g *generator) roles() {
	exists := map[string]bool{}
	for _, p := range g.paths {
		exists[p] = true
	}
	customers := g.byType[v1alpha1.OrganizationTypeCustomer]
	// A fifth of the roles (at most one per customer) are custom roles of one customer.
	customCount := min(g.size.Roles/5, len(customers))
	cat := g.catalogue()
	builtIn := min(g.size.Roles-customCount, len(cat))
	specs := slices.Clone(cat[:builtIn])
	for i := 0; len(specs) < g.size.Roles-customCount; i++ {
		// Filler roles beyond the catalogue: one area each.
		specs = append(specs, roleSpec{name: fmt.Sprintf("area-role-%d", i), perms: []string{g.areas[i%len(g.areas)] + "/read"}})
	}
	kept := map[string]bool{}
	for _, r := range specs {
		kept[r.name] = true
	}
	g.roleFor = map[v1alpha1.OrganizationType][]string{}
	for _, r := range specs {
		role := v1alpha1.Role{ObjectMeta: g.meta(r.name, 200*24*time.Hour)}
		role.Spec.DisplayName = r.name
		for _, p := range r.perms {
			// Keep only paths the (possibly cut) tree holds, so the role stays Ready.
			if exists[p] || patternMatchesSome(p, g.paths) {
				role.Spec.Permissions = append(role.Spec.Permissions, v1alpha1.PermissionPattern(p))
			}
		}
		for _, inc := range r.includes {
			if kept[inc] {
				role.Spec.Includes = append(role.Spec.Includes, v1alpha1.RoleName(inc))
			}
		}
		for _, f := range r.features {
			role.Spec.Features = append(role.Spec.Features, v1alpha1.FeatureName(f))
		}
		role.Spec.OrganizationTypes = r.types
		for _, a := range r.assignable {
			if a == "*" || kept[a] {
				role.Spec.AssignableRoles = append(role.Spec.AssignableRoles, v1alpha1.AssignableRole(a))
			}
		}
		if r.deprecation != nil && (r.deprecation.Replacement == "" || kept[string(r.deprecation.Replacement)]) {
			role.Spec.Deprecation = r.deprecation
		}
		g.in.Roles = append(g.in.Roles, &role)
		g.classify(r)
	}
	g.custom = map[string]string{}
	for i := range customCount {
		// Spread the custom roles over the customers.
		org := g.orgs[customers[i*len(customers)/customCount]].name
		name := org + "-custom"
		role := v1alpha1.Role{ObjectMeta: g.meta(name, 100*24*time.Hour)}
		role.Spec.OrganizationRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(org)}
		role.Spec.Permissions = []v1alpha1.PermissionPattern{v1alpha1.PermissionPattern(g.areas[i%len(g.areas)])}
		if kept["team-member"] {
			role.Spec.Includes = []v1alpha1.RoleName{"team-member"}
		}
		g.in.Roles = append(g.in.Roles, &role)
		g.custom[org] = name
	}
}

// classify files a catalogue role under the organization types it is usually bound at.
func (g *generator) classify(r roleSpec) {
	switch {
	case slices.Equal(r.types, distributorOnly) || r.name == "super-admin":
		g.roleFor[v1alpha1.OrganizationTypeDistributor] = append(g.roleFor[v1alpha1.OrganizationTypeDistributor], r.name)
	case slices.Equal(r.types, sellerLevel):
		g.roleFor[v1alpha1.OrganizationTypeSeller] = append(g.roleFor[v1alpha1.OrganizationTypeSeller], r.name)
		g.roleFor[v1alpha1.OrganizationTypeDistributor] = append(g.roleFor[v1alpha1.OrganizationTypeDistributor], r.name)
	default:
		for _, t := range []v1alpha1.OrganizationType{v1alpha1.OrganizationTypeSeller, v1alpha1.OrganizationTypeCustomer} {
			g.roleFor[t] = append(g.roleFor[t], r.name)
		}
	}
}

// user is one generated user before their objects are written.
type user struct {
	email    string
	home     int // org index
	phase    v1alpha1.UserPhase
	invited  bool
	bindings int
}

func (g *generator) users() {
	users := make([]user, g.size.Users)
	var holders []int // users who may hold bindings
	for i := range users {
		u := &users[i]
		u.home = g.pickHome()
		if i < 5 {
			u.home = 0 // a few distributor staff even on small platforms
		}
		u.email = fmt.Sprintf("user-%d@%s.example", i, g.orgs[u.home].name)
		u.invited = g.rng.IntN(10) < 7
		u.phase = v1alpha1.UserPhaseActive
		if u.invited {
			switch n := g.rng.IntN(100); {
			case n < 5:
				u.phase = v1alpha1.UserPhaseNew
			case n < 8:
				u.phase = v1alpha1.UserPhaseExpired
			case n < 10:
				u.phase = v1alpha1.UserPhaseBlocked
			case n < 12:
				u.phase = v1alpha1.UserPhaseRejected
			}
		}
		// New, Expired and Rejected users hold no bindings yet; Blocked ones keep the
		// bindings of their once-active invitation.
		if u.phase == v1alpha1.UserPhaseActive || u.phase == v1alpha1.UserPhaseBlocked {
			holders = append(holders, i)
		}
	}
	// One binding per holder first, then the rest at random.
	for k := range g.size.Bindings {
		var h int
		if k < len(holders) {
			h = holders[k]
		} else if len(holders) > 0 {
			h = holders[g.rng.IntN(len(holders))]
		} else {
			break
		}
		users[h].bindings++
	}
	g.admins = map[string][]string{}
	for i := range users {
		g.writeUser(&users[i])
	}
}

// pickHome spreads users: a few at the distributor (about 30 of 100,000), some at the
// sellers (2%, about 20 per seller), most at customers. Users bound with Subtree high in
// the tree appear in every document below, so these shares drive the size of the
// published documents.
func (g *generator) pickHome() int {
	switch n := g.rng.IntN(10_000); {
	case n < 3 || len(g.orgs) == 1:
		return 0
	case n < 203 && len(g.byType[v1alpha1.OrganizationTypeSeller]) > 0:
		s := g.byType[v1alpha1.OrganizationTypeSeller]
		return s[g.rng.IntN(len(s))]
	default:
		c := g.byType[v1alpha1.OrganizationTypeCustomer]
		if len(c) == 0 {
			return 0
		}
		return c[g.rng.IntN(len(c))]
	}
}

func (g *generator) writeUser(u *user) {
	home := g.orgs[u.home]
	homeRoles := g.pickRoles(home, min(max(u.bindings, 1), 1+g.rng.IntN(2)))
	invName := ""
	if u.invited {
		invName = "invite-" + strings.Split(u.email, "@")[0] + "-" + home.name
		g.writeInvitation(invName, u, homeRoles)
	}
	if u.bindings == 0 {
		return
	}
	// At home: the invitation's roles (owned by it) or bindings managed outside.
	n := 0
	for _, role := range homeRoles {
		if n == u.bindings {
			break
		}
		g.writeBinding(u.email, role, home, invName)
		n++
	}
	// Extra bindings managed outside: report viewers and cross-store access elsewhere.
	for ; n < u.bindings; n++ {
		where := g.orgs[g.pickHome()]
		roles := g.pickRoles(where, 1)
		if len(roles) == 0 {
			continue
		}
		g.writeBinding(u.email, roles[0], where, "")
	}
	if u.phase == v1alpha1.UserPhaseActive && home.typ != v1alpha1.OrganizationTypeCustomer {
		g.admins[home.name] = append(g.admins[home.name], u.email)
	}
}

func (g *generator) pickRoles(o orgInfo, n int) []string {
	candidates := g.roleFor[o.typ]
	if custom, ok := g.custom[o.name]; ok && g.rng.IntN(3) == 0 {
		return []string{custom}
	}
	if len(candidates) == 0 {
		return nil
	}
	var out []string
	for range n {
		r := candidates[g.rng.IntN(len(candidates))]
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

func (g *generator) writeInvitation(name string, u *user, roles []string) {
	home := g.orgs[u.home]
	age := time.Duration(30+g.rng.IntN(300)) * 24 * time.Hour
	if u.phase == v1alpha1.UserPhaseNew {
		age = time.Duration(1+g.rng.IntN(100)) * time.Hour // expires within the week
	}
	inv := v1alpha1.UserInvitation{ObjectMeta: g.meta(name, age)}
	inv.Spec.Email = v1alpha1.Email(u.email)
	inv.Spec.OrganizationRef = v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(home.name)}
	// Customers' invitations sometimes name no roles and get the default ones.
	if home.typ != v1alpha1.OrganizationTypeCustomer || g.rng.IntN(4) != 0 || !slices.Equal(roles, []string{"customer"}) {
		for _, r := range roles {
			inv.Spec.Roles = append(inv.Spec.Roles, v1alpha1.RoleName(r))
		}
	}
	if g.rng.IntN(10) == 0 {
		inv.Spec.ExpiresAfter = &metav1.Duration{Duration: 72 * time.Hour}
	}
	switch n := g.rng.IntN(3); {
	case n == 0:
		inv.Spec.InvitedBy = v1alpha1.Email("owner@" + home.name + ".example")
	case n == 1 && home.parent >= 0 && len(g.admins[g.orgs[home.parent].name]) > 0:
		// An administrator of the parent (a seller admin inviting into a customer).
		a := g.admins[g.orgs[home.parent].name]
		inv.Spec.InvitedBy = v1alpha1.Email(a[g.rng.IntN(len(a))])
	}
	if u.phase == v1alpha1.UserPhaseRejected {
		// An inviter who holds nothing here.
		inv.Spec.InvitedBy = v1alpha1.Email("outsider@elsewhere.example")
	}
	// Accepted within the week an invitation lasts: one accepted later is Expired.
	accepted := metav1.NewTime(g.now.Add(-age).Add(min(age/2, 24*time.Hour)))
	switch u.phase {
	case v1alpha1.UserPhaseActive, v1alpha1.UserPhaseBlocked:
		inv.Spec.AcceptedAt = &accepted
		inv.Spec.Blocked = u.phase == v1alpha1.UserPhaseBlocked
		inv.Status.Phase = v1alpha1.UserPhaseActive
		inv.Status.GrantedRoles = roles
		inv.Status.GrantedBy = string(inv.Spec.InvitedBy)
		if len(inv.Spec.Roles) == 0 {
			inv.Status.GrantedRoles = []string{"customer"}
			inv.Status.GrantedDefaultRoles = true
		}
	case v1alpha1.UserPhaseRejected:
		inv.Spec.AcceptedAt = &accepted
		inv.Status.Phase = v1alpha1.UserPhaseRejected
	}
	g.in.Invitations = append(g.in.Invitations, &inv)
}

func (g *generator) writeBinding(email, role string, o orgInfo, invitation string) {
	name := fmt.Sprintf("rb-%d", len(g.in.Bindings))
	if invitation != "" {
		name = invitation + "-" + role
	}
	b := v1alpha1.RoleBinding{ObjectMeta: g.meta(name, 20*24*time.Hour)}
	b.Spec.Subject.Email = v1alpha1.Email(email)
	b.Spec.RoleRef.Name = v1alpha1.ObjectName(role)
	b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(o.name)
	b.Spec.Inheritance = v1alpha1.InheritanceSubtree
	// The first bindings are the distributor staff's: make sure one of them is None.
	if g.rng.IntN(5) == 0 || len(g.in.Bindings) == 1 {
		b.Spec.Inheritance = v1alpha1.InheritanceNone
	}
	if g.rng.IntN(50) == 0 {
		// Time-bound access: some already expired, some expiring within days.
		at := metav1.NewTime(g.now.Add(time.Duration(g.rng.IntN(480)-240) * time.Hour))
		b.Spec.ExpiresAt = &at
	}
	if invitation != "" {
		b.Labels = map[string]string{v1alpha1.InvitationLabel: invitation}
		b.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: "UserInvitation", Name: invitation,
			UID: uid(invitation), Controller: ptr(true), BlockOwnerDeletion: ptr(true),
		}}
	}
	g.in.Bindings = append(g.in.Bindings, &b)
}

// meta is an object's metadata, created age before Now.
func (g *generator) meta(name string, age time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: Namespace, UID: uid(name), Generation: 1,
		CreationTimestamp: metav1.NewTime(g.now.Add(-age)),
	}
}

func uid(name string) types.UID { return types.UID("uid-" + name) }

func ptr[T any](v T) *T { return &v }

func topArea(p string) string {
	area, _, _ := strings.Cut(p, "/")
	return area
}

// patternMatchesSome reports whether a pattern with "*" segments matches a listed path.
func patternMatchesSome(pattern string, paths []string) bool {
	for _, p := range paths {
		if matchSegments(pattern, p) {
			return true
		}
	}
	return false
}

func matchSegments(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != xs[i] {
			return false
		}
	}
	return true
}
