package controllers

import (
	"errors"
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

func TestOrganizationStatusReportsTheOutcomeOfThePublish(t *testing.T) {
	org := &v1alpha1.Organization{}
	org.Generation = 4
	org.Status.PublishedConfigMaps = []string{"access-acme"}
	result := permissions.OrganizationResult{
		Path: []string{"north", "acme"}, Depth: 1, Users: v1alpha1.UserCounts{Active: 2},
		Conditions: []permissions.Condition{{Type: v1alpha1.ConditionReady, True: true, Reason: v1alpha1.ReasonReconciled}},
	}

	ok := organizationStatus(org, result, []string{"access-acme", "access-acme-2"}, nil)
	if diff := cmp.Diff([]string{"access-acme", "access-acme-2"}, ok.PublishedConfigMaps); diff != "" {
		t.Errorf("publishedConfigMaps after a publish (-want +got):\n%s", diff)
	}
	if c := condition(ok.Conditions, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue || c.ObservedGeneration != 4 {
		t.Errorf("Ready after a publish = %+v, want True at generation 4", c)
	}
	if ok.ObservedGeneration != 4 || ok.Depth != 1 || ok.Users.Active != 2 || len(ok.Path) != 2 {
		t.Errorf("status does not carry the engine's result: %+v", ok)
	}

	failure := &publishError{configMap: "access-acme-2", reason: "it is controlled by Organization acme-2", err: errors.New("x")}
	failed := organizationStatus(org, result, []string{"access-acme", "access-acme-2"}, failure)
	ready := condition(failed.Conditions, v1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionFalse || ready.Reason != v1alpha1.ReasonPublishFailed {
		t.Errorf("Ready after a failed publish = %+v, want False/PublishFailed", ready)
	}
	if want := "writing ConfigMap access-acme-2 failed: it is controlled by Organization acme-2"; ready.Message != want {
		t.Errorf("Ready message = %q, want %q", ready.Message, want)
	}
	if diff := cmp.Diff([]string{"access-acme"}, failed.PublishedConfigMaps); diff != "" {
		t.Errorf("publishedConfigMaps after a failed publish keeps the last (-want +got):\n%s", diff)
	}
}
