package controllers

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// The field indexes are registered on the informers directly and kept per namespace
// only (setupIndexes). Every one of them must answer a lookup through the manager's
// client in the object's namespace, and find nothing in another.
func TestEveryIndexAnswersLookupsInItsNamespaceOnly(t *testing.T) {
	ns, other := newPlatform(t), newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Customer("widgets").Under("contoso").DefaultRoles("customer").Obj(),
		builders.Role("old-customer").Permissions("sales").Deprecated("customer", testClock.Now().Add(time.Hour)).Obj(),
		builders.Role("acme-auditor").Permissions("reports").Of("acme").Obj(),
		builders.Binding("dora@acme.example", "customer", "acme").Named("dora-customer").Obj(),
		builders.Invitation("erin@acme.example", "acme", "customer").InvitedBy("owner@acme.example").
			AcceptedAt(testClock.Now().Add(-time.Minute)).Obj(),
		builders.Invitation("fred@acme.example", "acme", "customer").InvitedBy("owner@acme.example").Obj(),
	)

	eventually(t, func(g Gomega) {
		found := map[string]int{}
		for _, ix := range fieldIndexes {
			for _, obj := range cachedObjects(g, ix.obj, ns) {
				for _, key := range ix.extract(obj) {
					found[ix.field+" of "+kindOf(ix.obj)]++
					g.Expect(namesByIndex(g, ix.obj, ns, ix.field, key)).To(ContainElement(obj.GetName()),
						"%s %s by %s=%s", kindOf(ix.obj), obj.GetName(), ix.field, key)
					g.Expect(namesByIndex(g, ix.obj, other, ix.field, key)).To(BeEmpty(),
						"%s by %s=%s in another namespace", kindOf(ix.obj), ix.field, key)
					// A gather reads bindings and invitations from the indexers directly.
					if gathered, ok := namesByIndexer(g, ix.obj, ns, ix.field, key); ok {
						g.Expect(gathered).To(ConsistOf(namesByIndex(g, ix.obj, ns, ix.field, key)),
							"%s by %s=%s from the indexer", kindOf(ix.obj), ix.field, key)
						elsewhere, _ := namesByIndexer(g, ix.obj, other, ix.field, key)
						g.Expect(elsewhere).To(BeEmpty(),
							"%s by %s=%s from the indexer in another namespace", kindOf(ix.obj), ix.field, key)
					}
				}
			}
		}
		// Every index holds a key, so every one was looked up.
		for _, ix := range fieldIndexes {
			g.Expect(found).To(HaveKey(ix.field+" of "+kindOf(ix.obj)), "no object is indexed by %s", ix.field)
		}
	})
}

func TestIndexLookupsRequireANamespace(t *testing.T) {
	var list v1alpha1.RoleBindingList
	err := listByIndex(context.Background(), cached, &list, "", indexBindingEmail, "dora@acme.example")
	if err == nil {
		t.Fatal("a lookup without a namespace succeeded; it would find nothing and say so silently")
	}
	empty := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{})
	if err := indexedEach([]toolscache.Indexer{empty}, "", indexBindingEmail, "dora@acme.example", func(*v1alpha1.RoleBinding) {}); err == nil {
		t.Fatal("an indexer lookup without a namespace succeeded; it would find nothing and say so silently")
	}
}

// namesByIndexer names the objects of obj's kind in ns whose field index holds key, as
// a gather reads them from the informers' indexers; ok is false for a kind a gather
// does not read that way.
func namesByIndexer(g Gomega, obj client.Object, ns, field, key string) (names []string, ok bool) {
	switch obj.(type) {
	case *v1alpha1.RoleBinding:
		into := map[string]*v1alpha1.RoleBinding{}
		g.Expect(intoByIndex(context.Background(), gatherer{informers: cachedInformers}, ns, field, key, into)).To(Succeed())
		return sortedKeys(into), true
	case *v1alpha1.UserInvitation:
		into := map[string]*v1alpha1.UserInvitation{}
		g.Expect(intoByIndex(context.Background(), gatherer{informers: cachedInformers}, ns, field, key, into)).To(Succeed())
		return sortedKeys(into), true
	}
	return nil, false
}

