package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// harness runs the measurements of one scale run against one apiserver.
type harness struct {
	cl      *cluster
	cs      *kubernetes.Clientset
	c       client.Client
	o       options
	bin     string
	logPath string
}

func newHarness(cl *cluster, o options, bin, logPath string) (*harness, error) {
	cs, err := cl.clientset()
	if err != nil {
		return nil, err
	}
	c, err := newClient(cl)
	if err != nil {
		return nil, err
	}
	return &harness{cl: cl, cs: cs, c: c, o: o, bin: bin, logPath: logPath}, nil
}

// incremental is the measurement of one scenario.
type incremental struct {
	name, change string
	latency      time.Duration // from the write to the last document that changed
	first        time.Duration // from the write to the first document that changed
	changedDocs  int
	writes       counts   // the manager's, the harness's own write taken out
	runs         activity // reconciles and compiles, from the write until idle
	cpu          cpuUse   // each process's CPU from the write to the last document
	memAvailable float64
	background   background    // completed from the write to the last document
	busy         bool          // the manager was not idle before or after: writes include other work
	idle         time.Duration // failover: from the write until the new leader is idle; 0: not within -idle-timeout
	leaseTaken   time.Duration // failover: from the write until the standby holds the Lease; 0: not seen
	deletion     time.Duration // failover: from the write until the last document the deleted binding changes is published
}

// results is everything one run measured; zero fields were not reached.
type results struct {
	organizations, bindings, users int

	apply       time.Duration
	applyWrites int
	documents   int

	floor     time.Duration
	readFloor time.Duration // a plain cache of the platform syncs

	cold       time.Duration // manager start -> every document published
	coldWrites counts        // issued by then
	coldIdle   time.Duration // manager start -> every controller idle; 0: not within -idle-timeout
	coldReady  time.Duration // manager start -> /readyz (informers synced); 0: not seen
	idleWrites counts        // issued by then
	coldRuns   activity      // reconciles and compiles, by then

	restartReady  time.Duration
	restartIdle   time.Duration
	restartWrites counts
	restartRuns   activity // reconciles and compiles, by idle

	incrementals []incremental

	peakHeap, peakRSS float64
	peakHeapWhen      string     // which manager, how long after its start
	floorBackground   background // the API server's and etcd's own work completed during the floor
	coldBackground    background // ... from the manager's start to the last document
	liveHeap          float64    // allocated after a collection once the cold start is idle (-pprof)

	loadBefore string // /proc/loadavg when the run started: other work on the machine
}

// writes counts the write requests the apiserver has served, by resource. As leases
// are (writesFrom), the LeaderElection events a manager records on its Lease when it
// takes it are left out: they are leader election's writes, not the platform's.
func (h *harness) writes(ctx context.Context) (counts, error) {
	w, err := h.cl.writes(ctx, h.cs)
	if err != nil {
		return nil, err
	}
	elections, err := h.leaderElections(ctx)
	if err != nil {
		return nil, err
	}
	for range elections {
		w.takeOne("events")
	}
	return w, nil
}

