package controllers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
		Message:            c.Message,
		ObservedGeneration: generation,
	}
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
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patch status of %T %s: %w", obj, client.ObjectKeyFromObject(obj), err)
	}
	return nil
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
