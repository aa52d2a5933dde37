package main

import (
	"maps"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// TestUnbindLastOrganizationPicksADirectBindingThatChangesADocument: of the last
// organization by name, an invitation's binding and a user's second binding there are
// passed over; the binding deleted is taken out of the harness's copy only, and what
// it reached is its organization's subtree.
func TestUnbindLastOrganizationPicksADirectBindingThatChangesADocument(t *testing.T) {
	org := func(name, parent string) *v1alpha1.Organization {
		o := &v1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if parent != "" {
			o.Spec.ParentRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(parent)}
		}
		return o
	}
	binding := func(name, org, email string) *v1alpha1.RoleBinding {
		b := &v1alpha1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}
		b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org)
		b.Spec.Subject.Email = v1alpha1.Email(email)
		b.Spec.RoleRef.Name = "viewer"
		return b
	}
	invited := binding("rb-invited", "seller-2", "ann@example.com")
	invited.Labels = map[string]string{v1alpha1.InvitationLabel: "ann"}
	in := permissions.Input{
		Organizations: []*v1alpha1.Organization{
			org("distributor", ""), org("seller-1", "distributor"), org("seller-2", "distributor"),
			org("customer-1-1", "seller-1"), org("customer-2-1", "seller-2"), org("customer-2-2", "seller-2"),
			org("unit-2-2-1", "customer-2-2"),
		},
		Bindings: []*v1alpha1.RoleBinding{
			binding("rb-a", "seller-1", "bob@example.com"),
			invited,
			binding("rb-x", "seller-2", "cid@example.com"), binding("rb-y", "seller-2", "cid@example.com"),
			binding("rb-d", "seller-2", "dee@example.com"),
			binding("rb-e", "customer-2-1", "eve@example.com"),
		},
	}
	before := slices.Clone(in.Bindings)
	copyOfIn := in

	_, reached, _, err := unbindLastOrganization(&in)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, b := range in.Bindings {
		left = append(left, b.Name)
	}
	if want := []string{"rb-a", "rb-invited", "rb-x", "rb-y", "rb-e"}; !slices.Equal(left, want) {
		t.Errorf("bindings left %v, want %v (rb-d deleted)", left, want)
	}
	if !slices.Equal(copyOfIn.Bindings, before) {
		t.Errorf("a copy of the platform changed: %d bindings", len(copyOfIn.Bindings))
	}
	if got, want := slices.Sorted(maps.Keys(reached)), []string{"customer-2-1", "customer-2-2", "seller-2", "unit-2-2-1"}; !slices.Equal(got, want) {
		t.Errorf("reached %v, want %v", got, want)
	}
}
