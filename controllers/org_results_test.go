package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// gatherCounter counts the gathers made through it: each gathers the namespace's
// roles once.
type gatherCounter struct {
	client.Reader
	gathers int
}

func (c *gatherCounter) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*v1alpha1.RoleList); ok {
		c.gathers++
	}
	return c.Reader.List(ctx, list, opts...)
}

// bindingResults is orgResults for bindings: the simplest of its kinds, kept to test it.
// (The RoleBinding reconciler itself reconciles a whole organization at once.)
type (
	bindingResults = orgResults[permissions.BindingResult]
	bindingOutcome = outcome[permissions.BindingResult]
)

func newBindingResults(g gatherer, marks *requestMarks) *bindingResults {
	return newOrgResults(g, marks, func(p *permissions.Platform, in permissions.Input, org string) map[string]bindingOutcome {
		return outcomesIn(in.Bindings, org, func(b *v1alpha1.RoleBinding) v1alpha1.ObjectName { return b.Spec.OrganizationRef.Name },
			p.Binding, p.NextBindingChange)
	})
}

// bindingResult reconciles key as a per-binding reconciler would: takes its result
// and, the status written, forgets its mark.
func bindingResult(t *testing.T, r *bindingResults, key types.NamespacedName, org string, now time.Time) bindingOutcome {
	t.Helper()
	outcome, mark, found, err := r.result(context.Background(), key, org, now)
	if err != nil || !found {
		t.Fatalf("binding %s: found %v, error %v", key, found, err)
	}
	r.done(key, mark)
	return outcome
}

// On a generated platform, every binding taken in a random order gets the result a
// compile of the whole platform gives it, and each organization is gathered once.
func TestBindingResultsAreTheEnginesWithOneGatherPerOrganization(t *testing.T) {
	reader, in := generatedPlatform(t)
	counter := &gatherCounter{Reader: reader}
	now := platformgen.Now()
	whole := permissions.Compile(in, now)
	takeEach(t, newBindingResults(gatherer{reader: counter}, newRequestMarks()), counter, in.Bindings, now, 1,
		func(b *v1alpha1.RoleBinding) v1alpha1.ObjectName { return b.Spec.OrganizationRef.Name },
		func(b *v1alpha1.RoleBinding, got bindingOutcome) {
			want, _ := whole.Binding(b.Name)
			if diff := cmp.Diff(want, got.result); diff != "" {
				t.Fatalf("binding %s (-whole platform +bindingResults):\n%s", b.Name, diff)
			}
			wantNext, wantOK := whole.NextBindingChange(b.Name)
			if got.ok != wantOK || !got.next.Equal(wantNext) {
				t.Fatalf("binding %s next change %v %v, want %v %v", b.Name, got.next, got.ok, wantNext, wantOK)
			}
		})
}

// takeEach marks every object, as the initial list does, takes each one's result from
// r in a random order (seed) and hands it to check; then each organization must have
// been gathered once and no result be left over.
func takeEach[T client.Object, R any](t *testing.T, r *orgResults[R], counter *gatherCounter, objects []T, now time.Time, seed uint64,
	orgOf func(T) v1alpha1.ObjectName, check func(T, outcome[R])) {
	t.Helper()
	for _, obj := range objects {
		r.marks.mark(client.ObjectKeyFromObject(obj))
	}
	orgs := map[string]bool{}
	for _, i := range rand.New(rand.NewPCG(seed, seed+1)).Perm(len(objects)) {
		obj := objects[i]
		org := string(orgOf(obj))
		orgs[org] = true
		key := client.ObjectKeyFromObject(obj)
		got, mark, found, err := r.result(context.Background(), key, org, now)
		if err != nil || !found {
			t.Fatalf("%s: found %v, error %v", key, found, err)
		}
		r.done(key, mark)
		check(obj, got)
	}
	if counter.gathers != len(orgs) {
		t.Errorf("%d gathers for the objects of %d organizations, want one each", counter.gathers, len(orgs))
	}
	if n := len(r.byOrg); n != 0 {
		t.Errorf("%d organizations still hold results once every object took its own", n)
	}
}

