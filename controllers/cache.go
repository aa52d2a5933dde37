package controllers

import (
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// CacheOptions returns the manager cache's options for these controllers, watching
// namespaces (nil: every namespace). The cache holds what the reconcilers read and no
// more:
//   - ConfigMaps only when they carry the organization label (the published
//     documents): a cluster's other ConfigMaps are never read, and caching them would
//     cost memory in proportion to the cluster rather than to the platforms.
//   - no managedFields and no kubectl last-applied-configuration annotation: the
//     reconcilers read neither, and on a platform of small objects they are a large
//     part of each object's size.
//
// Writes never send what the cache left out: the reconcilers patch what they change
// rather than update whole objects.
func CacheOptions(namespaces map[string]cache.Config) (cache.Options, error) {
	documents, err := labels.NewRequirement(v1alpha1.OrganizationLabel, selection.Exists, nil)
	if err != nil {
		return cache.Options{}, fmt.Errorf("select ConfigMaps by %s: %w", v1alpha1.OrganizationLabel, err)
	}
	return cache.Options{
		DefaultNamespaces: namespaces,
		DefaultTransform:  trimForCache,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Label: labels.NewSelector().Add(*documents)},
		},
	}, nil
}

// trimForCache drops from an object what no reconciler reads before the cache stores
// it: managedFields and the last-applied-configuration annotation. It modifies obj, which
// the informer has just decoded and nobody else holds.
func trimForCache(obj any) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil // a tombstone of a deletion: its object was trimmed when stored
	}
	o.SetManagedFields(nil)
	if annotations := o.GetAnnotations(); annotations != nil {
		if _, ok := annotations[corev1.LastAppliedConfigAnnotation]; ok {
			annotations = maps.Clone(annotations)
			delete(annotations, corev1.LastAppliedConfigAnnotation)
			if len(annotations) == 0 {
				annotations = nil
			}
			o.SetAnnotations(annotations)
		}
	}
	return o, nil
}
