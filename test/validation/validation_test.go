package validation

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// refusedCase is a manifest with one mistake a user makes, and where the apiserver must
// point: the field path of a cause, and words its message must contain.
type refusedCase struct {
	name     string
	manifest string
	field    string
	message  []string
}

// TestCreateRefused applies one wrong manifest per mistake and expects the apiserver to
// refuse it, naming the field.
func TestCreateRefused(t *testing.T) {
	ns := newNamespace(t)
	cases := []refusedCase{
		// Organization
		{
			name: "organization_is_its_own_parent",
			manifest: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, parentRef: {name: acme}}`,
			field:   "spec.parentRef.name",
			message: []string{"cannot be its own parent"},
		},
		{
			name: "distributor_with_a_parent",
			manifest: `
kind: Organization
metadata: {name: northwind}
spec: {type: Distributor, parentRef: {name: global}}`,
			field:   "spec.parentRef",
			message: []string{"Distributor", "no parentRef"},
		},
		{
			name: "organization_type_reseller_instead_of_seller",
			manifest: `
kind: Organization
metadata: {name: contoso}
spec: {type: Reseller}`,
			field:   "spec.type",
			message: []string{`"Distributor", "Seller", "Customer", "Unit"`},
		},
		{
			name: "organization_type_in_lowercase",
			manifest: `
kind: Organization
metadata: {name: contoso}
spec: {type: seller}`,
			field:   "spec.type",
			message: []string{"Unsupported value"},
		},
		{
			name: "organization_without_a_type",
			manifest: `
kind: Organization
metadata: {name: contoso}
spec: {displayName: Contoso}`,
			field:   "spec.type",
			message: []string{"Required value"},
		},
		{
			name: "parent_named_with_uppercase",
			manifest: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, parentRef: {name: Contoso}}`,
			field:   "spec.parentRef.name",
			message: []string{"should match"},
		},
		{
			name: "uppercase_owner_email",
			manifest: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, owner: Owner@Acme.example}`,
			field:   "spec.owner",
			message: []string{"must be lowercase"},
		},
		{
			name: "same_default_role_twice",
			manifest: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, defaultRoles: [customer, billing-admin, customer]}`,
			field:   "spec.defaultRoles[2]",
			message: []string{"Duplicate value"},
		},
		{
			name: "display_name_longer_than_256",
			manifest: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, displayName: ` + strings.Repeat("a", 257) + `}`,
			field:   "spec.displayName",
			message: []string{"256"},
		},
		{
			name: "organization_name_too_long_for_its_document_label",
			manifest: `
