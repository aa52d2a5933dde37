// Command localcluster is what `make run` runs (through hack/run.sh).
//
// When the current kubeconfig reaches a cluster, it installs the CRDs there and runs the
// manager against it. Otherwise it starts a local control plane (the envtest
// kube-apiserver and etcd) with its data in .local/, installs the CRDs, applies every
// folder of config/samples, runs the manager as a separate process, prints what the
// manager reconciled once the samples converge (and again whenever that changes), and
// stops the manager, kube-apiserver and etcd on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/orgaccess/orgaccess/test/localcluster"
)

// options are the command's flags.
type options struct {
	root     string
	dataDir  string
	manager  string
	assets   string
	mode     string
	settle   time.Duration
	managerA []string
}

func main() {
	var opts options
	flag.StringVar(&opts.root, "root", ".", "The orgaccess checkout (config/ is read from it).")
	flag.StringVar(&opts.dataDir, "dir", ".local", "Directory of the local control plane's data, kubeconfig and logs.")
	flag.StringVar(&opts.manager, "manager", "bin/manager", "The manager binary.")
	flag.StringVar(&opts.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "Directory of kube-apiserver, etcd and kubectl (hack/envtest.sh).")
	flag.StringVar(&opts.mode, "cluster", "auto",
		"auto: the kubeconfig's cluster when reachable, else a local control plane; kubeconfig; local.")
	flag.DurationVar(&opts.settle, "timeout", 3*time.Minute, "How long to wait for the samples to converge.")
	flag.Parse()
	opts.managerA = flag.Args()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options) error {
	useKubeconfig := false
	switch opts.mode {
	case "auto":
		server, reachable := kubeconfigCluster()
		if reachable {
			fmt.Printf("Your kubeconfig reaches %s: running the manager against it.\n", server)
		} else {
			fmt.Println("No cluster reachable through your kubeconfig.")
		}
		useKubeconfig = reachable
	case "kubeconfig":
		useKubeconfig = true
	case "local":
	default:
		return fmt.Errorf("-cluster=%s: want auto, kubeconfig or local", opts.mode)
	}
	if useKubeconfig {
		return runAgainstKubeconfig(ctx, opts)
	}
	return runLocal(ctx, opts)
}

// kubeconfigCluster reports whether the current kubeconfig (KUBECONFIG, ~/.kube/config)
// names a cluster that answers within 3 seconds, and its server.
func kubeconfigCluster() (string, bool) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return "", false
	}
	cfg.Timeout = 3 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", false
	}
	if _, err := dc.ServerVersion(); err != nil {
		return "", false
	}
	return cfg.Host, true
}

// runAgainstKubeconfig installs the CRDs into the kubeconfig's cluster and replaces this
// process with the manager, which then owns the terminal and its Ctrl-C.
func runAgainstKubeconfig(ctx context.Context, opts options) error {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		kubectl = filepath.Join(opts.assets, "kubectl")
	}
	if err := localcluster.InstallCRDs(ctx, kubectl, "", opts.root); err != nil {
		return err
	}
	fmt.Println("CRDs installed. Apply a platform with: kubectl apply -k config/samples/distributor")
	manager, err := filepath.Abs(opts.manager)
	if err != nil {
		return fmt.Errorf("locate manager: %w", err)
	}
	return syscall.Exec(manager, append([]string{manager}, opts.managerA...), os.Environ())
}

// runLocal runs the whole local stack until ctx is done.
func runLocal(ctx context.Context, opts options) (err error) {
	if err := os.MkdirAll(opts.dataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", opts.dataDir, err)
	}
	fmt.Printf("Starting a local control plane in %s/ (kube-apiserver and etcd).\n", opts.dataDir)
	cluster, err := localcluster.Start(localcluster.Options{Dir: opts.dataDir, AssetsDir: opts.assets})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("Stopping kube-apiserver and etcd.")
		err = errors.Join(err, cluster.Stop())
	}()

	// Setup must finish even if Ctrl-C comes early, or the processes would be left half
	// started; it takes seconds.
	setupCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := localcluster.InstallCRDs(setupCtx, cluster.KubectlPath, cluster.Kubeconfig, opts.root); err != nil {
		return err
	}
	platforms, err := applySamples(setupCtx, cluster, opts.root)
	if err != nil {
		return err
	}

	managerLog, err := os.Create(filepath.Join(opts.dataDir, "manager.log"))
	if err != nil {
		return fmt.Errorf("create manager log: %w", err)
	}
	defer func() { _ = managerLog.Close() }() // the manager has exited: nothing is left to flush
	metricsAddr, probeAddr, err := freeAddrs()
	if err != nil {
		return err
	}
	args := append([]string{
		"--kubeconfig=" + cluster.Kubeconfig,
		"--metrics-bind-address=" + metricsAddr,
		"--health-probe-bind-address=" + probeAddr,
	}, opts.managerA...)
	manager, err := localcluster.StartProcess(opts.manager, args, nil, managerLog)
	if err != nil {
		return err
	}
	fmt.Printf("Manager started (logs: %s/manager.log, metrics: http://%s/metrics).\n", opts.dataDir, metricsAddr)
	defer func() {
		fmt.Println("\nStopping the manager.")
		err = errors.Join(err, manager.Stop(40*time.Second))
	}()

	return watch(ctx, watchOptions{
		cluster:   cluster,
		manager:   manager,
		platforms: platforms,
		dataDir:   opts.dataDir,
		timeout:   opts.settle,
	})
}

// applySamples applies every folder of config/samples whose namespace does not exist
// yet, and returns the platforms (namespaces), sorted. A platform applied on an earlier
// run is left as the user left it: applying it again would undo their edits and bring
// back what they deleted.
func applySamples(ctx context.Context, cluster *localcluster.Cluster, root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "config", "samples"))
	if err != nil {
		return nil, fmt.Errorf("read config/samples: %w", err)
	}
	var platforms, applied, kept []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		platforms = append(platforms, e.Name())
		if _, err := cluster.Kubectl(ctx, "get", "namespace", e.Name(), "-o", "name"); err == nil {
			kept = append(kept, e.Name())
			continue
		}
		dir := filepath.Join(root, "config", "samples", e.Name())
		if _, err := cluster.Kubectl(ctx, "apply", "-k", dir); err != nil {
			return nil, fmt.Errorf("apply sample %s: %w", e.Name(), err)
		}
		applied = append(applied, e.Name())
	}
	sort.Strings(platforms)
	if len(applied) > 0 {
		fmt.Printf("Applied the samples: %s.\n", strings.Join(applied, ", "))
	}
	if len(kept) > 0 {
		fmt.Printf("Kept the samples as an earlier run left them: %s (rm -rf .local to start over).\n", strings.Join(kept, ", "))
	}
	return platforms, nil
}

// freeAddrs picks two free local ports for the manager's metrics and probes, so that
// `make run` never collides with whatever else listens on 8080 and 8081.
func freeAddrs() (string, string, error) {
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", fmt.Errorf("find a free port: %w", err)
		}
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
		_ = l.Close()
	}
	return addrs[0], addrs[1], nil
}
