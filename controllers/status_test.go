package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

func TestMergeConditions(t *testing.T) {
	long := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	existing := []metav1.Condition{
		{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled, LastTransitionTime: long, ObservedGeneration: 1},
		{Type: v1alpha1.ConditionDeprecated, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDeprecated, LastTransitionTime: long, ObservedGeneration: 1},
	}
	tests := []struct {
		name       string
		decided    []permissions.Condition
		wantTypes  []string
		wantMoved  map[string]bool // condition type -> LastTransitionTime moved
		wantStatus map[string]metav1.ConditionStatus
	}{{
		name:       "same status keeps the transition time",
		decided:    []permissions.Condition{{Type: v1alpha1.ConditionReady, True: true, Reason: v1alpha1.ReasonReconciled, Message: "new message"}, {Type: v1alpha1.ConditionDeprecated, True: true, Reason: v1alpha1.ReasonDeprecated}},
		wantTypes:  []string{v1alpha1.ConditionReady, v1alpha1.ConditionDeprecated},
		wantMoved:  map[string]bool{v1alpha1.ConditionReady: false, v1alpha1.ConditionDeprecated: false},
		wantStatus: map[string]metav1.ConditionStatus{v1alpha1.ConditionReady: metav1.ConditionTrue},
	}, {
		name:       "a flip moves it, a condition no longer reported goes",
		decided:    []permissions.Condition{{Type: v1alpha1.ConditionReady, Reason: v1alpha1.ReasonRoleNotFound}},
		wantTypes:  []string{v1alpha1.ConditionReady},
		wantMoved:  map[string]bool{v1alpha1.ConditionReady: true},
		wantStatus: map[string]metav1.ConditionStatus{v1alpha1.ConditionReady: metav1.ConditionFalse},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]metav1.Condition(nil), existing...)
			got := mergeConditions(existing, tt.decided, 7)
			if diff := cmp.Diff(before, existing); diff != "" {
				t.Fatalf("mergeConditions modified its input (-before +after):\n%s", diff)
			}
			var types []string
			for _, c := range got {
				types = append(types, c.Type)
				if c.ObservedGeneration != 7 {
					t.Errorf("%s observedGeneration = %d, want 7", c.Type, c.ObservedGeneration)
				}
				if moved := !c.LastTransitionTime.Equal(&long); moved != tt.wantMoved[c.Type] {
					t.Errorf("%s LastTransitionTime moved = %v, want %v", c.Type, moved, tt.wantMoved[c.Type])
				}
				if want, ok := tt.wantStatus[c.Type]; ok && c.Status != want {
					t.Errorf("%s status = %s, want %s", c.Type, c.Status, want)
				}
			}
			if diff := cmp.Diff(tt.wantTypes, types); diff != "" {
				t.Errorf("condition types (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMetaTimeRoundsToWhatTheAPIStores(t *testing.T) {
	in := time.Date(2026, 5, 6, 7, 8, 9, 987654321, time.FixedZone("x", 3600))
	got := metaTime(&in)
	if !got.Time.Equal(time.Date(2026, 5, 6, 6, 8, 9, 0, time.UTC)) {
		t.Errorf("metaTime(%v) = %v, want the same second in UTC", in, got.Time)
	}
	if metaTime(nil) != nil {
		t.Error("metaTime(nil) != nil")
	}
}
