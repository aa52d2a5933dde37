package controllers

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
)

// seedPlatform creates a small platform shaped like the seeds':
//
//	north (Distributor)
//	└── contoso (Seller)
//	    ├── acme (Customer)
//	    │   └── store-1 (Unit)
//	    └── globex (Customer)
//
// with the roles seller-admin, customer, customer-admin (includes customer) and
// beta-preview (a feature only).
func seedPlatform(t *testing.T, ns string) {
	t.Helper()
	create(t, ns,
		builders.Role("seller-admin").Permissions("customers/*", "reports").Assigns("*").Obj(),
		builders.Role("customer").Permissions("sales", "quotes/view").Obj(),
		builders.Role("customer-admin").Includes("customer").Permissions("users").Assigns("customer").Obj(),
		builders.Role("beta-preview").Features("beta-preview").Obj(),
		builders.Distributor("north").Obj(),
		builders.Seller("contoso").Under("north").Obj(),
		builders.Customer("acme").Under("contoso").Owner("owner@acme.example").Obj(),
		builders.Unit("store-1").Under("acme").Obj(),
		builders.Customer("globex").Under("contoso").Obj(),
	)
}

func TestPublishesEveryOrganizationsDocumentAndStatus(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Binding("alice@contoso.example", "seller-admin", "contoso").Named("alice-seller-admin").Obj(),
		builders.Binding("bob@acme.example", "customer", "acme").Named("bob-customer").ThisOrganizationOnly().Obj(),
		builders.Binding("carol@acme.example", "customer-admin", "acme").Named("carol-customer-admin").Obj(),
		builders.Binding("carol@acme.example", "beta-preview", "acme").Named("carol-beta").Obj(),
	)

	eventually(t, func(g Gomega) {
		acme := document(g, ns, "acme")
		g.Expect(acme.Organization).To(Equal("acme"))
		g.Expect(acme.Path).To(Equal([]string{"north", "contoso", "acme"}))
		g.Expect(acme.Users).To(HaveKeyWithValue("alice@contoso.example", HaveField("Status", v1alpha1.UserPhaseActive)))
		g.Expect(permissionsOf(acme, "alice@contoso.example")).To(ContainElements("customers/*", "reports"))
		g.Expect(permissionsOf(acme, "bob@acme.example")).To(ContainElements("sales", "quotes/view"))
		// customer-admin carries the included customer role's grants.
		g.Expect(permissionsOf(acme, "carol@acme.example")).To(ContainElements("users", "sales", "quotes/view"))
		g.Expect(acme.Users["carol@acme.example"].Features).To(Equal([]string{"beta-preview"}))

		// Subtree bindings reach the unit; bob's binding is for acme only.
		store := document(g, ns, "store-1")
		g.Expect(store.Path).To(Equal([]string{"north", "contoso", "acme", "store-1"}))
		g.Expect(store.Users).To(HaveKey("alice@contoso.example"))
		g.Expect(store.Users).To(HaveKey("carol@acme.example"))
		g.Expect(store.Users).NotTo(HaveKey("bob@acme.example"))

		globex := document(g, ns, "globex")
		g.Expect(globex.Users).To(HaveKey("alice@contoso.example"))
		g.Expect(globex.Users).NotTo(HaveKey("carol@acme.example"))
		g.Expect(document(g, ns, "north").Users).To(BeEmpty())
	})

	// The ConfigMap: name, key, labels, controlled by the Organization.
	var org v1alpha1.Organization
	var cm corev1.ConfigMap
	eventually(t, func(g Gomega) {
		get(g, ns, "acme", &org)
		get(g, ns, "access-acme", &cm)
		g.Expect(cm.Labels).To(HaveKeyWithValue(v1alpha1.OrganizationLabel, "acme"))
		g.Expect(cm.Labels).To(HaveKeyWithValue(v1alpha1.ShardLabel, "1"))
		g.Expect(cm.Data).To(HaveKey(v1alpha1.DocumentKey))
		owner := metav1.GetControllerOf(&cm)
		g.Expect(owner).NotTo(BeNil())
		g.Expect(owner.UID).To(Equal(org.UID))

		// Organization status: path, depth, users, published ConfigMaps, Ready.
		g.Expect(org.Status.ObservedGeneration).To(Equal(org.Generation))
		g.Expect(org.Status.Path).To(Equal([]string{"north", "contoso", "acme"}))
		g.Expect(org.Status.Depth).To(Equal(int32(2)))
		g.Expect(org.Status.Users.Active).To(Equal(int32(3)))
		g.Expect(org.Status.PublishedConfigMaps).To(Equal([]string{"access-acme"}))
		ready := condition(org.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(ready).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonReconciled))
		g.Expect(ready.ObservedGeneration).To(Equal(org.Generation))

		// Role and binding status.
		var role v1alpha1.Role
		get(g, ns, "customer-admin", &role)
		g.Expect(role.Status.Permissions).To(ContainElements("users", "sales", "quotes/view"))
		g.Expect(role.Status.BoundUsers).To(Equal(int32(1)))
		g.Expect(role.Status.UsedBy).To(ContainElement("RoleBinding/carol-customer-admin"))
		g.Expect(condition(role.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		var binding v1alpha1.RoleBinding
		get(g, ns, "bob-customer", &binding)
		g.Expect(condition(binding.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(binding.Status.ObservedGeneration).To(Equal(binding.Generation))
	})
}

// A binding managed outside makes its subject Active on the whole platform
// (DESIGN.md, UserInvitation): an invited user who has not accepted is listed as New
// where the invitation reaches, until a binding managed outside is made for them in an
// unrelated organization; then Active there too, and New again once it is deleted.
// Each document is compiled from its own organization's subset, which has to hold
// that binding, and is republished when it comes and goes.
func TestBindingManagedOutsideMakesAnInvitedUserActiveEverywhere(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns, builders.Invitation("dan@acme.example", "acme", "customer").Obj())
	statusIn := func(g Gomega, org string) (v1alpha1.UserPhase, v1alpha1.UserCounts) {
		doc := document(g, ns, org)
		g.Expect(doc.Users).To(HaveKey("dan@acme.example"))
		var o v1alpha1.Organization
		get(g, ns, org, &o)
		return doc.Users["dan@acme.example"].Status, o.Status.Users
	}
	for _, org := range []string{"acme", "store-1"} {
		eventually(t, func(g Gomega) {
			phase, users := statusIn(g, org)
			g.Expect(phase).To(Equal(v1alpha1.UserPhaseNew), org)
			g.Expect(users).To(Equal(v1alpha1.UserCounts{New: 1}), org)
		})
	}

	create(t, ns, builders.Binding("dan@acme.example", "beta-preview", "globex").Named("dan-beta").Obj())
	for _, org := range []string{"acme", "store-1"} {
		eventually(t, func(g Gomega) {
			phase, users := statusIn(g, org)
			g.Expect(phase).To(Equal(v1alpha1.UserPhaseActive), org)
			g.Expect(users).To(Equal(v1alpha1.UserCounts{Active: 1}), org)
			// Active, and still holding nothing there: the binding is globex's.
			g.Expect(permissionsOf(document(g, ns, org), "dan@acme.example")).To(BeEmpty())
		})
	}

	remove(t, ns, "dan-beta", &v1alpha1.RoleBinding{})
	for _, org := range []string{"acme", "store-1"} {
		eventually(t, func(g Gomega) {
			phase, users := statusIn(g, org)
			g.Expect(phase).To(Equal(v1alpha1.UserPhaseNew), org)
			g.Expect(users).To(Equal(v1alpha1.UserCounts{New: 1}), org)
		})
	}
}

// A custom role is Ready only while its organization exists, and a role including it
// grants what it grants only then: creating or deleting that organization changes
// the documents, the bindings' and the roles' statuses wherever the including role is
// held, far from the organization itself.
func TestCustomRolesOrganizationDecidesWhatIncludingRolesGrant(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Role("fabrikam-reports").Permissions("reports").Of("fabrikam").Obj(),
		builders.Role("bundle").Permissions("sales").Includes("fabrikam-reports").Obj(),
		builders.Binding("bob@acme.example", "bundle", "acme").Named("bob-bundle").Obj(),
	)
	ready := func(g Gomega, obj client.Object, name string) metav1.ConditionStatus {
		get(g, ns, name, obj)
		switch o := obj.(type) {
		case *v1alpha1.RoleBinding:
			return condition(o.Status.Conditions, v1alpha1.ConditionReady).Status
		case *v1alpha1.Role:
			return condition(o.Status.Conditions, v1alpha1.ConditionReady).Status
		}
		return ""
	}
	holds := func(want metav1.ConditionStatus, perms []string) {
		t.Helper()
		eventually(t, func(g Gomega) {
			g.Expect(ready(g, &v1alpha1.Role{}, "bundle")).To(Equal(want), "role bundle")
			g.Expect(ready(g, &v1alpha1.RoleBinding{}, "bob-bundle")).To(Equal(want), "binding bob-bundle")
			if perms == nil {
				g.Expect(permissionsOf(document(g, ns, "acme"), "bob@acme.example")).To(BeEmpty())
			} else {
				g.Expect(permissionsOf(document(g, ns, "acme"), "bob@acme.example")).To(ContainElements(perms))
			}
		})
	}
	holds(metav1.ConditionFalse, nil)

	create(t, ns, builders.Customer("fabrikam").Under("contoso").Obj())
	holds(metav1.ConditionTrue, []string{"sales", "reports"})

	remove(t, ns, "fabrikam", &v1alpha1.Organization{})
	holds(metav1.ConditionFalse, nil)
}

