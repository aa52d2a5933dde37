package builders

import "github.com/orgaccess/orgaccess/api/v1alpha1"

// OrganizationBuilder builds an Organization.
type OrganizationBuilder struct {
	objectMeta[*OrganizationBuilder]
	o v1alpha1.Organization
}

// Org starts an organization of type typ.
func Org(name string, typ v1alpha1.OrganizationType) *OrganizationBuilder {
	b := &OrganizationBuilder{}
	b.objectMeta = objectMeta[*OrganizationBuilder]{meta: &b.o.ObjectMeta, self: b}
	b.o.Name, b.o.Spec.Type = name, typ
	return b
}

// Distributor starts an organization of type Distributor.
func Distributor(name string) *OrganizationBuilder {
	return Org(name, v1alpha1.OrganizationTypeDistributor)
}

// Seller starts an organization of type Seller.
func Seller(name string) *OrganizationBuilder { return Org(name, v1alpha1.OrganizationTypeSeller) }

// Customer starts an organization of type Customer.
func Customer(name string) *OrganizationBuilder {
	return Org(name, v1alpha1.OrganizationTypeCustomer)
}

// Unit starts an organization of type Unit.
func Unit(name string) *OrganizationBuilder { return Org(name, v1alpha1.OrganizationTypeUnit) }

// Under sets spec.parentRef.
func (b *OrganizationBuilder) Under(parent string) *OrganizationBuilder {
	b.o.Spec.ParentRef = ref(parent)
	return b
}

// Owner sets spec.owner.
func (b *OrganizationBuilder) Owner(email string) *OrganizationBuilder {
	b.o.Spec.Owner = v1alpha1.Email(email)
	return b
}

// DefaultRoles adds to spec.defaultRoles.
func (b *OrganizationBuilder) DefaultRoles(roles ...string) *OrganizationBuilder {
	b.o.Spec.DefaultRoles = append(b.o.Spec.DefaultRoles, as[v1alpha1.RoleName](roles)...)
	return b
}

// Obj returns a copy of the organization built so far.
func (b *OrganizationBuilder) Obj() *v1alpha1.Organization { return b.o.DeepCopy() }