// measure runs every measurement in order; what was measured before an error is kept.
func (h *harness) measure(ctx context.Context, size platformgen.Size) (*results, error) {
	res := &results{loadBefore: loadAverage()}
	in := platformgen.Generate(size, h.o.seed)
	shiftTimes(&in, time.Now())
	ownBindingsAsController(&in, time.Now())
	res.organizations, res.bindings, res.users = len(in.Organizations), len(in.Bindings), size.Users

	logf("applying %d organizations, %d roles, %d invitations, %d bindings with %d workers",
		len(in.Organizations), len(in.Roles), len(in.Invitations), len(in.Bindings), h.o.applyWorkers)
	before, err := h.writes(ctx)
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := applyPlatform(ctx, h.c, &in, h.o.applyWorkers); err != nil {
		return res, err
	}
	res.apply = time.Since(start)
	after, err := h.writes(ctx)
	if err != nil {
		return res, err
	}
	res.applyWrites = after.since(before).total()

	exp, err := expectDocuments(in, time.Now())
	if err != nil {
		return res, err
	}
	res.documents = len(exp.documents)
	logf("floor: a plain writer creates %d ConfigMaps", res.documents)
	bg, err := h.background(ctx)
	if err != nil {
		return res, err
	}
	collectOwnGarbage()
	if res.floor, err = measureFloor(ctx, h.cl.config, exp, h.o.limits); err != nil {
		return res, err
	}
	if res.floorBackground, err = h.backgroundSince(ctx, bg); err != nil {
		return res, err
	}
	logf("read floor: a plain cache lists the platform")
	collectOwnGarbage()
	if res.readFloor, err = measureReadFloor(ctx, h.cl.config, h.c.Scheme(), h.o.limits); err != nil {
		return res, err
	}

	trackerClient, err := kubernetes.NewForConfig(asManager(h.cl.config))
	if err != nil {
		return res, fmt.Errorf("tracker client: %w", err)
	}
	tr, err := startTracker(ctx, trackerClient, platformgen.Namespace)
	if err != nil {
		return res, err
	}
	if err := h.cold(ctx, res, tr, in, exp); err != nil {
		return res, err
	}
	m, err := h.restart(ctx, res)
	which := "restarted manager"
	if m != nil {
		defer func() {
			h.notePeaks(res, m, which)
			if err := m.stop(); err != nil {
				logf("%v", err)
			}
		}()
	}
	if err != nil {
		return res, err
	}
	// From here on the harness works on the platform as the apiserver holds it, statuses
	// written by the manager included.
	if in, err = readPlatform(ctx, h.c); err != nil {
		return res, err
	}
	if exp, err = expectDocuments(in, time.Now()); err != nil {
		return res, err
	}
	for i, s := range scenarios {
		inc, next, err := h.incremental(ctx, m, tr, i+1, s, &in, exp)
		if err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
		res.incrementals = append(res.incrementals, inc)
		exp = next
	}
	inc, standby, err := h.failover(ctx, res, m, tr, &in, exp)
	if standby != nil {
		m, which = standby, "standby that took over"
	}
	if err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	res.incrementals = append(res.incrementals, inc)
	return res, nil
}

// profileSource opens one pprof profile: from the manager's pprof listener, the API
// server's /debug/pprof or etcd's.
type profileSource func(context.Context) (io.ReadCloser, error)

// httpProfile fetches url from a pprof listener over plain HTTP (the manager's, etcd's),
// waiting up to ten seconds for it to listen.
func httpProfile(url string) profileSource {
	return func(ctx context.Context) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		var resp *http.Response
		for range 100 {
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("%s: %s", url, resp.Status)
		}
		return resp.Body, nil
	}
}

// etcdProfile fetches a CPU profile of seconds from envtest's etcd, or nil when the
// harness cannot reach etcd or started it without pprof (-kubeconfig, or no -pprof).
func (h *harness) etcdProfile(seconds int) profileSource {
	etcd := h.cl.etcdURL()
	if etcd == "" || !h.o.pprof {
		return nil
	}
	return httpProfile(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", etcd, seconds))
}

// apiserverProfile fetches a CPU profile of seconds from the API server (kube-apiserver
// serves /debug/pprof unless started with --profiling=false), to show where the API
// server's share of a step goes.
func (h *harness) apiserverProfile(seconds int) profileSource {
	return func(ctx context.Context) (io.ReadCloser, error) {
		return h.cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(seconds)).Timeout(time.Duration(seconds+30) * time.Second).Stream(ctx)
	}
}

// saveProfile writes the profile src opens into path; a profile that cannot be had is
// logged, not fatal: it explains a run, it does not measure it. A nil src saves nothing.
func saveProfile(ctx context.Context, src profileSource, path string) {
	if src == nil {
		return
	}
	body, err := src(ctx)
	if err != nil {
		logf("profile %s: %v", filepath.Base(path), err)
		return
	}
	defer body.Close()
	f, err := os.Create(path)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	_, err = io.Copy(f, body)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		logf("profile %s: %v", path, err)
		return
	}
	logf("profile saved: %s", path)
}

// profileSelf starts a CPU profile of the harness itself, saved to path when the
// returned function is called: the harness shares the machine with what it measures,
// and its profile says what its share of a measurement went to.
func profileSelf(path string) (stop func()) {
	f, err := os.Create(path)
	if err != nil {
		logf("profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		logf("profile %s: %v", filepath.Base(path), err)
		_ = f.Close() // nothing written
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			logf("profile %s: %v", path, err)
			return
		}
		logf("profile saved: %s", path)
	}
}

