package validation

import (
	"context"
	"testing"
)

// updateCase is an object as first applied and the same object as the user edits it.
type updateCase struct {
	name     string
	original string
	edited   string
	// field and message say where the apiserver must point when it refuses the edit;
	// empty field means the edit must be accepted.
	field   string
	message []string
}

// TestUpdateRefused edits a stored object the way users try to, and expects the fields
// that cannot change, and the rules that hold on every write, to refuse the edit.
func TestUpdateRefused(t *testing.T) {
	runUpdateCases(t, []updateCase{
		{
			name: "changing_an_organizations_type",
			original: `
kind: Organization
metadata: {name: contoso}
spec: {type: Seller}`,
			edited: `
kind: Organization
metadata: {name: contoso}
spec: {type: Customer}`,
			field:   "spec.type",
			message: []string{"type is immutable"},
		},
		{
			name: "giving_a_distributor_a_parent_later",
			original: `
kind: Organization
metadata: {name: northwind}
spec: {type: Distributor}`,
			edited: `
kind: Organization
metadata: {name: northwind}
spec: {type: Distributor, parentRef: {name: global}}`,
			field:   "spec.parentRef",
			message: []string{"Distributor", "no parentRef"},
		},
		{
			name: "reparenting_an_organization_under_itself",
			original: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, parentRef: {name: contoso}}`,
			edited: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, parentRef: {name: acme}}`,
			field:   "spec.parentRef.name",
			message: []string{"cannot be its own parent"},
		},
		{
			name: "changing_a_bindings_roleRef",
			original: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer}, organizationRef: {name: acme}}`,
			edited: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer-admin}, organizationRef: {name: acme}}`,
			field:   "spec.roleRef",
			message: []string{"roleRef is immutable"},
		},
		{
			name: "changing_an_invitations_email",
			original: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}}`,
			edited: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice.smith@acme.example, organizationRef: {name: acme}}`,
			field:   "spec.email",
			message: []string{"email is immutable"},
		},
		{
			name: "moving_an_invitation_to_another_organization",
			original: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}}`,
			edited: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: contoso}}`,
			field:   "spec.organizationRef",
			message: []string{"organizationRef is immutable"},
		},
		{
			name: "adding_a_role_to_its_own_includes_later",
			original: `
kind: Role
metadata: {name: customer-admin}
spec: {includes: [customer]}`,
			edited: `
kind: Role
metadata: {name: customer-admin}
spec: {includes: [customer, customer-admin]}`,
			field:   "spec.includes",
			message: []string{"cannot include itself"},
		},
		{
			name: "uppercasing_a_binding_subject",
			original: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer}, organizationRef: {name: acme}}`,
			edited: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: Alice@acme.example}, roleRef: {name: customer}, organizationRef: {name: acme}}`,
			field:   "spec.subject.email",
			message: []string{"must be lowercase"},
		},
		// A custom role re-pointed at another company, or made platform-wide, would
		// start granting through bindings that were RoleNotApplicable; whoever may edit
		// a company's roles (seed 003) must not lift its isolation.
		{
			name: "repointing_a_custom_role_at_another_company",
			original: `
kind: Role
metadata: {name: senior-buyer}
spec: {organizationRef: {name: luma}, permissions: [all/sales]}`,
			edited: `
kind: Role
metadata: {name: senior-buyer}
spec: {organizationRef: {name: globex}, permissions: [all/sales]}`,
			field:   "spec.organizationRef",
			message: []string{"organizationRef is immutable"},
		},
		{
			name: "turning_a_custom_role_into_a_platform_role",
			original: `
kind: Role
metadata: {name: senior-buyer}
spec: {organizationRef: {name: luma}, permissions: [all/sales]}`,
			edited: `
kind: Role
metadata: {name: senior-buyer}
spec: {permissions: [all/sales]}`,
			field:   "spec.organizationRef",
			message: []string{"cannot be added or removed"},
		},
		{
			name: "turning_a_platform_role_into_a_custom_role",
			original: `
kind: Role
metadata: {name: buyer}
spec: {permissions: [all/sales]}`,
			edited: `
kind: Role
metadata: {name: buyer}
spec: {organizationRef: {name: luma}, permissions: [all/sales]}`,
			field:   "spec.organizationRef",
			message: []string{"cannot be added or removed"},
		},
	})
}

// TestUpdateAccepted proves the immutability rules refuse only what they must: the
// edits the design allows go through.
func TestUpdateAccepted(t *testing.T) {
	runUpdateCases(t, []updateCase{
		{
			name: "reparenting_a_customer_to_another_seller",
			original: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, parentRef: {name: contoso}}`,
			edited: `
kind: Organization
metadata: {name: acme}
spec: {type: Customer, parentRef: {name: fabrikam}, displayName: ACME}`,
		},
		{
			name: "narrowing_a_bindings_inheritance",
			original: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer}, organizationRef: {name: acme}}`,
			edited: `
kind: RoleBinding
metadata: {name: alice-admin}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer}, organizationRef: {name: acme}, inheritance: None, expiresAt: "2027-01-01T00:00:00Z"}`,
		},
		{
			name: "blocking_an_invitation_and_changing_its_roles",
			original: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}, roles: [customer]}`,
			edited: `
kind: UserInvitation
metadata: {name: alice}
spec: {email: alice@acme.example, organizationRef: {name: acme}, roles: [customer-admin], blocked: true}`,
		},
		{
			name: "editing_a_custom_roles_permissions",
			original: `
kind: Role
metadata: {name: senior-buyer}
spec: {organizationRef: {name: luma}, permissions: [all/sales]}`,
			edited: `
kind: Role
metadata: {name: senior-buyer}
spec: {organizationRef: {name: luma}, permissions: [all/sales, all/quotes], displayName: Senior buyer}`,
		},
	})
}

func runUpdateCases(t *testing.T, cases []updateCase) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Each case creates an object under the same name; its own namespace keeps
			// them apart.
			ns := newNamespace(t)
			original := manifest(t, ns, apiVersion+tc.original)
			if err := k8sClient.Create(ctx, original); err != nil {
				t.Fatalf("create the original: %v", err)
			}
			edited := manifest(t, ns, apiVersion+tc.edited)
			edited.SetResourceVersion(original.GetResourceVersion())
			err := k8sClient.Update(ctx, edited)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("the apiserver refused an allowed edit: %v", err)
				}
				return
			}
			requireRefused(t, err, tc.field, tc.message...)
		})
	}
}
