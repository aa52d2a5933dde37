package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UserPhase is a user's status.
// +kubebuilder:validation:Enum=New;Active;Blocked;Expired;Rejected
type UserPhase string

const (
	// UserPhaseNew is a user invited who has not accepted yet. Grants nothing.
	UserPhaseNew UserPhase = "New"
	// UserPhaseActive is a user who accepted and signed in; they hold the invitation's
	// roles.
	UserPhaseActive UserPhase = "Active"
	// UserPhaseBlocked is a user deactivated by an administrator; they hold nothing
	// anywhere on the platform. Renewed by clearing spec.blocked.
	UserPhaseBlocked UserPhase = "Blocked"
	// UserPhaseExpired is an invitation not accepted in time. Grants nothing; renewed by
	// re-inviting.
	UserPhaseExpired UserPhase = "Expired"
	// UserPhaseRejected is an invitation whose inviter may not assign the roles, or that
	// is invalid. Grants nothing.
	UserPhaseRejected UserPhase = "Rejected"
)

// UserInvitationSpec invites a user by email into an organization with roles. An
// invitation may name its own user as invitedBy: a user assigning themselves a role
// they may assign (the seeds' admins give themselves the 360° Report Viewer role in the
// organizations they pick), judged like any other, on what they hold without it.
type UserInvitationSpec struct {
	// email is the invited user's address, lowercase ASCII. It cannot change: invite
	// the new address instead.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="email is immutable: invite the new address instead"
	Email Email `json:"email"`

	// organizationRef names the organization the user is invited into. It cannot change.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organizationRef is immutable: invite into the other organization instead"
	// +kubebuilder:validation:XValidation:rule="size(self.name) <= 63",message="names an organization, whose name is at most 63 characters",fieldPath=".name"
	OrganizationRef LocalObjectReference `json:"organizationRef"`

	// roles are the roles the user holds once active; empty means the organization's
	// defaultRoles.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	Roles []RoleName `json:"roles,omitempty"`

	// invitedBy is the email of the inviting user. When set, that user must hold in the
	// organization a role whose assignableRoles allows every invited role, or be the
	// owner of the organization or of one of its ancestors; else the invitation is
	// Rejected. Without it the invitation is trusted: Kubernetes RBAC decides who may
	// create it.
	// +optional
	InvitedBy Email `json:"invitedBy,omitempty"`

	// expiresAfter is how long after creation the invitation may be accepted (Go
	// duration, at least 1m, at most 8760h; default 168h).
	// +optional
	// +kubebuilder:default="168h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$')",message="must be a Go duration such as 168h or 90m (units h, m, s, ms, us, ns; no days)"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('1m') && duration(self) <= duration('8760h'))",message="must be between 1m and 8760h"
	ExpiresAfter *metav1.Duration `json:"expiresAfter,omitempty"`

	// acceptedAt is set by the platform's sign-in service when the user accepts the
	// invitation and signs in (RFC 3339). It makes the user Active from that instant,
	// if it is before the invitation expires (creation plus expiresAfter).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=date-time
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
	AcceptedAt *metav1.Time `json:"acceptedAt,omitempty"`

	// blocked deactivates the user on the whole platform; clearing it renews them.
	// +optional
	Blocked bool `json:"blocked,omitempty"`
}

// UserInvitationStatus is the user's status as the operator decided it.
type UserInvitationStatus struct {
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is the user's status: New, Active, Blocked, Expired or Rejected.
	// +optional
	Phase UserPhase `json:"phase,omitempty"`

	// expiresAt is when a New invitation expires: creation plus expiresAfter.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// grantedRoles are the roles granted on activation, after the delegation check.
	// Delegation is judged again only when roles or invitedBy change.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	GrantedRoles []string `json:"grantedRoles,omitempty"`

	// grantedBy is the invitedBy that grantedRoles were judged against.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	GrantedBy string `json:"grantedBy,omitempty"`

	// grantedDefaultRoles says that grantedRoles are the organization's defaultRoles,
	// granted because the invitation named no roles. Such a grant is kept when
	// defaultRoles change later; any other grant is judged again once the invitation
	// names no roles.
	// +optional
	GrantedDefaultRoles bool `json:"grantedDefaultRoles,omitempty"`

	// grantedInheritance is the inheritance of the bindings the grant gives: None when
	// grantedBy may assign the roles only through bindings that hold in the
	// organization alone (inheritance None), so the invitee holds them there only, as
	// the inviter does; empty for Subtree.
	// +optional
	GrantedInheritance Inheritance `json:"grantedInheritance,omitempty"`

	// bindings names the RoleBindings created for the granted roles.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	Bindings []string `json:"bindings,omitempty"`

	// conditions: Ready, with reasons such as Pending, Accepted, Blocked, Expired,
	// DelegationRefused, RoleNotFound and RoleNotApplicable.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// UserInvitation invites a user by email into an organization with roles, and carries
// that user's status: New, Active, Blocked, Expired or Rejected.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=invite,categories=orgaccess
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="metadata.name must be at most 63 characters: it is the value of the access.orgaccess.dev/invitation label on the invitation's RoleBindings, and a label value is at most 63",fieldPath=".metadata"
// +kubebuilder:printcolumn:name="Email",type=string,JSONPath=`.spec.email`
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.spec.organizationRef.name`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type UserInvitation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the invitation.
	// +required
	Spec UserInvitationSpec `json:"spec"`

	// status is the user's status.
	// +optional
	Status UserInvitationStatus `json:"status,omitempty"`
}

// UserInvitationList is a list of UserInvitations.
// +kubebuilder:object:root=true
type UserInvitationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UserInvitation `json:"items"`
}

func init() {
	register(&UserInvitation{}, &UserInvitationList{})
}
