package controllers

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// nopRecorder drops events, for reconcilers a test calls directly.
type nopRecorder struct{}

func (nopRecorder) Eventf(runtime.Object, runtime.Object, string, string, string, string, ...any) {}

// ownedBindingsOf lists the RoleBindings the invitation named name controls.
func ownedBindingsOf(g Gomega, ns, name string) []v1alpha1.RoleBinding {
	var inv v1alpha1.UserInvitation
	get(g, ns, name, &inv)
	var list v1alpha1.RoleBindingList
	g.ExpectWithOffset(1, k8s.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var owned []v1alpha1.RoleBinding
	for _, b := range list.Items {
		if controlledBy(&b, inv.UID) {
			owned = append(owned, b)
		}
	}
	return owned
}

func TestInvitationLifecycleKeepsOwnedBindingsInStep(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns, builders.Invitation("grace@acme.example", "acme", "customer").Named("grace").Obj())

	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "grace", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseNew))
		g.Expect(inv.Status.ExpiresAt).NotTo(BeNil())
		g.Expect(inv.Status.ExpiresAt.Time).To(BeTemporally("==", inv.CreationTimestamp.Add(168*time.Hour)))
		g.Expect(ownedBindingsOf(g, ns, "grace")).To(BeEmpty())
		doc := document(g, ns, "acme")
		g.Expect(doc.Users).To(HaveKeyWithValue("grace@acme.example", HaveField("Status", v1alpha1.UserPhaseNew)))
		g.Expect(permissionsOf(doc, "grace@acme.example")).To(BeEmpty())
	})

	update(t, ns, "grace", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) {
		inv.Spec.AcceptedAt = &metav1.Time{Time: testClock.Now()}
	})
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "grace", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(inv.Status.GrantedRoles).To(Equal([]string{"customer"}))
		owned := ownedBindingsOf(g, ns, "grace")
		g.Expect(owned).To(HaveLen(1))
		b := owned[0]
		g.Expect(inv.Status.Bindings).To(Equal([]string{b.Name}))
		g.Expect(b.Labels).To(HaveKeyWithValue(v1alpha1.InvitationLabel, "grace"))
		g.Expect(b.Spec.Subject.Email).To(Equal(v1alpha1.Email("grace@acme.example")))
		g.Expect(b.Spec.RoleRef.Name).To(Equal(v1alpha1.ObjectName("customer")))
		g.Expect(b.Spec.OrganizationRef.Name).To(Equal(v1alpha1.ObjectName("acme")))
		g.Expect(b.Spec.Inheritance).To(Equal(v1alpha1.InheritanceSubtree))
		g.Expect(permissionsOf(document(g, ns, "store-1"), "grace@acme.example")).To(ContainElement("sales"))
		g.Expect(eventsFor(g, ns, "UserInvitation", "grace")).To(ContainElement("Activated"))
	})

	// The roles change: the bindings follow.
	update(t, ns, "grace", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) {
		inv.Spec.Roles = []v1alpha1.RoleName{"customer-admin", "beta-preview"}
	})
	eventually(t, func(g Gomega) {
		var roles []string
		for _, b := range ownedBindingsOf(g, ns, "grace") {
			roles = append(roles, string(b.Spec.RoleRef.Name))
		}
		g.Expect(roles).To(ConsistOf("customer-admin", "beta-preview"))
		var inv v1alpha1.UserInvitation
		get(g, ns, "grace", &inv)
		g.Expect(inv.Status.GrantedRoles).To(ConsistOf("customer-admin", "beta-preview"))
		g.Expect(inv.Status.Bindings).To(HaveLen(2))
		doc := document(g, ns, "acme")
		g.Expect(permissionsOf(doc, "grace@acme.example")).To(ContainElement("users"))
		g.Expect(doc.Users["grace@acme.example"].Features).To(Equal([]string{"beta-preview"}))
	})

	// A hand-deleted owned binding comes back.
	var victim string
	eventually(t, func(g Gomega) { victim = ownedBindingsOf(g, ns, "grace")[0].Name })
	remove(t, ns, victim, &v1alpha1.RoleBinding{})
	eventually(t, func(g Gomega) {
		var b v1alpha1.RoleBinding
		get(g, ns, victim, &b)
		g.Expect(b.DeletionTimestamp).To(BeNil())
	})

	// An owned binding whose label was removed by hand is still the invitation's: the
	// label comes back, and the invitation goes on following its roles.
	update(t, ns, victim, &v1alpha1.RoleBinding{}, func(b *v1alpha1.RoleBinding) {
		delete(b.Labels, v1alpha1.InvitationLabel)
	})
	eventually(t, func(g Gomega) {
		var b v1alpha1.RoleBinding
		get(g, ns, victim, &b)
		g.Expect(b.Labels).To(HaveKeyWithValue(v1alpha1.InvitationLabel, "grace"))
	})
	update(t, ns, "grace", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) {
		inv.Spec.Roles = []v1alpha1.RoleName{"customer-admin"}
	})
	eventually(t, func(g Gomega) {
		owned := ownedBindingsOf(g, ns, "grace")
		g.Expect(owned).To(HaveLen(1))
		g.Expect(owned[0].Spec.RoleRef.Name).To(Equal(v1alpha1.ObjectName("customer-admin")))
		var inv v1alpha1.UserInvitation
		get(g, ns, "grace", &inv)
		g.Expect(inv.Status.GrantedRoles).To(Equal([]string{"customer-admin"}))
	})
}

