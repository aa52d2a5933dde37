package controllers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	org.Name, org.Generation = "acme", 4
	org.Status.PublishedConfigMaps = []string{"access-acme"}
	result := permissions.OrganizationResult{
		Path: []string{"north", "acme"}, Depth: 1, Users: v1alpha1.UserCounts{Active: 2},
		Conditions: []permissions.Condition{{Type: v1alpha1.ConditionReady, True: true, Reason: v1alpha1.ReasonReconciled}},
	}

	ok := organizationStatus(org, result, []string{"access-acme", "access-acme-2"}, nil, nil)
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
	failed := organizationStatus(org, result, []string{"access-acme", "access-acme-2"}, failure, nil)
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

	// Published, with a user's permissions withheld: Ready says whose, and why.
	withheld := organizationStatus(org, result, []string{"access-acme"}, nil,
		[]permissions.WithheldUser{{Email: "admin@acme.example", Bytes: 1148000}})
	ready = condition(withheld.Conditions, v1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionFalse || ready.Reason != v1alpha1.ReasonPermissionsTooLarge ||
		!strings.Contains(ready.Message, "admin@acme.example (1148000 bytes)") || !strings.Contains(ready.Message, "hold nothing in acme") {
		t.Errorf("Ready with a user withheld = %+v, want False/PermissionsTooLarge naming the user", ready)
	}
	if diff := cmp.Diff([]string{"access-acme"}, withheld.PublishedConfigMaps); diff != "" {
		t.Errorf("publishedConfigMaps with a user withheld (-want +got):\n%s", diff)
	}

	// An API error gives its reason; an error without one does not leave the message
	// ending in "failed: ".
	for err, want := range map[error]string{
		apierrors.NewForbidden(corev1.Resource("configmaps"), "access-acme", errors.New("denied")): "writing ConfigMap access-acme failed: Forbidden",
		errors.New("dial tcp 10.0.0.1:443: connect: connection refused"):                           "writing ConfigMap access-acme failed: no answer from the API server (the manager's log has the error)",
	} {
		var failure *publishError
		if !errors.As(writeFailed("access-acme", err), &failure) {
			t.Fatalf("writeFailed(%v) is not a publishError", err)
		}
		if got := failure.conditionMessage(); got != want {
			t.Errorf("message for %v = %q, want %q", err, got, want)
		}
	}
}

// TestStatusPatchIsTheMergePatchOfTheWholeObjects checks statusPatch against what it
// replaces: for objects that differ in status only, including fields set, changed and
// removed, its patch is byte for byte client.MergeFrom's.
func TestStatusPatchIsTheMergePatchOfTheWholeObjects(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled, Message: "ok", LastTransitionTime: at, ObservedGeneration: 1}
	notReady := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "RoleNotFound", Message: `role "x" not found`, LastTransitionTime: at, ObservedGeneration: 2}
	meta := metav1.ObjectMeta{Name: "a", Namespace: "billing", ResourceVersion: "7", Generation: 2, Labels: map[string]string{"k": "v"}}

	tests := []struct {
		name          string
		before, after client.Object
	}{{
		name:   "binding: a condition changes",
		before: &v1alpha1.RoleBinding{ObjectMeta: meta, Status: v1alpha1.RoleBindingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{ready}}},
		after:  &v1alpha1.RoleBinding{ObjectMeta: meta, Status: v1alpha1.RoleBindingStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{notReady}}},
	}, {
		name:   "binding: the first status",
		before: &v1alpha1.RoleBinding{ObjectMeta: meta},
		after:  &v1alpha1.RoleBinding{ObjectMeta: meta, Status: v1alpha1.RoleBindingStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{ready}}},
	}, {
		name: "invitation: fields removed and set",
		before: &v1alpha1.UserInvitation{ObjectMeta: meta, Status: v1alpha1.UserInvitationStatus{
			Phase: v1alpha1.UserPhaseActive, ExpiresAt: &at, GrantedRoles: []string{"admin", "viewer"}, GrantedBy: "owner@example.com", Bindings: []string{"a-admin"}, Conditions: []metav1.Condition{ready},
		}},
		after: &v1alpha1.UserInvitation{ObjectMeta: meta, Status: v1alpha1.UserInvitationStatus{
			Phase: v1alpha1.UserPhaseBlocked, GrantedRoles: []string{"viewer"}, Conditions: []metav1.Condition{notReady},
		}},
	}, {
		name:   "organization: counts and path",
		before: &v1alpha1.Organization{ObjectMeta: meta, Status: v1alpha1.OrganizationStatus{Path: []string{"root", "a"}, Depth: 1, Users: v1alpha1.UserCounts{Active: 3}, PublishedConfigMaps: []string{"orgaccess-a"}}},
		after:  &v1alpha1.Organization{ObjectMeta: meta, Status: v1alpha1.OrganizationStatus{Path: []string{"a"}, Users: v1alpha1.UserCounts{Active: 2, Blocked: 1}, PublishedConfigMaps: []string{"orgaccess-a"}, Conditions: []metav1.Condition{ready}}},
	}, {
		name:   "role: lists emptied",
		before: &v1alpha1.Role{ObjectMeta: meta, Status: v1alpha1.RoleStatus{Permissions: []string{"orders.read"}, UsedBy: []string{"b"}, BoundUsers: 4}},
		after:  &v1alpha1.Role{ObjectMeta: meta, Status: v1alpha1.RoleStatus{Features: []string{"orders"}, Conditions: []metav1.Condition{ready}}},
	}, {
		name:   "tree: everything removed",
		before: &v1alpha1.PermissionTree{ObjectMeta: meta, Status: v1alpha1.PermissionTreeStatus{ObservedGeneration: 1, Paths: 300, Conditions: []metav1.Condition{ready}}},
		after:  &v1alpha1.PermissionTree{ObjectMeta: meta},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := client.MergeFrom(tt.before).Data(tt.after)
			if err != nil {
				t.Fatal(err)
			}
			patch, err := statusPatch(tt.before, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			got, err := patch.Data(tt.after)
			if err != nil {
				t.Fatal(err)
			}
			if patch.Type() != types.MergePatchType {
				t.Errorf("patch type %s, want %s", patch.Type(), types.MergePatchType)
			}
			if string(got) != string(want) {
				t.Errorf("statusPatch:\n  %s\nclient.MergeFrom:\n  %s", got, want)
			}
		})
	}
}