// collectOwnGarbage collects the harness's garbage before a measurement starts. The
// harness holds the whole platform and every expected document (on the full platform
// hundreds of megabytes, most of it pointers to mark), and compiling an expectation
// leaves as much garbage again; a collection that came due during a measurement would
// take CPU from the machine the manager and the API server share. Right after a
// collection the next one is as far off as it can be. Each step collects before its CPU
// sample, so the collection is not counted as the step's.
func collectOwnGarbage() { runtime.GC() }

// startManager starts the manager binary with the run's limits, serving pprof (the
// manager's pprofURL) when -pprof is given.
func (h *harness) startManager() (*manager, error) {
	args := h.o.managerFlags()
	pprofAddr := ""
	if h.o.pprof {
		var err error
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		args = append(args, "--pprof-bind-address="+pprofAddr)
	}
	m, err := startManager(h.bin, h.cl.kubeconfig, h.logPath, args, strings.Fields(h.o.managerEnv))
	if err != nil {
		return nil, err
	}
	if pprofAddr != "" {
		m.pprofURL = "http://" + pprofAddr + "/debug/pprof"
	}
	return m, nil
}

// cold starts the manager on the applied platform and waits until every document is
// published, then until the manager is idle.
func (h *harness) cold(ctx context.Context, res *results, tr *tracker, in permissions.Input, exp expectation) error {
	before, err := h.writes(ctx)
	if err != nil {
		return err
	}
	logf("cold start: the manager publishes %d documents", len(exp.documents))
	bg, err := h.background(ctx)
	if err != nil {
		return err
	}
	collectOwnGarbage()
	m, err := h.startManager()
	if err != nil {
		return err
	}
	defer func() {
		h.notePeaks(res, m, "cold start")
		if err := m.stop(); err != nil {
			logf("%v", err)
		}
	}()
	if m.pprofURL != "" {
		// A CPU profile of the start of convergence (-profile-seconds), where the time goes, and
		// the heap once idle (deferred after the stop above, so it runs before it).
		url := fmt.Sprintf("%s/profile?seconds=%d", m.pprofURL, h.o.profileSecs)
		go saveProfile(ctx, httpProfile(url), filepath.Join(h.o.workDir, "cold-cpu.pprof"))
		go saveProfile(ctx, h.apiserverProfile(h.o.profileSecs), filepath.Join(h.o.workDir, "cold-apiserver-cpu.pprof"))
		go saveProfile(ctx, h.etcdProfile(h.o.profileSecs), filepath.Join(h.o.workDir, "cold-etcd-cpu.pprof"))
		defer saveProfile(ctx, httpProfile(m.pprofURL+"/heap"), filepath.Join(h.o.workDir, "cold-heap.pprof"))
	}
	// When the informers have synced (/readyz), so the report can split the cold start
	// into the manager's own start and its publishing.
	ready := make(chan time.Duration, 1)
	go func() {
		d, err := m.awaitReady(ctx)
		if err != nil {
			d = 0
		}
		ready <- d
	}()
	matched, _, err := h.converged(ctx, tr, m, in, exp)
	if err != nil {
		return fmt.Errorf("cold convergence: %w", err)
	}
	res.cold = matched.Sub(m.started)
	if res.coldBackground, err = h.backgroundSince(ctx, bg); err != nil {
		return err
	}
	res.coldReady = <-ready
	if res.coldWrites, err = h.writesSince(ctx, before); err != nil {
		return err
	}
	logf("every document published after %v; waiting for the manager to be idle", res.cold.Round(time.Millisecond))
	idle, ok, err := h.awaitIdle(ctx, m, h.o.idleTimeout)
	if err != nil {
		return err
	}
	if ok {
		res.coldIdle = idle.Sub(m.started)
	}
	if res.coldRuns, err = m.reconciles(ctx); err != nil {
		return err
	}
	if res.idleWrites, err = h.writesSince(ctx, before); err != nil {
		return err
	}
	if m.pprofURL != "" {
		if res.liveHeap, err = m.liveHeap(ctx); err != nil {
			logf("live heap: %v", err)
		}
	}
	return nil
}

// notePeaks keeps m's peak heap and RSS when they are the run's highest, and with
// -pprof saves the heap profile taken at that peak as peak-heap.pprof.
func (h *harness) notePeaks(res *results, m *manager, which string) {
	heap, at, rss, profile := m.peaks()
	if heap > res.peakHeap {
		res.peakHeap, res.peakHeapWhen = heap, fmt.Sprintf("%s, %s after it started", which, dur(at))
		if profile != nil {
			path := filepath.Join(h.o.workDir, "peak-heap.pprof")
			if err := os.WriteFile(path, profile, 0o644); err != nil {
				logf("profile: %v", err)
			} else {
				logf("profile saved: %s (%s)", path, res.peakHeapWhen)
			}
		}
	}
	res.peakRSS = max(res.peakRSS, rss)
}

