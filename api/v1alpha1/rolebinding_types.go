package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Inheritance says whether a binding also holds in the organization's descendants.
// +kubebuilder:validation:Enum=Subtree;None
type Inheritance string

const (
	// InheritanceSubtree means the binding holds in the organization and all its descendants.
	InheritanceSubtree Inheritance = "Subtree"
	// InheritanceNone means the binding holds in this organization only.
	InheritanceNone Inheritance = "None"
)

// Subject is the user a binding grants to.
type Subject struct {
	// email is the user's email address, lowercase ASCII.
	// +required
	Email Email `json:"email"`
}

// RoleBindingSpec grants one role to one user in one organization.
type RoleBindingSpec struct {
	// subject is the user who holds the role.
	// +required
	Subject Subject `json:"subject"`

	// roleRef names the role held. It cannot change: bind another role with another
	// binding.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="roleRef is immutable: create a new binding instead"
	RoleRef LocalObjectReference `json:"roleRef"`

	// organizationRef names the organization where the role is held.
	// +required
	// +kubebuilder:validation:XValidation:rule="size(self.name) <= 63",message="names an organization, whose name is at most 63 characters",fieldPath=".name"
	OrganizationRef LocalObjectReference `json:"organizationRef"`

	// inheritance is Subtree (the default: the role holds in the organization and all
	// its descendants) or None (this organization only).
	// +optional
	// +kubebuilder:default=Subtree
	Inheritance Inheritance `json:"inheritance,omitempty"`

	// expiresAt revokes the binding at this instant (RFC 3339).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=date-time
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
}

// RoleBindingStatus is what the operator observed of a binding.
type RoleBindingStatus struct {
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (reasons RoleNotFound, OrganizationNotFound, RoleNotApplicable,
	// SubjectBlocked, Expired ...) and Deprecated. A binding that is not Ready grants
	// nothing.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// RoleBinding grants one role to one user in one organization and, by default, its
// subtree.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=orgrb,categories=orgaccess
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.subject.email`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.roleRef.name`
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.spec.organizationRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RoleBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says who holds which role where.
	// +required
	Spec RoleBindingSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status RoleBindingStatus `json:"status,omitempty"`
}

// RoleBindingList is a list of RoleBindings.
// +kubebuilder:object:root=true
type RoleBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RoleBinding `json:"items"`
}

func init() {
	register(&RoleBinding{}, &RoleBindingList{})
}
