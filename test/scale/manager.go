package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/orgaccess/orgaccess/test/platformgen"
)

// buildManager compiles cmd/manager, so the harness measures the binary as shipped.
func buildManager(ctx context.Context, root, workDir string) (string, error) {
	bin := filepath.Join(workDir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/manager")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/manager: %w\n%s", err, out)
	}
	return bin, nil
}

// manager is one run of the manager binary as a subprocess, sampled for heap and RSS.
type manager struct {
	cmd         *exec.Cmd
	started     time.Time
	metricsURL  string
	readyzURL   string
	pprofURL    string        // the manager's /debug/pprof, when started with -pprof
	exited      chan struct{} // closed when the process has exited
	exitErr     error         // set before exited is closed
	stopSampler context.CancelFunc
	sampled     sync.WaitGroup

	mu          sync.Mutex
	peakHeap    float64       // go_memstats_heap_inuse_bytes, the highest sample
	peakAt      time.Duration // when it was sampled, since started
	idle        int           // consecutive samples that saw empty work queues and no active workers
	peakRSS     int64         // VmHWM, bytes
	peakProfile []byte        // with pprofURL, a heap profile taken at one of the highest samples
	profiling   bool          // a peak's heap profile is being taken
	profiledAt  time.Time     // when the last one was asked for
}

// peakProfileEvery bounds how often a rising heap is profiled: each profile costs the
// manager a walk of its sampled allocations.
const peakProfileEvery = 5 * time.Second

// startManager runs bin against kubeconfig, watching only the platform's namespace,
// with extraEnv (NAME=value) added to the harness's environment.
func startManager(bin, kubeconfig, logPath string, extraArgs, extraEnv []string) (*manager, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open manager log: %w", err)
	}
	args := append([]string{
		"--metrics-bind-address=" + metricsAddr,
		"--health-probe-bind-address=" + probeAddr,
		"--namespaces=" + platformgen.Namespace,
	}, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), extraEnv...), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	m := &manager{
		cmd:        cmd,
		metricsURL: "http://" + metricsAddr + "/metrics",
		readyzURL:  "http://" + probeAddr + "/readyz",
		exited:     make(chan struct{}),
	}
	m.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("start manager: %w", err), logFile.Close())
	}
	go func() {
		m.exitErr = cmd.Wait()
		if err := logFile.Close(); err != nil {
			logf("close manager log: %v", err)
		}
		close(m.exited)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	m.stopSampler = cancel
	m.sampled.Go(func() { m.sample(ctx) })
	return m, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("free port %s: %w", addr, err)
	}
	return addr, nil
}

// sample scrapes the manager's metrics every 250 ms: heap in use, and whether every
// controller is idle.
func (m *manager) sample(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		samples, err := scrape(ctx, m.metricsURL,
			"go_memstats_heap_inuse_bytes", "workqueue_depth", "controller_runtime_active_workers")
		if err != nil {
			continue // not serving yet, or exiting
		}
		busy := 0.0
		sawQueues := false
		m.mu.Lock()
		for _, s := range samples {
			switch s.name {
			case "go_memstats_heap_inuse_bytes":
				if s.value > m.peakHeap {
					m.peakHeap, m.peakAt = s.value, time.Since(m.started)
					m.profilePeakLocked(ctx)
				}
			default:
				busy += s.value
				sawQueues = true
			}
		}
		if busy == 0 && sawQueues {
			m.idle++
		} else {
			m.idle = 0
		}
		if rss, err := readPeakRSS(m.cmd.Process.Pid); err == nil {
			m.peakRSS = max(m.peakRSS, rss)
		}
		m.mu.Unlock()
	}
}

