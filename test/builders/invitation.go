package builders

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// InvitationBuilder builds a UserInvitation.
type InvitationBuilder struct {
	objectMeta[*InvitationBuilder]
	i v1alpha1.UserInvitation
}

// Invitation invites email into org with roles, named after email and org.
func Invitation(email, org string, roles ...string) *InvitationBuilder {
	b := &InvitationBuilder{}
	b.objectMeta = objectMeta[*InvitationBuilder]{meta: &b.i.ObjectMeta, self: b}
	b.i.Name = "inv-" + nameFragment(email) + "-" + org
	b.i.Spec.Email = v1alpha1.Email(email)
	b.i.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org)
	if len(roles) > 0 {
		b.i.Spec.Roles = as[v1alpha1.RoleName](roles)
	}
	return b
}

// InvitedBy sets spec.invitedBy.
func (b *InvitationBuilder) InvitedBy(email string) *InvitationBuilder {
	b.i.Spec.InvitedBy = v1alpha1.Email(email)
	return b
}

// AcceptedAt sets spec.acceptedAt.
func (b *InvitationBuilder) AcceptedAt(t time.Time) *InvitationBuilder {
	at := metav1.NewTime(t)
	b.i.Spec.AcceptedAt = &at
	return b
}

// Blocked sets spec.blocked.
func (b *InvitationBuilder) Blocked() *InvitationBuilder {
	b.i.Spec.Blocked = true
	return b
}

// ExpiresAfter sets spec.expiresAfter.
func (b *InvitationBuilder) ExpiresAfter(d time.Duration) *InvitationBuilder {
	b.i.Spec.ExpiresAfter = &metav1.Duration{Duration: d}
	return b
}

// Granted records in status that the invitation was activated and grantedBy granted
// roles, as the invitation controller does on acceptance.
func (b *InvitationBuilder) Granted(grantedBy string, roles ...string) *InvitationBuilder {
	b.i.Status.Phase = v1alpha1.UserPhaseActive
	b.i.Status.GrantedRoles = roles
	b.i.Status.GrantedBy = grantedBy
	return b
}

// GrantedHere records in status that the grant holds in the organization only
// (grantedInheritance None): the inviter could assign the roles there through bindings
// with inheritance None.
func (b *InvitationBuilder) GrantedHere() *InvitationBuilder {
	b.i.Status.GrantedInheritance = v1alpha1.InheritanceNone
	return b
}

// GrantedDefaults records in status that the invitation, naming no roles, was activated
// with its organization's defaultRoles of the day, roles, judged against grantedBy.
func (b *InvitationBuilder) GrantedDefaults(grantedBy string, roles ...string) *InvitationBuilder {
	b.Granted(grantedBy, roles...)
	b.i.Status.GrantedDefaultRoles = true
	return b
}

// Phase records status.phase, as an earlier reconcile left it.
func (b *InvitationBuilder) Phase(phase v1alpha1.UserPhase) *InvitationBuilder {
	b.i.Status.Phase = phase
	return b
}

// Obj returns a copy of the invitation built so far.
func (b *InvitationBuilder) Obj() *v1alpha1.UserInvitation { return b.i.DeepCopy() }