func TestBlockedUserIsGoneFromEveryAffectedDocument(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		// kate holds access in two places: a binding on the seller and an invitation.
		builders.Binding("kate@contoso.example", "seller-admin", "contoso").Named("kate-seller-admin").Obj(),
		builders.Invitation("kate@contoso.example", "acme", "customer-admin").Named("kate").AcceptedAt(testClock.Now()).Obj(),
	)
	affected := []string{"contoso", "acme", "store-1", "globex"}
	eventually(t, func(g Gomega) {
		for _, org := range affected {
			g.Expect(permissionsOf(document(g, ns, org), "kate@contoso.example")).To(ContainElement("reports"), org)
		}
	})

	update(t, ns, "kate", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) { inv.Spec.Blocked = true })
	eventually(t, func(g Gomega) {
		for _, org := range affected {
			doc := document(g, ns, org)
			g.Expect(doc.Users).To(HaveKeyWithValue("kate@contoso.example", HaveField("Status", v1alpha1.UserPhaseBlocked)), org)
			g.Expect(doc.Users["kate@contoso.example"].PermissionSet).To(BeEmpty(), org)
		}
		var inv v1alpha1.UserInvitation
		get(g, ns, "kate", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseBlocked))
		var binding v1alpha1.RoleBinding
		get(g, ns, "kate-seller-admin", &binding)
		g.Expect(condition(binding.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonSubjectBlocked))
		g.Expect(eventsFor(g, ns, "UserInvitation", "kate")).To(ContainElement("Blocked"))
	})

	// Renewed: access comes back everywhere.
	update(t, ns, "kate", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) { inv.Spec.Blocked = false })
	eventually(t, func(g Gomega) {
		for _, org := range affected {
			g.Expect(permissionsOf(document(g, ns, org), "kate@contoso.example")).To(ContainElement("reports"), org)
		}
	})
}

func TestInvitationExpiresExactlyWhenDue(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns, builders.Invitation("hank@acme.example", "acme", "customer").Named("hank").ExpiresAfter(time.Minute).Obj())
	var inv v1alpha1.UserInvitation
	eventually(t, func(g Gomega) {
		get(g, ns, "hank", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseNew))
		g.Expect(inv.Status.ExpiresAt).NotTo(BeNil())
		g.Expect(inv.Status.ExpiresAt.Time).To(BeTemporally("==", inv.CreationTimestamp.Add(time.Minute)))
	})

	// Half-way through, the reconciler of hank's organization asks to come back exactly
	// at the expiry.
	halfway := clocktesting.NewFakePassiveClock(inv.CreationTimestamp.Add(30 * time.Second))
	direct := newUserInvitationReconciler(cached, halfway, gatherer{reader: cached}, nil, nopRecorder{})
	res, err := direct.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != 30*time.Second {
		t.Errorf("RequeueAfter = %v half-way to a 1m expiry, want 30s", res.RequeueAfter)
	}

	// Past the expiry (any event reconciles it then; the requeue does in real time).
	testClock.advance(t, 2*time.Minute)
	update(t, ns, "hank", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) {
		metav1.SetMetaDataAnnotation(&inv.ObjectMeta, "test/poke", "1")
	})
	eventually(t, func(g Gomega) {
		get(g, ns, "hank", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseExpired))
		g.Expect(condition(inv.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonExpired))
		g.Expect(eventsFor(g, ns, "UserInvitation", "hank")).To(ContainElement("Expired"))
		g.Expect(document(g, ns, "acme").Users).To(HaveKeyWithValue("hank@acme.example", HaveField("Status", v1alpha1.UserPhaseExpired)))
	})
}

