package builders

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// RoleBuilder builds a Role.
type RoleBuilder struct {
	objectMeta[*RoleBuilder]
	r v1alpha1.Role
}

// Role starts a role that grants nothing.
func Role(name string) *RoleBuilder {
	b := &RoleBuilder{}
	b.objectMeta = objectMeta[*RoleBuilder]{meta: &b.r.ObjectMeta, self: b}
	b.r.Name = name
	return b
}

// Permissions adds to spec.permissions.
func (b *RoleBuilder) Permissions(patterns ...string) *RoleBuilder {
	b.r.Spec.Permissions = append(b.r.Spec.Permissions, as[v1alpha1.PermissionPattern](patterns)...)
	return b
}

// Includes adds to spec.includes.
func (b *RoleBuilder) Includes(roles ...string) *RoleBuilder {
	b.r.Spec.Includes = append(b.r.Spec.Includes, as[v1alpha1.RoleName](roles)...)
	return b
}

// Features adds to spec.features.
func (b *RoleBuilder) Features(features ...string) *RoleBuilder {
	b.r.Spec.Features = append(b.r.Spec.Features, as[v1alpha1.FeatureName](features)...)
	return b
}

// OrganizationTypes adds to spec.organizationTypes, the types the role may be bound in.
func (b *RoleBuilder) OrganizationTypes(types ...v1alpha1.OrganizationType) *RoleBuilder {
	b.r.Spec.OrganizationTypes = append(b.r.Spec.OrganizationTypes, types...)
	return b
}

// Assigns adds to spec.assignableRoles, the roles its holders may hand out.
func (b *RoleBuilder) Assigns(roles ...string) *RoleBuilder {
	b.r.Spec.AssignableRoles = append(b.r.Spec.AssignableRoles, as[v1alpha1.AssignableRole](roles)...)
	return b
}

// Of sets spec.organizationRef: the role is org's own, usable in org's subtree only.
func (b *RoleBuilder) Of(org string) *RoleBuilder {
	b.r.Spec.OrganizationRef = ref(org)
	return b
}

// Deprecated sets spec.deprecation: the role is replaced by replacement and stops
// granting after removeAfter.
func (b *RoleBuilder) Deprecated(replacement string, removeAfter time.Time) *RoleBuilder {
	b.r.Spec.Deprecation = &v1alpha1.RoleDeprecation{
		Replacement: v1alpha1.RoleName(replacement),
		RemoveAfter: metav1.NewTime(removeAfter),
	}
	return b
}

// Obj returns a copy of the role built so far.
func (b *RoleBuilder) Obj() *v1alpha1.Role { return b.r.DeepCopy() }
