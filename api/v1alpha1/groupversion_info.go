// Package v1alpha1 holds the orgaccess API: the five kinds of access.orgaccess.dev and
// the published access document that workloads read to authorize. It depends only on
// the standard library and k8s.io/apimachinery, so workloads can import it cheaply.
// +kubebuilder:object:generate=true
// +groupName=access.orgaccess.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every orgaccess kind.
	GroupVersion = schema.GroupVersion{Group: "access.orgaccess.dev", Version: "v1alpha1"}

	// SchemeBuilder adds the orgaccess kinds to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the orgaccess kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme

	// knownTypes collects each kind and its list, registered by the kinds' files.
	knownTypes []runtime.Object
)

// register records kinds for addKnownTypes; each kind's file calls it from init.
func register(objects ...runtime.Object) {
	knownTypes = append(knownTypes, objects...)
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, knownTypes...)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