// An acceptance recorded for a later instant (a sign-in service's clock ahead of the
// operator's) grants nothing before it: the reconciler of the invitation's organization
// asks to come back exactly then, and at that instant, with no other write, the
// invitation is Active with its binding and the document says so.
func TestAcceptanceRecordedForLaterGrantsFromThatInstant(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	at := testClock.Now().Truncate(time.Second).Add(5 * time.Second) // as the API stores acceptedAt
	create(t, ns, builders.Invitation("pia@acme.example", "acme", "customer").Named("pia").AcceptedAt(at).Obj())
	// The manager's reconciler has judged it (finalizer and status), and the cache the
	// direct reconcile reads has seen that, so the two do not race to write it.
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		g.Expect(cached.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "pia"}, &inv)).To(Succeed())
		g.Expect(inv.Finalizers).To(ContainElement(InvitationFinalizer))
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseNew))
	})

	before := clocktesting.NewFakePassiveClock(at.Add(-3 * time.Second))
	direct := newUserInvitationReconciler(cached, before, gatherer{reader: cached}, nil, nopRecorder{})
	res, err := direct.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != 3*time.Second {
		t.Errorf("RequeueAfter = %v 3s before the recorded acceptance, want 3s", res.RequeueAfter)
	}

	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "pia", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(ownedBindingsOf(g, ns, "pia")).To(HaveLen(1))
		g.Expect(document(g, ns, "acme").Users).To(HaveKeyWithValue("pia@acme.example", HaveField("Status", v1alpha1.UserPhaseActive)))
	})
	var inv v1alpha1.UserInvitation
	get(NewWithT(t), ns, "pia", &inv)
	if granted := condition(inv.Status.Conditions, v1alpha1.ConditionReady).LastTransitionTime; granted.Before(&metav1.Time{Time: at}) {
		t.Errorf("the invitation was granted at %s, before the acceptance recorded for %s", granted, at)
	}
}

// Removing an invitation's roles gives it its organization's defaultRoles: the grant of
// the roles it named is not kept (the status records whether a grant was of
// defaultRoles, and only such a grant outlives a change of them).
func TestRemovedRolesGiveTheDefaultRoles(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Customer("dflt").Under("contoso").DefaultRoles("customer").Obj(),
		builders.Invitation("ria@dflt.example", "dflt", "customer-admin").Named("ria").AcceptedAt(testClock.Now()).Obj(),
	)
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "ria", &inv)
		g.Expect(inv.Status.GrantedRoles).To(Equal([]string{"customer-admin"}))
		g.Expect(inv.Status.GrantedDefaultRoles).To(BeFalse())
	})

	update(t, ns, "ria", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) { inv.Spec.Roles = nil })
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "ria", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(inv.Status.GrantedRoles).To(Equal([]string{"customer"}))
		g.Expect(inv.Status.GrantedDefaultRoles).To(BeTrue())
		owned := ownedBindingsOf(g, ns, "ria")
		g.Expect(owned).To(HaveLen(1))
		g.Expect(owned[0].Spec.RoleRef.Name).To(Equal(v1alpha1.ObjectName("customer")))
		g.Expect(document(g, ns, "dflt").Users).To(HaveKeyWithValue("ria@dflt.example", HaveField("Roles", []string{"customer"})))
	})
}