// profilePeakLocked takes a heap profile of the manager in the background when a new
// peak was sampled, unless one is being taken or was asked for in the last
// peakProfileEvery. A heap profile describes the heap the last collection found live,
// the heap that the collector let grow to the peak. Called with mu held.
func (m *manager) profilePeakLocked(ctx context.Context) {
	if m.pprofURL == "" || m.profiling || time.Since(m.profiledAt) < peakProfileEvery {
		return
	}
	m.profiling, m.profiledAt = true, time.Now()
	go func() {
		var profile []byte
		body, err := httpProfile(m.pprofURL + "/heap")(ctx)
		if err == nil {
			profile, err = io.ReadAll(body)
			body.Close()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.profiling = false
		if err == nil {
			m.peakProfile = profile
		}
	}()
}

func scrape(ctx context.Context, url string, names ...string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body, names...)
}

// reconciles scrapes how many reconciles each controller has run since the start, how
// many engine compiles they made or reused, and the objects found unobserved when the
// manager started leading.
func (m *manager) reconciles(ctx context.Context) (activity, error) {
	samples, err := scrape(ctx, m.metricsURL, activityMetrics...)
	if err != nil {
		return activity{}, fmt.Errorf("manager metrics: %w", err)
	}
	return activityFrom(samples), nil
}

// readPeakRSS reads the process's peak resident set size (VmHWM) from /proc.
func readPeakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// awaitReady polls /readyz and returns how long after the start it first answered 200.
func (m *manager) awaitReady(ctx context.Context) (time.Duration, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.readyzURL, nil)
		if err != nil {
			return 0, err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(m.started), nil
			}
		}
		select {
		case <-m.exited:
			return 0, fmt.Errorf("manager exited before it was ready: %w", m.exitReason())
		case <-ctx.Done():
			return 0, fmt.Errorf("manager not ready: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// awaitIdle waits until two samples taken after the call (half a second apart) saw
// every controller's queue empty and no worker busy, and returns when that was seen.
func (m *manager) awaitIdle(ctx context.Context) (time.Time, error) {
	m.mu.Lock()
	m.idle = 0
	m.mu.Unlock()
	for {
		m.mu.Lock()
		idle := m.idle >= 2
		m.mu.Unlock()
		if idle {
			return time.Now(), nil
		}
		select {
		case <-m.exited:
			return time.Time{}, fmt.Errorf("manager exited: %w", m.exitReason())
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("manager not idle: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// peaks returns the highest heap in use, when it was sampled (since the manager
// started), the peak RSS seen so far and, with -pprof, a heap profile taken at one of
// the highest samples (nil if none).
func (m *manager) peaks() (heap float64, at time.Duration, rss float64, profile []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, err := readPeakRSS(m.cmd.Process.Pid); err == nil {
		m.peakRSS = max(m.peakRSS, r)
	}
	return m.peakHeap, m.peakAt, float64(m.peakRSS), m.peakProfile
}

// liveHeap makes the manager collect its garbage (a heap profile with gc=1, served
// with -pprof) and returns the heap then allocated: what it keeps, without the garbage
// that the peak in use includes.
func (m *manager) liveHeap(ctx context.Context) (float64, error) {
	body, err := httpProfile(m.pprofURL + "/heap?gc=1")(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return 0, errors.Join(err, body.Close())
	}
	if err := body.Close(); err != nil {
		return 0, err
	}
	samples, err := scrape(ctx, m.metricsURL, "go_memstats_heap_alloc_bytes")
	if err != nil {
		return 0, err
	}
	if len(samples) != 1 {
		return 0, fmt.Errorf("%s: no go_memstats_heap_alloc_bytes", m.metricsURL)
	}
	return samples[0].value, nil
}

// exitReason is why the manager exited; call it once exited is closed.
func (m *manager) exitReason() error {
	if m.exitErr == nil {
		return errors.New("exit status 0")
	}
	return m.exitErr
}

// stop sends SIGTERM and waits for the manager to exit.
func (m *manager) stop() error {
	defer m.sampled.Wait()
	defer m.stopSampler()
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal manager: %w", err)
	}
	select {
	case <-m.exited:
		if m.exitErr != nil {
			return fmt.Errorf("manager exited after SIGTERM: %w", m.exitErr)
		}
		return nil
	case <-time.After(45 * time.Second):
		_ = m.cmd.Process.Kill()
		return errors.New("manager did not stop within 45s of SIGTERM; killed")
	}
}
