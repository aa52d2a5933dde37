package permissions_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

func storefrontTree() *builders.TreeBuilder {
	return builders.Tree("storefront",
		"sales", "sales/checkout", "sales/pay-on-account", "sales/orders", "sales/orders/subordinates",
		"quotes", "quotes/view", "quotes/edit", "quotes/templates", "quotes/templates/view",
		"contracts", "contracts/read", "contracts/write",
		"reports", "reports/read", "reports/write",
	).Implies("contracts/write", "contracts/read").
		Implies("quotes/edit", "quotes/view").
		Implies("quotes/templates/view", "reports/read")
}

func TestTreeClosure(t *testing.T) {
	tests := []struct {
		name  string
		grant []string
		want  []string
	}{
		{"a parent grants its subtree", []string{"sales"},
			[]string{"sales", "sales/checkout", "sales/orders", "sales/orders/subordinates", "sales/pay-on-account"}},
		{"a leaf grants itself", []string{"sales/checkout"}, []string{"sales/checkout"}},
		{"implies", []string{"contracts/write"}, []string{"contracts/read", "contracts/write"}},
		{"implications of descendants, transitively with their subtrees", []string{"quotes/templates"},
			[]string{"quotes/templates", "quotes/templates/view", "reports/read"}},
		{"star segment", []string{"*/read"}, []string{"contracts/read", "reports/read"}},
		{"star is everything", []string{"*"}, nil}, // checked below: every path
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := permissions.Compile(platform(storefrontTree(), builders.Role("r").Permissions(tt.grant...), builders.Customer("acme"),
				builders.Binding("u@acme.example", "r", "acme")), epoch)
			h := access(t, p, "acme", "u@acme.example")
			want := tt.want
			if want == nil {
				for _, perm := range storefrontTree().Obj().Spec.Permissions {
					want = append(want, string(perm.Path))
				}
				slices.Sort(want)
			}
			if !equal(h.perms, want) {
				t.Errorf("permissions = %v, want %v", h.perms, want)
			}
			doc, _ := p.Document("acme")
			if !doc.Document.Closure {
				t.Error("with a tree the document must say closure")
			}
		})
	}
}

// A pattern grants the subtree of every path it matches, defined or not: the tree below
// defines billing/read and billing/invoices/export but neither billing nor
// billing/invoices (MissingParent, and the paths still work).
func TestPatternsGrantBelowMissingParents(t *testing.T) {
	tests := []struct {
		grant string
		want  []string
	}{
		{"*", []string{"billing/invoices/export", "billing/read", "sales"}},
		{"billing/*", []string{"billing/invoices/export", "billing/read"}},
		{"*/read", []string{"billing/read"}},
		{"*/invoices", []string{"billing/invoices/export"}},
		{"*/*/export", []string{"billing/invoices/export"}},
		{"sales/*", nil}, // matches nothing: UnknownPermission
	}
	for _, tt := range tests {
		t.Run(tt.grant, func(t *testing.T) {
			p := permissions.Compile(platform(builders.Tree("t", "sales", "billing/read", "billing/invoices/export"),
				builders.Role("r").Permissions(tt.grant), builders.Customer("acme"), builders.Binding("u@x.example", "r", "acme")), epoch)
			if got := access(t, p, "acme", "u@x.example").perms; !equal(got, tt.want) {
				t.Errorf("%s grants %v, want %v", tt.grant, got, tt.want)
			}
		})
	}
}