// A settled invitation (its grant recorded) is not requeued for the expiries around it:
// on a large platform every subset has some binding expiring, and requeueing every
// invitation then kept a timer per invitation. An unsettled one still is. (The
// reconciler's requests name organizations: ivy's and nat's are two customers of the
// seller whose binding expires.)
func TestOnlyUnsettledInvitationsAreRequeuedForTime(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	now := testClock.Now().Truncate(time.Second) // as the API stores expiresAt
	create(t, ns,
		builders.Binding("eve@contoso.example", "customer", "contoso").Named("eve-expiring").ExpiresAt(now.Add(time.Hour)).Obj(),
		builders.Invitation("ivy@globex.example", "globex", "customer").Named("ivy").AcceptedAt(now).Obj(),
		builders.Invitation("nat@acme.example", "acme", "customer").Named("nat").Obj(),
	)
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "ivy", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(inv.Status.GrantedRoles).To(Equal([]string{"customer"}))
		get(g, ns, "nat", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseNew))
	})

	direct := newUserInvitationReconciler(cached, clocktesting.NewFakePassiveClock(now), gatherer{reader: cached}, nil, nopRecorder{})
	reconcile := func(name string) ctrl.Result {
		t.Helper()
		res, err := direct.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := reconcile("globex"); res.RequeueAfter != 0 {
		t.Errorf("the settled invitation ivy is requeued after %v; nothing its result depends on changes by time", res.RequeueAfter)
	}
	// nat is judged again whenever the subset changes by time: first eve's expiry.
	if res := reconcile("acme"); res.RequeueAfter != time.Hour {
		t.Errorf("the New invitation nat is requeued after %v, want 1h (eve's binding expires then)", res.RequeueAfter)
	}
}

func TestDelegationRefusedNamesTheRole(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		// carol may assign customer at acme (customer-admin's assignableRoles).Obj(), nothing else.
		builders.Binding("carol@acme.example", "customer-admin", "acme").Named("carol-customer-admin").Obj(),
		builders.Invitation("liam@acme.example", "acme", "seller-admin").Named("liam").InvitedBy("carol@acme.example").AcceptedAt(testClock.Now()).Obj(),
		builders.Invitation("mia@acme.example", "acme", "customer").Named("mia").InvitedBy("carol@acme.example").AcceptedAt(testClock.Now()).Obj(),
		// The inviter's access applied after the invitation: converges all the same.
		builders.Invitation("noah@acme.example", "acme", "customer").Named("noah").InvitedBy("olga@acme.example").AcceptedAt(testClock.Now()).Obj(),
	)
	eventually(t, func(g Gomega) {
		var liam v1alpha1.UserInvitation
		get(g, ns, "liam", &liam)
		g.Expect(liam.Status.Phase).To(Equal(v1alpha1.UserPhaseRejected))
		ready := condition(liam.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(ready).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonDelegationRefused))
		g.Expect(ready.Message).To(ContainSubstring("seller-admin"))
		g.Expect(ownedBindingsOf(g, ns, "liam")).To(BeEmpty())
		g.Expect(eventsFor(g, ns, "UserInvitation", "liam")).To(ContainElement("Rejected"))
		g.Expect(permissionsOf(document(g, ns, "acme"), "liam@acme.example")).To(BeEmpty())

		var mia v1alpha1.UserInvitation
		get(g, ns, "mia", &mia)
		g.Expect(mia.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(mia.Status.GrantedBy).To(Equal("carol@acme.example"))

		var noah v1alpha1.UserInvitation
		get(g, ns, "noah", &noah)
		g.Expect(noah.Status.Phase).To(Equal(v1alpha1.UserPhaseRejected))
	})

	create(t, ns, builders.Binding("olga@acme.example", "customer-admin", "acme").Named("olga-customer-admin").Obj())
	eventually(t, func(g Gomega) {
		var noah v1alpha1.UserInvitation
		get(g, ns, "noah", &noah)
		g.Expect(noah.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(permissionsOf(document(g, ns, "acme"), "noah@acme.example")).To(ContainElement("sales"))
	})
}

