package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
	"unicode/utf8"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// mergeConditions returns existing updated to hold exactly the engine's conditions,
// stamped with generation. meta.SetStatusCondition moves LastTransitionTime only when a
// condition's status flips, so a condition that keeps its status never flaps; condition
// types the engine no longer reports are removed. existing is not modified.
func mergeConditions(existing []metav1.Condition, decided []permissions.Condition, generation int64) []metav1.Condition {
	merged := make([]metav1.Condition, len(existing))
	copy(merged, existing)
	reported := make(map[string]bool, len(decided))
	for _, c := range decided {
		reported[c.Type] = true
		meta.SetStatusCondition(&merged, toCondition(c, generation))
	}
	for _, c := range existing {
		if !reported[c.Type] {
			meta.RemoveStatusCondition(&merged, c.Type)
		}
	}
	if len(merged) == 0 {
		return nil
	}
	return merged
}

// toCondition turns an engine condition into the API's, stamped with generation.
func toCondition(c permissions.Condition, generation int64) metav1.Condition {
	status := metav1.ConditionFalse
	if c.True {
		status = metav1.ConditionTrue
	}
	return metav1.Condition{
		Type:               c.Type,
		Status:             status,
		Reason:             c.Reason,
		Message:            fitMessage(c.Message),
		ObservedGeneration: generation,
	}
}

// maxConditionMessage is the longest message metav1.Condition's schema admits.
const maxConditionMessage = 32768

// fitMessage is msg cut, on a character boundary, to what a condition admits, saying how
// much was left out. The engine lists every problem of an object in one message (a tree
// defining hundreds of paths twice, a role granting hundreds of unknown paths): the API
// server refuses a longer one, and the status would never be written.
func fitMessage(msg string) string {
	if len(msg) <= maxConditionMessage {
		return msg
	}
	const suffix = " … (cut: %d more bytes)"
	cut := maxConditionMessage - len(suffix) - 10 // the count's digits
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + fmt.Sprintf(suffix, len(msg)-cut)
}

// patchStatus writes obj's status when it differs from before, the object as read, with
// a merge patch of the status subresource; obj must differ from before in status only.
// equality.Semantic compares times by instant. An object deleted since it was read
// has no status to write: that is not an error, and its delete event reconciles
// whatever depended on it.
func patchStatus(ctx context.Context, c client.Client, before, obj client.Object) error {
	if equality.Semantic.DeepEqual(before, obj) {
		writesSkipped.WithLabelValues(resourceStatus).Inc()
		return nil
	}
	patch, err := statusPatch(before, obj)
	if err != nil {
		return fmt.Errorf("compute status patch of %s %s: %w", kindOf(obj), client.ObjectKeyFromObject(obj), err)
	}
	if err := c.Status().Patch(ctx, obj, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patch status of %s %s: %w", kindOf(obj), client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// statusPatch is the merge patch client.MergeFrom(before) sends for obj, which differs
// from before in status only, computed from the two statuses rather than from the two
// whole objects: a merge patch of metadata and spec that are equal is empty, so
// {"status": <the statuses' merge patch>} is the same patch. Encoding and decoding both
// whole objects for every status write was a tenth of what a full-size cold start
// allocated (docs/performance-log.md). A type without a case below gets client.MergeFrom.
func statusPatch(before, obj client.Object) (client.Patch, error) {
	from, to, ok := statusesOf(before, obj)
	if !ok {
		return client.MergeFrom(before), nil
	}
	fromJSON, err := json.Marshal(from)
	if err != nil {
		return nil, err
	}
	toJSON, err := json.Marshal(to)
	if err != nil {
		return nil, err
	}
	diff, err := jsonpatch.CreateMergePatch(fromJSON, toJSON)
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, len(`{"status":}`)+len(diff))
	data = append(append(append(data, `{"status":`...), diff...), '}')
	return client.RawPatch(types.MergePatchType, data), nil
}

// statusesOf returns the statuses of before and obj, objects of the same API type.
func statusesOf(before, obj client.Object) (from, to any, ok bool) {
	switch o := obj.(type) {
	case *v1alpha1.RoleBinding:
		return statusPair(before, o, func(b *v1alpha1.RoleBinding) any { return &b.Status })
	case *v1alpha1.UserInvitation:
		return statusPair(before, o, func(i *v1alpha1.UserInvitation) any { return &i.Status })
	case *v1alpha1.Organization:
		return statusPair(before, o, func(g *v1alpha1.Organization) any { return &g.Status })
	case *v1alpha1.Role:
		return statusPair(before, o, func(r *v1alpha1.Role) any { return &r.Status })
	case *v1alpha1.PermissionTree:
		return statusPair(before, o, func(t *v1alpha1.PermissionTree) any { return &t.Status })
	}
	return nil, nil, false
}

// statusPair is statusesOf for obj of type T.
func statusPair[T client.Object](before client.Object, obj T, status func(T) any) (from, to any, ok bool) {
	b, ok := before.(T)
	if !ok {
		return nil, nil, false
	}
	return status(b), status(obj), true
}

// requeueForTime asks to be reconciled again exactly when the engine says a result
// changes by time alone (an expiry, a removeAfter); otherwise only events reconcile.
func requeueForTime(p *permissions.Platform, now time.Time) ctrl.Result {
	next, ok := p.NextChange()
	return requeueAt(next, ok, now)
}

// requeueAt is the result of a reconcile at now whose results change by time at next
// (ok), or never (!ok).
func requeueAt(next time.Time, ok bool, now time.Time) ctrl.Result {
	if !ok {
		return ctrl.Result{}
	}
	after := next.Sub(now)
	if after <= 0 {
		// A next change is after now by contract; requeue soon rather than never if not.
		after = time.Second
	}
	return ctrl.Result{RequeueAfter: after}
}

// soonest is the result that requeues at the earlier of a's and b's requeues (none:
// zero): a reconcile of several objects comes back for the first of them.
func soonest(a, b ctrl.Result) ctrl.Result {
	if a.RequeueAfter == 0 || (b.RequeueAfter != 0 && b.RequeueAfter < a.RequeueAfter) {
		return b
	}
	return a
}

// notCompiled is a reconcile's answer when the engine has no result for the object its
// Get found. The gather reads the cache after the Get, so the object may have been
// deleted in between (a blocked user's bindings are): then there is nothing to write,
// and its delete event reconciles what depended on it. Otherwise the cache's indexes
// were not in step with its Get yet, and the error has the reconcile retried. empty is
// a new object of the reconciled kind, for the second read.
func notCompiled(ctx context.Context, c client.Reader, empty client.Object, kind string, req ctrl.Request) error {
	if err := c.Get(ctx, req.NamespacedName, empty); apierrors.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("the engine has no result for %s %s: the cache is not in step yet", kind, req)
}

// metaTime converts an engine time to the API's, at the second precision the API
// stores, so that a status compares equal to the one read back after writing it.
func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}

// kindOf names obj's kind for a message ("Role", not "*v1alpha1.Role"): a typed object
// read from the cache has no TypeMeta, so the name comes from its Go type.
func kindOf(obj client.Object) string {
	return reflect.TypeOf(obj).Elem().Name()
}
