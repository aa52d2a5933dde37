package builders_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestObjIsACopyTheBuilderNoLongerChanges(t *testing.T) {
	tree := builders.Tree("catalog", "sales").Implies("sales", "quotes")
	before := tree.Obj()
	tree.Implies("sales", "users").Named("renamed")
	if got := before.Spec.Permissions[0].Implies; !cmp.Equal(got, []v1alpha1.PermissionPath{"quotes"}) {
		t.Errorf("an earlier Obj changed with its builder: implies %v", got)
	}
	if before.Name != "catalog" {
		t.Errorf("an earlier Obj was renamed to %s", before.Name)
	}
}

func TestTreeImpliesAddsMissingPathsInOrder(t *testing.T) {
	got := builders.Tree("t", "a").Paths("b").Implies("c", "a", "b").Implies("a", "b").Obj().Spec.Permissions
	want := []v1alpha1.Permission{
		{Path: "a", Implies: []v1alpha1.PermissionPath{"b"}},
		{Path: "b"},
		{Path: "c", Implies: []v1alpha1.PermissionPath{"a", "b"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("permissions (-want +got):\n%s", diff)
	}
}

func TestNamesDerivedFromEmails(t *testing.T) {
	if got := builders.Binding("ann.lee+x@acme.example", "customer", "acme").Obj().Name; got != "rb-ann-lee-x-acme-example-customer-acme" {
		t.Errorf("binding name = %s", got)
	}
	if got := builders.Invitation("ann@acme.example", "acme").Obj().Name; got != "inv-ann-acme-example-acme" {
		t.Errorf("invitation name = %s", got)
	}
}

func TestSharedMetadataOptionsChainWithTheBuilder(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := builders.Role("r").Named("admin").CreatedAt(at).Deleting(at.Add(time.Hour)).Permissions("sales").Obj()
	if r.Name != "admin" || !r.CreationTimestamp.Time.Equal(at) || r.DeletionTimestamp == nil || !r.DeletionTimestamp.Time.Equal(at.Add(time.Hour)) {
		t.Errorf("metadata = %+v", r.ObjectMeta)
	}
	if !cmp.Equal(r.Spec.Permissions, []v1alpha1.PermissionPattern{"sales"}) {
		t.Errorf("permissions = %v", r.Spec.Permissions)
	}
}