// newList is an empty list of obj's kind.
func newList(g Gomega, obj client.Object) client.ObjectList {
	gvk, err := apiutil.GVKForObject(obj, cached.Scheme())
	g.Expect(err).NotTo(HaveOccurred())
	list, err := cached.Scheme().New(schema.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind + "List"})
	g.Expect(err).NotTo(HaveOccurred())
	return list.(client.ObjectList)
}

// cachedObjects is every object of obj's kind in ns, as the manager's cache holds it.
func cachedObjects(g Gomega, obj client.Object, ns string) []client.Object {
	list := newList(g, obj)
	g.Expect(cached.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var out []client.Object
	g.Expect(meta.EachListItem(list, func(o runtime.Object) error {
		out = append(out, o.(client.Object))
		return nil
	})).To(Succeed())
	return out
}

// namesByIndex names the objects of obj's kind in ns whose field index holds key.
func namesByIndex(g Gomega, obj client.Object, ns, field, key string) []string {
	list := newList(g, obj)
	g.Expect(listByIndex(context.Background(), cached, list, ns, field, key)).To(Succeed())
	var names []string
	g.Expect(meta.EachListItem(list, func(o runtime.Object) error {
		names = append(names, o.(client.Object).GetName())
		return nil
	})).To(Succeed())
	return names
}

// A binding's status write passes no watch that filters with notOwnStatus (the
// RoleBinding reconciler's own, the UserInvitation reconciler's of its owned bindings);
// every change of what a reconciler reads does.
func TestNotOwnStatusPassesEveryChangeButTheStatus(t *testing.T) {
	old := builders.Binding("ada@example.com", "viewer", "acme").OwnedBy("ada").Obj()
	old.Generation = 1
	old.Finalizers = []string{"example.com/keep"}
	changes := map[string]func(b *v1alpha1.RoleBinding){
		"generation":  func(b *v1alpha1.RoleBinding) { b.Generation++ },
		"label":       func(b *v1alpha1.RoleBinding) { b.Labels[v1alpha1.InvitationLabel] = "other" },
		"annotation":  func(b *v1alpha1.RoleBinding) { b.Annotations = map[string]string{"note": "x"} },
		"owner":       func(b *v1alpha1.RoleBinding) { b.OwnerReferences = nil },
		"finalizer":   func(b *v1alpha1.RoleBinding) { b.Finalizers = nil },
		"deletion":    func(b *v1alpha1.RoleBinding) { b.DeletionTimestamp = &metav1.Time{Time: time.Now()} },
		"status only": func(b *v1alpha1.RoleBinding) { b.Status.ObservedGeneration = 1 },
	}
	for name, change := range changes {
		cur := old.DeepCopy()
		change(cur)
		cur.ResourceVersion = "2" // every update moves it
		got := notOwnStatus.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: cur})
		if want := name != "status only"; got != want {
			t.Errorf("%s: passes = %v, want %v", name, got, want)
		}
	}
}

// The UserInvitation reconciler's own watch drops the update that only added its
// finalizer, which the reconcile that added it has already gone past; every other
// finalizer change still passes.
func TestNotOwnWritesDropsOnlyTheFinalizersOwnAddition(t *testing.T) {
	old := builders.Invitation("ada@example.com", "acme", "viewer").Named("ada").Obj()
	old.Generation = 1
	old.Finalizers = []string{"example.com/keep"}
	changes := map[string]struct {
		change func(i *v1alpha1.UserInvitation)
		want   bool
	}{
		"finalizer added": {func(i *v1alpha1.UserInvitation) { i.Finalizers = append(i.Finalizers, InvitationFinalizer) }, false},
		"status only":     {func(i *v1alpha1.UserInvitation) { i.Status.ObservedGeneration = 1 }, false},
		"another finalizer added too": {func(i *v1alpha1.UserInvitation) {
			i.Finalizers = append(i.Finalizers, InvitationFinalizer, "example.com/other")
		}, true},
		"another finalizer removed": {func(i *v1alpha1.UserInvitation) { i.Finalizers = []string{InvitationFinalizer} }, true},
		"finalizer added with a label": {func(i *v1alpha1.UserInvitation) {
			i.Finalizers = append(i.Finalizers, InvitationFinalizer)
			i.Labels = map[string]string{"team": "x"}
		}, true},
		"finalizer added with the deletion": {func(i *v1alpha1.UserInvitation) {
			i.Finalizers = append(i.Finalizers, InvitationFinalizer)
			i.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}, true},
	}
	for name, c := range changes {
		cur := old.DeepCopy()
		c.change(cur)
		cur.ResourceVersion = "2"
		if got := notOwnWrites(InvitationFinalizer).Update(event.UpdateEvent{ObjectOld: old, ObjectNew: cur}); got != c.want {
			t.Errorf("%s: passes = %v, want %v", name, got, c.want)
		}
	}
	// Removed, it passes: the reconcile puts it back.
	had := old.DeepCopy()
	had.Finalizers = append(had.Finalizers, InvitationFinalizer)
	if !notOwnWrites(InvitationFinalizer).Update(event.UpdateEvent{ObjectOld: had, ObjectNew: old}) {
		t.Error("removing the finalizer is dropped")
	}
	// notOwnStatus drops no finalizer change.
	added := old.DeepCopy()
	added.Finalizers = append(added.Finalizers, InvitationFinalizer)
	if !notOwnStatus.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: added}) {
		t.Error("notOwnStatus drops a finalizer's addition")
	}
}

