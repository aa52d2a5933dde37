package permissions_test

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// Compiling InputFor(org) gives org the same document as compiling the whole platform.
func TestInputForGivesTheSameDocument(t *testing.T) {
	check := func(t *testing.T, in permissions.Input, orgs []string) {
		t.Helper()
		whole := permissions.Compile(in, epoch)
		for _, org := range orgs {
			want, _ := whole.Document(org)
			sub := permissions.Compile(permissions.InputFor(in, org), epoch)
			got, ok := sub.Document(org)
			if !ok || len(got.Shards) != len(want.Shards) || !bytes.Equal(got.Shards[0], want.Shards[0]) {
				t.Fatalf("%s: document from the subset differs:\n got %.400s\nwant %.400s\n%s", org, got.Shards, want.Shards, describe(in))
			}
		}
	}
	small := platformgen.Generate(platformgen.Small(), 9)
	var orgs []string
	for i := 0; i < len(small.Organizations); i += 37 {
		orgs = append(orgs, small.Organizations[i].Name)
	}
	check(t, small, orgs)
	for seed := range 500 {
		in := platformgen.Random(rand.New(rand.NewPCG(uint64(seed), 7)), epoch)
		var all []string
		for _, o := range in.Organizations {
			all = append(all, o.Name)
		}
		check(t, in, all)
	}
}

// The engine skips nil entries of an Input, and of two objects with one name (which a
// namespace cannot hold) keeps the first in input order, whichever kind they are.
func TestCompileSkipsNilsAndKeepsTheFirstOfOneName(t *testing.T) {
	in := platform(
		builders.Customer("acme"),
		builders.Role("viewer").Permissions("sales"),
		builders.Role("viewer").Permissions("reports"),
		builders.Binding("ann@x.example", "viewer", "acme").Named("ann"),
	)
	in.Organizations = append([]*v1alpha1.Organization{nil}, in.Organizations...)
	in.Roles = append(in.Roles, nil)
	in.Bindings = append([]*v1alpha1.RoleBinding{nil}, in.Bindings...)
	in.Invitations = []*v1alpha1.UserInvitation{nil}
	in.Trees = []*v1alpha1.PermissionTree{nil}
	for name, p := range map[string]*permissions.Platform{
		"Compile":  permissions.Compile(in, epoch),
		"InputFor": permissions.Compile(permissions.InputFor(in, "acme"), epoch),
	} {
		if got := access(t, p, "acme", "ann@x.example"); !slices.Equal(got.perms, []string{"sales"}) {
			t.Errorf("%s: ann holds %v in acme, want [sales] from the first viewer", name, got.perms)
		}
	}
}