// The same for invitations: every invitation taken in a random order gets the result a
// compile of the whole platform gives it, and each organization is gathered once.
func TestInvitationResultsAreTheEnginesWithOneGatherPerOrganization(t *testing.T) {
	reader, in := generatedPlatform(t)
	counter := &gatherCounter{Reader: reader}
	now := platformgen.Now()
	whole := permissions.Compile(in, now)
	orgs := map[v1alpha1.ObjectName]bool{}
	settled := 0
	orgOf := func(i *v1alpha1.UserInvitation) v1alpha1.ObjectName { return i.Spec.OrganizationRef.Name }
	takeEach(t, newInvitationResults(gatherer{reader: counter}, newRequestMarks()), counter, in.Invitations, now, 3, orgOf,
		func(inv *v1alpha1.UserInvitation, got invitationOutcome) {
			orgs[orgOf(inv)] = true
			want, _ := whole.Invitation(inv.Name)
			if diff := cmp.Diff(want, got.result); diff != "" {
				t.Fatalf("invitation %s (-whole platform +invitationResults):\n%s", inv.Name, diff)
			}
			// An unsettled invitation changes when its subset does (NextInvitationChange),
			// which the whole platform's other expiries do not move.
			sub, err := gatherer{reader: reader}.forOrganization(context.Background(), inv.Namespace, string(orgOf(inv)))
			if err != nil {
				t.Fatal(err)
			}
			wantNext, wantOK := permissions.Compile(sub, now).NextInvitationChange(inv.Name)
			if got.ok != wantOK || !got.next.Equal(wantNext) {
				t.Fatalf("invitation %s next change %v %v, want %v %v", inv.Name, got.next, got.ok, wantNext, wantOK)
			}
			if !got.ok {
				settled++
			}
		})
	if len(orgs) < 2 || settled == 0 || settled == len(in.Invitations) {
		t.Fatalf("the generated platform has %d organizations with invitations and %d of %d settled: too uniform to test", len(orgs), settled, len(in.Invitations))
	}
}

// An invitation marked after the gather (an event: here its user blocked) is judged
// again; one that was not is served from the compile.
func TestAnInvitationMarkedAfterTheGatherIsJudgedAgain(t *testing.T) {
	now := platformgen.Now()
	in := &permissions.Input{
		Organizations: []*v1alpha1.Organization{builders.Customer("acme").Obj()},
		Roles:         []*v1alpha1.Role{builders.Role("editor").Permissions("sales").Obj()},
		Invitations: []*v1alpha1.UserInvitation{
			builders.Invitation("ann@x.example", "acme", "editor").Named("ann").AcceptedAt(now).Obj(),
			builders.Invitation("bob@x.example", "acme", "editor").Named("bob").AcceptedAt(now).Obj(),
			builders.Invitation("cy@x.example", "acme", "editor").Named("cy").AcceptedAt(now).Obj(),
		},
	}
	in.Organizations[0].Namespace, in.Roles[0].Namespace = "p", "p"
	for _, inv := range in.Invitations {
		inv.Namespace = "p"
	}
	counter := &gatherCounter{Reader: newInputReader(*in)}
	results := newInvitationResults(gatherer{reader: counter}, newRequestMarks())
	for _, inv := range in.Invitations {
		results.marks.mark(client.ObjectKeyFromObject(inv))
	}
	take := func(name string) permissions.InvitationResult {
		t.Helper()
		key := types.NamespacedName{Namespace: "p", Name: name}
		got, mark, found, err := results.result(context.Background(), key, "acme", now)
		if err != nil || !found {
			t.Fatalf("invitation %s: found %v, error %v", name, found, err)
		}
		results.done(key, mark)
		return got.result
	}
	if got := take("ann").Phase; got != v1alpha1.UserPhaseActive {
		t.Fatalf("ann is %s, want Active", got)
	}

	in.Invitations[1].Spec.Blocked = true
	results.marks.mark(types.NamespacedName{Namespace: "p", Name: "bob"})
	if got := take("bob").Phase; got != v1alpha1.UserPhaseBlocked {
		t.Fatalf("bob after the block's event is %s, want Blocked", got)
	}
	if counter.gathers != 2 {
		t.Fatalf("%d gathers, want 2: ann's, then bob's after its mark", counter.gathers)
	}
	if got := take("cy").Phase; got != v1alpha1.UserPhaseActive || counter.gathers != 2 {
		t.Fatalf("cy is %s after %d gathers, want Active from bob's compile", got, counter.gathers)
	}
}