func TestHandEditedOrDeletedConfigMapIsRestored(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns, builders.Binding("bob@acme.example", "customer", "acme").Named("bob-customer").Obj())
	var published string
	eventually(t, func(g Gomega) {
		g.Expect(document(g, ns, "acme").Users).To(HaveKey("bob@acme.example"))
		var cm corev1.ConfigMap
		get(g, ns, "access-acme", &cm)
		published = cm.Data[v1alpha1.DocumentKey]
	})

	updatesBefore := testutil.ToFloat64(documentWrites.WithLabelValues("update"))
	createsBefore := testutil.ToFloat64(documentWrites.WithLabelValues("create"))
	publishesBefore := publishLatencySamples(t)

	// Edited by hand: data, an extra key and our label; someone else's label stays.
	// (The organization label's new value hides the ConfigMap from acme's lookup in the
	// cache, so the publisher reads it from the API server and updates that.)
	update(t, ns, "access-acme", &corev1.ConfigMap{}, func(cm *corev1.ConfigMap) {
		cm.Data[v1alpha1.DocumentKey] = `{"organization":"acme","users":{"mallory@evil.example":{"status":"Active"}}}`
		cm.Data["extra"] = "x"
		cm.Labels[v1alpha1.OrganizationLabel] = "globex"
		cm.Labels["team"] = "payments"
	})
	eventually(t, func(g Gomega) {
		var cm corev1.ConfigMap
		get(g, ns, "access-acme", &cm)
		g.Expect(cm.Data).To(Equal(map[string]string{v1alpha1.DocumentKey: published}))
		g.Expect(cm.Labels).To(HaveKeyWithValue(v1alpha1.OrganizationLabel, "acme"))
		g.Expect(cm.Labels).To(HaveKeyWithValue("team", "payments"))
	})

	// Edited by hand again, the data only, with annotations: the publisher updates the
	// cache's copy, and what the cache leaves out stays: the last-applied annotation
	// (kept on ConfigMaps for this) and the editor's managedFields entry (which the
	// API server keeps when an update sends none).
	update(t, ns, "access-acme", &corev1.ConfigMap{}, func(cm *corev1.ConfigMap) {
		cm.Data[v1alpha1.DocumentKey] = `{"organization":"acme","users":{"mallory@evil.example":{"status":"Active"}}}`
		cm.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"kind":"ConfigMap"}`, "note": "audited"}
	}, client.FieldOwner("hand-editor"))
	eventually(t, func(g Gomega) {
		var cm corev1.ConfigMap
		get(g, ns, "access-acme", &cm)
		g.Expect(cm.Data).To(Equal(map[string]string{v1alpha1.DocumentKey: published}))
		g.Expect(cm.Annotations).To(Equal(map[string]string{corev1.LastAppliedConfigAnnotation: `{"kind":"ConfigMap"}`, "note": "audited"}))
		var managers []string
		for _, f := range cm.ManagedFields {
			managers = append(managers, f.Manager)
		}
		g.Expect(managers).To(ContainElement("hand-editor"))
	})

	// Deleted by hand.
	remove(t, ns, "access-acme", &corev1.ConfigMap{})
	eventually(t, func(g Gomega) {
		var cm corev1.ConfigMap
		get(g, ns, "access-acme", &cm)
		g.Expect(cm.Data[v1alpha1.DocumentKey]).To(Equal(published))
	})
	// Both restorations were published writes, each timed from the hand edit. (The
	// counters move just after the write the test saw.)
	eventually(t, func(g Gomega) {
		g.Expect(testutil.ToFloat64(documentWrites.WithLabelValues("update"))).To(BeNumerically(">", updatesBefore),
			"orgaccess_document_writes_total{operation=update} after restoring an edit")
		g.Expect(testutil.ToFloat64(documentWrites.WithLabelValues("create"))).To(BeNumerically(">", createsBefore),
			"orgaccess_document_writes_total{operation=create} after restoring a deletion")
		g.Expect(publishLatencySamples(t)).To(BeNumerically(">=", publishesBefore+2),
			"samples of orgaccess_change_to_publish_seconds")
	})
}

// reconciles is controller_runtime_reconcile_total of the named controller, all results.
func reconciles(t *testing.T, controller string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == controller {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// publishLatencySamples is how many publishes orgaccess_change_to_publish_seconds timed.
func publishLatencySamples(t *testing.T) uint64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "orgaccess_change_to_publish_seconds" {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("orgaccess_change_to_publish_seconds is not registered")
	return 0
}

// bigRole returns a role of 256 distinct permission paths of about 250 bytes each (the
// API's limits): about 64 KiB of permission set that no other role shares.
func bigRole(name string) *builders.RoleBuilder {
	segment := strings.Repeat("x", 38)
	var paths []string
	for i := range 256 {
		p := fmt.Sprintf("%s/p%03d", name, i)
		for s := range 6 {
			p += fmt.Sprintf("/%s%d", segment, s)
		}
		paths = append(paths, p)
	}
	return builders.Role(name).Permissions(paths...)
}

// Documents left behind by an organization that no longer exists (deleted while no
// manager ran, in a cluster without a garbage collector, as envtest and `make run`
// are) are deleted when the manager sees them, its first list included; and an
// organization created again under the same name takes over its predecessor's
// documents instead of failing to publish behind them while they grant.
func TestDocumentsOfAnEarlierOrganizationAreDeletedOrTakenOver(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	earlier := func(name string) metav1.OwnerReference {
		ref := metav1.NewControllerRef(builders.Customer(name).Obj(), v1alpha1.GroupVersion.WithKind("Organization"))
		ref.UID = types.UID("uid-of-an-earlier-" + name)
		return *ref
	}
	orphan := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: "access-ghost", Namespace: ns,
		Labels:          map[string]string{v1alpha1.OrganizationLabel: "ghost"},
		OwnerReferences: []metav1.OwnerReference{earlier("ghost")},
	}, Data: map[string]string{v1alpha1.DocumentKey: `{"organization":"ghost","users":{"gus@x.example":{"status":"Active"}}}`}}
	create(t, ns, orphan)
	eventually(t, func(g Gomega) { gone(g, ns, "access-ghost", &corev1.ConfigMap{}) })

	create(t, ns, builders.Binding("bob@acme.example", "customer", "acme").Named("bob-customer").Obj())
	var published string
	var acme v1alpha1.Organization
	eventually(t, func(g Gomega) {
		g.Expect(document(g, ns, "acme").Users).To(HaveKey("bob@acme.example"))
		var cm corev1.ConfigMap
		get(g, ns, "access-acme", &cm)
		published = cm.Data[v1alpha1.DocumentKey]
		get(g, ns, "acme", &acme)
	})
	// As an earlier acme would have left it: its controller, its grants.
	update(t, ns, "access-acme", &corev1.ConfigMap{}, func(cm *corev1.ConfigMap) {
		cm.OwnerReferences = []metav1.OwnerReference{earlier("acme")}
		cm.Data[v1alpha1.DocumentKey] = `{"organization":"acme","users":{"gus@x.example":{"status":"Active"}}}`
	})
	eventually(t, func(g Gomega) {
		var cm corev1.ConfigMap
		get(g, ns, "access-acme", &cm)
		g.Expect(cm.Data).To(Equal(map[string]string{v1alpha1.DocumentKey: published}))
		g.Expect(metav1.GetControllerOf(&cm)).To(HaveField("UID", acme.UID))
		get(g, ns, "acme", &acme)
		g.Expect(condition(acme.Status.Conditions, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})
}

func TestLargeDocumentIsShardedAndStaleShardsRemoved(t *testing.T) {
	ns := newPlatform(t)
	create(t, ns, builders.Customer("mega").Obj())
	// Eighteen users with distinct ~64 KiB permission sets: about 1.1 MiB of document.
	const users = 18
	for i := range users {
		role := fmt.Sprintf("big-%d", i)
		create(t, ns, bigRole(role).Obj(), builders.Binding(fmt.Sprintf("user-%d@mega.example", i), role, "mega").Named(fmt.Sprintf("user-%d", i)).Obj())
	}
	var shardCount int
	eventually(t, func(g Gomega) {
		shards := documentShards(g, ns, "mega")
		g.Expect(len(shards)).To(BeNumerically(">=", 2))
		g.Expect(shards[0].Shards).To(Equal(len(shards)))
		listed := map[string]bool{}
		for i, s := range shards {
			g.Expect(s.Shard).To(Equal(i + 1))
			for u, access := range s.Users {
				listed[u] = true
				// Self-contained: each shard holds the sets its users point at.
				g.Expect(s.PermissionSets).To(HaveKey(access.PermissionSet))
			}
		}
		g.Expect(listed).To(HaveLen(users))
		var org v1alpha1.Organization
		get(g, ns, "mega", &org)
		var names []string
		for i := range shards {
			names = append(names, v1alpha1.DocumentConfigMapName("mega", i+1))
		}
		g.Expect(org.Status.PublishedConfigMaps).To(Equal(names))
		shardCount = len(shards)
	})
	for i := range shardCount {
		var cm corev1.ConfigMap
		eventually(t, func(g Gomega) {
			get(g, ns, v1alpha1.DocumentConfigMapName("mega", i+1), &cm)
			g.Expect(len(cm.Data[v1alpha1.DocumentKey])).To(BeNumerically("<=", v1alpha1.MaxDocumentBytes))
		})
	}

	// Down to two users: one ConfigMap again, the stale shards deleted.
	for i := 2; i < users; i++ {
		remove(t, ns, fmt.Sprintf("user-%d", i), &v1alpha1.RoleBinding{})
	}
	eventually(t, func(g Gomega) {
		shards := documentShards(g, ns, "mega")
		g.Expect(shards).To(HaveLen(1))
		g.Expect(shards[0].Shard).To(BeZero())
		g.Expect(shards[0].Users).To(HaveLen(2))
		for i := 2; i <= shardCount; i++ {
			gone(g, ns, v1alpha1.DocumentConfigMapName("mega", i), &corev1.ConfigMap{})
		}
	})
}

// writeCounter counts a client's writes, by kind and verb.
type writeCounter struct {
	mu     sync.Mutex
	writes []string
	gets   map[string]bool // "Kind/name" of every object read with Get
}

func (w *writeCounter) record(verb string, obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, fmt.Sprintf("%s %T %s", verb, obj, obj.GetName()))
}

func (w *writeCounter) snapshot() ([]string, map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	gets := make(map[string]bool, len(w.gets))
	for k := range w.gets {
		gets[k] = true
	}
	return append([]string(nil), w.writes...), gets
}

// newClient wraps controller-runtime's client to count writes and remember reads.
func (w *writeCounter) newClient(cfg *rest.Config, opts client.Options) (client.Client, error) {
	c, err := client.NewWithWatch(cfg, opts)
	if err != nil {
		return nil, err
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			err := c.Get(ctx, key, obj, opts...)
			w.mu.Lock()
			w.gets[fmt.Sprintf("%T/%s/%s", obj, key.Namespace, key.Name)] = true
			w.mu.Unlock()
			return err
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			w.record("create", obj)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			w.record("update", obj)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			w.record("patch", obj)
			return c.Patch(ctx, obj, patch, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			w.record("delete", obj)
			return c.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			w.record("deleteAllOf", obj)
			return c.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			w.record(sub+" update", obj)
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			w.record(sub+" patch", obj)
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	}), nil
}

func TestRestartedManagerOnConvergedPlatformWritesNothing(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns,
		builders.Tree("catalog", "sales", "sales/checkout", "quotes", "quotes/view", "users", "reports", "customers").Obj(),
		builders.Binding("alice@contoso.example", "seller-admin", "contoso").Named("alice-seller-admin").Obj(),
		builders.Binding("bob@acme.example", "customer", "acme").Named("bob-customer").ThisOrganizationOnly().Obj(),
		builders.Invitation("carol@acme.example", "acme", "customer-admin").Named("carol").AcceptedAt(testClock.Now()).Obj(),
		builders.Invitation("dave@acme.example", "globex", "customer").Named("dave").Obj(),
		builders.Invitation("erin@acme.example", "acme", "customer").Named("erin").Blocked().Obj(),
	)

	// Converged: every object's status describes its generation, every document is out.
	objects := map[string]client.Object{}
	eventually(t, func(g Gomega) {
		var orgs v1alpha1.OrganizationList
		g.Expect(k8s.List(context.Background(), &orgs, client.InNamespace(ns))).To(Succeed())
		for _, o := range orgs.Items {
			g.Expect(o.Status.ObservedGeneration).To(Equal(o.Generation), "Organization %s", o.Name)
			g.Expect(o.Status.PublishedConfigMaps).NotTo(BeEmpty())
			objects["Organization/"+o.Name] = &o
		}
		var roles v1alpha1.RoleList
		g.Expect(k8s.List(context.Background(), &roles, client.InNamespace(ns))).To(Succeed())
		for _, r := range roles.Items {
			g.Expect(r.Status.ObservedGeneration).To(Equal(r.Generation), "Role %s", r.Name)
			objects["Role/"+r.Name] = &r
		}
		var bindings v1alpha1.RoleBindingList
		g.Expect(k8s.List(context.Background(), &bindings, client.InNamespace(ns))).To(Succeed())
		g.Expect(bindings.Items).To(HaveLen(3)) // two by hand, one of carol's invitation
		for _, b := range bindings.Items {
			g.Expect(b.Status.ObservedGeneration).To(Equal(b.Generation), "RoleBinding %s", b.Name)
			objects["RoleBinding/"+b.Name] = &b
		}
		var invitations v1alpha1.UserInvitationList
		g.Expect(k8s.List(context.Background(), &invitations, client.InNamespace(ns))).To(Succeed())
		for _, i := range invitations.Items {
			g.Expect(i.Status.ObservedGeneration).To(Equal(i.Generation), "UserInvitation %s", i.Name)
			objects["UserInvitation/"+i.Name] = &i
		}
		var tree v1alpha1.PermissionTree
		get(g, ns, "catalog", &tree)
		g.Expect(tree.Status.ObservedGeneration).To(Equal(tree.Generation))
		g.Expect(document(g, ns, "acme").Users).To(HaveKeyWithValue("carol@acme.example", HaveField("Status", v1alpha1.UserPhaseActive)))
	})
	// And quiet: the suite's manager, which keeps running, has written its last status
	// (a role's counts settle after its snapshot, an organization's status follows its
	// document), so what the second manager finds is the converged platform and not one
	// still being written.
	awaitQuiet(t, ns)

	// A second manager, watching only this platform, counting its writes.
	skippedBefore := testutil.ToFloat64(writesSkipped.WithLabelValues(resourceConfigMap))
	// The RoleBinding and UserInvitation reconcilers' requests name organizations.
	byOrganization := map[string]float64{"rolebinding": reconciles(t, "rolebinding"), "userinvitation": reconciles(t, "userinvitation")}
	counter := &writeCounter{gets: map[string]bool{}}
	_, stop, err := startManager(testConfig, managerConfig{clock: testClock, newClient: counter.newClient, namespaces: []string{ns}})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Every object was reconciled: each reconcile starts by reading its object, but for
	// the RoleBinding and UserInvitation reconcilers', which read their organization's
	// subset: each of those organizations has one (the suite's manager is quiet,
	// awaitQuiet).
	orgsOf := map[string]map[string]bool{"rolebinding": {}, "userinvitation": {}}
	eventually(t, func(g Gomega) {
		_, gets := counter.snapshot()
		for key, obj := range objects {
			kind := strings.SplitN(key, "/", 2)[0]
			switch o := obj.(type) {
			case *v1alpha1.RoleBinding:
				orgsOf["rolebinding"][string(o.Spec.OrganizationRef.Name)] = true
			case *v1alpha1.UserInvitation:
				orgsOf["userinvitation"][string(o.Spec.OrganizationRef.Name)] = true
			default:
				g.Expect(gets).To(HaveKey(fmt.Sprintf("*v1alpha1.%s/%s/%s", kind, ns, obj.GetName())))
			}
		}
		for controller, orgs := range orgsOf {
			g.Expect(reconciles(t, controller)-byOrganization[controller]).To(BeNumerically(">=", len(orgs)),
				"%s reconciles, one per organization of %v", controller, orgs)
		}
	})
	// Let the reconciles those reads started, and any they enqueue, run out.
	NewWithT(t).Consistently(func() []string {
		writes, _ := counter.snapshot()
		return writes
	}).WithTimeout(3 * convergeTimeout / 20).Should(BeEmpty())
	// It did publish: each organization's ConfigMap was compared and left alone.
	if skipped := testutil.ToFloat64(writesSkipped.WithLabelValues(resourceConfigMap)) - skippedBefore; skipped < 5 {
		t.Errorf("orgaccess_writes_skipped_total{resource=configmap} grew by %v during the restart, want at least one per organization (5)", skipped)
	}
}

// awaitQuiet waits until no object of the platform in ns, documents included, has
// changed for two seconds.
func awaitQuiet(t *testing.T, ns string) {
	t.Helper()
	var last map[string]string
	since := time.Now()
	eventually(t, func(g Gomega) {
		now := map[string]string{}
		for _, list := range []client.ObjectList{&v1alpha1.OrganizationList{}, &v1alpha1.RoleList{},
			&v1alpha1.RoleBindingList{}, &v1alpha1.UserInvitationList{}, &v1alpha1.PermissionTreeList{}, &corev1.ConfigMapList{}} {
			g.Expect(k8s.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
			g.Expect(meta.EachListItem(list, func(o runtime.Object) error {
				obj := o.(client.Object)
				now[fmt.Sprintf("%T/%s", obj, obj.GetName())] = obj.GetResourceVersion()
				return nil
			})).To(Succeed())
		}
		if !maps.Equal(now, last) {
			last, since = now, time.Now()
		}
		g.Expect(time.Since(since)).To(BeNumerically(">=", 2*time.Second), "the platform changed within the last two seconds")
	})
}

// A document ConfigMap made immutable (by hand, or by a policy that marks ConfigMaps
// immutable) refuses every update: the publisher replaces it. Until 2026-12-07 it
// reported PublishFailed for ever and a forged grant written with the flag stayed.
func TestImmutableDocumentIsReplaced(t *testing.T) {
	ns := newPlatform(t)
	seedPlatform(t, ns)
	create(t, ns, builders.Binding("bob@acme.example", "customer", "acme").Named("bob-customer").Obj())
	eventually(t, func(g Gomega) {
		g.Expect(document(g, ns, "acme").Users).To(HaveKey("bob@acme.example"))
	})
	update(t, ns, "access-acme", &corev1.ConfigMap{}, func(cm *corev1.ConfigMap) {
		cm.Data[v1alpha1.DocumentKey] = `{"organization":"acme","path":["north","contoso","acme"],"permissionSets":{"x":["*"]},"users":{"mallory@evil.example":{"status":"Active","permissionSet":"x"}}}`
		cm.Immutable = ptr.To(true)
	})
	eventually(t, func(g Gomega) {
		doc := document(g, ns, "acme")
		g.Expect(doc.Users).NotTo(HaveKey("mallory@evil.example"))
		g.Expect(doc.Users).To(HaveKey("bob@acme.example"))
		var org v1alpha1.Organization
		get(g, ns, "acme", &org)
		g.Expect(condition(org.Status.Conditions, v1alpha1.ConditionReady)).To(haveCondition(metav1.ConditionTrue, v1alpha1.ReasonReconciled))
	})
}

// A user whose permissions alone are larger than a document can hold ("*" over 22
// trees of 1,024 paths) is published holding nothing, and the organization says so
// (PermissionsTooLarge); the document still follows every change. Until 2026-12-07 the
// shard holding that user was larger than a ConfigMap, the API server refused it, and
// the document stopped following changes: a binding deleted afterwards kept granting.
func TestPermissionsTooLargeForADocumentAreWithheldAndReported(t *testing.T) {
	ns := newPlatform(t)
	objs := []client.Object{
		builders.Customer("mega").Obj(),
		builders.Role("admin").Permissions("*").Obj(),
		builders.Role("viewer").Permissions("area-00").Obj(),
	}
	for tr := range 22 {
		area := fmt.Sprintf("area-%02d", tr)
		paths := []string{area}
		for j := range 1023 {
			paths = append(paths, fmt.Sprintf("%s/a-reasonably-descriptive-permission-%04d", area, j))
		}
		objs = append(objs, builders.Tree(area, paths...).Obj())
	}
	objs = append(objs,
		builders.Binding("admin@mega.example", "admin", "mega").Named("admin").Obj(),
		builders.Binding("zed@mega.example", "viewer", "mega").Named("zed").Obj())
	create(t, ns, objs...)
	eventually(t, func(g Gomega) {
		doc := document(g, ns, "mega")
		g.Expect(doc.Users).To(HaveKeyWithValue("admin@mega.example", HaveField("Roles", []string{"admin"})))
		g.Expect(permissionsOf(doc, "admin@mega.example")).To(BeEmpty())
		g.Expect(permissionsOf(doc, "zed@mega.example")).To(HaveLen(1024))
		var org v1alpha1.Organization
		get(g, ns, "mega", &org)
		ready := condition(org.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(ready).To(haveCondition(metav1.ConditionFalse, v1alpha1.ReasonPermissionsTooLarge))
		g.Expect(ready.Message).To(ContainSubstring("admin@mega.example"))
	})
	remove(t, ns, "zed", &v1alpha1.RoleBinding{})
	eventually(t, func(g Gomega) {
		g.Expect(permissionsOf(document(g, ns, "mega"), "zed@mega.example")).To(BeEmpty())
	})
}
