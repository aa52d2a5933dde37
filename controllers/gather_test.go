package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// generatedPlatform returns a generated platform and a reader that answers from it
// with the controllers' field indexes, as the manager's cache does.
func generatedPlatform(tb testing.TB) (client.Reader, permissions.Input) {
	tb.Helper()
	in := platformgen.Generate(platformgen.Small(), 1)
	return newInputReader(in), in
}

// inputReader is a client.Reader over an engine input: Get by name, List by namespace
// and by the controllers' field indexes. The fake client is too slow for platforms of
// thousands of objects.
type inputReader struct {
	objects map[string][]client.Object            // kind -> objects
	byKey   map[string]client.Object              // kind namespace/name -> object, as a cache's store
	index   map[string]map[string][]client.Object // kind/field -> key -> objects
}

func newInputReader(in permissions.Input) *inputReader {
	r := &inputReader{objects: map[string][]client.Object{}, byKey: map[string]client.Object{}, index: map[string]map[string][]client.Object{}}
	add := func(o client.Object) {
		kind := fmt.Sprintf("%T", o)
		r.objects[kind] = append(r.objects[kind], o)
		if _, dup := r.byKey[kind+" "+o.GetNamespace()+"/"+o.GetName()]; !dup {
			r.byKey[kind+" "+o.GetNamespace()+"/"+o.GetName()] = o // the first of one name, as Get found it
		}
		for _, ix := range fieldIndexes {
			if fmt.Sprintf("%T", ix.obj) != kind {
				continue
			}
			key := kind + "/" + ix.field
			if r.index[key] == nil {
				r.index[key] = map[string][]client.Object{}
			}
			for _, v := range ix.extract(o) {
				r.index[key][v] = append(r.index[key][v], o)
			}
		}
	}
	eachObject(in, add)
	return r
}

// indexedInformers records, for every kind of in, an indexer holding its objects with
// the indexes the manager's cache keeps: by namespace and by every field index.
func indexedInformers(tb testing.TB, in permissions.Input) *Informers {
	tb.Helper()
	informers := NewInformers()
	for kind, objs := range inputObjects(in) {
		indexers := toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc}
		for _, ix := range fieldIndexes {
			if reflect.TypeOf(ix.obj) == reflect.TypeOf(objs[0]) {
				indexers[fieldIndexName(ix.field)] = perNamespace(ix.extract)
			}
		}
		indexer := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, indexers)
		for _, o := range objs {
			if err := indexer.Add(o); err != nil {
				tb.Fatalf("index %s %s: %v", kind, o.GetName(), err)
			}
		}
		informers.byType[reflect.TypeOf(objs[0])] = []toolscache.Indexer{indexer}
	}
	return informers
}

func (r *inputReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	if o, ok := r.byKey[fmt.Sprintf("%T", obj)+" "+key.Namespace+"/"+key.Name]; ok {
		reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(o).Elem())
		return nil
	}
	return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
}

func (r *inputReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	items := reflect.ValueOf(list).Elem().FieldByName("Items")
	kind := "*" + strings.TrimSuffix(items.Type().Elem().String(), "") // e.g. *v1alpha1.RoleBinding
	candidates := r.objects[kind]
	if lo.FieldSelector != nil && !lo.FieldSelector.Empty() {
		reqs := lo.FieldSelector.Requirements()
		candidates = r.index[kind+"/"+reqs[0].Field][reqs[0].Value]
	}
	out := reflect.MakeSlice(items.Type(), 0, len(candidates))
	for _, o := range candidates {
		if lo.Namespace == "" || o.GetNamespace() == lo.Namespace {
			out = reflect.Append(out, reflect.ValueOf(o).Elem())
		}
	}
	items.Set(out)
	return nil
}

// TestGatheredSubsetsGiveTheWholePlatformsResults checks the gathers against the
// engine's contract (controllers/permissions/doc.go): compiled from what a reconciler
// gathers, an organization's document and status, and the results of its bindings and
// invitations, equal those compiled from the whole platform.
func TestGatheredSubsetsGiveTheWholePlatformsResults(t *testing.T) {
	c, in := generatedPlatform(t)
	t.Run("through the client", func(t *testing.T) { checkGatheredSubsets(t, gatherer{reader: c}, in, 4) })
	t.Run("from the informers", func(t *testing.T) {
		// As the manager gathers and compiles: every subset shares one catalog.
		g := gatherer{reader: c, informers: indexedInformers(t, in), compiler: permissions.NewCompiler(1)}
		checkGatheredSubsets(t, g, in, 4)
	})
}