// A type statusesOf does not know gets client.MergeFrom itself.
func TestStatusPatchOfAnotherTypeIsMergeFrom(t *testing.T) {
	before := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{"k": "1"}}
	after := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{"k": "2"}}
	patch, err := statusPatch(before, after)
	if err != nil {
		t.Fatal(err)
	}
	got, err := patch.Data(after)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"data":{"k":"2"}}`; string(got) != want {
		t.Errorf("patch %s, want %s", got, want)
	}
}

// BenchmarkStatusPatch is the patch of one binding's first status, as the cold start
// writes 200,000 of them: statusPatch against client.MergeFrom of the whole objects.
func BenchmarkStatusPatch(b *testing.B) {
	before := &v1alpha1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			Name: "user-4667-seller-2-account-manager", Namespace: "billing", UID: "0b5c2a8e-1f47-4c1e-9b0e-5d1e2f3a4b5c",
			ResourceVersion: "184467", Generation: 1, CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
			Labels: map[string]string{v1alpha1.InvitationLabel: "invite-user-4667-seller-2"},
		},
		Spec: v1alpha1.RoleBindingSpec{
			Subject:         v1alpha1.Subject{Email: "user-4667@seller-2.example"},
			RoleRef:         v1alpha1.LocalObjectReference{Name: "account-manager"},
			OrganizationRef: v1alpha1.LocalObjectReference{Name: "seller-2"},
		},
	}
	after := before.DeepCopy()
	after.Status = v1alpha1.RoleBindingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{{
		Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled, ObservedGeneration: 1,
		Message: `grants account-manager in seller-2 and its subtree`, LastTransitionTime: before.CreationTimestamp,
	}}}
	for _, bb := range []struct {
		name  string
		patch func() (client.Patch, error)
	}{
		{"statusPatch", func() (client.Patch, error) { return statusPatch(before, after) }},
		{"MergeFrom", func() (client.Patch, error) { return client.MergeFrom(before), nil }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := bb.patch()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Data(after); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A condition message longer than the API admits is cut on a character boundary, and
// says how much was left out; a shorter one is kept as it is.
func TestFitMessageCutsWhatTheAPIRefuses(t *testing.T) {
	short := strings.Repeat("a", maxConditionMessage)
	if got := fitMessage(short); got != short {
		t.Errorf("a message of exactly %d bytes was changed", maxConditionMessage)
	}
	for _, filler := range []string{"a", "é", "路", "🙂"} { // 1 to 4 bytes a character
		long := strings.Repeat(filler, maxConditionMessage+1)
		got := fitMessage(long)
		if len(got) > maxConditionMessage || !utf8.ValidString(got) {
			t.Errorf("%q: cut to %d bytes (valid UTF-8: %v); want at most %d", filler, len(got), utf8.ValidString(got), maxConditionMessage)
		}
		kept, cut, found := strings.Cut(got, " … (cut: ")
		if !found || !strings.HasPrefix(long, kept) || len(kept) < maxConditionMessage-100 {
			t.Errorf("%q: want a prefix of the message of nearly %d bytes and the cut's note, got %d bytes ending %q", filler, maxConditionMessage, len(got), got[max(0, len(got)-40):])
			continue
		}
		if want := fmt.Sprintf("%d more bytes)", len(long)-len(kept)); cut != want {
			t.Errorf("%q: the note says %q, want %q", filler, cut, want)
		}
	}
}
