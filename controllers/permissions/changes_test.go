package permissions_test

import (
	"slices"
	"testing"

	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestAffectedOrganizations(t *testing.T) {
	in := platform(
		builders.Role("r").Permissions("a"),
		builders.Distributor("north"), builders.Seller("s1").Under("north"), builders.Seller("s2").Under("north"),
		builders.Customer("c1").Under("s1"), builders.Customer("c2").Under("s2"),
		builders.Binding("u@x.example", "r", "s1").Named("u-s1"),
		builders.Binding("u@x.example", "r", "c2").ThisOrganizationOnly().Named("u-c2"),
		builders.Binding("v@x.example", "r", "c2").Named("v-c2"),
		builders.Invitation("w@x.example", "c2", "r").InvitedBy("v@x.example").Named("w"),
		builders.Binding("w@x.example", "r", "c1").ThisOrganizationOnly().Named("w-c1"),
	)
	p := permissions.Compile(in, epoch)
	for _, tt := range []struct {
		ref  permissions.ObjectRef
		want []string
	}{
		{permissions.ObjectRef{Kind: "Organization", Name: "s1"}, []string{"c1", "s1"}},
		// u's binding reaches s1's subtree; u also appears in c2.
		{permissions.ObjectRef{Kind: "RoleBinding", Name: "u-s1"}, []string{"c1", "c2", "s1"}},
		// v invited w: w's status, and so every document w appears in, may change.
		{permissions.ObjectRef{Kind: "RoleBinding", Name: "v-c2"}, []string{"c1", "c2"}},
		{permissions.ObjectRef{Kind: "UserInvitation", Name: "w"}, []string{"c1", "c2"}},
		{permissions.ObjectRef{Kind: "Role", Name: "r"}, []string{"c1", "c2", "north", "s1", "s2"}},
		{permissions.ObjectRef{Kind: "PermissionTree", Name: "t"}, []string{"c1", "c2", "north", "s1", "s2"}},
		{permissions.ObjectRef{Kind: "RoleBinding", Name: "unknown"}, nil},
	} {
		if got := p.AffectedOrganizations(tt.ref); !slices.Equal(got, tt.want) {
			t.Errorf("AffectedOrganizations(%+v) = %v, want %v", tt.ref, got, tt.want)
		}
	}
}

func TestAffectedOrganizationsOfACustomRolesOrganization(t *testing.T) {
	p := permissions.Compile(platform(builders.Role("own").Permissions("a").Of("c1"), builders.Customer("c1"), builders.Customer("c2")), epoch)
	if got := p.AffectedOrganizations(permissions.ObjectRef{Kind: "Organization", Name: "c1"}); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Errorf("the organization of a custom role affects what the role grants everywhere: %v", got)
	}
}
