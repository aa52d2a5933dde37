package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

func testOrganization() *v1alpha1.Organization {
	org := &v1alpha1.Organization{}
	org.Name, org.Namespace, org.UID = "acme", "platform", "uid-acme"
	return org
}

func TestDesiredConfigMapsNamesLabelsAndOwnsEveryShard(t *testing.T) {
	org := testOrganization()
	cms := desiredConfigMaps(org, [][]byte{[]byte(`{"shard":1}`), []byte(`{"shard":2}`), []byte(`{"shard":3}`)})
	wantNames := []string{"access-acme", "access-acme-2", "access-acme-3"}
	if len(cms) != len(wantNames) {
		t.Fatalf("got %d ConfigMaps, want %d", len(cms), len(wantNames))
	}
	for i, cm := range cms {
		if cm.Name != wantNames[i] || cm.Namespace != "platform" {
			t.Errorf("shard %d is %s/%s, want platform/%s", i+1, cm.Namespace, cm.Name, wantNames[i])
		}
		if cm.Labels[v1alpha1.OrganizationLabel] != "acme" || cm.Labels[v1alpha1.ShardLabel] != []string{"1", "2", "3"}[i] {
			t.Errorf("shard %d labels = %v", i+1, cm.Labels)
		}
		if ref := metav1.GetControllerOf(&cm); ref == nil || ref.UID != org.UID || ref.Kind != "Organization" {
			t.Errorf("shard %d controller = %+v, want the Organization", i+1, ref)
		}
		if len(cm.Data) != 1 || cm.Data[v1alpha1.DocumentKey] == "" {
			t.Errorf("shard %d data keys = %v, want only %s", i+1, cm.Data, v1alpha1.DocumentKey)
		}
	}
}

func TestConfigMapUpToDateAndMerge(t *testing.T) {
	org := testOrganization()
	want := desiredConfigMaps(org, [][]byte{[]byte(`{"organization":"acme"}`)})[0]
	foreignOwner := metav1.OwnerReference{APIVersion: "v1", Kind: "Secret", Name: "s", UID: "uid-s"}

	same := want.DeepCopy()
	same.Labels["team"] = "payments"
	same.Annotations = map[string]string{"note": "kept"}
	same.OwnerReferences = append(same.OwnerReferences, foreignOwner)

	tests := []struct {
		name  string
		edit  func(*corev1.ConfigMap)
		fresh bool
	}{
		{"others' labels, annotations and owners do not count", func(*corev1.ConfigMap) {}, true},
		{"edited document", func(cm *corev1.ConfigMap) { cm.Data[v1alpha1.DocumentKey] = "{}" }, false},
		{"extra key", func(cm *corev1.ConfigMap) { cm.Data["extra"] = "x" }, false},
		{"binary data", func(cm *corev1.ConfigMap) { cm.BinaryData = map[string][]byte{"b": nil} }, false},
		{"label changed", func(cm *corev1.ConfigMap) { cm.Labels[v1alpha1.OrganizationLabel] = "globex" }, false},
		{"shard label removed", func(cm *corev1.ConfigMap) { delete(cm.Labels, v1alpha1.ShardLabel) }, false},
		{"controller removed", func(cm *corev1.ConfigMap) { cm.OwnerReferences = []metav1.OwnerReference{foreignOwner} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have := same.DeepCopy()
			have.Data = map[string]string{v1alpha1.DocumentKey: want.Data[v1alpha1.DocumentKey]}
			tt.edit(have)
			if got := configMapUpToDate(have, &want, dataDigest(want.Data)); got != tt.fresh {
				t.Fatalf("configMapUpToDate = %v, want %v", got, tt.fresh)
			}
			merged := mergeConfigMap(have, &want)
			if !configMapUpToDate(merged, &want, dataDigest(want.Data)) {
				t.Errorf("merged ConfigMap is not up to date: %+v", merged)
			}
			if merged.Labels["team"] != "payments" || merged.Annotations["note"] != "kept" {
				t.Errorf("merge dropped what others added: labels %v annotations %v", merged.Labels, merged.Annotations)
			}
			foreignKept := false
			for _, ref := range merged.OwnerReferences {
				foreignKept = foreignKept || ref.UID == foreignOwner.UID
			}
			if !foreignKept {
				t.Errorf("merge dropped another owner: %v", merged.OwnerReferences)
			}
		})
	}
}