// converged waits until the published documents hold exp's bytes and returns when they
// did. Should the platform change by time before then (exp.changesAt: an expiry during a
// cold start or a long role edit), it compiles in again at the new time and waits for
// that instead, so a manager that followed the clock is not taken for one that is
// behind. It returns the expectation met.
func (h *harness) converged(ctx context.Context, tr *tracker, m *manager, in permissions.Input, exp expectation) (time.Time, expectation, error) {
	for {
		done := tr.expect(exp)
		wait, cancel := ctx, context.CancelFunc(func() {})
		if !exp.changesAt.IsZero() {
			wait, cancel = context.WithDeadline(ctx, exp.changesAt)
		}
		matched, err := tr.await(wait, done, m)
		cancel()
		if err == nil || ctx.Err() != nil || wait.Err() == nil {
			return matched, exp, err
		}
		logf("the platform changed by time at %s; expecting the documents of that time",
			exp.changesAt.UTC().Format(time.TimeOnly))
		if exp, err = expectDocuments(in, time.Now()); err != nil {
			return time.Time{}, exp, err
		}
	}
}

// awaitIdle waits for the manager to be idle for at most limit (-idle-timeout after a
// start, -settle-timeout before an incremental change); ok is false when it was still
// busy then, and the run goes on with a busy manager.
func (h *harness) awaitIdle(ctx context.Context, m *manager, limit time.Duration) (at time.Time, ok bool, err error) {
	wait, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	at, err = m.awaitIdle(wait)
	switch {
	case err == nil:
		return at, true, nil
	case ctx.Err() == nil && wait.Err() != nil:
		logf("the manager is still busy after %v; going on", limit)
		return time.Now(), false, nil
	}
	return at, false, err
}

func (h *harness) writesSince(ctx context.Context, before counts) (counts, error) {
	now, err := h.writes(ctx)
	if err != nil {
		return nil, err
	}
	return now.since(before), nil
}

// background returns the API server's and etcd's own work completed so far.
func (h *harness) background(ctx context.Context) (background, error) {
	return h.cl.background(ctx, h.cs)
}

// backgroundSince returns the background work completed since before was read.
func (h *harness) backgroundSince(ctx context.Context, before background) (background, error) {
	now, err := h.background(ctx)
	return now.since(before), err
}

// restart starts a new manager on the converged platform: it should be Ready quickly
// and write nothing.
func (h *harness) restart(ctx context.Context, res *results) (*manager, error) {
	before, err := h.writes(ctx)
	if err != nil {
		return nil, err
	}
	logf("restart on the converged platform")
	collectOwnGarbage()
	m, err := h.startManager()
	if err != nil {
		return nil, err
	}
	if res.restartReady, err = m.awaitReady(ctx); err != nil {
		return m, err
	}
	idle, ok, err := h.awaitIdle(ctx, m, h.o.idleTimeout)
	if err != nil {
		return m, err
	}
	if ok {
		res.restartIdle = idle.Sub(m.started)
	}
	if res.restartRuns, err = m.reconciles(ctx); err != nil {
		return m, err
	}
	res.restartWrites, err = h.writesSince(ctx, before)
	return m, err
}

// leaderElections counts the LeaderElection events on the managers' Lease: a manager
// records one ("became leader") each time it takes the Lease.
func (h *harness) leaderElections(ctx context.Context) (int, error) {
	events, err := h.cs.CoreV1().Events(platformgen.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Lease,reason=LeaderElection",
	})
	if err != nil {
		return 0, fmt.Errorf("list leader election events: %w", err)
	}
	n := 0
	for _, e := range events.Items {
		n += max(int(e.Count), 1) // a repeated event is one object, counted
	}
	return n, nil
}

