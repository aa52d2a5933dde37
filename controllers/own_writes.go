package controllers

import (
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ownWrites remembers the data the publisher has written to each document ConfigMap
// until the watch event of that write arrives, so that the event does not bring the
// organization back. Without it every published change reconciles its organization
// twice: once to publish, and once more, on the ConfigMap's update event, to gather and
// compile the same input only to find the document published (a role edit that reaches
// 10,101 organizations reconciled them 20,202 times).
//
// It holds an entry per write whose event has not arrived: a digest of the data, keyed
// by the ConfigMap. A hand edit of the data does not match the digest, and a change of
// the labels or the owners is never taken for the publisher's own, so both still bring
// the organization back to restore the document.
type ownWrites struct {
	mu      sync.Mutex
	pending map[types.NamespacedName]string // ConfigMap -> dataDigest of what was written
}

func newOwnWrites() *ownWrites {
	return &ownWrites{pending: map[types.NamespacedName]string{}}
}

// writing records that cm is about to be written with data of digest (dataDigest),
// before the write so that its event cannot arrive first. A nil receiver records
// nothing.
func (w *ownWrites) writing(cm *corev1.ConfigMap, digest string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending[types.NamespacedName{Namespace: cm.Namespace, Name: cm.Name}] = digest
}

// forget drops the record of a write that failed.
func (w *ownWrites) forget(cm *corev1.ConfigMap) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.pending, types.NamespacedName{Namespace: cm.Namespace, Name: cm.Name})
}

// observed says whether cm holds the data the publisher last wrote to it and forgets
// that write: each write answers one event. cm is the cache's copy, whose data is a
// digest (CacheOptions) or, without that transform, the data itself.
func (w *ownWrites) observed(cm *corev1.ConfigMap) bool {
	if w == nil {
		return false
	}
	key := types.NamespacedName{Namespace: cm.Namespace, Name: cm.Name}
	w.mu.Lock()
	want, ok := w.pending[key]
	if ok {
		delete(w.pending, key)
	}
	w.mu.Unlock()
	if !ok {
		return false
	}
	have, digested := cm.Data[dataDigestKey]
	if !digested {
		have = dataDigest(cm.Data)
	}
	return have == want
}

// awaiting says whether the publisher's write of data with digest to cm has not been
// observed yet: the cache's copy cm lags behind the API server, which holds that data
// (the write succeeded; a failed one is forgotten). Another reconcile of the
// organization in that window would otherwise update from the stale copy and fail
// with a conflict. It does not consume the write, whose event is still to come.
func (w *ownWrites) awaiting(cm *corev1.ConfigMap, digest string) bool {
	pending, ok := w.awaited(cm)
	return ok && pending == digest
}

// awaitingOther says whether a write of data other than digest to cm has not been
// observed yet: the cache's copy cm is older than that write, so it cannot say that the
// ConfigMap holds digest, even when its own data does. A document that changes and
// changes back before the first write's event (a binding created and deleted within
// the cache's lag) must be written again: the first write's event is the publisher's
// own, and brings nothing back.
func (w *ownWrites) awaitingOther(cm *corev1.ConfigMap, digest string) bool {
	pending, ok := w.awaited(cm)
	return ok && pending != digest
}

// awaited is the digest of the write to cm whose event has not arrived, if any. It does
// not consume the write.
func (w *ownWrites) awaited(cm *corev1.ConfigMap) (string, bool) {
	if w == nil {
		return "", false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	pending, ok := w.pending[types.NamespacedName{Namespace: cm.Namespace, Name: cm.Name}]
	return pending, ok
}

// notOwnWrite passes every ConfigMap event except the update the publisher's own write
// caused: the data it wrote, the labels and owners as they were.
func (w *ownWrites) notOwnWrite() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, okOld := e.ObjectOld.(*corev1.ConfigMap)
			cur, okNew := e.ObjectNew.(*corev1.ConfigMap)
			if !okOld || !okNew {
				return true
			}
			own := w.observed(cur) // first, so that every event consumes its write
			return !own || len(cur.BinaryData) != 0 || !maps.Equal(old.Labels, cur.Labels) ||
				!equality.Semantic.DeepEqual(old.OwnerReferences, cur.OwnerReferences)
		},
	}
}
