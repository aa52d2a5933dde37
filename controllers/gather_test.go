package controllers

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
	index   map[string]map[string][]client.Object // kind/field -> key -> objects
}

func newInputReader(in permissions.Input) *inputReader {
	r := &inputReader{objects: map[string][]client.Object{}, index: map[string]map[string][]client.Object{}}
	add := func(o client.Object) {
		kind := fmt.Sprintf("%T", o)
		r.objects[kind] = append(r.objects[kind], o)
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
	for i := range in.Organizations {
		add(&in.Organizations[i])
	}
	for i := range in.Trees {
		add(&in.Trees[i])
	}
	for i := range in.Roles {
		add(&in.Roles[i])
	}
	for i := range in.Bindings {
		add(&in.Bindings[i])
	}
	for i := range in.Invitations {
		add(&in.Invitations[i])
	}
	return r
}

func (r *inputReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	for _, o := range r.objects[fmt.Sprintf("%T", obj)] {
		if o.GetName() == key.Name && o.GetNamespace() == key.Namespace {
			reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(o).Elem())
			return nil
		}
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
	ctx := context.Background()
	now := platformgen.Now()
	whole := permissions.Compile(in, now)
	g := gatherer{reader: c}
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
		if i%4 != 0 { // a quarter of the organizations, of every depth, keeps the test quick
			continue
		}
		subset, err := g.forOrganization(ctx, ns, org)
		if err != nil {
			t.Fatal(err)
		}
		p := permissions.Compile(subset, now)
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

	for i := range in.Roles {
		role := &in.Roles[i]
		subset, err := g.forRole(ctx, ns, role)
		if err != nil {
			t.Fatal(err)
		}
		compare(t, "Role "+role.Name, whole.Role, permissions.Compile(subset, now).Role, role.Name)
	}
}

// TestRoleSubsetCountsUsersOfDeprecatedRolesAndDefaultRoles covers what the generated
// platform may not: users holding only deprecated roles, and invitations that take an
// organization's defaultRoles.
func TestRoleSubsetCountsUsersOfDeprecatedRolesAndDefaultRoles(t *testing.T) {
	now := platformgen.Now()
	legacy := builders.Role("legacy").Permissions("old").Deprecated("", now.Add(time.Hour)).Obj()
	older := builders.Role("older").Permissions("older").Deprecated("", now.Add(time.Hour)).Obj()
	in := permissions.Input{
		Organizations: []v1alpha1.Organization{
			*builders.Customer("acme").DefaultRoles("legacy").Obj(),
			*builders.Customer("globex").Obj(),
		},
		Roles: []v1alpha1.Role{*legacy, *older, *builders.Role("modern").Permissions("new").Obj()},
		Bindings: []v1alpha1.RoleBinding{
			*builders.Binding("ann@x.example", "legacy", "acme").Named("ann-legacy").Obj(),
			*builders.Binding("ann@x.example", "older", "globex").Named("ann-older").Obj(),
			*builders.Binding("ben@x.example", "legacy", "acme").Named("ben-legacy").Obj(),
			*builders.Binding("ben@x.example", "modern", "globex").Named("ben-modern").Obj(),
		},
		Invitations: []v1alpha1.UserInvitation{
			*builders.Invitation("cat@x.example", "acme").Named("cat").Obj(),
		},
	}
	for i := range in.Organizations {
		in.Organizations[i].Namespace = "p"
	}
	for i := range in.Roles {
		in.Roles[i].Namespace = "p"
	}
	for i := range in.Bindings {
		in.Bindings[i].Namespace = "p"
	}
	in.Invitations[0].Namespace = "p"
	whole := permissions.Compile(in, now)
	g := gatherer{reader: newInputReader(in)}
	for i := range in.Roles {
		subset, err := g.forRole(context.Background(), "p", &in.Roles[i])
		if err != nil {
			t.Fatal(err)
		}
		compare(t, "Role "+in.Roles[i].Name, whole.Role, permissions.Compile(subset, now).Role, in.Roles[i].Name)
	}
	if r, _ := whole.Role("legacy"); r.DeprecatedOnlyUsers != 1 || !slices.Contains(r.UsedBy, "UserInvitation/cat") {
		t.Errorf("the case is not what it means to cover: legacy has %d deprecated-only users, usedBy %v", r.DeprecatedOnlyUsers, r.UsedBy)
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
// outside the API server: gathering its organization's subset from the cache, and
// compiling it (fresh, and through the compile cache).
func BenchmarkReconcileSubset(b *testing.B) {
	c, in := generatedPlatform(b)
	ctx := context.Background()
	ns := in.Organizations[0].Namespace
	org := string(in.Bindings[len(in.Bindings)/2].Spec.OrganizationRef.Name)
	now := platformgen.Now()
	g := gatherer{reader: c, compiled: newCompileCache(16)}
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
	b.Run("compile-cached", func(b *testing.B) {
		for b.Loop() {
			g.compile(subset, now.Add(time.Second))
		}
	})
	b.Run("role", func(b *testing.B) {
		for b.Loop() {
			subset, err := g.forRole(ctx, ns, &in.Roles[0])
			if err != nil {
				b.Fatal(err)
			}
			permissions.Compile(subset, now).Role(in.Roles[0].Name)
		}
	})
}
