package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OrganizationSpec describes one node of the organization tree.
// +kubebuilder:validation:XValidation:rule="self.type != 'Distributor' || !has(self.parentRef)",message="a Distributor is always a root organization and has no parentRef",fieldPath=".parentRef"
type OrganizationSpec struct {
	// type is the organization's level: Distributor, Seller, Customer or Unit. It cannot
	// change after creation. Sellers nest under a Distributor or stand at the root,
	// Customers under a Seller, a Distributor or the root, Units under a Customer or Unit.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="type is immutable: create a new organization instead"
	Type OrganizationType `json:"type"`

	// parentRef names the parent organization; absent for a root. Changing it moves the
	// organization, with its whole subtree, under the new parent.
	// +optional
	// +kubebuilder:validation:XValidation:rule="size(self.name) <= 63",message="names an organization, whose name is at most 63 characters",fieldPath=".name"
	ParentRef *LocalObjectReference `json:"parentRef,omitempty"`

	// displayName is the name people see.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// owner is the account owner's email. The owner may assign any role in this
	// organization and its subtree.
	// +optional
	Owner Email `json:"owner,omitempty"`

	// defaultRoles are given to an invitation into this organization that names no roles.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	DefaultRoles []RoleName `json:"defaultRoles,omitempty"`
}

// UserCounts counts the users of an organization by status.
type UserCounts struct {
	// new counts users invited and not accepted yet.
	// +optional
	New int32 `json:"new,omitempty"`
	// active counts users who hold access here.
	// +optional
	Active int32 `json:"active,omitempty"`
	// blocked counts users deactivated on the platform.
	// +optional
	Blocked int32 `json:"blocked,omitempty"`
	// expired counts invitations not accepted in time.
	// +optional
	Expired int32 `json:"expired,omitempty"`
	// rejected counts invitations whose inviter may not assign the roles.
	// +optional
	Rejected int32 `json:"rejected,omitempty"`
}

// OrganizationStatus is what the operator observed and published for an organization.
type OrganizationStatus struct {
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// path lists the names of the organization's ancestors and itself, root first.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:items:MaxLength=253
	Path []string `json:"path,omitempty"`

	// depth is the number of ancestors (0 for a root).
	// +optional
	Depth int32 `json:"depth,omitempty"`

	// users counts the users of this organization's published document by status.
	// +optional
	Users UserCounts `json:"users,omitempty"`

	// publishedConfigMaps names the ConfigMaps that hold this organization's document.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=253
	PublishedConfigMaps []string `json:"publishedConfigMaps,omitempty"`

	// conditions: Ready, with reasons such as ParentNotFound, InvalidNesting and InCycle.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Organization is one node of the platform's organization tree: a distributor, a
// seller, a customer company or one of its units.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=org,categories=orgaccess
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="metadata.name must be at most 63 characters: it is the value of the access.orgaccess.dev/organization label on the organization's documents, and a label value is at most 63",fieldPath=".metadata"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.parentRef) || self.spec.parentRef.name != self.metadata.name",message="an organization cannot be its own parent",fieldPath=".spec.parentRef.name"
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Parent",type=string,JSONPath=`.spec.parentRef.name`
// +kubebuilder:printcolumn:name="Active",type=integer,JSONPath=`.status.users.active`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Organization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the organization.
	// +required
	Spec OrganizationSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status OrganizationStatus `json:"status,omitempty"`
}

// OrganizationList is a list of Organizations.
// +kubebuilder:object:root=true
type OrganizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Organization `json:"items"`
}

func init() {
	register(&Organization{}, &OrganizationList{})
}
