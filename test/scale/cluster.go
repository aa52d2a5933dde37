package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// cluster is the apiserver the harness measures against: a local envtest control plane,
// or any cluster reached through a kubeconfig.
type cluster struct {
	config     *rest.Config // the harness's own client: no client-side rate limit
	kubeconfig string       // a file the manager subprocess can read
	env        *envtest.Environment
}

// startCluster starts envtest (binaries from hack/envtest.sh), with apiserverArgs
// (--name=value) added to its kube-apiserver's flags and, with profileEtcd, etcd serving
// /debug/pprof (etcdProfile), unless kubeconfig names a cluster, and installs the CRDs
// from config/crd/bases either way.
func startCluster(ctx context.Context, root, kubeconfig, workDir string, apiserverArgs []string, profileEtcd bool) (*cluster, error) {
	crds := filepath.Join(root, "config", "crd", "bases")
	if _, err := os.Stat(crds); err != nil {
		return nil, fmt.Errorf("CRDs missing (run 'make manifests'): %w", err)
	}
	c := &cluster{kubeconfig: kubeconfig}
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
		}
		c.config = unthrottled(cfg)
		if _, err := envtest.InstallCRDs(c.config, envtest.CRDInstallOptions{Paths: []string{crds}, ErrorIfPathMissing: true}); err != nil {
			return nil, fmt.Errorf("install CRDs: %w", err)
		}
		return c, nil
	}

	assets, err := envtestAssets(ctx, root)
	if err != nil {
		return nil, err
	}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
	}
	flags := c.env.ControlPlane.GetAPIServer().Configure()
	for _, arg := range apiserverArgs {
		name, value, ok := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("-apiserver-args: %q is not --name=value", arg)
		}
		flags.Append(name, value)
	}
	if profileEtcd {
		etcd := &envtest.Etcd{}
		etcd.Configure().Append("enable-pprof", "true")
		c.env.ControlPlane.Etcd = etcd
	}
	cfg, err := c.env.Start()
	if err != nil {
		return nil, fmt.Errorf("start envtest control plane: %w", err)
	}
	c.config = unthrottled(cfg)
	// The manager runs as its own process, so it needs a kubeconfig file of its own.
	user, err := c.env.AddUser(envtest.User{Name: "orgaccess-scale", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("add envtest user: %w", err), c.stop())
	}
	data, err := user.KubeConfig()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("render kubeconfig: %w", err), c.stop())
	}
	c.kubeconfig = filepath.Join(workDir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, data, 0o600); err != nil {
		return nil, errors.Join(fmt.Errorf("write kubeconfig: %w", err), c.stop())
	}
	return c, nil
}

// unthrottled copies cfg without a client-side rate limit: the harness bounds its load
// by the number of workers instead, so the floor is the apiserver's, not client-go's.
func unthrottled(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

// asManager copies cfg to speak protobuf, as the manager's client does for built-in
// kinds (controller-runtime's default): the tracker's watch of the documents then costs
// the API server what the manager's does, where JSON would cost it more (encoding the
// documents' escaped strings).
func asManager(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return cfg
}

// envtestAssets finds kube-apiserver and etcd: KUBEBUILDER_ASSETS, else hack/envtest.sh.
func envtestAssets(ctx context.Context, root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "envtest.sh"))
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/envtest.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// etcdURL is envtest's etcd client URL, which also serves its metrics and, when started
// with profileEtcd, /debug/pprof; "" with -kubeconfig, whose etcd the harness cannot
// reach.
func (c *cluster) etcdURL() string {
	if c.env == nil || c.env.ControlPlane.Etcd == nil || c.env.ControlPlane.Etcd.URL == nil {
		return ""
	}
	return c.env.ControlPlane.Etcd.URL.String()
}

func (c *cluster) clientset() (*kubernetes.Clientset, error) {
	cs, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return nil, fmt.Errorf("new clientset: %w", err)
	}
	return cs, nil
}

// writes reads the apiserver's write counters from its metrics endpoint.
func (c *cluster) writes(ctx context.Context, cs *kubernetes.Clientset) (counts, error) {
	samples, err := apiserverMetrics(ctx, cs, "apiserver_request_total")
	if err != nil {
		return nil, err
	}
	return writesFrom(samples), nil
}