// An inviter who may assign a role in acme only through a binding with inheritance None
// grants it in acme only: the status records it, the invitation's binding holds there
// alone, and one edited to hold in the subtree is put back (and grants nothing while
// it claims more than the grant).
func TestDelegationThroughInheritanceNoneGrantsInTheOrganizationOnly(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Binding("pat@acme.example", "customer-admin", "acme").Named("pat-customer-admin").ThisOrganizationOnly().Obj(),
		builders.Invitation("quinn@acme.example", "acme", "customer").Named("quinn").InvitedBy("pat@acme.example").AcceptedAt(testClock.Now()).Obj(),
	)
	grantedInAcmeOnly := func(g Gomega) {
		var quinn v1alpha1.UserInvitation
		get(g, ns, "quinn", &quinn)
		g.Expect(quinn.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(quinn.Status.GrantedInheritance).To(Equal(v1alpha1.InheritanceNone))
		owned := ownedBindingsOf(g, ns, "quinn")
		g.Expect(owned).To(HaveLen(1))
		g.Expect(owned[0].Spec.Inheritance).To(Equal(v1alpha1.InheritanceNone))
		g.Expect(permissionsOf(document(g, ns, "acme"), "quinn@acme.example")).To(ContainElement("sales"))
		g.Expect(permissionsOf(document(g, ns, "store-1"), "quinn@acme.example")).To(BeEmpty())
	}
	eventually(t, grantedInAcmeOnly)

	var b v1alpha1.RoleBinding
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: permissions.BindingName("quinn", "customer")}, &b); err != nil {
		t.Fatal(err)
	}
	widened := b.DeepCopy()
	widened.Spec.Inheritance = v1alpha1.InheritanceSubtree
	if err := k8s.Patch(context.Background(), widened, client.MergeFrom(&b)); err != nil {
		t.Fatal(err)
	}
	b = *widened
	eventually(t, func(g Gomega) {
		var now v1alpha1.RoleBinding
		get(g, ns, b.Name, &now)
		g.Expect(now.Generation).To(BeNumerically(">", b.Generation))
		grantedInAcmeOnly(g)
	})
}

// A RoleBinding an invitation should own whose name another binding holds: the
// invitation records its grant, creates its other bindings, and says which name is
// taken (BindingNameTaken, a Warning event too) instead of failing before its status;
// once the name is freed its binding follows at once: the deletion reconciles the
// invitation (invitationsWantingName), where without it the next look is
// takenNameRecheck (5 minutes) away, beyond this test's wait. A binding of its own that lost its controller reference (it
// still carries the invitation's label) is taken back instead: left unowned, it would
// count as managed outside and keep granting after the invitation went.
func TestInvitationBindingNameTakenIsReportedOrAdopted(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	// Named as the invitation's binding for role customer will be: grace-customer. It
	// binds another user, so nothing but its name ties its deletion to the invitation.
	create(t, ns,
		builders.Binding("ivan@globex.example", "customer", "globex").Named("grace-customer").Obj(),
		builders.Invitation("grace@acme.example", "acme", "customer", "customer-admin").Named("grace").AcceptedAt(testClock.Now()).Obj(),
	)
	eventually(t, func(g Gomega) {
		var grace v1alpha1.UserInvitation
		get(g, ns, "grace", &grace)
		g.Expect(grace.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(grace.Status.GrantedRoles).To(ConsistOf("customer", "customer-admin"))
		ready := condition(grace.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(ready).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonBindingNameTaken))
		g.Expect(ready.Message).To(ContainSubstring("grace-customer"))
		g.Expect(ownedBindingsOf(g, ns, "grace")).To(ConsistOf(HaveField("Name", "grace-customer-admin")))
		g.Expect(eventsFor(g, ns, "UserInvitation", "grace")).To(ContainElement(v1alpha1.ReasonBindingNameTaken))
	})
	remove(t, ns, "grace-customer", &v1alpha1.RoleBinding{})
	eventually(t, func(g Gomega) {
		var grace v1alpha1.UserInvitation
		get(g, ns, "grace", &grace)
		g.Expect(condition(grace.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonAccepted))
		g.Expect(ownedBindingsOf(g, ns, "grace")).To(HaveLen(2))
	})

	// Its own binding, unowned by hand: adopted again.
	var b v1alpha1.RoleBinding
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "grace-customer-admin"}, &b); err != nil {
		t.Fatal(err)
	}
	unowned := b.DeepCopy()
	unowned.OwnerReferences = nil
	if err := k8s.Patch(context.Background(), unowned, client.MergeFrom(&b)); err != nil {
		t.Fatal(err)
	}
	eventually(t, func(g Gomega) {
		g.Expect(ownedBindingsOf(g, ns, "grace")).To(ConsistOf(HaveField("Name", "grace-customer"), HaveField("Name", "grace-customer-admin")))
		var grace v1alpha1.UserInvitation
		get(g, ns, "grace", &grace)
		g.Expect(condition(grace.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonAccepted))
	})
}

