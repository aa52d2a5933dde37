package permissions_test

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// A Compiler that shares compiled trees and roles between inputs decides exactly what
// Compile decides, for every subset and whole platform, at instants around the roles'
// removeAfter, forward and back: what it shares must not depend on the organizations,
// bindings, invitations or the time.
func TestCompilerDecidesAsCompile(t *testing.T) {
	instants := []time.Time{epoch, epoch.Add(2 * time.Hour), epoch.Add(-2 * time.Hour)}
	check := func(t *testing.T, c *permissions.Compiler, in permissions.Input) {
		t.Helper()
		inputs := []permissions.Input{in}
		for _, o := range in.Organizations {
			inputs = append(inputs, permissions.InputFor(in, o.Name))
		}
		for _, now := range instants {
			for _, sub := range inputs {
				if diff := compareResults(sub, c.Compile(sub, now), permissions.Compile(sub, now)); diff != "" {
					t.Fatalf("at %s: %s\n%s", now, diff, describe(in))
				}
			}
		}
	}
	// One Compiler for every platform: each platform's objects are new pointers, so
	// none may reuse another's catalog.
	c := permissions.NewCompiler(2)
	for _, in := range randomPlatforms(300, 11) {
		check(t, c, in)
	}
	check(t, c, platformgen.Generate(platformgen.Small(), 3))
}

// compareResults describes the first difference between two platforms compiled from in,
// or returns "".
func compareResults(in permissions.Input, got, want *permissions.Platform) string {
	for _, name := range want.Organizations() {
		if d := compareResult("Organization", name, got.Organization, want.Organization); d != "" {
			return d
		}
		g, _ := got.Document(name)
		w, _ := want.Document(name)
		if len(g.Shards) != len(w.Shards) || !bytes.Equal(bytes.Join(g.Shards, nil), bytes.Join(w.Shards, nil)) {
			return fmt.Sprintf("document of %s:\n got %.400s\nwant %.400s", name, g.Shards, w.Shards)
		}
	}
	for _, d := range []string{
		compareAll("PermissionTree", in.Trees, got.Tree, want.Tree),
		compareAll("Role", in.Roles, got.Role, want.Role),
		compareAll("RoleBinding", in.Bindings, got.Binding, want.Binding),
		compareAll("UserInvitation", in.Invitations, got.Invitation, want.Invitation),
	} {
		if d != "" {
			return d
		}
	}
	gotNext, gotOK := got.NextChange()
	wantNext, wantOK := want.NextChange()
	if gotOK != wantOK || !gotNext.Equal(wantNext) {
		return fmt.Sprintf("next change %v %v, want %v %v", gotNext, gotOK, wantNext, wantOK)
	}
	return ""
}

// compareAll describes the first object of objs whose results differ, or returns "".
func compareAll[O interface{ GetName() string }, R any](kind string, objs []O, got, want func(string) (R, bool)) string {
	for _, o := range objs {
		if d := compareResult(kind, o.GetName(), got, want); d != "" {
			return d
		}
	}
	return ""
}

func compareResult[R any](kind, name string, got, want func(string) (R, bool)) string {
	g, gotOK := got(name)
	w, wantOK := want(name)
	if gotOK != wantOK || !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("%s %s: got %+v (%v), want %+v (%v)", kind, name, g, gotOK, w, wantOK)
	}
	return ""
}

// A Compiler tells trees and roles apart by object: a changed role is a new object (as
// an informer cache replaces it), and the next compile grants what the new one says,
// not what was compiled for the old one.
func TestCompilerCompilesAChangedRoleAgain(t *testing.T) {
	in := platform(
		builders.Customer("acme"),
		builders.Tree("paths", "sales", "reports"),
		builders.Role("viewer").Permissions("sales"),
		builders.Binding("ann@x.example", "viewer", "acme").Named("ann"),
	)
	c := permissions.NewCompiler(1)
	if !allowed(t, c.Compile(in, epoch), "acme", "ann@x.example", "sales") {
		t.Fatal("viewer does not grant sales")
	}

	edited := in.Roles[0].DeepCopy()
	edited.Spec.Permissions = []v1alpha1.PermissionPattern{"reports"}
	changed := in
	changed.Roles = []*v1alpha1.Role{edited}
	p := c.Compile(changed, epoch)
	if allowed(t, p, "acme", "ann@x.example", "sales") || !allowed(t, p, "acme", "ann@x.example", "reports") {
		t.Fatalf("after the edit viewer grants %v, want only reports", must(t, p.Role, "viewer").Permissions)
	}
	// Back to the first role: its catalog was evicted (the Compiler keeps one), so it
	// is compiled again, and grants sales again.
	if p := c.Compile(in, epoch); !allowed(t, p, "acme", "ann@x.example", "sales") {
		t.Fatal("the first viewer no longer grants sales")
	}
}
