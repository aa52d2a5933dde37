package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RoleDeprecation retires a role: it works until removeAfter, and after that bindings
// to it grant the replacement's permissions, or nothing when there is none.
type RoleDeprecation struct {
	// replacement names the role whose grants replace this one's after removeAfter.
	// +optional
	Replacement RoleName `json:"replacement,omitempty"`

	// removeAfter is the instant (RFC 3339) from which the role no longer grants itself.
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=date-time
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
	RemoveAfter metav1.Time `json:"removeAfter"`
}

// RoleSpec is a named set of permission paths and features.
// +kubebuilder:validation:XValidation:rule="has(self.organizationRef) == has(oldSelf.organizationRef)",message="organizationRef cannot be added or removed: a custom role stays its organization's and a platform role stays the platform's; create a new role instead",fieldPath=".organizationRef"
type RoleSpec struct {
	// displayName is the name people see, such as "Customer admin".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// description says what the role is for.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// permissions are the paths the role grants; a segment may be "*". Granting a path
	// grants its whole subtree.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	Permissions []PermissionPattern `json:"permissions,omitempty"`

	// includes names other roles whose grants this role carries too.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	Includes []RoleName `json:"includes,omitempty"`

	// features are feature flags the role grants, such as "beta-preview". A role may
	// grant features and no permissions.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	Features []FeatureName `json:"features,omitempty"`

	// organizationTypes limits where the role may be bound; empty means anywhere.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	OrganizationTypes []OrganizationType `json:"organizationTypes,omitempty"`

	// organizationRef makes this a custom role of one organization: it may be bound only
	// in that organization's subtree.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organizationRef is immutable: create a new role for the other organization instead"
	// +kubebuilder:validation:XValidation:rule="size(self.name) <= 63",message="names an organization, whose name is at most 63 characters",fieldPath=".name"
	OrganizationRef *LocalObjectReference `json:"organizationRef,omitempty"`

	// assignableRoles are the roles that holders of this role may assign to others where
	// they hold it; "*" means any role whose permissions they hold themselves.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	AssignableRoles []AssignableRole `json:"assignableRoles,omitempty"`

	// deprecation retires the role at a set instant, optionally for a replacement.
	// +optional
	Deprecation *RoleDeprecation `json:"deprecation,omitempty"`
}

// RoleStatus is what the operator resolved of a role.
type RoleStatus struct {
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// permissions is the role's expanded permission list: its own and every included
	// role's, sorted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8192
	// +kubebuilder:validation:items:MaxLength=512
	Permissions []string `json:"permissions,omitempty"`

	// features is the role's expanded feature list, sorted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=63
	Features []string `json:"features,omitempty"`

	// boundUsers counts the distinct users bound to this role.
	// +optional
	BoundUsers int32 `json:"boundUsers,omitempty"`

	// deprecatedOnlyUsers counts the users whose only roles are deprecated ones.
	// +optional
	DeprecatedOnlyUsers int32 `json:"deprecatedOnlyUsers,omitempty"`

	// usedBy names, sorted and at most 20, the objects that use this role
	// ("RoleBinding/alice-admin", "Role/superuser", "UserInvitation/bob").
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=300
	UsedBy []string `json:"usedBy,omitempty"`

	// conditions: Ready (reasons UnknownPermission, IncludeCycle, IncludeNotFound ...),
	// Deprecated, and InUse while a deletion waits.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Role is a named set of permission paths and features, optionally including other
// roles, bound to users by RoleBindings.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=orgrole,categories=orgaccess
// +kubebuilder:validation:XValidation:rule="!has(self.spec.includes) || !(self.metadata.name in self.spec.includes)",message="a role cannot include itself",fieldPath=".spec.includes"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.deprecation) || !has(self.spec.deprecation.replacement) || self.spec.deprecation.replacement != self.metadata.name",message="a role cannot be its own replacement",fieldPath=".spec.deprecation.replacement"
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.boundUsers`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Role struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes what the role grants.
	// +required
	Spec RoleSpec `json:"spec"`

	// status is what the operator resolved.
	// +optional
	Status RoleStatus `json:"status,omitempty"`
}

// RoleList is a list of Roles.
// +kubebuilder:object:root=true
type RoleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Role `json:"items"`
}

func init() {
	register(&Role{}, &RoleList{})
}
