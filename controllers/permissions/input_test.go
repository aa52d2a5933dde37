package permissions_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/orgaccess/orgaccess/controllers/permissions"
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
		in := randomPlatform(rand.New(rand.NewPCG(uint64(seed), 7)))
		var all []string
		for _, o := range in.Organizations {
			all = append(all, o.Name)
		}
		check(t, in, all)
	}
}
