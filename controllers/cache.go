package controllers

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
//   - no managedFields, and no kubectl last-applied-configuration annotation except on
//     ConfigMaps: the reconcilers read neither, and on a platform of small objects
//     they are a large part of each object's size.
//   - a document ConfigMap's data as a digest: the publisher only compares it with
//     what it would write (configMapUpToDate), and documents are the largest objects
//     the manager holds.
//   - one copy of each name and reference the objects repeat (intern.go).
//   - email addresses in their canonical form (v1alpha1.Email.Canonical), as admission
//     stores them: an object written around admission with capitals in an address is
//     indexed, gathered and judged as the same user, so a block reaches it.
//
// Writes never erase what the cache left out: the reconcilers patch what they change
// of the platform's objects, and the publisher updates a document ConfigMap whole from
// a copy that lacks only its managedFields (which the API server keeps when an update
// sends none) and the data it replaces.
func CacheOptions(namespaces map[string]cache.Config) (cache.Options, error) {
	documents, err := labels.NewRequirement(v1alpha1.OrganizationLabel, selection.Exists, nil)
	if err != nil {
		return cache.Options{}, fmt.Errorf("select ConfigMaps by %s: %w", v1alpha1.OrganizationLabel, err)
	}
	shared := newInterner(internerCapacity)
	return cache.Options{
		DefaultNamespaces: namespaces,
		DefaultTransform:  func(obj any) (any, error) { return trimForCache(obj, shared) },
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Label: labels.NewSelector().Add(*documents)},
		},
	}, nil
}

// trimForCache drops from an object what no reconciler reads before the cache stores
// it: managedFields, the last-applied-configuration annotation (a ConfigMap keeps it,
// for the publisher's update), a ConfigMap's data (kept as a digest); and makes its
// names and references share shared's copies. It
// modifies obj, which the informer has just decoded and nobody else holds, and may be
// applied again to what it returned.
func trimForCache(obj any, shared *interner) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil // a tombstone of a deletion: its object was trimmed when stored
	}
	o.SetManagedFields(nil)
	cm, isConfigMap := o.(*corev1.ConfigMap)
	if isConfigMap {
		digestData(cm)
	}
	if annotations := o.GetAnnotations(); annotations != nil && !isConfigMap {
		if _, ok := annotations[corev1.LastAppliedConfigAnnotation]; ok {
			annotations = maps.Clone(annotations)
			delete(annotations, corev1.LastAppliedConfigAnnotation)
			if len(annotations) == 0 {
				annotations = nil
			}
			o.SetAnnotations(annotations)
		}
	}
	canonicalEmails(o)
	shared.internObject(o)
	return o, nil
}

// canonicalEmails puts o's email addresses in their canonical form. The field indexes
// key users by address and the gather looks them up by the addresses of other objects,
// so every address a reconciler reads must already be canonical. Writes are patches of
// what a reconciler changes, so the API server's copy keeps its spelling.
func canonicalEmails(o client.Object) {
	switch o := o.(type) {
	case *v1alpha1.RoleBinding:
		o.Spec.Subject.Email = o.Spec.Subject.Email.Canonical()
	case *v1alpha1.UserInvitation:
		o.Spec.Email, o.Spec.InvitedBy = o.Spec.Email.Canonical(), o.Spec.InvitedBy.Canonical()
		o.Status.GrantedBy = string(v1alpha1.Email(o.Status.GrantedBy).Canonical())
	case *v1alpha1.Organization:
		o.Spec.Owner = o.Spec.Owner.Canonical()
	}
}

// dataDigestKey holds, in the cache's copy of a ConfigMap, the digest of its data. The
// '#' cannot be part of a ConfigMap key, so no ConfigMap read from the API server has it.
const dataDigestKey = "data#sha256"

// digestData replaces cm's data by its digest (dataDigestKey), which covers its keys and
// values: all the publisher compares (sameData), since an update replaces the data whole
// (mergeConfigMap).
func digestData(cm *corev1.ConfigMap) {
	if _, done := cm.Data[dataDigestKey]; done || len(cm.Data) == 0 {
		return // client-go may transform an object it already transformed
	}
	cm.Data = map[string]string{dataDigestKey: dataDigest(cm.Data)}
}

// dataDigest is a digest of data's keys and values, in key order, each length-prefixed
// so that consecutive strings cannot run together.
//
// The strings go to the hash through one small buffer: a document is hashed on every
// publish, and converting it to bytes whole copied it each time (docs/performance-log.md).
func dataDigest(data map[string]string) string {
	h := sha256.New()
	buf := make([]byte, 0, 4096)
	for _, k := range sortedKeys(data) {
		for _, s := range [2]string{k, data[k]} {
			_, _ = h.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(len(s))))
			for n := 0; len(s) > 0; s = s[n:] {
				n = min(len(s), cap(buf))
				_, _ = h.Write(append(buf[:0], s[:n]...))
			}
		}
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}
