package controllers

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// A platform's bindings and invitations repeat the same few strings: every object
// names its namespace, kind and API version; a binding names its user, role and
// organization, which other bindings and the user's invitation name too; an
// invitation-owned binding names its invitation three times (label, owner reference,
// and the invitation's own name), and the invitation lists the binding's name. Decoded
// from the API server, each of those is a separate copy. The cache's transform
// (trimForCache) makes equal strings share one copy, which on a converged platform
// saves about a third of the heap the cache keeps per binding
// (BenchmarkCachedObjectHeap, docs/performance.md).
//
// Only what identifies or references objects is shared, never messages (each is its
// own), and a string is replaced only by an equal one, so no reader can tell.

// internerCapacity bounds the interner's table: about a full-size platform's distinct
// names (100,000 users, their invitations, organizations, roles).
const internerCapacity = 1 << 18

// interner returns, for a string, an equal string it has seen before, so that equal
// strings share one copy. Its table is bounded: when full, it starts afresh; strings
// already shared stay shared, and strings of deleted objects are not kept for long.
// Safe for concurrent use: every informer's transform shares it.
type interner struct {
	mu       sync.Mutex
	capacity int
	table    map[string]string
}

func newInterner(capacity int) *interner {
	return &interner{capacity: capacity, table: make(map[string]string)}
}

// intern returns the table's copy of s, adding s if none.
func (in *interner) intern(s string) string {
	if s == "" {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if have, ok := in.table[s]; ok {
		return have
	}
	if len(in.table) >= in.capacity {
		in.table = make(map[string]string)
	}
	in.table[s] = s
	return s
}

// internObject makes o's references and names share the interner's copies; a nil
// interner leaves o as it is. It modifies o, which the informer has just decoded and
// nobody else holds.
func (in *interner) internObject(o client.Object) {
	if in == nil {
		return
	}
	if tm, ok := o.GetObjectKind().(*metav1.TypeMeta); ok {
		tm.APIVersion, tm.Kind = in.intern(tm.APIVersion), in.intern(tm.Kind)
	}
	o.SetNamespace(in.intern(o.GetNamespace()))
	for k, v := range o.GetLabels() {
		// Assigning to an existing key replaces the map's copy of the key too.
		o.GetLabels()[in.intern(k)] = in.intern(v)
	}
	for i := range o.GetFinalizers() {
		o.GetFinalizers()[i] = in.intern(o.GetFinalizers()[i])
	}
	refs := o.GetOwnerReferences()
	for i := range refs {
		r := &refs[i]
		r.APIVersion, r.Kind, r.Name = in.intern(r.APIVersion), in.intern(r.Kind), in.intern(r.Name)
		r.UID = typed(in, r.UID)
	}

	switch o := o.(type) {
	case *v1alpha1.RoleBinding:
		o.Name = in.intern(o.Name)
		s := &o.Spec
		s.Subject.Email = typed(in, s.Subject.Email)
		s.RoleRef.Name = typed(in, s.RoleRef.Name)
		s.OrganizationRef.Name = typed(in, s.OrganizationRef.Name)
		s.Inheritance = typed(in, s.Inheritance)
		in.internConditions(o.Status.Conditions)
	case *v1alpha1.UserInvitation:
		o.Name, o.UID = in.intern(o.Name), typed(in, o.UID)
		s := &o.Spec
		s.Email, s.InvitedBy = typed(in, s.Email), typed(in, s.InvitedBy)
		s.OrganizationRef.Name = typed(in, s.OrganizationRef.Name)
		for i := range s.Roles {
			s.Roles[i] = typed(in, s.Roles[i])
		}
		st := &o.Status
		st.Phase, st.GrantedBy = typed(in, st.Phase), in.intern(st.GrantedBy)
		st.GrantedInheritance = typed(in, st.GrantedInheritance)
		for i := range st.GrantedRoles {
			st.GrantedRoles[i] = in.intern(st.GrantedRoles[i])
		}
		for i := range st.Bindings {
			st.Bindings[i] = in.intern(st.Bindings[i])
		}
		in.internConditions(st.Conditions)
	}
}

// internConditions shares the conditions' type, status and reason; a message is
// particular to its object.
func (in *interner) internConditions(conditions []metav1.Condition) {
	for i := range conditions {
		c := &conditions[i]
		c.Type, c.Reason, c.Status = in.intern(c.Type), in.intern(c.Reason), typed(in, c.Status)
	}
}

// typed interns a value of a string type.
func typed[S ~string](in *interner, s S) S { return S(in.intern(string(s))) }