// A blocked invitation's deletion waits while another binding grants its user anything.
// A binding of an invitation that does not exist grants nothing, and does not hold the
// wait, whether that invitation's reference is the binding's controller or not (the
// engine's rule of ownership, permissions.InvitationOwner).
func TestInvitationDeletionWaitsWhileOtherBindingsGrant(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	orphan := builders.Binding("lou@acme.example", "customer", "globex").Named("lou-orphan").Obj()
	orphan.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "UserInvitation", Name: "lou-earlier", UID: "0b9e6a0e-0000-4000-8000-000000000001",
	}}
	create(t, ns,
		builders.Invitation("lou@acme.example", "acme", "customer").Named("lou").AcceptedAt(testClock.Now()).Blocked().Obj(),
		builders.Binding("lou@acme.example", "customer", "globex").Named("lou-globex").Obj(),
		orphan,
	)
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "lou", &inv)
		g.Expect(inv.Finalizers).To(ContainElement(InvitationFinalizer))
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseBlocked))
	})

	remove(t, ns, "lou", &v1alpha1.UserInvitation{})
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "lou", &inv)
		inUse := condition(inv.Status.Conditions, v1alpha1.ConditionInUse)
		g.Expect(inUse).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonInUse))
		g.Expect(inUse.Message).To(ContainSubstring("RoleBinding/lou-globex"))
		g.Expect(inUse.Message).NotTo(ContainSubstring("lou-orphan"))
		g.Expect(eventsFor(g, ns, "UserInvitation", "lou")).To(ContainElement("DeletionWaiting"))
		// Still blocked while the record waits.
		g.Expect(document(g, ns, "globex").Users).To(HaveKeyWithValue("lou@acme.example", HaveField("Status", v1alpha1.UserPhaseBlocked)))
	})

	remove(t, ns, "lou-globex", &v1alpha1.RoleBinding{})
	eventually(t, func(g Gomega) {
		gone(g, ns, "lou", &v1alpha1.UserInvitation{})
		var list v1alpha1.RoleBindingList
		g.Expect(k8s.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
		for _, b := range list.Items {
			if b.Name == "lou-orphan" {
				continue // not lou's: in a cluster the garbage collector deletes it
			}
			g.Expect(b.Spec.Subject.Email).NotTo(Equal(v1alpha1.Email("lou@acme.example")), "RoleBinding %s", b.Name)
		}
		g.Expect(document(g, ns, "globex").Users).NotTo(HaveKey("lou@acme.example"))
	})
}

// Deleting an invitation that carries no block ends that membership at once, though
// another binding still grants the user access elsewhere: its own binding is deleted and
// the organization's document no longer lists the user.
func TestInvitationDeletionWithoutABlockEndsTheMembershipAtOnce(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Invitation("max@acme.example", "store-1", "customer").Named("max").AcceptedAt(testClock.Now()).Obj(),
		builders.Binding("max@acme.example", "customer", "globex").Named("max-globex").Obj(),
	)
	eventually(t, func(g Gomega) {
		g.Expect(ownedBindingsOf(g, ns, "max")).To(HaveLen(1))
		g.Expect(document(g, ns, "store-1").Users).To(HaveKeyWithValue("max@acme.example", HaveField("Status", v1alpha1.UserPhaseActive)))
	})

	remove(t, ns, "max", &v1alpha1.UserInvitation{})
	eventually(t, func(g Gomega) {
		gone(g, ns, "max", &v1alpha1.UserInvitation{})
		gone(g, ns, "max-customer", &v1alpha1.RoleBinding{})
		g.Expect(document(g, ns, "store-1").Users).NotTo(HaveKey("max@acme.example"))
		g.Expect(document(g, ns, "globex").Users).To(HaveKeyWithValue("max@acme.example", HaveField("Status", v1alpha1.UserPhaseActive)))
	})
}