// A binding's change reaches the invitation that controls it, of any version of the API
// group, and no other owner.
func TestInvitationOwningMapsOnlyTheControllingInvitation(t *testing.T) {
	owned := func(apiVersion, kind string, controller bool) *v1alpha1.RoleBinding {
		b := builders.Binding("ann@x.example", "editor", "acme").Named("ann-editor").Obj()
		b.Namespace = "p"
		b.OwnerReferences = []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "ann", UID: "u1", Controller: &controller}}
		return b
	}
	want := []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "p", Name: "ann"}}}
	for _, tc := range []struct {
		binding *v1alpha1.RoleBinding
		want    []reconcile.Request
	}{
		{owned(v1alpha1.GroupVersion.String(), "UserInvitation", true), want},
		{owned(v1alpha1.GroupVersion.Group+"/v1", "UserInvitation", true), want},
		{owned(v1alpha1.GroupVersion.String(), "UserInvitation", false), nil},
		{owned("other.example/v1", "UserInvitation", true), nil},
		{owned(v1alpha1.GroupVersion.String(), "Organization", true), nil},
	} {
		ref := tc.binding.OwnerReferences[0]
		if got := invitationOwning(context.Background(), tc.binding); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("owner %s %s controller %v: %v, want %v", ref.APIVersion, ref.Kind, *ref.Controller, got, tc.want)
		}
	}
}

// resultsPlatform is one customer with two bindings of editor, in namespace "p"; the
// reader answers from the returned input, so tests change the input under it.
func resultsPlatform(expires time.Time) (*permissions.Input, *gatherCounter, *bindingResults) {
	in := &permissions.Input{
		Organizations: []*v1alpha1.Organization{builders.Customer("acme").Obj()},
		Roles:         []*v1alpha1.Role{builders.Role("editor").Permissions("sales").Obj()},
		Bindings: []*v1alpha1.RoleBinding{
			builders.Binding("ann@x.example", "editor", "acme").Named("ann").Obj(),
			builders.Binding("bob@x.example", "editor", "acme").Named("bob").ExpiresAt(expires).Obj(),
			builders.Binding("cy@x.example", "editor", "acme").Named("cy").Obj(),
		},
	}
	in.Organizations[0].Namespace, in.Roles[0].Namespace = "p", "p"
	for i := range in.Bindings {
		in.Bindings[i].Namespace = "p"
	}
	counter := &gatherCounter{Reader: newInputReader(*in)}
	results := newBindingResults(gatherer{reader: counter}, newRequestMarks())
	for _, b := range in.Bindings {
		results.marks.mark(client.ObjectKeyFromObject(b)) // each queued, as the initial list does
	}
	return in, counter, results
}

func ready(o bindingOutcome) bool { return o.result.Ready }

func TestABindingMarkedAfterTheGatherIsJudgedAgain(t *testing.T) {
	now := platformgen.Now()
	in, counter, results := resultsPlatform(now.Add(time.Hour))
	ann, bob := types.NamespacedName{Namespace: "p", Name: "ann"}, types.NamespacedName{Namespace: "p", Name: "bob"}
	if !ready(bindingResult(t, results, ann, "acme", now)) {
		t.Fatal("ann's binding is not Ready")
	}

	// Bob's binding now names a role that does not exist. An event enqueues it, marked
	// first: its result is not taken from the compile ann's reconcile made.
	in.Bindings[1].Spec.RoleRef.Name = "ghost"
	results.marks.mark(bob)
	got := bindingResult(t, results, bob, "acme", now)
	if ready(got) || got.result.Conditions[0].Reason != v1alpha1.ReasonRoleNotFound {
		t.Fatalf("bob's binding after the event: %+v, want RoleNotFound", got.result)
	}
	if counter.gathers != 2 {
		t.Fatalf("%d gathers, want 2: ann's, then bob's after its mark", counter.gathers)
	}
	// Cy was not marked: its result comes from bob's compile, without a gather.
	bindingResult(t, results, types.NamespacedName{Namespace: "p", Name: "cy"}, "acme", now)
	if counter.gathers != 2 {
		t.Fatalf("%d gathers, want cy's result from bob's compile", counter.gathers)
	}
}

