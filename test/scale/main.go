// Command scale measures orgaccess at scale against a real apiserver: it generates a
// platform (test/platformgen), applies it to an envtest control plane (or the cluster
// of -kubeconfig), runs the manager binary as a subprocess and measures, in one run:
// cold convergence against the floor of a plain writer, a restart on the converged
// platform, four incremental changes, and the manager's peak heap and RSS.
//
//	go run ./test/scale                 # the Small platform, a few minutes
//	go run ./test/scale -size=full      # 10,101 organizations, 200,000 bindings
//
// docs/performance.md records the results and what they mean, docs/performance-log.md
// every full-size run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

type options struct {
	size            string
	seed            int64
	kubeconfig      string
	managerBin      string
	managerArgs     string
	managerEnv      string
	apiserverArgs   string
	limits          clientLimits
	applyWorkers    int
	timeout         time.Duration
	idleTimeout     time.Duration
	settleTimeout   time.Duration
	keep            bool
	pprof           bool
	profileSecs     int
	stepProfileSecs int
	workDir         string
}

func main() {
	// The read floor's cache logs through controller-runtime; the harness reports
	// its own errors.
	ctrllog.SetLogger(logr.Discard())
	var o options
	var qps float64
	flag.StringVar(&o.size, "size", "small", "Platform size: small (about a twentieth) or full (10,101 organizations, 200,000 bindings).")
	flag.Int64Var(&o.seed, "seed", 1, "Seed of the generated platform.")
	flag.StringVar(&o.managerBin, "manager", "", "Manager binary to run; empty builds ./cmd/manager.")
	flag.StringVar(&o.managerArgs, "manager-args", "--zap-log-level=error", "Extra flags for the manager, space-separated.")
	flag.StringVar(&o.apiserverArgs, "apiserver-args", "", "Extra flags for the envtest kube-apiserver, space-separated --name=value (--feature-gates=DetectCacheInconsistency=false); not with -kubeconfig.")
	flag.StringVar(&o.managerEnv, "manager-env", "", "Extra environment of the manager alone, space-separated NAME=value (GOMEMLIMIT=1GiB GOGC=50); the API server and the harness do not get it.")
	flag.IntVar(&o.limits.workers, "concurrency", 4, "The manager's --max-concurrent-reconciles, and the floor writer's workers.")
	// The defaults are cmd/manager's own: the floor is measured with the budget the
	// manager runs with unless told otherwise.
	flag.Float64Var(&qps, "qps", 200, "The manager's --kube-api-qps, and the floor writer's client QPS (-1: no limit).")
	flag.IntVar(&o.limits.burst, "burst", 400, "The manager's --kube-api-burst, and the floor writer's client burst.")
	flag.IntVar(&o.applyWorkers, "apply-workers", 32, "Parallel requests while applying the platform (not measured).")
	flag.DurationVar(&o.timeout, "timeout", 0, "Give up after this long (default 30m for -size=small, 90m for -size=full).")
	flag.DurationVar(&o.idleTimeout, "idle-timeout", 10*time.Minute, "Wait at most this long for a started manager to be idle, then go on.")
	flag.DurationVar(&o.settleTimeout, "settle-timeout", 3*time.Minute, "Before each incremental change, wait at most this long for the manager to be idle, then go on.")
	flag.BoolVar(&o.keep, "keep", false, "Keep the work directory (kubeconfig, manager log, profiles).")
	flag.BoolVar(&o.pprof, "pprof", false, "Profile the manager, the API server and envtest's etcd during cold convergence and each incremental step (the manager needs its --pprof-bind-address); implies -keep.")
	flag.IntVar(&o.profileSecs, "profile-seconds", 30, "Length of the cold start's CPU profile, from the manager's start.")
	flag.IntVar(&o.stepProfileSecs, "step-profile-seconds", 10, "Length of each incremental step's CPU profiles (stepN-cpu.pprof, stepN-apiserver-cpu.pprof, stepN-etcd-cpu.pprof), from its write; the step lasts at least as long.")
	// controller-runtime registers -kubeconfig; the harness gives it its meaning here:
	// measure against that cluster instead of a local envtest control plane.
	kubeconfig := flag.Lookup("kubeconfig")
	if kubeconfig == nil {
		flag.String("kubeconfig", "", "")
		kubeconfig = flag.Lookup("kubeconfig")
	}
	kubeconfig.Usage = "Measure against this cluster instead of a local envtest control plane."
	flag.Parse()
	o.kubeconfig = kubeconfig.Value.String()
	o.limits.qps = float32(qps)
	o.keep = o.keep || o.pprof
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	size, err := sizeByName(o.size)
	if err != nil {
		return err
	}
	if o.timeout == 0 {
		o.timeout = 30 * time.Minute
		if o.size == "full" {
			o.timeout = 90 * time.Minute
		}
	}
	// Interrupted, the harness still stops the manager and the control plane it started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	workDir, err := os.MkdirTemp("", "orgaccess-scale-")
	if err != nil {
		return fmt.Errorf("create work directory: %w", err)
	}
	o.workDir = workDir
	if o.keep {
		logf("work directory %s", workDir)
	} else {
		defer func() {
			if err := os.RemoveAll(workDir); err != nil {
				logf("remove work directory: %v", err)
			}
		}()
	}

	bin := o.managerBin
	if bin == "" {
		logf("building ./cmd/manager")
		if bin, err = buildManager(ctx, root, workDir); err != nil {
			return err
		}
	}
	logf("starting the apiserver")
	cl, err := startCluster(ctx, root, o.kubeconfig, workDir, strings.Fields(o.apiserverArgs), o.pprof)
	if err != nil {
		return err
	}
	defer func() {
		if err := cl.stop(); err != nil {
			logf("%v", err)
		}
	}()
	h, err := newHarness(cl, o, bin, filepath.Join(workDir, "manager.log"))
	if err != nil {
		return err
	}
	// The tracker's informer, and whatever else measure leaves watching, ends before the
	// control plane stops: with the tracker's watch open, kube-apiserver did not exit
	// within the 20 s envtest waits after its SIGTERM, and envtest then killed it.
	measuring, endMeasure := context.WithCancel(ctx)
	res, err := h.measure(measuring, size)
	endMeasure()
	res.print(os.Stdout, o, size)
	if err != nil && o.keep {
		err = fmt.Errorf("%w (manager log: %s)", err, h.logPath)
	}
	return err
}