kind: Organization
metadata: {name: ` + strings.Repeat("a", 64) + `}
spec: {type: Customer}`,
			field:   "metadata",
			message: []string{"metadata.name must be at most 63", "access.orgaccess.dev/organization label"},
		},
		// PermissionTree
		{
			name: "wildcard_in_permission_tree_path",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: "sales/*"}`,
			field:   "spec.permissions[0].path",
			message: []string{"allowed only in Role permissions"},
		},
		{
			name: "permission_path_nine_segments_deep",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: sales}
  - {path: a/b/c/d/e/f/g/h/i}`,
			field:   "spec.permissions[1].path",
			message: []string{"at most 8 segments"},
		},
		{
			name: "uppercase_segment_in_permission_path",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: Sales/checkout}`,
			field:   "spec.permissions[0].path",
			message: []string{"should match"},
		},
		{
			name: "permission_path_with_a_trailing_slash",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: sales/}`,
			field:   "spec.permissions[0].path",
			message: []string{"should match"},
		},
		{
			name: "permission_path_with_an_empty_segment",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: sales//checkout}`,
			field:   "spec.permissions[0].path",
			message: []string{"should match"},
		},
		{
			name: "same_path_twice_in_one_tree",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: sales, label: Sales}
  - {path: sales, label: Selling}`,
			field:   "spec.permissions[1]",
			message: []string{"Duplicate value"},
		},
		{
			name: "permission_implies_itself",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: contracts/write, implies: [contracts/read, contracts/write]}`,
			field:   "spec.permissions[0].implies",
			message: []string{"cannot imply itself"},
		},
		{
			name: "implied_path_with_a_wildcard",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: admin, implies: ["*/read"]}`,
			field:   "spec.permissions[0].implies[0]",
			message: []string{"allowed only in Role permissions"},
		},
		{
			name: "permission_implying_seventeen_paths",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: admin, implies: [` + numberedPaths("p", 17) + `]}`,
			field:   "spec.permissions[0].implies",
			message: []string{"at most 16"},
		},
		{
			name: "permission_path_longer_than_512_characters",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: ` + strings.Repeat(strings.Repeat("x", 70)+"/", 7) + strings.Repeat("x", 70) + `}`,
			field:   "spec.permissions[0].path",
			message: []string{"512"},
		},
		{
			name: "permission_tree_with_no_permissions",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec: {permissions: []}`,
			field:   "spec.permissions",
			message: []string{"at least 1"},
		},
		{
			name: "permission_label_longer_than_128",
			manifest: `
kind: PermissionTree
metadata: {name: catalog}
spec:
  permissions:
  - {path: sales, label: ` + strings.Repeat("x", 129) + `}`,
			field:   "spec.permissions[0].label",
			message: []string{"128"},
		},
		// Role
		{
			name: "role_includes_itself",
			manifest: `
kind: Role
metadata: {name: customer-admin}
spec: {includes: [customer, customer-admin]}`,
			field:   "spec.includes",
			message: []string{"cannot include itself"},
		},
		{
			name: "duplicate_role_in_includes",
			manifest: `
kind: Role
metadata: {name: customer-admin}
spec: {includes: [customer, customer]}`,
			field:   "spec.includes[1]",
			message: []string{"Duplicate value"},
		},
		{
			name: "partial_wildcard_in_role_permission",
			manifest: `
kind: Role
metadata: {name: seller-admin}
spec: {permissions: ["sales/check*"]}`,
			field:   "spec.permissions[0]",
			message: []string{"should match"},
		},
		{
			name: "role_permission_nine_segments_deep",
			manifest: `
kind: Role
metadata: {name: seller-admin}
spec: {permissions: [sales, "*/b/c/d/e/f/g/h/i"]}`,
			field:   "spec.permissions[1]",
			message: []string{"at most 8 segments"},
		},
		{
			name: "role_permission_with_a_leading_slash",
			manifest: `
kind: Role
metadata: {name: seller-admin}
spec: {permissions: [/sales]}`,
			field:   "spec.permissions[0]",
			message: []string{"should match"},
		},
		{
			name: "same_permission_twice_in_a_role",
			manifest: `
kind: Role
metadata: {name: seller-admin}
spec: {permissions: [sales, sales]}`,
			field:   "spec.permissions[1]",
			message: []string{"Duplicate value"},
		},
		{
			name: "more_than_256_permissions_in_a_role",
			manifest: `
kind: Role
metadata: {name: seller-admin}
spec: {permissions: [` + numberedPaths("p", 257) + `]}`,
			field:   "spec.permissions",
			message: []string{"at most 256"},
		},
		{
			name: "role_for_an_unknown_organization_type",
			manifest: `
kind: Role
metadata: {name: store-manager}
spec: {organizationTypes: [Unit, Store]}`,
			field:   "spec.organizationTypes[1]",
			message: []string{"Unsupported value"},
		},
		{
			name: "feature_name_with_a_space",
			manifest: `
kind: Role
metadata: {name: beta-preview}
spec: {features: [beta preview]}`,
			field:   "spec.features[0]",
			message: []string{"should match"},
		},
		{
			name: "assignable_role_with_a_partial_wildcard",
			manifest: `
kind: Role
metadata: {name: customer-admin}
spec: {assignableRoles: ["customer-*"]}`,
			field:   "spec.assignableRoles[0]",
			message: []string{"should match"},
		},
		{
			name: "removeAfter_not_a_date",
			manifest: `
kind: Role
metadata: {name: legacy-admin}
spec: {deprecation: {replacement: customer-admin, removeAfter: "next spring"}}`,
			field:   "spec.deprecation.removeAfter",
			message: []string{"date-time"},
		},
		{
			name: "removeAfter_without_a_time_of_day",
			manifest: `
kind: Role
metadata: {name: legacy-admin}
spec: {deprecation: {removeAfter: "2027-03-01"}}`,
			field:   "spec.deprecation.removeAfter",
			message: []string{"date-time"},
		},
		{
			name: "deprecation_without_removeAfter",
			manifest: `
kind: Role
metadata: {name: legacy-admin}
spec: {deprecation: {replacement: customer-admin}}`,
			field:   "spec.deprecation.removeAfter",
			message: []string{"Required value"},
		},
		{
			name: "role_replaced_by_itself",
			manifest: `
kind: Role
metadata: {name: legacy-admin}
spec: {deprecation: {replacement: legacy-admin, removeAfter: "2027-03-01T00:00:00Z"}}`,
			field:   "spec.deprecation.replacement",
			message: []string{"cannot be its own replacement"},
		},
		{
			name: "custom_role_of_an_organization_named_with_uppercase",
			manifest: `
kind: Role
metadata: {name: acme-auditor}
spec: {organizationRef: {name: ACME}}`,
			field:   "spec.organizationRef.name",
			message: []string{"should match"},
		},
		// RoleBinding
		{
			name: "uppercase_email_in_binding_subject",
			manifest: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: Alice@acme.example}, roleRef: {name: customer-admin}, organizationRef: {name: acme}}`,
			field:   "spec.subject.email",
			message: []string{"must be lowercase"},
		},
		{
			name: "binding_subject_email_without_a_domain",
			manifest: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice}, roleRef: {name: customer-admin}, organizationRef: {name: acme}}`,
			field:   "spec.subject.email",
			message: []string{"must be an ASCII email address"},
		},
		{
			name: "binding_without_a_role",
			manifest: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice@acme.example}, organizationRef: {name: acme}}`,
			field:   "spec.roleRef",
			message: []string{"Required value"},
		},
		{
			name: "binding_inheritance_all_instead_of_subtree",
			manifest: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer-admin}, organizationRef: {name: acme}, inheritance: All}`,
			field:   "spec.inheritance",
			message: []string{`"Subtree", "None"`},
		},
		{
			name: "binding_expiresAt_not_a_date",
			manifest: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer-admin}, organizationRef: {name: acme}, expiresAt: tomorrow}`,
			field:   "spec.expiresAt",
			message: []string{"date-time"},
		},
		// UserInvitation
		{
			name: "invitation_name_too_long_for_its_bindings_label",
			manifest: `
