// Command manager runs the orgaccess controllers: it watches Organizations,
// PermissionTrees, Roles, RoleBindings and UserInvitations and publishes every user's
// effective permissions to ConfigMaps.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/leaderelection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers"
)

// config is everything the flags set.
type config struct {
	metricsAddr             string
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaderElectionID        string
	leaderElectionNamespace string
	leaderElection          leaderElectionTimes
	namespaces              string
	concurrency             int
	qps                     float64
	burst                   int
	gracefulShutdown        time.Duration
	cacheSyncTimeout        time.Duration
	memoryLimitRatio        float64
	zap                     zap.Options
}

func main() {
	var cfg config
	fs := flag.CommandLine
	fs.StringVar(&cfg.metricsAddr, "metrics-bind-address", ":8080",
		"Address the Prometheus metrics endpoint binds to; \"0\" disables it.")
	fs.StringVar(&cfg.probeAddr, "health-probe-bind-address", ":8081",
		"Address the /healthz and /readyz endpoints bind to; \"0\" disables them.")
	fs.StringVar(&cfg.pprofAddr, "pprof-bind-address", "",
		"Address the net/http/pprof endpoints bind to; empty disables them.")
	fs.BoolVar(&cfg.leaderElect, "leader-elect", false,
		"Elect a leader so that only one of several replicas reconciles.")
	fs.StringVar(&cfg.leaderElectionID, "leader-election-id", "orgaccess.access.orgaccess.dev",
		"Name of the Lease that replicas compete for.")
	fs.StringVar(&cfg.leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; defaults to the pod's namespace in a cluster.")
	// controller-runtime's defaults. A standby takes over a stopped leader at its next
	// retry, a dead one once the Lease has expired (docs/operations.md, Availability).
	fs.DurationVar(&cfg.leaderElection.lease, "leader-election-lease-duration", 15*time.Second,
		"How long a Lease outlives its holder's last renewal: the wait before a standby takes over from a leader that died.")
	fs.DurationVar(&cfg.leaderElection.renew, "leader-election-renew-deadline", 10*time.Second,
		"How long the leader keeps retrying to renew its Lease before it gives up leading (and exits).")
	fs.DurationVar(&cfg.leaderElection.retry, "leader-election-retry-period", 2*time.Second,
		"How often the leader renews its Lease and a standby tries to take it (a standby's wait jittered up to 2.2 times as long).")
	fs.StringVar(&cfg.namespaces, "namespaces", "",
		"Comma-separated namespaces (platforms) to watch; empty watches every namespace.")
	fs.IntVar(&cfg.concurrency, "max-concurrent-reconciles", 4,
		"Parallel reconciles per controller.")
	// The budget is per kind: controller-runtime gives each kind its own REST client and
	// client-go each client its own token bucket. A cold start writes a status for every
	// object, so its length is the largest kind's count over the QPS (9,908 RoleBinding
	// statuses on the Small scale platform: 3 m 20 s at 50, 1 m 33 s at 200), and a role
	// used by every organization rewrites every document (521 in 8.5 s at 50, 3.3 s at
	// 200). The API server's priority and fairness protects it from a busy client;
	// docs/controllers.md (Performance) has the measurements.
	fs.Float64Var(&cfg.qps, "kube-api-qps", 200, "Sustained queries per second to the API server, for each kind.")
	fs.IntVar(&cfg.burst, "kube-api-burst", 400, "Burst of queries to the API server, for each kind.")
	fs.DurationVar(&cfg.gracefulShutdown, "graceful-shutdown-timeout", 30*time.Second,
		"How long in-flight reconciles may take to finish after SIGTERM.")
	// The full scale platform (280,000 objects) takes longer than controller-runtime's
	// default 2 minutes to list and decode on two loaded cores (docs/performance.md).
	fs.DurationVar(&cfg.cacheSyncTimeout, "cache-sync-timeout", 10*time.Minute,
		"How long controllers wait for the informer caches to sync before the manager gives up.")
	fs.Float64Var(&cfg.memoryLimitRatio, "memory-limit-ratio", 0.9,
		"Soft memory limit of the Go runtime as a share of the container's memory limit; 0 leaves it unset. GOMEMLIMIT, when set, wins.")
	cfg.zap.BindFlags(fs)
	flag.Parse()

	// Values reach zap only when a line is written (logsink.go).
	ctrl.SetLogger(deferValues(zap.New(zap.UseFlagOptions(&cfg.zap))))
	log := ctrl.Log.WithName("setup")
	if err := run(cfg); err != nil {
		log.Error(err, "Manager stopped")
		os.Exit(1)
	}
}

// run builds the manager from cfg and blocks until SIGTERM or SIGINT.
func run(cfg config) error {
	if cfg.concurrency < 1 {
		return errors.New("--max-concurrent-reconciles must be at least 1")
	}
	if err := cfg.leaderElection.validate(); err != nil {
		return err
	}
	limit, ok, err := softMemoryLimit(cgroupMemoryFiles, cfg.memoryLimitRatio)
	if err != nil {
		return err
	}
	if ok {
		debug.SetMemoryLimit(limit)
		ctrl.Log.WithName("setup").Info("Soft memory limit set from the container's", "bytes", limit, "ratio", cfg.memoryLimitRatio)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("register client-go types: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("register orgaccess types: %w", err)
	}

	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	restConfig.QPS = float32(cfg.qps)
	restConfig.Burst = cfg.burst

	cacheOpts, err := controllers.CacheOptions(watchedNamespaces(cfg.namespaces))
	if err != nil {
		return err
	}
	informers := controllers.NewInformers()
	cacheOpts.NewInformer = informers.NewInformer
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: cfg.metricsAddr},
		HealthProbeBindAddress:  cfg.probeAddr,
		PprofBindAddress:        cfg.pprofAddr,
		LeaderElection:          cfg.leaderElect,
		LeaderElectionID:        cfg.leaderElectionID,
		LeaderElectionNamespace: cfg.leaderElectionNamespace,
		LeaseDuration:           &cfg.leaderElection.lease,
		RenewDeadline:           &cfg.leaderElection.renew,
		RetryPeriod:             &cfg.leaderElection.retry,
		// The process exits right after the manager stops, so stepping down at once lets
		// the next replica take over without waiting for the lease to expire.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &cfg.gracefulShutdown,
		Cache:                         cacheOpts,
		MapperProvider:                newMemoizingMapper,
		// Document and status writes are answered with metadata alone (answers.go).
		NewClient: controllers.NewClient,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := controllers.SetupWithManager(mgr, controllers.Options{
		MaxConcurrentReconciles: cfg.concurrency,
		CacheSyncTimeout:        cfg.cacheSyncTimeout,
		Informers:               informers,
	}); err != nil {
		return fmt.Errorf("set up controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	// Ready once the informers have synced, so a rolling update waits for a replica
	// that can actually reconcile.
	if err := mgr.AddReadyzCheck("readyz", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("informer caches not synced")
		}
		return nil
	}); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}

	ctrl.Log.WithName("setup").Info("Starting manager", "namespaces", cfg.namespaces,
		"leaderElection", cfg.leaderElect, "maxConcurrentReconciles", cfg.concurrency)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("run manager: %w", err)
	}
	return nil
}

