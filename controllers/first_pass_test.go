package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// TestUnobservedChangesGoAheadOfTheFirstPass plays a new leader's start into the
// publisher's queue (controller-runtime's priority queue, as the manager builds it): the
// organizations' initial list, as the For watch queues it, then the initial list of
// bindings through a map handler wrapped by unobservedFirst. The organizations of
// bindings changed since their last reconcile come out first, each organization once.
func TestUnobservedChangesGoAheadOfTheFirstPass(t *testing.T) {
	const orgs = 50
	ctx := context.Background()
	org := func(i int) *v1alpha1.Organization {
		return &v1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: fmt.Sprintf("org-%02d", i)}}
	}
	// A binding of org i at generation gen, last observed at observed.
	binding := func(i int, gen, observed int64) *v1alpha1.RoleBinding {
		b := &v1alpha1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: fmt.Sprintf("b-%02d", i), Generation: gen}}
		b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org(i).Name)
		b.Status.ObservedGeneration = observed
		return b
	}
	deleting := binding(41, 1, 1)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	mapToOrganization := func(_ context.Context, o client.Object) []reconcile.Request {
		b := o.(*v1alpha1.RoleBinding)
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: string(b.Spec.OrganizationRef.Name)}}}
	}

	for _, tc := range []struct {
		name  string
		limit int64
		want  []string // the organizations ahead of the pass, in any order
	}{
		{"every unobserved binding", unobservedAheadLimit, []string{"org-07", "org-23", "org-41"}},
		{"as many as the limit", 2, nil}, // two of the three, checked below
		{"none past a spent limit", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := priorityqueue.New[reconcile.Request]("organization")
			t.Cleanup(q.ShutDown)
			forOrgs := &handler.EnqueueRequestForObject{}
			for i := range orgs {
				forOrgs.Create(ctx, event.CreateEvent{Object: org(i), IsInInitialList: true}, q)
			}
			aheadBefore, inPassBefore := testutil.ToFloat64(unobservedAhead), testutil.ToFloat64(unobservedInPass)
			h := newUnobservedFirst(tc.limit).ahead(handler.EnqueueRequestsFromMapFunc(mapToOrganization))
			for i := range orgs {
				b := binding(i, 1, 1) // observed
				switch i {
				case 7:
					b = binding(i, 1, 0) // created while no manager led
				case 23:
					b = binding(i, 3, 2) // edited while no manager led
				case 41:
					b = deleting
				}
				h.Create(ctx, event.CreateEvent{Object: b, IsInInitialList: true}, q)
			}
			ahead, inPass := testutil.ToFloat64(unobservedAhead)-aheadBefore, testutil.ToFloat64(unobservedInPass)-inPassBefore
			if want := min(tc.limit, 3); ahead != float64(want) || inPass != float64(3-want) {
				t.Errorf("counted %v ahead and %v in the pass, want %d and %d", ahead, inPass, want, 3-want)
			}

			// What the workers take: the queued-ahead organizations first, then the pass.
			order, priorities := drain(t, q, orgs)
			first := order[:min(tc.limit, 3)]
			for _, name := range first {
				if name != "org-07" && name != "org-23" && name != "org-41" {
					t.Errorf("%s came out among the first %d: %v", name, len(first), order)
				}
				if priorities[name] != 0 {
					t.Errorf("%s at priority %d, want the live events' 0", name, priorities[name])
				}
			}
			if tc.want != nil && !cmp.Equal(slices.Sorted(slices.Values(first)), tc.want) {
				t.Errorf("ahead of the pass: %v, want %v", first, tc.want)
			}
			for _, name := range order[len(first):] {
				if priorities[name] != handler.LowPriority {
					t.Errorf("%s at priority %d, want the initial list's %d", name, priorities[name], handler.LowPriority)
				}
			}
		})
	}
}

// TestUnobservedFirstPassesLiveEvents: a live event is mapped as before, whatever is
// left of the limit, and counts nothing.
func TestUnobservedFirstPassesLiveEvents(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("organization")
	t.Cleanup(q.ShutDown)
	mapped := 0
	h := newUnobservedFirst(0).ahead(handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		mapped++
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "p", Name: "acme"}}}
	}))
	aheadBefore := testutil.ToFloat64(unobservedAhead)
	b := &v1alpha1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "b", Generation: 1}}
	h.Create(context.Background(), event.CreateEvent{Object: b}, q)
	h.Update(context.Background(), event.UpdateEvent{ObjectOld: b, ObjectNew: b}, q)
	h.Delete(context.Background(), event.DeleteEvent{Object: b}, q)
	if mapped != 4 { // the update maps the old and the new object
		t.Errorf("mapped %d times, want 4", mapped)
	}
	if q.Len() != 1 {
		t.Errorf("%d requests queued, want acme's", q.Len())
	}
	if got := testutil.ToFloat64(unobservedAhead) - aheadBefore; got != 0 {
		t.Errorf("live events counted %v ahead of the first pass", got)
	}
}