kind: UserInvitation
metadata: {name: ` + strings.Repeat("a", 64) + `}
spec: {email: alice@acme.example, organizationRef: {name: acme}}`,
			field:   "metadata",
			message: []string{"metadata.name must be at most 63", "access.orgaccess.dev/invitation label"},
		},
		{
			name: "uppercase_email_in_invitation",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: Alice@Acme.example, organizationRef: {name: acme}}`,
			field:   "spec.email",
			message: []string{"must be lowercase"},
		},
		{
			name: "lookalike_cyrillic_letter_in_invitation_email",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: аlice@acme.example, organizationRef: {name: acme}}`,
			field:   "spec.email",
			message: []string{"must be an ASCII email address"},
		},
		{
			name: "invitation_email_with_two_at_signs",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme@example.com, organizationRef: {name: acme}}`,
			field:   "spec.email",
			message: []string{"must be an ASCII email address"},
		},
		{
			name: "invitation_without_an_organization",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example}`,
			field:   "spec.organizationRef",
			message: []string{"Required value"},
		},
		{
			name: "expiresAfter_not_a_duration",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}, expiresAfter: one week}`,
			field:   "spec.expiresAfter",
			message: []string{"Go duration"},
		},
		{
			name: "expiresAfter_in_days",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}, expiresAfter: 7d}`,
			field:   "spec.expiresAfter",
			message: []string{"Go duration"},
		},
		{
			name: "expiresAfter_longer_than_a_year",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}, expiresAfter: 9000h}`,
			field:   "spec.expiresAfter",
			message: []string{"between 1m and 8760h"},
		},
		{
			name: "acceptedAt_not_a_date",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}, acceptedAt: "22/11/2026 10:00"}`,
			field:   "spec.acceptedAt",
			message: []string{"date-time"},
		},
		{
			name: "uppercase_inviter_email",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, invitedBy: Bob@acme.example, organizationRef: {name: acme}}`,
			field:   "spec.invitedBy",
			message: []string{"must be lowercase"},
		},
		{
			name: "duplicate_role_in_invitation",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}, roles: [customer, billing-admin, customer]}`,
			field:   "spec.roles[2]",
			message: []string{"Duplicate value"},
		},
		{
			name: "blocked_written_as_a_word",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}, blocked: "yes"}`,
			field:   "spec.blocked",
			message: []string{"boolean"},
		},
		// References to an organization: its name is at most 63 characters (its label
		// and its document's name), so a longer reference could never resolve.
		{
			name: "parentRef_longer_than_any_organization_name",
			manifest: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, parentRef: {name: ` + strings.Repeat("a", 64) + `}}`,
			field:   "spec.parentRef.name",
			message: []string{"at most 63 characters"},
		},
		{
			name: "binding_organizationRef_longer_than_any_organization_name",
			manifest: `
kind: RoleBinding
metadata: {name: alice}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer}, organizationRef: {name: ` + strings.Repeat("a", 64) + `}}`,
			field:   "spec.organizationRef.name",
			message: []string{"at most 63 characters"},
		},
		{
			name: "invitation_organizationRef_longer_than_any_organization_name",
			manifest: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: ` + strings.Repeat("a", 64) + `}}`,
			field:   "spec.organizationRef.name",
			message: []string{"at most 63 characters"},
		},
		{
			name: "custom_role_organizationRef_longer_than_any_organization_name",
			manifest: `
kind: Role
metadata: {name: senior-buyer}
spec: {organizationRef: {name: ` + strings.Repeat("a", 64) + `}}`,
			field:   "spec.organizationRef.name",
			message: []string{"at most 63 characters"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := manifest(t, ns, apiVersion+tc.manifest)
			err := k8sClient.Create(context.Background(), obj)
			if err == nil {
				// Keep a wrongly accepted object from colliding with later cases.
				t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), obj) })
			}
			requireRefused(t, err, tc.field, tc.message...)
		})
	}
}

// apiVersion starts every inline manifest.
const apiVersion = "apiVersion: access.orgaccess.dev/v1alpha1\n"

// numberedPaths returns n distinct permission paths as a YAML flow list body.
func numberedPaths(prefix string, n int) string {
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return strings.Join(paths, ", ")
}