func TestNewestChangeIsTheNewestCreationOrDeletion(t *testing.T) {
	at := func(min int) *metav1.Time {
		t := metav1.NewTime(time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC))
		return &t
	}
	role := &v1alpha1.Role{}
	role.CreationTimestamp = *at(1)
	binding := &v1alpha1.RoleBinding{}
	binding.CreationTimestamp = *at(3)
	if got := newestChange(role, binding); !got.Equal(at(3).Time) {
		t.Errorf("newestChange = %v, want the binding's creation at %v", got, at(3).Time)
	}
	binding.DeletionTimestamp = at(7)
	if got := newestChange(role, binding); !got.Equal(at(7).Time) {
		t.Errorf("newestChange = %v, want the deletion at %v", got, at(7).Time)
	}
	if got := newestChange(); !got.IsZero() {
		t.Errorf("newestChange() = %v, want zero", got)
	}
}

// unpublish deletes the documents of a deleted organization: those it controls, and
// those named and labelled as its shards that lost their controller (a delete with
// --cascade=orphan strips the owner reference before the organization goes). Anything
// else carrying its label is left alone.
func TestUnpublishDeletesTheOrganizationsDocumentsOnly(t *testing.T) {
	org := testOrganization()
	shards := desiredConfigMaps(org, [][]byte{[]byte(`{"shard":1}`), []byte(`{"shard":2}`)})
	orphaned := shards[1].DeepCopy()
	orphaned.OwnerReferences = nil
	renamed := shards[0].DeepCopy() // labelled as acme's, but not a document name
	renamed.Name, renamed.OwnerReferences = "acme-notes", nil
	foreign := shards[0].DeepCopy() // a document name, controlled by something else
	foreign.Name = "access-acme-3"
	foreign.Labels[v1alpha1.ShardLabel] = "3"
	foreign.OwnerReferences[0].Kind, foreign.OwnerReferences[0].Name = "Deployment", "acme"
	c := fake.NewClientBuilder().WithScheme(testScheme).
		WithObjects(&shards[0], orphaned, renamed, foreign).
		WithIndex(&corev1.ConfigMap{}, indexConfigMapOrganization, func(o client.Object) []string {
			return []string{o.GetLabels()[v1alpha1.OrganizationLabel]}
		}).Build()
	if err := (publisher{client: c}).unpublish(context.Background(), org.Namespace, org.Name); err != nil {
		t.Fatal(err)
	}
	var left corev1.ConfigMapList
	if err := c.List(context.Background(), &left); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range left.Items {
		names = append(names, cm.Name)
	}
	if want := []string{"access-acme-3", "acme-notes"}; !slices.Equal(names, want) {
		t.Errorf("left %v, want %v", names, want)
	}
}

// Shard 1 says how many shards there are, so it is written after the others: a
// document growing into shards never has shard 1 announce a shard not yet written,
// which a consumer reading by name would find missing (and fail closed on).
func TestShardOneIsWrittenLast(t *testing.T) {
	org := testOrganization()
	var order []string
	c := fake.NewClientBuilder().WithScheme(testScheme).
		WithIndex(&corev1.ConfigMap{}, indexConfigMapOrganization, func(o client.Object) []string {
			return []string{o.GetLabels()[v1alpha1.OrganizationLabel]}
		}).
		WithInterceptorFuncs(interceptor.Funcs{
			Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
				order = append(order, "create "+o.GetName())
				return c.Create(ctx, o, opts...)
			},
			Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
				order = append(order, "update "+o.GetName())
				return c.Update(ctx, o, opts...)
			},
		}).Build()
	p := publisher{client: c}
	shards := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = []byte(fmt.Sprintf(`{"shard":%d,"shards":%d}`, i+1, n))
		}
		return out
	}
	res, err := p.publish(context.Background(), org, shards(3))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"create access-acme-3", "create access-acme-2", "create access-acme"}; !slices.Equal(order, want) {
		t.Errorf("writes %v, want %v", order, want)
	}
	if want := []string{"access-acme", "access-acme-2", "access-acme-3"}; !slices.Equal(res.names, want) {
		t.Errorf("published names %v, want them in shard order %v", res.names, want)
	}
}