func sizeByName(name string) (platformgen.Size, error) {
	switch name {
	case "small":
		return platformgen.Small(), nil
	case "full":
		return platformgen.Full(), nil
	}
	return platformgen.Size{}, fmt.Errorf("unknown -size %q: want small or full", name)
}

// moduleRoot finds the orgaccess module's root (config/, hack/, cmd/) from the working
// directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/orgaccess/orgaccess\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the orgaccess module")
		}
		dir = parent
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// newClient is the harness's client for the platform's objects.
func newClient(cl *cluster) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register client-go types: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register orgaccess types: %w", err)
	}
	c, err := client.New(cl.config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	return c, nil
}

// managerFlags are the flags that make the manager use the same limits as the floor.
func (o options) managerFlags() []string {
	args := []string{
		"--max-concurrent-reconciles=" + strconv.Itoa(o.limits.workers),
		"--kube-api-qps=" + strconv.FormatFloat(float64(o.limits.qps), 'f', -1, 32),
		"--kube-api-burst=" + strconv.Itoa(o.limits.burst),
		// Replicas elect a leader as config/default's do; the failover step starts a
		// second one. The Lease is in the platform's namespace, the one watched.
		"--leader-elect",
		"--leader-election-namespace=" + platformgen.Namespace,
		"--leader-election-id=" + leaderElectionID,
	}
	return append(args, strings.Fields(o.managerArgs)...)
}
