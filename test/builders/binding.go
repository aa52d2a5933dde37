package builders

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// BindingBuilder builds a RoleBinding.
type BindingBuilder struct {
	objectMeta[*BindingBuilder]
	b v1alpha1.RoleBinding
}

// Binding binds role to email in org, named after all three. Inheritance is Subtree,
// the API's default, set explicitly because the engine's inputs skip admission.
func Binding(email, role, org string) *BindingBuilder {
	b := &BindingBuilder{}
	b.objectMeta = objectMeta[*BindingBuilder]{meta: &b.b.ObjectMeta, self: b}
	b.b.Name = "rb-" + nameFragment(email) + "-" + role + "-" + org
	b.b.Spec = v1alpha1.RoleBindingSpec{
		Subject:         v1alpha1.Subject{Email: v1alpha1.Email(email)},
		RoleRef:         v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(role)},
		OrganizationRef: v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(org)},
		Inheritance:     v1alpha1.InheritanceSubtree,
	}
	return b
}

// ThisOrganizationOnly sets inheritance None: the binding does not reach descendants.
func (b *BindingBuilder) ThisOrganizationOnly() *BindingBuilder {
	b.b.Spec.Inheritance = v1alpha1.InheritanceNone
	return b
}

// ExpiresAt sets spec.expiresAt.
func (b *BindingBuilder) ExpiresAt(t time.Time) *BindingBuilder {
	at := metav1.NewTime(t)
	b.b.Spec.ExpiresAt = &at
	return b
}

// OwnedBy marks the binding as granted by the named invitation, the way the invitation
// controller does: the invitation label and an owner reference.
func (b *BindingBuilder) OwnedBy(invitation string) *BindingBuilder {
	b.b.Labels = map[string]string{v1alpha1.InvitationLabel: invitation}
	b.b.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "UserInvitation", Name: invitation,
	}}
	return b
}

// Obj returns a copy of the binding built so far.
func (b *BindingBuilder) Obj() *v1alpha1.RoleBinding { return b.b.DeepCopy() }