// background is work the API server and etcd do on their own, which slows a measurement
// it falls in: on this 2-core machine its CPU is taken from the manager.
//   - The API server's watch cache consistency checks of the platform's resources (the
//     orgaccess kinds and ConfigMaps; apiserver_storage_consistency_checks_total, every
//     outcome). Kubernetes 1.34 and later (feature gate DetectCacheInconsistency, on by
//     default) compare each resource's watch cache with etcd every few minutes by
//     listing it from etcd, which for the platform's 280,000 custom resources costs the
//     API server tens of seconds of CPU.
//   - etcd's compactions of old revisions, which the API server requests every 5
//     minutes (--etcd-compaction-interval): how many completed, how long they took and
//     how many keys they removed (etcd_debugging_mvcc_db_compaction_*). A compaction
//     after the cold start's 361,000 writes takes etcd seconds. Read from envtest's
//     etcd only: with -kubeconfig the harness cannot reach etcd, and they stay 0.
type background struct {
	checks        float64
	compactions   float64
	compactionMs  float64
	compactedKeys float64
}

// since is the work completed between before and b.
func (b background) since(before background) background {
	return background{
		checks:        b.checks - before.checks,
		compactions:   b.compactions - before.compactions,
		compactionMs:  b.compactionMs - before.compactionMs,
		compactedKeys: b.compactedKeys - before.compactedKeys,
	}
}

// note tells what b holds for a report's row, or nothing when it is empty.
func (b background) note() string {
	var parts []string
	if b.checks > 0 {
		parts = append(parts, fmt.Sprintf("API server consistency checks %.0f", b.checks))
	}
	if b.compactions > 0 {
		parts = append(parts, fmt.Sprintf("etcd compactions %.0f (%.0f ms, %.0f keys)", b.compactions, b.compactionMs, b.compactedKeys))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (meanwhile: " + strings.Join(parts, ", ") + ")"
}

// background reads the background work completed so far.
func (c *cluster) background(ctx context.Context, cs *kubernetes.Clientset) (background, error) {
	var b background
	samples, err := apiserverMetrics(ctx, cs, "apiserver_storage_consistency_checks_total")
	if err != nil {
		return b, err
	}
	for _, s := range samples {
		if s.labels["group"] == v1alpha1.GroupVersion.Group || s.labels["resource"] == "configmaps" {
			b.checks += s.value
		}
	}
	etcd := c.etcdURL()
	if etcd == "" {
		return b, nil
	}
	// envtest's etcd serves its metrics on its client URL, without authentication.
	samples, err = scrape(ctx, etcd+"/metrics",
		etcdCompactions, etcdCompactionMs, etcdCompactedKeys)
	if err != nil {
		return b, fmt.Errorf("etcd metrics: %w", err)
	}
	b.addCompactions(samples)
	return b, nil
}

// etcd's compaction metrics: a histogram of each compaction's duration in milliseconds,
// whose count and sum are the compactions completed and their time, and a counter of the
// keys removed.
const (
	etcdCompactions   = "etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count"
	etcdCompactionMs  = "etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_sum"
	etcdCompactedKeys = "etcd_debugging_mvcc_db_compaction_keys_total"
)

// addCompactions reads etcd's compaction metrics from samples into b.
func (b *background) addCompactions(samples []sample) {
	for _, s := range samples {
		switch s.name {
		case etcdCompactions:
			b.compactions += s.value
		case etcdCompactionMs:
			b.compactionMs += s.value
		case etcdCompactedKeys:
			b.compactedKeys += s.value
		}
	}
}

// apiserverMetrics reads the samples of names from the apiserver's metrics endpoint.
func apiserverMetrics(ctx context.Context, cs *kubernetes.Clientset, names ...string) ([]sample, error) {
	body, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("get apiserver metrics: %w", err)
	}
	defer body.Close()
	samples, err := parseMetrics(body, names...)
	if err != nil {
		return nil, fmt.Errorf("apiserver metrics: %w", err)
	}
	return samples, nil
}

func (c *cluster) stop() error {
	if c.env == nil {
		return nil
	}
	if err := c.env.Stop(); err != nil {
		return fmt.Errorf("stop envtest: %w", err)
	}
	return nil
}
