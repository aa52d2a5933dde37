package platformgen

import (
	"reflect"
	"testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

func TestGenerateHasTheRequestedSize(t *testing.T) {
	for name, s := range map[string]Size{"small": Small(), "full": Full()} {
		t.Run(name, func(t *testing.T) {
			if name == "full" && testing.Short() {
				t.Skip("full size in -short mode")
			}
			in := Generate(s, 1)
			if got, want := len(in.Organizations), 1+s.Sellers*(1+s.CustomersPerSeller); got != want {
				t.Errorf("organizations = %d, want %d", got, want)
			}
			if got := len(in.Bindings); got != s.Bindings {
				t.Errorf("bindings = %d, want %d", got, s.Bindings)
			}
			if got := len(in.Roles); got != s.Roles {
				t.Errorf("roles = %d, want %d", got, s.Roles)
			}
			paths := 0
			for _, tr := range in.Trees {
				paths += len(tr.Spec.Permissions)
			}
			if paths != s.TreePaths {
				t.Errorf("tree paths = %d, want %d", paths, s.TreePaths)
			}
			users := map[v1alpha1.Email]bool{}
			for _, b := range in.Bindings {
				users[b.Spec.Subject.Email] = true
			}
			for _, i := range in.Invitations {
				users[i.Spec.Email] = true
			}
			if len(users) > s.Users || len(users) < s.Users*9/10 {
				t.Errorf("users = %d, want about %d", len(users), s.Users)
			}
		})
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(Small(), 7), Generate(Small(), 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two platforms generated from the same seed differ")
	}
	c := Generate(Small(), 8)
	if reflect.DeepEqual(a.Bindings, c.Bindings) {
		t.Fatal("platforms generated from different seeds are identical")
	}
}

func TestGenerateCoversEveryFeature(t *testing.T) {
	in := Generate(Small(), 1)
	phases := map[string]int{}
	for _, inv := range in.Invitations {
		switch {
		case inv.Spec.Blocked:
			phases["blocked"]++
		case inv.Spec.InvitedBy == "outsider@elsewhere.example":
			phases["rejected"]++
		case inv.Spec.AcceptedAt != nil:
			phases["active"]++
		default:
			phases["new or expired"]++
		}
	}
	for _, p := range []string{"blocked", "rejected", "active", "new or expired"} {
		if phases[p] == 0 {
			t.Errorf("no %s invitation", p)
		}
	}
	levels := map[string]bool{}
	types := map[string]v1alpha1.OrganizationType{}
	for _, o := range in.Organizations {
		types[o.Name] = o.Spec.Type
	}
	for _, b := range in.Bindings {
		levels[string(types[string(b.Spec.OrganizationRef.Name)])+"/"+string(b.Spec.Inheritance)] = true
	}
	for _, typ := range []string{"Distributor", "Seller", "Customer"} {
		for _, inh := range []string{"Subtree", "None"} {
			if !levels[typ+"/"+inh] {
				t.Errorf("no %s binding at a %s", inh, typ)
			}
		}
	}
	var includes, orgTypes, custom, deprecated bool
	for _, r := range in.Roles {
		includes = includes || len(r.Spec.Includes) > 0
		orgTypes = orgTypes || len(r.Spec.OrganizationTypes) > 0
		custom = custom || r.Spec.OrganizationRef != nil
		deprecated = deprecated || r.Spec.Deprecation != nil
	}
	if !includes || !orgTypes || !custom || !deprecated {
		t.Errorf("roles: includes %v, organizationTypes %v, custom %v, deprecated %v; want all", includes, orgTypes, custom, deprecated)
	}
}