// An invitation's status write passes the watches that fan it out only when it changes
// the persisted grant the engine reads (permissions.RecordsGrant, grantedRoles,
// grantedBy); the phases that record none are the operator's output.
func TestInvitationInputChangedPassesOnlyWhatTheEngineReads(t *testing.T) {
	base := builders.Invitation("ada@example.com", "acme", "viewer").Named("ada").Obj()
	base.Generation = 1
	tests := []struct {
		name     string
		old, cur v1alpha1.UserInvitationStatus
		want     bool
	}{
		{"first status of a pending invitation", v1alpha1.UserInvitationStatus{}, v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseNew}, false},
		{"expired", v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseNew}, v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseExpired}, false},
		{"rejected", v1alpha1.UserInvitationStatus{}, v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseRejected}, false},
		{"conditions and bindings only", v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseActive},
			v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseActive, Bindings: []string{"b"}, Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady}}}, false},
		{"blocked keeps the grant recorded", v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseActive}, v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseBlocked}, false},
		{"granted", v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseNew}, v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseActive, GrantedRoles: []string{"viewer"}}, true},
		{"grant recorded, roles unchanged", v1alpha1.UserInvitationStatus{GrantedRoles: []string{"viewer"}}, v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseActive, GrantedRoles: []string{"viewer"}}, true},
		{"grant dropped", v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseActive}, v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseRejected}, true},
		{"roles", v1alpha1.UserInvitationStatus{GrantedRoles: []string{"viewer"}}, v1alpha1.UserInvitationStatus{GrantedRoles: []string{"admin"}}, true},
		{"inviter", v1alpha1.UserInvitationStatus{GrantedBy: "bo@example.com"}, v1alpha1.UserInvitationStatus{GrantedBy: "cy@example.com"}, true},
		{"where the grant holds", v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseActive},
			v1alpha1.UserInvitationStatus{Phase: v1alpha1.UserPhaseActive, GrantedInheritance: v1alpha1.InheritanceNone}, true},
	}
	for _, tt := range tests {
		old, cur := base.DeepCopy(), base.DeepCopy()
		old.Status, cur.Status = tt.old, tt.cur
		if got := invitationInputChanged.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: cur}); got != tt.want {
			t.Errorf("%s: passes = %v, want %v", tt.name, got, tt.want)
		}
	}
	respec := base.DeepCopy()
	respec.Generation++
	if !invitationInputChanged.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: respec}) {
		t.Error("a spec change does not pass")
	}
}

// documentsListing returns, for each role, the organizations whose document lists a
// user holding it, from the whole platform compiled.
func documentsListing(t testing.TB, in permissions.Input) map[string]map[string]bool {
	t.Helper()
	whole := permissions.Compile(in, platformgen.Now())
	listing := map[string]map[string]bool{}
	for _, org := range whole.Organizations() {
		doc, _ := whole.Document(org)
		for _, shard := range doc.Shards {
			var d v1alpha1.AccessDocument
			if err := json.Unmarshal(shard, &d); err != nil {
				t.Fatal(err)
			}
			for _, u := range d.Users {
				for _, role := range u.Roles {
					if listing[role] == nil {
						listing[role] = map[string]bool{}
					}
					listing[role][org] = true
				}
			}
		}
	}
	return listing
}