// failover is the deployment's handover (config/default runs two replicas): a standby
// started beside the leader syncs its cache; the leader is stopped with SIGTERM, as a
// rolling update does, and at that instant one binding is added and another, of a
// seller over its subtree, deleted. It measures the time from the SIGTERM to the
// bindings' documents published by the new leader (the deletion's on their own), and
// the writes until that one is idle: the bindings' own, the takeover adding none. It
// returns the standby, which leads from then on; the leader's peaks are noted.
func (h *harness) failover(ctx context.Context, res *results, leader *manager, tr *tracker, in *permissions.Input, exp expectation) (incremental, *manager, error) {
	inc := incremental{name: "leader stopped, one binding added, one deleted"}
	added, add, err := bindNewUser(in, "scale-failover-binding", "scale-failover")
	if err != nil {
		return inc, nil, err
	}
	deleted, reached, remove, err := unbindLastOrganization(in)
	if err != nil {
		return inc, nil, err
	}
	inc.change = added + "; " + deleted
	write := func(ctx context.Context, c client.Client) error {
		return errors.Join(add(ctx, c), remove(ctx, c))
	}
	logf("failover: a standby starts beside the leader")
	standby, err := h.startManager()
	if err != nil {
		return inc, nil, err
	}
	if _, err := standby.awaitReady(ctx); err != nil {
		return inc, standby, err
	}
	next, before, err := h.beginStep(ctx, leader, &inc, *in, exp)
	if err != nil {
		return inc, standby, err
	}
	var unboundDocs []string
	for _, name := range next.changed(exp) {
		if reached[next.documents[name].organization] {
			unboundDocs = append(unboundDocs, name)
		}
	}
	if len(unboundDocs) == 0 {
		return inc, standby, fmt.Errorf("%s changes no document", deleted)
	}
	holder, err := h.leaseHolder(ctx)
	if err != nil {
		return inc, standby, err
	}
	tr.startStep()
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- leader.stop() }()
	taken := make(chan time.Time, 1)
	wait, cancel := context.WithTimeout(ctx, incrementalTimeout)
	defer cancel()
	go func() { taken <- h.awaitLeaseTaken(wait, holder) }()
	if err := write(ctx, h.c); err != nil {
		return inc, standby, errors.Join(err, <-stopped)
	}
	matched, _, err := h.converged(wait, tr, standby, *in, next)
	if err := errors.Join(err, <-stopped); err != nil {
		return inc, standby, err
	}
	if at := <-taken; !at.IsZero() {
		inc.leaseTaken = max(at.Sub(start), 0)
	}
	h.notePeaks(res, leader, "restarted manager")
	inc.latency = max(matched.Sub(start), 0)
	if first := tr.firstMatch(); !first.IsZero() {
		inc.first = max(first.Sub(start), 0)
	}
	if at := tr.heldSince(unboundDocs); !at.IsZero() {
		inc.deletion = max(at.Sub(start), 0)
	}
	idle, ok, err := h.awaitIdle(ctx, standby, h.o.idleTimeout)
	if err != nil {
		return inc, standby, err
	}
	if ok {
		inc.idle = idle.Sub(start)
	}
	if inc.writes, err = h.writesSince(ctx, before); err != nil {
		return inc, standby, err
	}
	inc.writes.takeOne("rolebindings") // the harness's create
	inc.writes.takeOne("rolebindings") // and delete
	// The standby reconciled nothing before it led: all of its reconciles are the
	// takeover's.
	inc.runs, err = standby.reconciles(ctx)
	return inc, standby, err
}

// leaderElectionID names the Lease the managers elect their leader with, in the
// platform's namespace (managerFlags).
const leaderElectionID = "orgaccess.access.orgaccess.dev"

// leaseHolder returns the identity of the manager that holds the Lease.
func (h *harness) leaseHolder(ctx context.Context) (string, error) {
	lease, err := h.cs.CoordinationV1().Leases(platformgen.Namespace).Get(ctx, leaderElectionID, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("leader election Lease: %w", err)
	}
	return ptr.Deref(lease.Spec.HolderIdentity, ""), nil
}

