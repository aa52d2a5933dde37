// Package validation proves, against a real kube-apiserver and etcd, that the orgaccess
// CRDs refuse what one object can tell is wrong, and name the offending field.
//
// The apiserver, etcd and kubectl come from hack/envtest.sh:
//
//	KUBEBUILDER_ASSETS=$(hack/envtest.sh) go test ./test/validation/...
package validation

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// The control plane is shared by every test of the package: starting it costs seconds,
// and each test isolates itself in its own namespace.
var (
	testEnv   *envtest.Environment
	k8sClient client.Client
	// restConfig is the admin connection to the apiserver; the kubectl test builds a
	// kubeconfig from the same control plane.
	restConfig *rest.Config
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run KUBEBUILDER_ASSETS=$(hack/envtest.sh) go test ./test/validation/...")
		return 1
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	restConfig, err = testEnv.Start()
	if err != nil {
		// A CRD whose CEL rules exceed the apiserver's cost budget fails here.
		fmt.Fprintf(os.Stderr, "start envtest: %v\n", err)
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop envtest: %v\n", err)
		}
	}()
	// Unstructured objects need no scheme: the client maps them through discovery.
	k8sClient, err = client.New(restConfig, client.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "create client: %v\n", err)
		return 1
	}
	return m.Run()
}

// newNamespace creates a namespace for one test, named after it, and deletes it when
// the test ends.
func newNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: dnsLabelPrefix(t.Name())}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		// envtest runs no namespace controller, so objects inside remain; the
		// namespace only keeps tests apart.
		_ = k8sClient.Delete(context.Background(), ns)
	})
	return ns.Name
}

// dnsLabelPrefix turns a test name into a namespace generateName prefix.
func dnsLabelPrefix(name string) string {
	name = strings.ToLower(name)
	var b strings.Builder
	for _, r := range name {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	prefix := strings.Trim(b.String(), "-")
	if len(prefix) > 40 {
		prefix = strings.Trim(prefix[:40], "-")
	}
	return prefix + "-"
}

// manifest decodes one YAML object and places it in namespace ns.
func manifest(t testing.TB, ns, text string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(text), &obj.Object); err != nil {
		t.Fatalf("decode manifest: %v\n%s", err, text)
	}
	if obj.GetKind() == "" {
		t.Fatalf("manifest has no kind:\n%s", text)
	}
	obj.SetNamespace(ns)
	return obj
}

// manifests decodes every object of a multi-document YAML file and places them in
// namespace ns.
func manifests(t testing.TB, ns, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		var probe map[string]any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		if len(probe) == 0 {
			continue // only comments or a bare separator
		}
		objs = append(objs, manifest(t, ns, string(doc)))
	}
}

// requireRefused fails the test unless err is the apiserver's Invalid error with a
// cause on exactly field, whose message contains every one of wantMessages.
func requireRefused(t *testing.T, err error, field string, wantMessages ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the apiserver accepted the manifest; want it refused with a cause on %s", field)
	}
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Details == nil {
		t.Fatalf("want an Invalid error with causes, got %T: %v", err, err)
	}
	causes := status.Status().Details.Causes
	for _, cause := range causes {
		if cause.Field != field {
			continue
		}
		if containsAll(cause.Message, wantMessages) {
			t.Logf("refused: %v", err)
			return
		}
	}
	var got []string
	for _, cause := range causes {
		got = append(got, fmt.Sprintf("  %s: %s", cause.Field, cause.Message))
	}
	t.Fatalf("refused, but no cause on %s containing %q; causes:\n%s", field, wantMessages, strings.Join(got, "\n"))
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
