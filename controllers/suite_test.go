package controllers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// The envtest suite: one kube-apiserver and etcd for the package, one manager running
// every controller against it, a namespace (one platform) per test.
var (
	testConfig *rest.Config
	testScheme = runtime.NewScheme()
	// k8s reads and writes the API server directly, never through the manager's cache,
	// so a test sees what the controllers actually wrote.
	k8s client.Client
	// cached is the suite manager's client: it reads from the cache, with its indexes.
	cached client.Client
	// cachedInformers are the suite manager's informers, whose indexers its gathers read.
	cachedInformers = NewInformers()
	// testClock is the controllers' clock: real time plus an offset a test may advance.
	testClock = &offsetClock{}
)

func init() {
	if err := clientgoscheme.AddToScheme(testScheme); err != nil {
		panic(err)
	}
	if err := v1alpha1.AddToScheme(testScheme); err != nil {
		panic(err)
	}
}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: envtest tests skip; run with KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
		return m.Run()
	}
	logs := io.Discard
	if os.Getenv("TEST_LOGS") != "" {
		logs = os.Stderr
	}
	logf.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))

	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	testConfig = cfg
	if k8s, err = client.New(cfg, client.Options{Scheme: testScheme}); err != nil {
		fmt.Fprintln(os.Stderr, "create client:", err)
		return 1
	}
	mgr, stop, err := startManager(cfg, managerConfig{clock: testClock, informers: cachedInformers})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start manager:", err)
		return 1
	}
	defer stop()
	cached = mgr.GetClient()
	return m.Run()
}

// managerConfig varies the managers a test starts.
type managerConfig struct {
	clock      clock.PassiveClock
	newClient  client.NewClientFunc // nil: the manager binary's (NewClient)
	namespaces []string             // nil: every namespace
	informers  *Informers           // nil: new ones
}

// startManager starts a manager running every controller and returns it with a function
// that stops it and waits until it stopped.
func startManager(cfg *rest.Config, mc managerConfig) (ctrl.Manager, func(), error) {
	informers := mc.informers
	if informers == nil {
		informers = NewInformers()
	}
	var namespaces map[string]cache.Config
	for _, ns := range mc.namespaces {
		if namespaces == nil {
			namespaces = map[string]cache.Config{}
		}
		namespaces[ns] = cache.Config{}
	}
	// The cache the manager binary uses (trimmed objects, document data as a digest),
	// with the test's namespaces and informers.
	cacheOpts, err := CacheOptions(namespaces)
	if err != nil {
		return nil, nil, err
	}
	cacheOpts.NewInformer = informers.NewInformer
	newClient := mc.newClient
	if newClient == nil {
		newClient = NewClient
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 testScheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		NewClient:              newClient,
		Cache:                  cacheOpts,
		// A second manager in the same process registers the same controller names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("create manager: %w", err)
	}
	if err := SetupWithManager(mgr, Options{Clock: mc.clock, Informers: informers}); err != nil {
		return nil, nil, fmt.Errorf("set up controllers: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		return nil, nil, errors.Join(errors.New("caches did not sync"), <-done)
	}
	return mgr, func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped with an error:", err)
		}
	}, nil
}

// requireEnvtest skips t when the suite runs without an API server.
func requireEnvtest(t *testing.T) {
	t.Helper()
	if testConfig == nil {
		t.Skip("needs envtest: run with KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	}
}

// newPlatform returns a fresh namespace: one platform, isolated from the other tests.
func newPlatform(t *testing.T) string {
	t.Helper()
	requireEnvtest(t)
	ns := &corev1.Namespace{}
	ns.GenerateName = "platform-"
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// offsetClock is real time plus an offset, so that the manager's requeues still fire in
// real time while a test can jump ahead (to an invitation's expiry, say).
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) Now() time.Time                  { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// advance moves the clock ahead by d until the test ends.
func (c *offsetClock) advance(t *testing.T, d time.Duration) {
	c.offset.Add(int64(d))
	t.Cleanup(func() { c.offset.Add(-int64(d)) })
}
