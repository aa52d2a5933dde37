package permissions

import (
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
)

// sharingPlatform is two customers of one seller, each with a user holding the same
// role, over one tree.
func sharingPlatform() Input {
	named := func(m *metav1.ObjectMeta) { m.Namespace, m.Generation = "platform", 1 }
	var in Input
	for _, o := range []*v1alpha1.Organization{
		builders.Seller("seller").Obj(),
		builders.Customer("acme").Under("seller").Obj(),
		builders.Customer("globex").Under("seller").Obj(),
	} {
		named(&o.ObjectMeta)
		in.Organizations = append(in.Organizations, o)
	}
	tree := builders.Tree("paths", "sales", "sales/orders", "reports").Obj()
	named(&tree.ObjectMeta)
	viewer := builders.Role("viewer").Permissions("sales").Obj()
	named(&viewer.ObjectMeta)
	in.Trees, in.Roles = []*v1alpha1.PermissionTree{tree}, []*v1alpha1.Role{viewer}
	for _, b := range []*v1alpha1.RoleBinding{
		builders.Binding("ann@x.example", "viewer", "acme").Named("ann").Obj(),
		builders.Binding("bob@x.example", "viewer", "globex").Named("bob").Obj(),
	} {
		named(&b.ObjectMeta)
		in.Bindings = append(in.Bindings, b)
	}
	return in
}

// The subsets of one platform share one catalog, and with it the permission sets their
// documents render; Compile shares nothing.
func TestCompilerSharesOneCatalogBetweenSubsets(t *testing.T) {
	in := sharingPlatform()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewCompiler(4)
	acme, globex := c.Compile(InputFor(in, "acme"), now), c.Compile(InputFor(in, "globex"), now)
	if acme.catalog != globex.catalog {
		t.Fatal("two subsets with the same trees and roles were compiled to two catalogs")
	}
	if _, ok := acme.Document("acme"); !ok {
		t.Fatal("no document for acme")
	}
	if _, ok := globex.Document("globex"); !ok {
		t.Fatal("no document for globex")
	}
	if n := len(acme.catalog.sets.bySet); n != 1 {
		t.Fatalf("the shared catalog holds %d permission sets, want the one both documents use", n)
	}
	if first, second := Compile(in, now), Compile(in, now); first.catalog == second.catalog {
		t.Fatal("Compile shared a catalog")
	}
}

// Compiles on many goroutines share a Compiler safely (run with -race) and, once one
// catalog is kept, all use it.
func TestCompilerIsSafeForConcurrentUse(t *testing.T) {
	in := sharingPlatform()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewCompiler(1)
	first := c.Compile(in, now).catalog
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, org := range []string{"acme", "globex", "seller"} {
				p := c.Compile(InputFor(in, org), now)
				if p.catalog != first {
					t.Errorf("%s: compiled to another catalog", org)
				}
				if _, ok := p.Document(org); !ok {
					t.Errorf("no document for %s", org)
				}
			}
		})
	}
	wg.Wait()
}