func TestTreeProblems(t *testing.T) {
	in := platform(
		builders.Tree("a", "sales", "sales/checkout").Implies("sales/checkout", "ghost"),
		builders.Tree("b", "sales", "quotes/view"),
		builders.Tree("clean", "contracts"),
		builders.Role("r").Permissions("quotes/view"), builders.Customer("acme"), builders.Binding("u@acme.example", "r", "acme"),
	)
	p := permissions.Compile(in, epoch)
	a, _ := p.Tree("a")
	if c := ready(t, a.Conditions); c.True || c.Reason != v1alpha1.ReasonDuplicatePath ||
		!strings.Contains(c.Message, "sales is defined more than once") || !strings.Contains(c.Message, "implies ghost") {
		t.Errorf("tree a Ready = %+v, want DuplicatePath and the unknown implication", c)
	}
	if a.Paths != 2 {
		t.Errorf("tree a paths = %d, want 2", a.Paths)
	}
	b, _ := p.Tree("b")
	if c := ready(t, b.Conditions); c.True || c.Reason != v1alpha1.ReasonDuplicatePath || !strings.Contains(c.Message, "quotes/view has no parent quotes") {
		t.Errorf("tree b Ready = %+v, want DuplicatePath and MissingParent", c)
	}
	clean, _ := p.Tree("clean")
	if c := ready(t, clean.Conditions); !c.True {
		t.Errorf("tree clean Ready = %+v, want True", c)
	}
	onlyMissingParent := permissions.Compile(platform(builders.Tree("t", "a/b")), epoch)
	if r, _ := onlyMissingParent.Tree("t"); ready(t, r.Conditions).Reason != v1alpha1.ReasonMissingParent {
		t.Errorf("tree with a missing parent: %+v", r.Conditions)
	}
	// The paths still merge: a path with a missing parent is granted as itself.
	if !allowed(t, p, "acme", "u@acme.example", "quotes/view") {
		t.Error("quotes/view is defined (without its parent) and must be grantable")
	}
}

// A path defined twice implies only what both definitions imply: a tree added later
// (the first by name, here) cannot make an existing path grant more, and the engine
// does not pick one definition over the other.
func TestPathDefinedTwiceImpliesOnlyWhatBothDefinitionsImply(t *testing.T) {
	in := platform(
		builders.Tree("catalog", "sales", "sales/view", "reports", "admin", "admin/secret").Implies("sales/view", "reports"),
		builders.Tree("added", "sales/view").Implies("sales/view", "admin/secret", "reports"),
		builders.Tree("other", "sales/view").Implies("sales/view", "admin/secret"),
		builders.Role("viewer").Permissions("sales/view"), builders.Customer("acme"), builders.Binding("u@acme.example", "viewer", "acme"),
	)
	p := permissions.Compile(in, epoch)
	if h := access(t, p, "acme", "u@acme.example"); !equal(h.perms, []string{"sales/view"}) {
		t.Errorf("permissions = %v, want sales/view alone: the definitions share no implication", h.perms)
	}
	for _, name := range []string{"added", "catalog", "other"} {
		tree, _ := p.Tree(name)
		if c := ready(t, tree.Conditions); c.True || c.Reason != v1alpha1.ReasonDuplicatePath ||
			!strings.Contains(c.Message, "implies only what every definition implies") {
			t.Errorf("tree %s Ready = %+v, want DuplicatePath saying what the path implies", name, c)
		}
	}
	// Two definitions agreeing on reports keep it.
	agree := permissions.Compile(platform(
		builders.Tree("catalog", "sales", "sales/view", "reports", "admin", "admin/secret").Implies("sales/view", "reports"),
		builders.Tree("added", "sales/view").Implies("sales/view", "admin/secret", "reports"),
		builders.Role("viewer").Permissions("sales/view"), builders.Customer("acme"), builders.Binding("u@acme.example", "viewer", "acme"),
	), epoch)
	if h := access(t, agree, "acme", "u@acme.example"); !equal(h.perms, []string{"reports", "sales/view"}) {
		t.Errorf("permissions = %v, want sales/view and the implication both definitions share, reports", h.perms)
	}
}

func TestWithoutTreePatternsAsGiven(t *testing.T) {
	in := platform(
		builders.Role("r").Permissions("sales", "sales/checkout", "*/read", "quotes/read/own", "contracts/write"),
		builders.Role("s").Permissions("contracts/write", "*/read/x"),
		builders.Customer("acme"),
		builders.Binding("u@acme.example", "r", "acme"), builders.Binding("u@acme.example", "s", "acme"),
	)
	p := permissions.Compile(in, epoch)
	h := access(t, p, "acme", "u@acme.example")
	// sales/checkout is covered by sales, quotes/read/own and */read/x by */read.
	if want := []string{"*/read", "contracts/write", "sales"}; !equal(h.perms, want) {
		t.Errorf("permissions = %v, want %v", h.perms, want)
	}
	doc, _ := p.Document("acme")
	if doc.Document.Closure {
		t.Error("without a tree the document must not say closure")
	}
	for perm, want := range map[string]bool{"sales/checkout/x": true, "quotes/read": true, "quotes": false, "contracts/write": true, "contracts/delete": false} {
		if got := allowed(t, p, "acme", "u@acme.example", perm); got != want {
			t.Errorf("allowed %s = %v, want %v", perm, got, want)
		}
	}
}
