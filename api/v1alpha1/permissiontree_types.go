package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Permission is one node of the permission tree. Its parent is the path without its
// last segment; CRD schemas cannot recurse, so the tree is a flat list of paths.
// +kubebuilder:validation:XValidation:rule="!has(self.implies) || !(self.path in self.implies)",message="a permission cannot imply itself",fieldPath=".implies"
type Permission struct {
	// path is the permission's place in the tree, such as "sales/checkout".
	// +required
	Path PermissionPath `json:"path"`

	// label is the short name people see, such as "Allow Checkout".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Label string `json:"label,omitempty"`

	// description says what holding the permission allows.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// implies names other paths that holding this one also grants ("contracts/write"
	// implies "contracts/read"). At most 16: the apiserver estimates the cost of the
	// path rules over every implication of every permission, and refuses the CRD when
	// that estimate exceeds its CEL budget.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	Implies []PermissionPath `json:"implies,omitempty"`
}

// PermissionTreeSpec is a catalog of permission paths. All trees of a namespace merge.
type PermissionTreeSpec struct {
	// permissions lists the tree's paths; each path at most once.
	// +required
	// +listType=map
	// +listMapKey=path
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1024
	Permissions []Permission `json:"permissions"`
}

// PermissionTreeStatus is what the operator observed of a permission tree.
type PermissionTreeStatus struct {
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// paths counts this tree's paths.
	// +optional
	Paths int32 `json:"paths,omitempty"`

	// conditions: Ready, with reasons such as DuplicatePath, UnknownImplication and
	// MissingParent.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PermissionTree is an optional catalog of the platform's permission paths, with
// labels, descriptions and implications. With one present, published permission sets
// hold the full closure of every grant.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ptree,categories=orgaccess
// +kubebuilder:printcolumn:name="Paths",type=integer,JSONPath=`.status.paths`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PermissionTree struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec lists the permissions.
	// +required
	Spec PermissionTreeSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status PermissionTreeStatus `json:"status,omitempty"`
}

// PermissionTreeList is a list of PermissionTrees.
// +kubebuilder:object:root=true
type PermissionTreeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PermissionTree `json:"items"`
}

func init() {
	register(&PermissionTree{}, &PermissionTreeList{})
}
