package controllers

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/builders"
)

// answer is one response the API server sent: to which request, in what format, how
// many bytes.
type answer struct {
	method, path, contentType string
	bytes                     int
}

// answerRecorder records the responses of a client's requests.
type answerRecorder struct {
	mu      sync.Mutex
	answers []answer
	next    http.RoundTripper
}

func (r *answerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.answers = append(r.answers, answer{req.Method, req.URL.Path, res.Header.Get("Content-Type"), len(body)})
	r.mu.Unlock()
	return res, nil
}

// last is the last answer to a request of method to path.
func (r *answerRecorder) last(t *testing.T, method, path string) answer {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.answers) - 1; i >= 0; i-- {
		if a := r.answers[i]; a.method == method && a.path == path {
			return a
		}
	}
	t.Fatalf("no %s %s was sent", method, path)
	return answer{}
}

// newAnsweringClient returns NewClient's client and the recorder of its responses.
func newAnsweringClient(t *testing.T) (client.Client, *answerRecorder) {
	t.Helper()
	rec := &answerRecorder{}
	cfg := rest.CopyConfig(testConfig)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		rec.next = rt
		return rec
	}
	c, err := NewClient(cfg, client.Options{Scheme: testScheme})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, rec
}

// A document's create and update are answered with its metadata alone, which the
// ConfigMap then holds beside the data it was written with; a refused write is the same
// API error as controller-runtime's.
func TestConfigMapWritesAreAnsweredWithMetadata(t *testing.T) {
	ns := newPlatform(t)
	ctx := context.Background()
	c, rec := newAnsweringClient(t)
	document := strings.Repeat(`{"users":[]}`, 8<<10) // 96 KiB
	path := "/api/v1/namespaces/" + ns + "/configmaps"

	cm := &corev1.ConfigMap{Data: map[string]string{v1alpha1.DocumentKey: document}}
	cm.Name, cm.Namespace = "access-acme", ns
	if err := c.Create(ctx, cm); err != nil {
		t.Fatalf("create: %v", err)
	}
	created := rec.last(t, http.MethodPost, path)
	var stored corev1.ConfigMap
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), &stored); err != nil {
		t.Fatalf("get: %v", err)
	}
	g := NewWithT(t)
	g.Expect(created.bytes).To(BeNumerically("<", 1<<10), "the answer repeats the data")
	g.Expect(cm.UID).To(Equal(stored.UID))
	g.Expect(cm.ResourceVersion).To(Equal(stored.ResourceVersion))
	g.Expect(cm.CreationTimestamp).To(Equal(stored.CreationTimestamp))
	g.Expect(cm.Data).To(Equal(stored.Data))

	stale := cm.DeepCopy()
	cm.Data[v1alpha1.DocumentKey] = document + " "
	if err := c.Update(ctx, cm); err != nil {
		t.Fatalf("update: %v", err)
	}
	updated := rec.last(t, http.MethodPut, path+"/access-acme")
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), &stored); err != nil {
		t.Fatalf("get: %v", err)
	}

	g.Expect(updated.bytes).To(BeNumerically("<", 1<<10))
	g.Expect(cm.ResourceVersion).To(Equal(stored.ResourceVersion))
	g.Expect(stored.Data).To(Equal(cm.Data))

	g.Expect(apierrors.IsConflict(c.Update(ctx, stale))).To(BeTrue(), "update from a stale resourceVersion")
	again := &corev1.ConfigMap{}
	again.Name, again.Namespace = cm.Name, ns
	g.Expect(apierrors.IsAlreadyExists(c.Create(ctx, again))).To(BeTrue(), "create of an existing name")
}

// A status patch of an orgaccess kind is answered with the object's metadata: the
// object takes the new resourceVersion and keeps the status it sent.
func TestStatusPatchIsAnsweredWithMetadata(t *testing.T) {
	ns := newPlatform(t)
	ctx := context.Background()
	c, rec := newAnsweringClient(t)
	create(t, ns, builders.Org("acme", v1alpha1.OrganizationTypeDistributor).Obj())
	var org v1alpha1.Organization
	eventually(t, func(g Gomega) { // the manager's own status first: it ignores ours
		g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "acme"}, &org)).To(Succeed())
		g.Expect(org.Status.ObservedGeneration).To(Equal(org.Generation))
	})

	before := org.DeepCopy()
	org.Status.Depth = 7
	patch, err := statusPatch(before, &org)
	if err != nil {
		t.Fatalf("status patch: %v", err)
	}
	if err := c.Status().Patch(ctx, &org, patch); err != nil {
		t.Fatalf("patch status: %v", err)
	}
	patched := rec.last(t, http.MethodPatch, "/apis/"+v1alpha1.GroupVersion.String()+"/namespaces/"+ns+"/organizations/acme/status")
	var stored v1alpha1.Organization
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(&org), &stored); err != nil {
		t.Fatalf("get: %v", err)
	}
	g := NewWithT(t)
	// A custom resource has no protobuf encoding: an answer in protobuf is its metadata.
	g.Expect(patched.contentType).To(Equal("application/vnd.kubernetes.protobuf"))
	g.Expect(stored.Status.Depth).To(Equal(int32(7)))
	g.Expect(org.ResourceVersion).To(Equal(stored.ResourceVersion))
	g.Expect(org.ResourceVersion).NotTo(Equal(before.ResourceVersion))
	g.Expect(org.Status).To(Equal(stored.Status))

	gone := before.DeepCopy()
	gone.Name = "gone"
	g.Expect(apierrors.IsNotFound(c.Status().Patch(ctx, gone, patch))).To(BeTrue(), "patch of a missing object")
}

// BenchmarkConfigMapCreate creates documents of 96 KiB with controller-runtime's
// client, which decodes the whole ConfigMap the API server answers, and with
// NewClient's, answered with the metadata: the allocations are the client's.
func BenchmarkConfigMapCreate(b *testing.B) {
	if testConfig == nil {
		b.Skip("needs envtest: run with KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	}
	document := strings.Repeat(`{"users":[]}`, 8<<10)
	for _, bc := range []struct {
		name      string
		newClient client.NewClientFunc
	}{{"whole", client.New}, {"metadata", NewClient}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			c, err := bc.newClient(testConfig, client.Options{Scheme: testScheme})
			if err != nil {
				b.Fatal(err)
			}
			ns := &corev1.Namespace{}
			ns.GenerateName = "bench-"
			if err := k8s.Create(ctx, ns); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				cm := &corev1.ConfigMap{Data: map[string]string{v1alpha1.DocumentKey: document}}
				cm.Name, cm.Namespace = "access-"+strconv.Itoa(i), ns.Name
				if err := c.Create(ctx, cm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
