// Package v1alpha1 holds the orgaccess API: the five kinds of access.orgaccess.dev and
// the published access document that workloads read to authorize.
// +kubebuilder:object:generate=true
// +groupName=access.orgaccess.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every orgaccess kind.
	GroupVersion = schema.GroupVersion{Group: "access.orgaccess.dev", Version: "v1alpha1"}

	// SchemeBuilder adds the orgaccess kinds to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the orgaccess kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