func TestUnobserved(t *testing.T) {
	meta := func(gen int64) metav1.ObjectMeta { return metav1.ObjectMeta{Name: "x", Generation: gen} }
	now := &metav1.Time{Time: time.Now()}
	for _, tc := range []struct {
		name string
		obj  client.Object
		want bool
	}{
		{"organization observed", &v1alpha1.Organization{ObjectMeta: meta(2), Status: v1alpha1.OrganizationStatus{ObservedGeneration: 2}}, false},
		{"organization edited", &v1alpha1.Organization{ObjectMeta: meta(3), Status: v1alpha1.OrganizationStatus{ObservedGeneration: 2}}, true},
		{"tree new", &v1alpha1.PermissionTree{ObjectMeta: meta(1)}, true},
		{"tree observed", &v1alpha1.PermissionTree{ObjectMeta: meta(1), Status: v1alpha1.PermissionTreeStatus{ObservedGeneration: 1}}, false},
		{"role edited", &v1alpha1.Role{ObjectMeta: meta(5), Status: v1alpha1.RoleStatus{ObservedGeneration: 4}}, true},
		{"role observed", &v1alpha1.Role{ObjectMeta: meta(5), Status: v1alpha1.RoleStatus{ObservedGeneration: 5}}, false},
		{"binding new", &v1alpha1.RoleBinding{ObjectMeta: meta(1)}, true},
		{"invitation blocked", &v1alpha1.UserInvitation{ObjectMeta: meta(2), Status: v1alpha1.UserInvitationStatus{ObservedGeneration: 1}}, true},
		{"invitation observed", &v1alpha1.UserInvitation{ObjectMeta: meta(2), Status: v1alpha1.UserInvitationStatus{ObservedGeneration: 2}}, false},
		{"invitation deleting", &v1alpha1.UserInvitation{ObjectMeta: metav1.ObjectMeta{Name: "x", Generation: 2, DeletionTimestamp: now},
			Status: v1alpha1.UserInvitationStatus{ObservedGeneration: 2}}, true},
	} {
		if got := unobserved(tc.obj); got != tc.want {
			t.Errorf("%s: unobserved = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestUnobservedUpRaisesOnlyUnobservedObjects: on a status reconciler's own watch, the
// initial list of an object changed since its last reconcile is queued as a live
// event's (default priority), the rest at the initial list's low priority, and every
// object is queued. The queue is the one those reconcilers run with (yieldingQueue).
func TestUnobservedUpRaisesOnlyUnobservedObjects(t *testing.T) {
	b := newPublishBacklog()
	b.eventDelay = time.Millisecond
	q := b.yieldingQueue("rolebinding", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	t.Cleanup(q.ShutDown)
	toOrganization := func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "p", Name: o.GetName()}}}
	}
	h := unobservedUp(handler.EnqueueRequestsFromMapFunc(toOrganization))
	binding := func(name string, gen, observed int64) *v1alpha1.RoleBinding {
		return &v1alpha1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: name, Generation: gen},
			Status: v1alpha1.RoleBindingStatus{ObservedGeneration: observed}}
	}
	for _, e := range []event.CreateEvent{
		{Object: binding("observed", 2, 2), IsInInitialList: true},
		{Object: binding("created-while-no-manager-led", 1, 0), IsInInitialList: true},
		{Object: binding("edited-while-no-manager-led", 3, 2), IsInInitialList: true},
		{Object: binding("live", 2, 2)},
	} {
		h.Create(context.Background(), e, q)
	}
	got := map[string]int{}
	pq := q.(priorityqueue.PriorityQueue[reconcile.Request])
	for range 4 {
		req, priority, _ := pq.GetWithPriority()
		got[req.Name] = priority
		pq.Done(req)
	}
	want := map[string]int{"observed": handler.LowPriority, "created-while-no-manager-led": 0, "edited-while-no-manager-led": 0, "live": 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("priorities (-want +got):\n%s", diff)
	}
}

