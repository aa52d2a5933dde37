// Package localcluster runs a local Kubernetes control plane (the envtest kube-apiserver
// and etcd that hack/envtest.sh builds) with its data in a directory, and runs kubectl
// and the manager against it. `make run` (hack/localcluster) and the e2e tests share it.
package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options says where the control plane keeps its data and finds its binaries.
type Options struct {
	// Dir holds etcd's data (Dir/etcd), the kubeconfig (Dir/kubeconfig) and the
	// processes' logs. Created when missing; data in it survives Stop, so a restart
	// finds the objects of the previous run.
	Dir string
	// AssetsDir holds kube-apiserver, etcd and kubectl (hack/envtest.sh prints it).
	AssetsDir string
	// Logs receives the apiserver's and etcd's output; nil writes Dir/control-plane.log.
	Logs io.Writer
}

// Cluster is a running local control plane.
type Cluster struct {
	// Kubeconfig is the path of a kubeconfig for a system:masters user.
	Kubeconfig string
	// KubectlPath is the kubectl binary from the assets directory.
	KubectlPath string

	plane   *envtest.ControlPlane
	logFile *os.File
	lock    *os.File
}

// Start starts etcd and kube-apiserver and writes the kubeconfig.
func Start(opts Options) (*Cluster, error) {
	if opts.AssetsDir == "" {
		return nil, errors.New("no assets directory: set KUBEBUILDER_ASSETS to the output of hack/envtest.sh")
	}
	dataDir := filepath.Join(opts.Dir, "etcd")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd data directory: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		Kubeconfig:  filepath.Join(opts.Dir, "kubeconfig"),
		KubectlPath: filepath.Join(opts.AssetsDir, "kubectl"),
		lock:        lock,
	}
	logs := opts.Logs
	if logs == nil {
		f, err := os.Create(filepath.Join(opts.Dir, "control-plane.log"))
		if err != nil {
			c.unlock()
			return nil, fmt.Errorf("create control plane log: %w", err)
		}
		c.logFile, logs = f, f
	}
	c.plane = &envtest.ControlPlane{
		Etcd: &envtest.Etcd{
			Path:    filepath.Join(opts.AssetsDir, "etcd"),
			DataDir: dataDir,
			Out:     logs,
			Err:     logs,
		},
		APIServer: &envtest.APIServer{
			Path: filepath.Join(opts.AssetsDir, "kube-apiserver"),
			Out:  logs,
			Err:  logs,
		},
		KubectlPath: c.KubectlPath,
	}
	if err := c.plane.Start(); err != nil {
		c.closeLog()
		c.unlock()
		return nil, fmt.Errorf("start etcd and kube-apiserver (logs in %s): %w", opts.Dir, err)
	}
	user, err := c.plane.AddUser(envtest.User{Name: "orgaccess-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("add the admin user: %w", err), c.Stop())
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("render kubeconfig: %w", err), c.Stop())
	}
	if err := os.WriteFile(c.Kubeconfig, kubeconfig, 0o600); err != nil {
		return nil, errors.Join(fmt.Errorf("write kubeconfig: %w", err), c.Stop())
	}
	return c, nil
}

// Stop stops kube-apiserver, then etcd. etcd's data stays in the directory.
func (c *Cluster) Stop() error {
	err := c.plane.Stop()
	c.closeLog()
	c.unlock()
	if err != nil {
		return fmt.Errorf("stop control plane: %w", err)
	}
	return nil
}

// lockDir takes an exclusive lock on dir for as long as this process runs the control
// plane, so that a second run on the same data fails at once with a clear message
// instead of two etcd servers fighting over one data directory.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("another run is using %s (stop it with Ctrl-C first): %w", dir, err)
	}
	return f, nil
}

// unlock releases the directory's lock; closing the file releases the flock.
func (c *Cluster) unlock() {
	if c.lock != nil {
		_ = c.lock.Close()
		c.lock = nil
	}
}

func (c *Cluster) closeLog() {
	if c.logFile != nil {
		_ = c.logFile.Close()
		c.logFile = nil
	}
}

// Kubectl runs kubectl against the cluster and returns its standard output; the error
// carries standard error.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return Kubectl(ctx, c.KubectlPath, c.Kubeconfig, args...)
}

// Kubectl runs kubectlPath with --kubeconfig (when not empty) and args.
func Kubectl(ctx context.Context, kubectlPath, kubeconfig string, args ...string) ([]byte, error) {
	if kubeconfig != "" {
		args = append([]string{"--kubeconfig", kubeconfig}, args...)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubectlPath, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// InstallCRDs applies config/crd of the checkout at root and waits until the API
// server serves every CRD.
func InstallCRDs(ctx context.Context, kubectlPath, kubeconfig, root string) error {
	names, err := Kubectl(ctx, kubectlPath, kubeconfig, "apply", "--server-side", "--force-conflicts",
		"-o", "name", "-k", filepath.Join(root, "config", "crd"))
	if err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	args := append([]string{"wait", "--for=condition=Established", "--timeout=60s"}, strings.Fields(string(names))...)
	if _, err := Kubectl(ctx, kubectlPath, kubeconfig, args...); err != nil {
		return fmt.Errorf("wait for CRDs: %w", err)
	}
	return nil
}

// Process is a child process started by StartProcess, in its own process group so that
// a Ctrl-C on the terminal reaches only our signal handler, which stops children in
// order.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts path with args and env added to the current environment,
// writing its output to out.
func StartProcess(path string, args, env []string, out io.Writer) (*Process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(path), err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error once Done is closed.
func (p *Process) Err() error { return p.err }

// Stop sends SIGTERM and waits up to grace for the process to exit, then kills it.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", filepath.Base(p.cmd.Path), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s and was killed", filepath.Base(p.cmd.Path), grace)
	}
}

// Kill sends SIGKILL, as when a node or container dies, and waits for the exit.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", filepath.Base(p.cmd.Path), err)
	}
	<-p.done
	return nil
}