// awaitLeaseTaken polls the Lease every 10 ms until a manager other than previous
// holds it, and returns when that was seen: zero when ctx ended first.
func (h *harness) awaitLeaseTaken(ctx context.Context, previous string) time.Time {
	for {
		if holder, err := h.leaseHolder(ctx); err == nil && holder != "" && holder != previous {
			return time.Now()
		}
		select {
		case <-ctx.Done():
			return time.Time{}
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// beginStep starts a step from a quiet manager m (waiting at most -settle-timeout; inc
// notes when it was not), compiles what the documents hold once inc's change is made,
// from the changed platform in, and returns that with the writes counted so far.
func (h *harness) beginStep(ctx context.Context, m *manager, inc *incremental, in permissions.Input, exp expectation) (expectation, counts, error) {
	if _, ok, err := h.awaitIdle(ctx, m, h.o.settleTimeout); err != nil {
		return expectation{}, nil, err
	} else if !ok {
		inc.busy = true
	}
	// Compiled with the clock of the write, after the settle: the platform also changes
	// by time (expiries), and an expectation compiled minutes earlier would miss that.
	next, err := expectDocuments(in, time.Now())
	if err != nil {
		return expectation{}, nil, err
	}
	inc.changedDocs = len(next.changed(exp))
	logf("%s: %s (%d documents change)", inc.name, inc.change, inc.changedDocs)
	before, err := h.writes(ctx)
	return next, before, err
}

// incrementalTimeout bounds one scenario: far above its target, so a miss is measured
// rather than cut short (a role edit on the full platform rewrites 10,101 documents).
const incrementalTimeout = 15 * time.Minute

func (h *harness) incremental(ctx context.Context, m *manager, tr *tracker, step int, s scenario, in *permissions.Input, exp expectation) (incremental, expectation, error) {
	inc := incremental{name: s.name}
	change, write, err := s.prepare(in, exp)
	if err != nil {
		return inc, exp, err
	}
	inc.change = change
	next, before, err := h.beginStep(ctx, m, &inc, *in, exp)
	if err != nil {
		return inc, exp, err
	}
	runsBefore, err := m.reconciles(ctx)
	if err != nil {
		return inc, exp, err
	}
	procs := findRunProcesses(m.cmd.Process.Pid)
	inc.memAvailable = memAvailable()
	collectOwnGarbage()
	cpuBefore := procs.sample()
	bg, err := h.background(ctx)
	if err != nil {
		return inc, exp, err
	}
	tr.startStep()
	start := time.Now()
	if err := write(ctx, h.c); err != nil {
		return inc, exp, err
	}
	if m.pprofURL != "" {
		// Where the step's time goes: CPU profiles of the manager, the API server and
		// etcd over its first -step-profile-seconds, saved before the step ends so that
		// they cover no other step.
		url := fmt.Sprintf("%s/profile?seconds=%d", m.pprofURL, h.o.stepProfileSecs)
		path := filepath.Join(h.o.workDir, fmt.Sprintf("step%d-cpu.pprof", step))
		apiPath := filepath.Join(h.o.workDir, fmt.Sprintf("step%d-apiserver-cpu.pprof", step))
		etcdPath := filepath.Join(h.o.workDir, fmt.Sprintf("step%d-etcd-cpu.pprof", step))
		var profiled sync.WaitGroup
		profiled.Go(func() { saveProfile(ctx, httpProfile(url), path) })
		profiled.Go(func() { saveProfile(ctx, h.apiserverProfile(h.o.stepProfileSecs), apiPath) })
		profiled.Go(func() { saveProfile(ctx, h.etcdProfile(h.o.stepProfileSecs), etcdPath) })
		defer profiled.Wait()
	}
	stopSelf := func() {}
	if m.pprofURL != "" {
		// The harness's own CPU from the write to the last document (the step's "harness" CPU).
		stopSelf = profileSelf(filepath.Join(h.o.workDir, fmt.Sprintf("step%d-harness-cpu.pprof", step)))
	}
	wait, cancel := context.WithTimeout(ctx, incrementalTimeout)
	defer cancel()
	matched, next, err := h.converged(wait, tr, m, *in, next)
	stopSelf()
	if err != nil {
		return inc, exp, err
	}
	inc.cpu = procs.since(cpuBefore, procs.sample())
	if inc.background, err = h.backgroundSince(ctx, bg); err != nil {
		return inc, exp, err
	}
	inc.latency = max(matched.Sub(start), 0)
	if first := tr.firstMatch(); !first.IsZero() {
		inc.first = max(first.Sub(start), 0)
	}
	if _, ok, err := h.awaitIdle(ctx, m, h.o.settleTimeout); err != nil {
		return inc, exp, err
	} else if !ok {
		inc.busy = true
	}
	if inc.writes, err = h.writesSince(ctx, before); err != nil {
		return inc, exp, err
	}
	inc.writes.takeOne(s.ownWrite)
	runsAfter, err := m.reconciles(ctx)
	if err != nil {
		return inc, exp, err
	}
	inc.runs = runsAfter.since(runsBefore)
	return inc, next, nil
}