// TestStandbyDeletionsGoAheadOfTheFirstPass plays a standby's life into the publisher's
// queue: bindings deleted while it does not lead, seen by its informer, more than the
// log keeps; then its start, with the organizations' initial list queued by the For
// watch and the log's source; a deletion between the start and the first reconcile;
// and one after. The logged deletions' organizations come out first, newest first, at
// the default priority, then the one handed over, then the pass, each organization
// once; the deletion after the first reconcile is left to the watches.
func TestStandbyDeletionsGoAheadOfTheFirstPass(t *testing.T) {
	const orgs = 30
	ctx := context.Background()
	org := func(i int) *v1alpha1.Organization {
		return &v1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: fmt.Sprintf("org-%02d", i)}}
	}
	binding := func(i int) *v1alpha1.RoleBinding {
		b := &v1alpha1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: fmt.Sprintf("b-%02d", i)}}
		b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org(i).Name)
		return b
	}
	// The publisher's handler: it also notes when each organization's change was seen.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakePassiveClock(start)
	changes := newChangeTimes(clk)
	toOrganization := changes.mapped(func(_ context.Context, o client.Object) []reconcile.Request {
		b := o.(*v1alpha1.RoleBinding)
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: b.Namespace, Name: string(b.Spec.OrganizationRef.Name)}}}
	})

	informers := &informertest.FakeInformers{Scheme: testScheme}
	d := newStandbyDeletions(3, clk)
	if err := d.watch(ctx, informers, &v1alpha1.RoleBinding{}, toOrganization); err != nil {
		t.Fatal(err)
	}
	bindings, err := informers.FakeInformerFor(ctx, &v1alpha1.RoleBinding{})
	if err != nil {
		t.Fatal(err)
	}
	q := priorityqueue.New[reconcile.Request]("organization")
	t.Cleanup(q.ShutDown)

	// While standing by: creates and updates are not logged, deletions are, the
	// oldest dropped past the limit. Nothing reaches a queue.
	for i := range orgs {
		bindings.Add(binding(i))
	}
	bindings.Update(binding(9), binding(9))
	for _, i := range []int{11, 12, 13, 14} {
		clk.SetTime(start.Add(time.Duration(i) * time.Second))
		bindings.Delete(binding(i))
	}
	clk.SetTime(start.Add(15 * time.Second))
	d.onDelete(toOrganization)(toolscache.DeletedFinalStateUnknown{Key: "p/b-15", Obj: binding(15)})
	clk.SetTime(start.Add(time.Minute)) // the takeover

	// Taking over: the For watch queues the organizations' initial list, the log's
	// source what it kept.
	forOrgs := &handler.EnqueueRequestForObject{}
	for i := range orgs {
		forOrgs.Create(ctx, event.CreateEvent{Object: org(i), IsInInitialList: true}, q)
	}
	aheadBefore, inPassBefore := testutil.ToFloat64(deletedAhead), testutil.ToFloat64(deletedInPass)
	if err := d.takeOver(ctx, q); err != nil {
		t.Fatal(err)
	}
	if ahead, inPass := testutil.ToFloat64(deletedAhead)-aheadBefore, testutil.ToFloat64(deletedInPass)-inPassBefore; ahead != 3 || inPass != 2 {
		t.Errorf("counted %v deletions ahead and %v in the pass, want 3 and 2", ahead, inPass)
	}
	bindings.Delete(binding(20)) // before the first reconcile: handed to the queue
	d.led()
	bindings.Delete(binding(25)) // after: the watches' own handlers have it

	// A replayed deletion's change dates from when the log saw it, a live one's from now.
	for org, want := range map[string]time.Duration{"org-13": 13 * time.Second, "org-15": 15 * time.Second, "org-20": time.Minute} {
		if got, ok := changes.take(types.NamespacedName{Namespace: "p", Name: org}); !ok || !got.Equal(start.Add(want)) {
			t.Errorf("%s's change seen at %v (%t), want %v", org, got, ok, start.Add(want))
		}
	}

	order, priorities := drain(t, q, orgs)
	want := []string{"org-15", "org-14", "org-13", "org-20"}
	if diff := cmp.Diff(want, order[:len(want)]); diff != "" {
		t.Errorf("ahead of the pass (-want +got):\n%s", diff)
	}
	for _, name := range want {
		if priorities[name] != 0 {
			t.Errorf("%s at priority %d, want the live events' 0", name, priorities[name])
		}
	}
	for _, name := range order[len(want):] {
		if priorities[name] != handler.LowPriority {
			t.Errorf("%s at priority %d, want the initial list's %d", name, priorities[name], handler.LowPriority)
		}
	}
}

// drain takes every request from q as a worker would, and returns the organizations'
// names in that order with the priority each came out at. It fails unless each of the
// orgs organizations came out once.
func drain(t *testing.T, q priorityqueue.PriorityQueue[reconcile.Request], orgs int) ([]string, map[string]int) {
	t.Helper()
	var order []string
	priorities := map[string]int{}
	for q.Len() > 0 {
		req, priority, _ := q.GetWithPriority()
		order = append(order, req.Name)
		priorities[req.Name] = priority
		q.Done(req)
	}
	if len(order) != orgs {
		t.Fatalf("%d requests, want each of the %d organizations once: %v", len(order), orgs, order)
	}
	return order, priorities
}
