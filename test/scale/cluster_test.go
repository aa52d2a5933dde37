package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The step profiles of etcd (-pprof) need envtest's etcd started with --enable-pprof and
// reached on its client URL, where the background reading finds its metrics too.
func TestClusterProfilesEtcdWhenAsked(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs envtest: run with KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := startCluster(t.Context(), root, "", t.TempDir(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.stop(); err != nil {
			t.Error(err)
		}
	})
	h := &harness{cl: cl, o: options{pprof: true}}
	body, err := h.etcdProfile(1)(t.Context())
	if err != nil {
		t.Fatalf("etcd CPU profile: %v", err)
	}
	data, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) { // a pprof profile is gzipped protobuf
		t.Errorf("etcd answered %q..., not a gzipped profile", data[:min(len(data), 80)])
	}
	if (&harness{cl: cl, o: options{}}).etcdProfile(1) != nil {
		t.Error("an etcd profile without -pprof")
	}

	cs, err := cl.clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.background(t.Context(), cs); err != nil {
		t.Errorf("background work from the API server's and etcd's metrics: %v", err)
	}
}