// The same on random small platforms (platformgen.Random), which have what a generated
// one has not: users with bindings managed outside in one organization and invitations
// into another, invitations in every phase, inviters who were invited themselves,
// custom roles, broken forests. Every organization of each is checked.
func TestGatheredRandomSubsetsGiveTheWholePlatformsResults(t *testing.T) {
	runs := 400
	if testing.Short() {
		runs /= 10
	}
	for seed := range runs {
		in := platformgen.Random(rand.New(rand.NewPCG(uint64(seed), 11)), platformgen.Now())
		if len(in.Bindings) == 0 || len(in.Invitations) == 0 {
			continue // the informers' indexers are built per kind present
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := gatherer{reader: newInputReader(in), informers: indexedInformers(t, in), compiler: permissions.NewCompiler(1)}
			checkGatheredSubsets(t, g, in, 1)
		})
	}
}

// An address written with capitals (an object that did not pass admission) names the
// same user: the engine gives the platform the documents it gives the lowercase one, and
// the manager's cache stores the address canonical (trimForCache), so that the field
// indexes gather it with the rest of its user's objects.
func TestCapitalizedAddressesAreGatheredAndJudgedAsTheirUsers(t *testing.T) {
	runs := 100
	if testing.Short() {
		runs /= 10
	}
	for seed := range runs {
		rng := rand.New(rand.NewPCG(uint64(seed), 13))
		in := platformgen.Random(rng, platformgen.Now())
		if len(in.Bindings) == 0 || len(in.Invitations) == 0 {
			continue
		}
		capitalized := copyOfInput(in)
		capitalize := func(e v1alpha1.Email) v1alpha1.Email {
			b := []byte(e)
			for i := range b {
				if 'a' <= b[i] && b[i] <= 'z' && rng.IntN(3) == 0 {
					b[i] -= 'a' - 'A'
				}
			}
			return v1alpha1.Email(b)
		}
		eachObject(capitalized, func(o client.Object) {
			switch o := o.(type) {
			case *v1alpha1.RoleBinding:
				o.Spec.Subject.Email = capitalize(o.Spec.Subject.Email)
			case *v1alpha1.UserInvitation:
				o.Spec.Email, o.Spec.InvitedBy = capitalize(o.Spec.Email), capitalize(o.Spec.InvitedBy)
			case *v1alpha1.Organization:
				o.Spec.Owner = capitalize(o.Spec.Owner)
			}
		})
		cached := copyOfInput(capitalized) // as the cache stores them: trimForCache changes each in place
		eachObject(cached, func(o client.Object) {
			if _, err := trimForCache(o, nil); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			now := platformgen.Now()
			lower, mixed := permissions.Compile(in, now), permissions.Compile(capitalized, now)
			for _, org := range lower.Organizations() {
				want, _ := lower.Document(org)
				got, _ := mixed.Document(org)
				if diff := cmp.Diff(want.Shards, got.Shards); diff != "" {
					t.Fatalf("document of %s with capitalized addresses differs (-lowercase +capitalized):\n%s", org, diff)
				}
			}
			g := gatherer{reader: newInputReader(cached), informers: indexedInformers(t, cached), compiler: permissions.NewCompiler(1)}
			checkGatheredSubsets(t, g, capitalized, 1)
		})
	}
}

// An invitation not granted yet is judged on what its inviter holds where it invites,
// and a user's status everywhere on whether any invitation of theirs is Active. Here
// uma is invited (not accepted) into acme, and invited by ivan into globex, accepted,
// her grant not recorded yet: she is Active (ivan's admin binding at globex lets him
// assign the role), so acme lists her as Active. acme's subset must hold ivan's
// binding at globex, an organization it has nothing else to do with; ivan's first
// binding managed outside is another one, at acme.
func TestGatherHoldsWhatAnInvitationElsewhereIsJudgedOn(t *testing.T) {
	now := platformgen.Now()
	placed := func(o client.Object) client.Object {
		o.SetNamespace(platformgen.Namespace)
		o.SetCreationTimestamp(metav1.NewTime(now.Add(-time.Hour)))
		return o
	}
	in := permissions.Input{
		Organizations: []*v1alpha1.Organization{
			placed(builders.Distributor("north").Obj()).(*v1alpha1.Organization),
			placed(builders.Customer("acme").Under("north").Obj()).(*v1alpha1.Organization),
			placed(builders.Customer("globex").Under("north").Obj()).(*v1alpha1.Organization),
		},
		Roles: []*v1alpha1.Role{
			placed(builders.Role("customer").Permissions("sales").Obj()).(*v1alpha1.Role),
			placed(builders.Role("admin").Permissions("users").Assigns("customer").Obj()).(*v1alpha1.Role),
		},
		Bindings: []*v1alpha1.RoleBinding{
			placed(builders.Binding("ivan@north.example", "customer", "acme").Named("a-ivan").Obj()).(*v1alpha1.RoleBinding),
			placed(builders.Binding("ivan@north.example", "admin", "globex").Named("z-ivan-admin").Obj()).(*v1alpha1.RoleBinding),
		},
		Invitations: []*v1alpha1.UserInvitation{
			placed(builders.Invitation("uma@acme.example", "acme", "customer").Obj()).(*v1alpha1.UserInvitation),
			placed(builders.Invitation("uma@acme.example", "globex", "customer").InvitedBy("ivan@north.example").AcceptedAt(now.Add(-time.Minute)).Obj()).(*v1alpha1.UserInvitation),
		},
	}
	doc, _ := permissions.Compile(in, now).Document("acme")
	if got := doc.Document.Users["uma@acme.example"].Status; got != v1alpha1.UserPhaseActive {
		t.Fatalf("uma is %s in acme on the whole platform; the test needs her Active", got)
	}
	g := gatherer{reader: newInputReader(in), informers: indexedInformers(t, in), compiler: permissions.NewCompiler(1)}
	checkGatheredSubsets(t, g, in, 1)
}

