package permissions

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// uniqueByName sorts without a stable sort unless two objects share a name; either
// way it must keep, of each name, the object that came first, and skip nil entries.
func TestUniqueByNameKeepsTheFirstOfEachName(t *testing.T) {
	type obj struct {
		name string
		at   int // position in the input
	}
	name := func(o *obj) string { return o.name }
	show := func(objs []*obj) (s []string) {
		for _, o := range objs {
			s = append(s, fmt.Sprintf("%s@%d", o.name, o.at))
		}
		return s
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for run := range 200 {
		var in []*obj
		for i := range 1 + rng.IntN(60) {
			// Few names on odd runs (many repeats), one per object on even runs.
			n := fmt.Sprintf("o%03d", i)
			if run%2 == 1 {
				n = fmt.Sprintf("o%03d", rng.IntN(8))
			}
			in = append(in, &obj{name: n, at: i})
			if rng.IntN(10) == 0 {
				in = append(in, nil)
			}
		}
		var want []*obj
		for _, o := range in {
			if o != nil && !slices.ContainsFunc(want, func(w *obj) bool { return w.name == o.name }) {
				want = append(want, o)
			}
		}
		slices.SortFunc(want, func(a, b *obj) int { return strings.Compare(a.name, b.name) })

		got := uniqueByName(slices.Clone(in), name)
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: got %v, want %v", run, show(got), show(want))
		}
	}
}