func TestBindingResultsEndAtTheSubsetsNextChange(t *testing.T) {
	now := platformgen.Now()
	expires := now.Add(time.Hour)
	_, counter, results := resultsPlatform(expires)
	ann, bob := types.NamespacedName{Namespace: "p", Name: "ann"}, types.NamespacedName{Namespace: "p", Name: "bob"}
	bindingResult(t, results, ann, "acme", now)
	// At bob's expiry the compile of an hour ago no longer holds: bob is judged again.
	got := bindingResult(t, results, bob, "acme", expires)
	if ready(got) || got.result.Conditions[0].Reason != v1alpha1.ReasonExpired {
		t.Fatalf("bob's binding at its expiry: %+v, want Expired", got.result)
	}
	if counter.gathers != 2 {
		t.Fatalf("%d gathers, want 2: the first compile ended at bob's expiry", counter.gathers)
	}
}

func TestAMarkIsForgottenOnlyByTheReconcileThatReadIt(t *testing.T) {
	m := newRequestMarks()
	key := types.NamespacedName{Namespace: "p", Name: "ann"}
	m.mark(key)
	read := m.last(key)
	m.mark(key) // an event while the reconcile ran
	m.forget(key, read)
	if m.last(key) == 0 {
		t.Fatal("the reconcile forgot a mark made after it read its own")
	}
	m.forget(key, m.last(key))
	if m.last(key) != 0 || len(m.marks) != 0 {
		t.Fatalf("marks left after their reconciles: %v", m.marks)
	}
}

// mapOf identifies the map the marks are kept in.
func mapOf(m *requestMarks) uintptr { return uintptr(reflect.ValueOf(m.marks).UnsafePointer()) }

func TestRequestMarksGiveBackAMapThatGrewLargeOnceItEmpties(t *testing.T) {
	key := func(i int) types.NamespacedName {
		return types.NamespacedName{Namespace: "p", Name: fmt.Sprintf("b%d", i)}
	}
	m := newRequestMarks()
	// A few marks at a time (the steady state) keep the map.
	small := mapOf(m)
	for i := range 3 {
		m.mark(key(i))
	}
	for i := range 3 {
		m.forget(key(i), m.last(key(i)))
	}
	if mapOf(m) != small {
		t.Error("a map that never grew large was replaced")
	}

	// A cold start marks every binding before the first reconcile forgets one.
	for i := range marksKeptLarge {
		m.mark(key(i))
	}
	large := mapOf(m)
	for i := 1; i < marksKeptLarge; i++ {
		m.forget(key(i), m.last(key(i)))
	}
	if mapOf(m) != large {
		t.Fatal("the map was replaced while it still held a mark")
	}
	if got, want := m.last(key(0)), uint64(4); got != want {
		t.Fatalf("last(b0) = %d, want %d: a mark kept was lost", got, want)
	}
	seq := m.sequence()
	m.forget(key(0), m.last(key(0)))
	if mapOf(m) == large {
		t.Error("the map that grew to every binding is kept after it emptied")
	}
	if got := m.sequence(); got != seq {
		t.Errorf("sequence = %d after the map was replaced, want %d: marks must keep counting up", got, seq)
	}
	m.mark(key(0))
	if got := m.last(key(0)); got != seq+1 {
		t.Errorf("last(b0) = %d after a new mark, want %d", got, seq+1)
	}
}