// An edit of a role changes every document that lists a holder of it: the publisher's
// map of the role must enqueue each of them.
func TestRoleMapEnqueuesEveryDocumentListingItsHolders(t *testing.T) {
	c, in := generatedPlatform(t)
	rel := relations{reader: c}
	listing := documentsListing(t, in)
	if len(listing) == 0 {
		t.Fatal("no document lists a role")
	}
	for i := range in.Roles {
		role := in.Roles[i]
		enqueued := map[string]bool{}
		for _, req := range rel.organizationsForRole(context.Background(), role) {
			enqueued[req.Name] = true
		}
		for org := range listing[role.Name] {
			if !enqueued[org] {
				t.Errorf("editing Role %s does not enqueue %s, whose document lists a holder", role.Name, org)
			}
		}
	}
}

// The map of a role reaches what each grant of it reaches: a Subtree binding's subtree,
// a None binding's organization only, a New invitation's subtree, and the same through
// a role that includes it; nothing a grant of another role reaches.
func TestRoleMapEnqueuesWhatEachGrantReaches(t *testing.T) {
	in := permissions.Input{
		Organizations: []*v1alpha1.Organization{
			builders.Distributor("north").Obj(),
			builders.Seller("s1").Under("north").Obj(),
			builders.Customer("c1").Under("s1").Obj(),
			builders.Customer("c2").Under("s1").Obj(),
			builders.Seller("s2").Under("north").Obj(),
			builders.Customer("c3").Under("s2").Obj(),
			builders.Customer("c4").Under("s2").Obj(),
			builders.Unit("u4").Under("c4").Obj(),
		},
		Roles: []*v1alpha1.Role{
			builders.Role("editor").Permissions("sales").Obj(),
			builders.Role("lead").Includes("editor").Obj(),
			builders.Role("other").Permissions("reports").Obj(),
		},
		Bindings: []*v1alpha1.RoleBinding{
			builders.Binding("ann@x.example", "editor", "s1").Obj(),
			builders.Binding("bob@x.example", "lead", "s2").ThisOrganizationOnly().Obj(),
			builders.Binding("dan@x.example", "other", "north").Obj(),
		},
		Invitations: []*v1alpha1.UserInvitation{builders.Invitation("cat@x.example", "c4", "editor").Obj()},
	}
	inNamespace("p", &in)
	rel := relations{reader: newInputReader(in)}

	var got []string
	for _, req := range rel.organizationsForRole(context.Background(), in.Roles[0]) {
		got = append(got, req.Name)
	}
	if want := []string{"c1", "c2", "c4", "s1", "s2", "u4"}; !slices.Equal(got, want) {
		t.Errorf("editing editor enqueues %v, want %v", got, want)
	}
}

// BenchmarkRoleEditMapping measures the publisher's map of an edit of the role listed
// in the most documents: until it returns, no document of the edit is published.
func BenchmarkRoleEditMapping(b *testing.B) {
	c, in := generatedPlatform(b)
	rel := relations{reader: c}
	listing := documentsListing(b, in)
	var widest *v1alpha1.Role
	for i := range in.Roles {
		if widest == nil || len(listing[in.Roles[i].Name]) > len(listing[widest.Name]) {
			widest = in.Roles[i]
		}
	}
	for b.Loop() {
		rel.organizationsForRole(context.Background(), widest)
	}
	b.ReportMetric(float64(len(listing[widest.Name])), "documents")
}

// A deleted document ConfigMap requeues the organization whose document has its name:
// access-x-2, shard 2 of x, frees organization x-2's document name.
func TestDeletedDocumentRequeuesTheOrganizationNamedByIt(t *testing.T) {
	for name, want := range map[string][]string{
		"access-x-2": {"x-2"},
		"access-x":   {"x"},
		"access-":    nil,
		"settings":   nil,
	} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "p"}}
		var got []string
		for _, r := range organizationNamedByDocument(context.Background(), cm) {
			if r.Namespace != "p" {
				t.Errorf("%s: request in namespace %q", name, r.Namespace)
			}
			got = append(got, r.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ConfigMap %s deleted: requeues %v, want %v", name, got, want)
		}
	}
}
