package controllers

import (
	"encoding/json"
	"testing"
	"unsafe"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
)

// decoded is obj after a JSON round trip: every string its own copy, as an informer
// decodes it.
func decoded[T any](t *testing.T, obj *T) *T {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameCopy(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func TestTrimForCacheSharesNamesAcrossObjectsAndChangesNoValue(t *testing.T) {
	inv := builders.Invitation("ana@acme.example", "acme", "buyer").Granted("", "buyer").Obj()
	inv.Namespace, inv.UID = "platform", "0b5e9a1c-invitation"
	inv.Status.Bindings = []string{inv.Name + "-buyer"}
	inv.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Accepted", Message: "user ana is Active"}}
	owned := builders.Binding("ana@acme.example", "buyer", "acme").Named(inv.Name + "-buyer").OwnedBy(inv.Name).Obj()
	owned.Namespace = "platform"
	owned.OwnerReferences[0].UID = inv.UID
	owned.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Reconciled", Message: "role buyer granted"}}
	other := builders.Binding("ana@acme.example", "buyer", "globex").Obj()
	other.Namespace = "platform"
	other.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Reconciled", Message: "role buyer granted"}}

	shared := newInterner(internerCapacity)
	trim := func(obj any) {
		if _, err := trimForCache(obj, shared); err != nil {
			t.Fatal(err)
		}
	}
	gotInv, gotOwned, gotOther := decoded(t, inv), decoded(t, owned), decoded(t, other)
	trim(gotInv)
	trim(gotOwned)
	trim(gotOther)

	// No value changes: the cache's copies equal what the API server sent.
	for _, c := range []struct{ got, want any }{{gotInv, inv}, {gotOwned, owned}, {gotOther, other}} {
		if !equality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("trimmed %T differs:\n got %+v\nwant %+v", c.want, c.got, c.want)
		}
	}

	var ownedLabelKey string
	for k := range gotOwned.Labels {
		ownedLabelKey = k
	}
	shares := []struct {
		what string
		a, b string
	}{
		{"namespace", gotInv.Namespace, gotOther.Namespace},
		{"email: invitation and binding", string(gotInv.Spec.Email), string(gotOwned.Spec.Subject.Email)},
		{"email: two bindings", string(gotOwned.Spec.Subject.Email), string(gotOther.Spec.Subject.Email)},
		{"role", string(gotOwned.Spec.RoleRef.Name), string(gotOther.Spec.RoleRef.Name)},
		{"role granted and bound", gotInv.Status.GrantedRoles[0], string(gotOwned.Spec.RoleRef.Name)},
		{"organization", string(gotInv.Spec.OrganizationRef.Name), string(gotOwned.Spec.OrganizationRef.Name)},
		{"invitation label", gotOwned.Labels[v1alpha1.InvitationLabel], gotInv.Name},
		{"label key (the map's own copy)", ownedLabelKey, shared.intern(v1alpha1.InvitationLabel)},
		{"owner's name", gotOwned.OwnerReferences[0].Name, gotInv.Name},
		{"owner's UID", string(gotOwned.OwnerReferences[0].UID), string(gotInv.UID)},
		{"owner's kind", gotOwned.OwnerReferences[0].Kind, shared.intern("UserInvitation")},
		{"binding listed by its invitation", gotInv.Status.Bindings[0], gotOwned.Name},
		{"condition reason", gotOwned.Status.Conditions[0].Reason, gotOther.Status.Conditions[0].Reason},
	}
	for _, s := range shares {
		if s.a != s.b {
			t.Fatalf("%s: %q and %q differ", s.what, s.a, s.b)
		}
		if !sameCopy(s.a, s.b) {
			t.Errorf("%s: %q is not shared", s.what, s.a)
		}
	}
	// A message is particular to its object: never kept by the interner.
	if _, kept := shared.table[gotOwned.Status.Conditions[0].Message]; kept {
		t.Errorf("message %q is in the interner's table", gotOwned.Status.Conditions[0].Message)
	}
}

func TestInternerStartsAfreshWhenFull(t *testing.T) {
	// fresh returns a new copy of s (one-byte strings are static in Go: avoid them).
	fresh := func(s string) string { return string([]byte(s)) }
	shared := newInterner(2)
	a := shared.intern(fresh("alpha"))
	shared.intern("beta")
	if got := shared.intern(fresh("alpha")); !sameCopy(got, a) {
		t.Error("an interned string was not shared")
	}
	shared.intern("gamma") // the table is full: it starts afresh with gamma
	if len(shared.table) != 1 {
		t.Errorf("table holds %d strings after it was full, want 1", len(shared.table))
	}
	if got := shared.intern(fresh("alpha")); got != "alpha" || sameCopy(got, a) {
		t.Errorf("after starting afresh, intern(alpha) = %q sharing the old copy %t", got, sameCopy(got, a))
	}
	if shared.intern("") != "" {
		t.Error("the empty string changed")
	}
}
