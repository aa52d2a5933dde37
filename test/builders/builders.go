// Package builders makes the orgaccess API objects tests need, fluently and in the
// style of Kueue's testing wrappers:
//
//	builders.Role("admin").Permissions("sales").Includes("viewer").Obj()
//
// A builder sets only what it is told, plus a name. Metadata a suite needs on every
// object (a namespace, a generation, a creation time) is the suite's to add: envtest
// suites let their create helper fill in the namespace, the engine's tests stamp
// theirs when they assemble an Input. Obj returns a deep copy, so a builder may be
// extended after Obj without changing objects it already returned.
package builders

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// objectMeta carries the metadata options every builder shares. B is the builder that
// embeds it, so the options chain with the builder's own methods.
type objectMeta[B any] struct {
	meta *metav1.ObjectMeta
	self B
}

// Named renames the object.
func (m objectMeta[B]) Named(name string) B {
	m.meta.Name = name
	return m.self
}

// CreatedAt sets metadata.creationTimestamp, from which invitations expire and which
// breaks ties between otherwise equal objects.
func (m objectMeta[B]) CreatedAt(t time.Time) B {
	m.meta.CreationTimestamp = metav1.NewTime(t)
	return m.self
}

// Deleting sets metadata.deletionTimestamp: the object is being deleted and a finalizer
// holds it.
func (m objectMeta[B]) Deleting(since time.Time) B {
	at := metav1.NewTime(since)
	m.meta.DeletionTimestamp = &at
	return m.self
}

// as converts names to one of the API's string types.
func as[T ~string](names []string) []T {
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = T(n)
	}
	return out
}

// ref refers to the object named name in the same namespace.
func ref(name string) *v1alpha1.LocalObjectReference {
	return &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(name)}
}

// nameFragment turns an email into something a Kubernetes name may contain.
func nameFragment(email string) string {
	out := []byte(email)
	for i, c := range out {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			out[i] = '-'
		}
	}
	return string(out)
}