// The reconcile that adds an invitation's finalizer goes on to its bindings and status
// (its own update event is dropped, notOwnWrites), and one reconcile of an organization
// advances every invitation into it, not those into others: on a cold start each
// organization's invitations are advanced once, from one compile.
func TestOneReconcileAdvancesTheOrganizationsInvitations(t *testing.T) {
	now := platformgen.Now()
	objs := []client.Object{
		builders.Customer("acme").Obj(),
		builders.Customer("globex").Obj(),
		builders.Role("editor").Permissions("sales").Obj(),
		builders.Invitation("ann@x.example", "acme", "editor").Named("ann").CreatedAt(now.Add(-time.Hour)).AcceptedAt(now).Obj(),
		builders.Invitation("bob@x.example", "acme", "editor").Named("bob").CreatedAt(now.Add(-time.Hour)).AcceptedAt(now).Obj(),
		builders.Invitation("cy@x.example", "globex", "editor").Named("cy").CreatedAt(now.Add(-time.Hour)).AcceptedAt(now).Obj(),
	}
	for _, o := range objs {
		o.SetNamespace("p")
	}
	b := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(objs...).
		WithStatusSubresource(&v1alpha1.UserInvitation{}, &v1alpha1.RoleBinding{})
	for _, ix := range fieldIndexes {
		b = b.WithIndex(ix.obj, ix.field, ix.extract)
	}
	c := b.Build()
	r := newUserInvitationReconciler(c, clocktesting.NewFakePassiveClock(now), gatherer{reader: c}, nil, nopRecorder{})
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "p", Name: "acme"}}); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"ann", "bob"} {
		var inv v1alpha1.UserInvitation
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "p", Name: name}, &inv); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(inv.Finalizers, InvitationFinalizer) {
			t.Errorf("%s: finalizers %v, want %s", name, inv.Finalizers, InvitationFinalizer)
		}
		if inv.Status.Phase != v1alpha1.UserPhaseActive || !slices.Equal(inv.Status.GrantedRoles, []string{"editor"}) || len(inv.Status.Bindings) != 1 {
			t.Fatalf("%s: status after the first reconcile: %+v, want Active with editor and its binding", name, inv.Status)
		}
		var owned v1alpha1.RoleBinding
		if err := c.Get(context.Background(), types.NamespacedName{Namespace: "p", Name: inv.Status.Bindings[0]}, &owned); err != nil {
			t.Fatalf("%s: the invitation's binding: %v", name, err)
		}
	}
	var cy v1alpha1.UserInvitation
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "p", Name: "cy"}, &cy); err != nil {
		t.Fatal(err)
	}
	if len(cy.Finalizers) != 0 || cy.Status.Phase != "" {
		t.Errorf("globex's invitation was advanced by acme's reconcile: finalizers %v, status %+v", cy.Finalizers, cy.Status)
	}
}

// A binding's change reaches the organization of the invitation that owns it, of any
// version of the API group, controller or not, as the engine decides ownership (the
// binding's own organization, and the invitation's should the binding have been moved by
// hand), and no other owner's.
func TestOwnedBindingsMapToTheirInvitationsOrganization(t *testing.T) {
	inv := builders.Invitation("ann@x.example", "globex", "editor").Named("ann").Obj()
	inv.Namespace = "p"
	rel := relations{reader: newInputReader(permissions.Input{Invitations: []*v1alpha1.UserInvitation{inv}})}
	owned := func(apiVersion, kind string, controller bool) *v1alpha1.RoleBinding {
		b := builders.Binding("ann@x.example", "editor", "acme").Named("ann-editor").Obj()
		b.Namespace = "p"
		b.OwnerReferences = []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "ann", UID: "u1", Controller: &controller}}
		return b
	}
	want := []reconcile.Request{
		{NamespacedName: types.NamespacedName{Namespace: "p", Name: "acme"}},
		{NamespacedName: types.NamespacedName{Namespace: "p", Name: "globex"}},
	}
	for _, tc := range []struct {
		binding *v1alpha1.RoleBinding
		want    []reconcile.Request
	}{
		{owned(v1alpha1.GroupVersion.String(), "UserInvitation", true), want},
		{owned(v1alpha1.GroupVersion.Group+"/v1", "UserInvitation", true), want},
		{owned(v1alpha1.GroupVersion.String(), "UserInvitation", false), want},
		{owned("other.example/v1", "UserInvitation", true), nil},
		{owned(v1alpha1.GroupVersion.String(), "Organization", true), nil},
	} {
		ref := tc.binding.OwnerReferences[0]
		if got := rel.organizationsOfOwner(context.Background(), tc.binding); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("owner %s %s controller %v: %v, want %v", ref.APIVersion, ref.Kind, *ref.Controller, got, tc.want)
		}
	}
}

