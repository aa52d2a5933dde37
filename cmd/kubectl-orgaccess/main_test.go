package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	accessv1 "github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/localcluster"
)

// The plugin against a real kube-apiserver: explain compiles what is applied; can-i
// reads published ConfigMaps (written here from the engine, as the publisher would).
func TestPluginAgainstAPIServer(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set; run with KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	}
	cluster, err := localcluster.Start(localcluster.Options{Dir: t.TempDir(), AssetsDir: assets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := localcluster.InstallCRDs(ctx, cluster.KubectlPath, cluster.Kubeconfig, filepath.Join("..", "..")); err != nil {
		t.Fatal(err)
	}
	if out, err := cluster.Kubectl(ctx, "apply", "-n", "default", "-f", "testdata/platform.yaml"); err != nil {
		t.Fatalf("apply the platform: %v\n%s", err, out)
	}
	plugin := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		args = append(args, "--kubeconfig", cluster.Kubeconfig, "-n", "default")
		if err := run(ctx, args, &out); err != nil {
			t.Fatalf("kubectl orgaccess %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}

	t.Run("explain names the binding, the ancestor and the include chain", func(t *testing.T) {
		got := plugin("explain", "alice@contoso.example", "acme", "reports/read/monthly")
		for _, want := range []string{"may reports/read/monthly in acme", "alice-seller-admin", "at contoso", "seller-admin → report-viewer", "via reports/read"} {
			if !strings.Contains(got, want) {
				t.Errorf("explain output lacks %q:\n%s", want, got)
			}
		}
	})
	t.Run("explain says why not", func(t *testing.T) {
		got := plugin("explain", "bob@contoso.example", "acme", "sales")
		if !strings.Contains(got, "may NOT sales in acme") {
			t.Errorf("explain should refuse bob:\n%s", got)
		}
	})

	t.Run("explain names the namespace it found no organization in", func(t *testing.T) {
		var out bytes.Buffer
		err := run(ctx, []string{"explain", "bob@contoso.example", "acme", "sales", "--kubeconfig", cluster.Kubeconfig, "-n", "kube-public"}, &out)
		if err == nil || !strings.Contains(err.Error(), `no organization "acme" in namespace "kube-public"`) {
			t.Errorf("explain in a namespace without acme: %v (output %q), want an error naming the namespace", err, out.String())
		}
	})

	publish(ctx, t, cluster, "acme")
	t.Run("can-i answers from the published document", func(t *testing.T) {
		if got := plugin("can-i", "alice@contoso.example", "sales/checkout", "--org", "acme"); got != "yes\n" {
			t.Errorf("alice sales/checkout in acme: got %q, want yes", got)
		}
		// "no" is also the exit status 1 (errDenied), as kubectl auth can-i.
		for _, args := range [][]string{{"alice@contoso.example", "billing"}, {"bob@contoso.example", "sales"}} {
			var out bytes.Buffer
			err := run(ctx, []string{"can-i", args[0], args[1], "--org", "acme", "--kubeconfig", cluster.Kubeconfig, "-n", "default"}, &out)
			if !errors.Is(err, errDenied) || out.String() != "no\n" {
				t.Errorf("%s %s in acme: %q, %v; want no and errDenied", args[0], args[1], out.String(), err)
			}
		}
	})
	t.Run("user lists roles and permissions per organization", func(t *testing.T) {
		got := plugin("user", "alice@contoso.example")
		for _, want := range []string{"acme (northwind > contoso > acme): Active, roles seller-admin", "  reports/read", "  sales"} {
			if !strings.Contains(got, want) {
				t.Errorf("user output lacks %q:\n%s", want, got)
			}
		}
		if strings.Contains(got, "valid until") {
			t.Errorf("nothing alice holds expires:\n%s", got)
		}
		got = plugin("user", "dora@contoso.example")
		if want := "acme (northwind > contoso > acme): Active, roles seller-admin, valid until 2099-01-01T00:00:00Z\n"; !strings.Contains(got, want) {
			t.Errorf("user output lacks %q (dora's binding expires):\n%s", want, got)
		}
	})
	t.Run("-h asks for the usage", func(t *testing.T) {
		if err := run(ctx, []string{"-h"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("-h: %v, want flag.ErrHelp (usage on stdout, exit 0)", err)
		}
	})
	t.Run("unknown command is a usage error", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(ctx, []string{"frobnicate", "--kubeconfig", cluster.Kubeconfig}, &out); err == nil {
			t.Error("an unknown command must fail")
		}
	})
}

// publish writes the organization's document as a ConfigMap, as the publisher does.
func publish(ctx context.Context, t *testing.T, cluster *localcluster.Cluster, org string) {
	t.Helper()
	c, namespace, err := newClient(options{kubeconfig: cluster.Kubeconfig, namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := gather(ctx, c, namespace)
	if err != nil {
		t.Fatal(err)
	}
	doc, ok := permissions.Compile(in, time.Now()).Document(org)
	if !ok {
		t.Fatalf("no document for %s", org)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: accessv1.DocumentConfigMapPrefix + org, Namespace: namespace,
			Labels: map[string]string{accessv1.OrganizationLabel: org},
		},
		Data: map[string]string{accessv1.DocumentKey: string(doc.Shards[0])},
	}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
}
