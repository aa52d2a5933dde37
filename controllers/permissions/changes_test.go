package permissions_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
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

// TestRoleAndBindingResultsChangeOnlyWhenTheySay walks a generated platform through
// the instants at which its results change by time (NextChange, one after another)
// and checks that every Role's result holds until NextRoleChange and every
// RoleBinding's until its NextBindingChange: controllers requeue them then, not at
// every expiry of the platform.
func TestRoleAndBindingResultsChangeOnlyWhenTheySay(t *testing.T) {
	in := platformgen.Generate(platformgen.Small(), 1)
	now := platformgen.Now()
	base := permissions.Compile(in, now)

	var instants []time.Time
	for p := base; len(instants) < 20; {
		next, ok := p.NextChange()
		if !ok {
			break
		}
		instants = append(instants, next)
		p = permissions.Compile(in, next)
	}
	if len(instants) < 10 {
		t.Fatalf("the generated platform changes by time at only %d instants; the test means to cross many", len(instants))
	}

	roleNext, roleOK := base.NextRoleChange()
	var heldRoles, heldBindings, changedBindings int
	for _, at := range instants {
		later := permissions.Compile(in, at)
		for _, r := range in.Roles {
			want, _ := base.Role(r.Name)
			got, _ := later.Role(r.Name)
			held := !roleOK || at.Before(roleNext)
			if held && !reflect.DeepEqual(want, got) {
				t.Errorf("Role %s changed at %v, before its NextRoleChange %v", r.Name, at, roleNext)
			}
			if held {
				heldRoles++
			}
		}
		for _, b := range in.Bindings {
			want, _ := base.Binding(b.Name)
			got, _ := later.Binding(b.Name)
			next, ok := base.NextBindingChange(b.Name)
			switch {
			case !ok || at.Before(next):
				if !reflect.DeepEqual(want, got) {
					t.Errorf("RoleBinding %s changed at %v, before its NextBindingChange %v (ok %v)", b.Name, at, next, ok)
				}
				heldBindings++
			case !reflect.DeepEqual(want, got):
				changedBindings++
			}
		}
	}
	if heldRoles == 0 || heldBindings == 0 || changedBindings == 0 {
		t.Errorf("the walk checked %d role and %d binding results that hold, and saw %d binding results change; it means to check both",
			heldRoles, heldBindings, changedBindings)
	}
}