// checkGatheredSubsets compares, for every every-th organization, what its gathered
// subset gives with what the whole platform gives: the organization's result and
// document, its bindings' and invitations' results; and every role's snapshot.
func checkGatheredSubsets(t *testing.T, g gatherer, in permissions.Input, every int) {
	ctx := context.Background()
	now := platformgen.Now()
	whole := permissions.Compile(in, now)
	ns := in.Organizations[0].Namespace

	bindingsOf := map[string][]string{}
	for _, b := range in.Bindings {
		org := string(b.Spec.OrganizationRef.Name)
		bindingsOf[org] = append(bindingsOf[org], b.Name)
	}
	invitationsOf := map[string][]string{}
	for _, inv := range in.Invitations {
		org := string(inv.Spec.OrganizationRef.Name)
		invitationsOf[org] = append(invitationsOf[org], inv.Name)
	}
	checked := 0
	for i, org := range whole.Organizations() {
		if i%every != 0 { // on a large platform, a share of the organizations, of every depth, keeps the test quick
			continue
		}
		subset, err := g.forOrganization(ctx, ns, org)
		if err != nil {
			t.Fatal(err)
		}
		p := g.compile(subset, now)
		compare(t, "Organization "+org, whole.Organization, p.Organization, org)
		wantDoc, _ := whole.Document(org)
		gotDoc, _ := p.Document(org)
		if diff := cmp.Diff(wantDoc.Shards, gotDoc.Shards); diff != "" {
			t.Errorf("document of %s from its subset differs (-whole +subset):\n%s", org, diff)
		}
		for _, b := range bindingsOf[org] {
			compare(t, "RoleBinding "+b, whole.Binding, p.Binding, b)
		}
		for _, inv := range invitationsOf[org] {
			compare(t, "UserInvitation "+inv, whole.Invitation, p.Invitation, inv)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no organization checked")
	}

	snapshots := newRoleSnapshots(g)
	for i := range in.Roles {
		name := in.Roles[i].Name
		compare(t, "Role "+name, truncatedUsedBy(whole.Role), snapshotRole(t, snapshots, ns, now), name)
	}
}

// truncatedUsedBy is results whose usedBy is cut to what a status shows.
func truncatedUsedBy(results func(string) (permissions.RoleResult, bool)) func(string) (permissions.RoleResult, bool) {
	return func(name string) (permissions.RoleResult, bool) {
		r, ok := results(name)
		if len(r.UsedBy) > maxUsedBy {
			r.UsedBy = r.UsedBy[:maxUsedBy]
		}
		return r, ok
	}
}

// snapshotRole is a role's result from snapshots, failing t on an error or a wait.
func snapshotRole(t *testing.T, s *roleSnapshots, ns string, now time.Time) func(string) (permissions.RoleResult, bool) {
	return func(name string) (permissions.RoleResult, bool) {
		roles, _, wait, err := s.roles(context.Background(), ns, now)
		if err != nil || wait > 0 {
			t.Fatalf("role %s: error %v, wait %v", name, err, wait)
		}
		r, found := roles[name]
		return r, found
	}
}

// compare checks that result name of two platforms agree.
func compare[R any](t *testing.T, what string, whole, subset func(string) (R, bool), name string) {
	t.Helper()
	want, wantOK := whole(name)
	got, gotOK := subset(name)
	if !wantOK || !gotOK {
		t.Errorf("%s: found in whole platform %v, in subset %v", what, wantOK, gotOK)
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s from its subset differs (-whole +subset):\n%s", what, diff)
	}
}

// BenchmarkReconcileSubset measures what a binding's or invitation's reconcile spends
// outside the API server: gathering its organization's subset from the cache (from
// informers' indexers, as the manager's gathers read them), and compiling it (fresh;
// with the trees and roles compiled for an earlier subset, as the manager's Compiler
// does; and through the compile cache).
func BenchmarkReconcileSubset(b *testing.B) {
	c, in := generatedPlatform(b)
	ctx := context.Background()
	ns := in.Organizations[0].Namespace
	org := string(in.Bindings[len(in.Bindings)/2].Spec.OrganizationRef.Name)
	now := platformgen.Now()
	g := gatherer{reader: c, informers: indexedInformers(b, in), compiler: permissions.NewCompiler(1), compiled: newCompileCache(16)}
	b.Run("gather", func(b *testing.B) {
		for b.Loop() {
			if _, err := g.forOrganization(ctx, ns, org); err != nil {
				b.Fatal(err)
			}
		}
	})
	subset, _ := g.forOrganization(ctx, ns, org)
	b.Run("fingerprint", func(b *testing.B) {
		for b.Loop() {
			fingerprintOf(subset)
		}
	})
	b.Run("compile", func(b *testing.B) {
		for b.Loop() {
			permissions.Compile(subset, now)
		}
	})
	b.Run("compile-shared", func(b *testing.B) {
		for b.Loop() {
			g.compiler.Compile(subset, now)
		}
	})
	b.Run("compile-cached", func(b *testing.B) {
		for b.Loop() {
			g.compile(subset, now.Add(time.Second))
		}
	})
	b.Run("roles", func(b *testing.B) {
		// Each iteration compiles the whole namespace afresh: the snapshot keeps its
		// compile out of the compile cache.
		s := newRoleSnapshots(g)
		for b.Loop() {
			s.bump(ns) // every role's result is recomputed from the whole namespace
			s.minInterval, s.costFactor, s.settle = 0, 0, 0
			if _, _, _, err := s.roles(ctx, ns, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A namespace-wide gather (the role snapshot's: every binding of the namespace) reads
// the informers' own objects rather than a List's copies of them, and finds the same
// objects a List through the client finds, in its namespace only.
func TestNamespaceGatherReadsTheCachesOwnObjects(t *testing.T) {
	ns, other := newPlatform(t), newPlatform(t)
	for _, n := range []string{ns, other} {
		seedPlatform(t, n)
		create(t, n,
			builders.Tree("catalog", "sales").Obj(),
			builders.Binding("dora@acme.example", "customer", "acme").Named("dora-customer").Obj(),
			builders.Invitation("erin@acme.example", "acme", "customer").Obj(),
		)
	}
	ctx := context.Background()
	eventually(t, func(g Gomega) {
		direct, err := gatherer{reader: cached, informers: cachedInformers}.forNamespace(ctx, ns)
		g.Expect(err).NotTo(HaveOccurred())
		listed, err := gatherer{reader: cached}.forNamespace(ctx, ns)
		g.Expect(err).NotTo(HaveOccurred())

		want := inputObjects(listed)
		for _, kind := range []string{"Organization", "PermissionTree", "Role", "RoleBinding", "UserInvitation"} {
			g.Expect(want).To(HaveKeyWithValue(kind, Not(BeEmpty())), "no %s listed", kind)
		}
		got := inputObjects(direct)
		g.Expect(objectKeys(got)).To(Equal(objectKeys(want)))
		for kind, objs := range got {
			for _, o := range objs {
				stored := storedObject(g, o)
				g.Expect(o).To(BeIdenticalTo(stored), "%s %s is a copy of the cache's object", kind, o.GetName())
				g.Expect(o.GetNamespace()).To(Equal(ns))
			}
		}
	})
}

// inputObjects is in's objects by kind.
func inputObjects(in permissions.Input) map[string][]client.Object {
	out := map[string][]client.Object{}
	eachObject(in, func(o client.Object) {
		kind := reflect.TypeOf(o).Elem().Name()
		out[kind] = append(out[kind], o)
	})
	return out
}

// objectKeys is "Kind namespace/name" of every object, sorted.
func objectKeys(byKind map[string][]client.Object) []string {
	var keys []string
	for kind, objs := range byKind {
		for _, o := range objs {
			keys = append(keys, kind+" "+o.GetNamespace()+"/"+o.GetName())
		}
	}
	slices.Sort(keys)
	return keys
}

// storedObject is the object the manager's informers hold under o's key.
func storedObject(g Gomega, o client.Object) any {
	for _, indexer := range cachedInformers.indexers(reflect.TypeOf(o)) {
		if stored, ok, err := indexer.GetByKey(o.GetNamespace() + "/" + o.GetName()); err == nil && ok {
			return stored
		}
	}
	g.Expect(o).To(BeNil(), "the informers hold no %T %s/%s", o, o.GetNamespace(), o.GetName())
	return nil
}