// leaderElectionTimes are the leader election's durations.
type leaderElectionTimes struct {
	lease, renew, retry time.Duration
}

// validate refuses what client-go's leader election would refuse only once the manager
// is started, naming the flags: the Lease must outlive the renew deadline, and the
// deadline must leave room for more than one jittered retry.
func (t leaderElectionTimes) validate() error {
	switch {
	case t.retry <= 0:
		return errors.New("--leader-election-retry-period must be positive")
	case t.renew <= time.Duration(leaderelection.JitterFactor*float64(t.retry)):
		return fmt.Errorf("--leader-election-renew-deadline (%s) must be more than %.1f × --leader-election-retry-period (%s)",
			t.renew, leaderelection.JitterFactor, t.retry)
	case t.lease <= t.renew:
		return fmt.Errorf("--leader-election-lease-duration (%s) must be more than --leader-election-renew-deadline (%s)",
			t.lease, t.renew)
	}
	return nil
}

// watchedNamespaces turns the --namespaces flag into the cache's namespace set; nil
// means every namespace.
func watchedNamespaces(flagValue string) map[string]cache.Config {
	var namespaces map[string]cache.Config
	for _, ns := range strings.Split(flagValue, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if namespaces == nil {
			namespaces = map[string]cache.Config{}
		}
		namespaces[ns] = cache.Config{}
	}
	return namespaces
}