// An invitation is judged on its inviter's status too: an inviter blocked on the
// platform refuses it, whatever they own. Blocking or unblocking the inviter, through
// their own invitation anywhere on the platform, judges again the invitations they sent,
// and publishes them where they are listed: granted once the inviter is unblocked, and
// a New one shown Rejected while the inviter is blocked.
func TestInvitationsWaitingForTheirInviterFollowItsBlock(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Invitation("owner@acme.example", "globex", "customer").Named("owner-globex").AcceptedAt(testClock.Now()).Blocked().Obj(),
		builders.Invitation("jo@acme.example", "acme", "customer").Named("jo").InvitedBy("owner@acme.example").AcceptedAt(testClock.Now()).Obj(),
	)
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "jo", &inv)
		g.Expect(condition(inv.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonDelegationRefused))
		g.Expect(document(g, ns, "acme").Users).To(HaveKeyWithValue("jo@acme.example", HaveField("Status", v1alpha1.UserPhaseRejected)))
	})

	update(t, ns, "owner-globex", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) { inv.Spec.Blocked = false })
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "jo", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseActive))
		g.Expect(document(g, ns, "acme").Users).To(HaveKeyWithValue("jo@acme.example", HaveField("Status", v1alpha1.UserPhaseActive)))
	})

	// One not accepted yet is New while its inviter may invite, Rejected while blocked.
	create(t, ns, builders.Invitation("kit@acme.example", "acme", "customer").Named("kit").InvitedBy("owner@acme.example").Obj())
	eventually(t, func(g Gomega) {
		g.Expect(document(g, ns, "acme").Users).To(HaveKeyWithValue("kit@acme.example", HaveField("Status", v1alpha1.UserPhaseNew)))
	})
	update(t, ns, "owner-globex", &v1alpha1.UserInvitation{}, func(inv *v1alpha1.UserInvitation) { inv.Spec.Blocked = true })
	eventually(t, func(g Gomega) {
		var inv v1alpha1.UserInvitation
		get(g, ns, "kit", &inv)
		g.Expect(inv.Status.Phase).To(Equal(v1alpha1.UserPhaseRejected))
		g.Expect(document(g, ns, "acme").Users).To(HaveKeyWithValue("kit@acme.example", HaveField("Status", v1alpha1.UserPhaseRejected)))
	})
}

// A deleted RoleBinding is mapped to the organizations of the invitations that list its
// name among their bindings, found by the name's prefixes: an invitation that reported
// the name taken does not wait for its error backoff once the name is free.
func TestBindingNameFreedMapsToTheInvitationsWantingIt(t *testing.T) {
	invitation := func(name, org string, bindings ...string) *v1alpha1.UserInvitation {
		inv := builders.Invitation("grace@acme.example", org, "customer").Named(name).Obj()
		inv.Namespace = "tenant"
		inv.Status.Bindings = bindings
		return inv
	}
	rel := relations{reader: newInputReader(permissions.Input{Invitations: []*v1alpha1.UserInvitation{
		invitation("grace", "acme", "grace-customer", "grace-customer-admin"),
		// Its name is a prefix of grace's bindings too; it wants "grace-customer-admin" (role admin).
		invitation("grace-customer", "globex", "grace-customer-admin"),
		invitation("lou", "initech", "lou-customer"),
	}})}
	deleted := func(name string) []string {
		b := builders.Binding("grace@acme.example", "customer", "acme").Named(name).Obj()
		b.Namespace = "tenant"
		var orgs []string
		for _, req := range rel.invitationsWantingName(context.Background(), b) {
			if req.Namespace != "tenant" {
				t.Errorf("request %v: want namespace tenant", req)
			}
			orgs = append(orgs, req.Name)
		}
		return orgs
	}
	for name, want := range map[string][]string{
		"grace-customer":       {"acme"},
		"grace-customer-admin": {"acme", "globex"},
		"lou-customer":         {"initech"},
		"grace-other":          nil, // grace exists but does not want it
		"nobody-customer":      nil,
		"-customer":            nil,
	} {
		if got := deleted(name); !slices.Equal(got, want) {
			t.Errorf("deleting binding %q enqueues %v, want %v", name, got, want)
		}
	}
}
