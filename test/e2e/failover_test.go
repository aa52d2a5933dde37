package e2e

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/localcluster"
)

// The replicas elect a leader as config/default's do: a Lease in the manager's own
// namespace, under cmd/manager's default --leader-election-id.
const (
	leaseNamespace = "orgaccess-system"
	leaseName      = "orgaccess.access.orgaccess.dev"
)

// replica is one manager process of the run, with leader election on and its metrics
// and probes on ports of its own.
type replica struct {
	name       string
	proc       *localcluster.Process
	logPath    string
	metricsURL string
	readyURL   string
}

// startReplica starts a manager process; a cleanup stops it and, when the test failed,
// shows the end of its log.
func (e *env) startReplica(t *testing.T, name string) *replica {
	t.Helper()
	metrics, health := freeAddress(t), freeAddress(t)
	r := &replica{
		name:       name,
		logPath:    filepath.Join(e.dir, name+".log"),
		metricsURL: "http://" + metrics + "/metrics",
		readyURL:   "http://" + health + "/readyz",
	}
	logFile, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	r.proc, err = localcluster.StartProcess(e.binary, []string{
		"--kubeconfig=" + e.cluster.Kubeconfig,
		"--leader-elect",
		"--leader-election-namespace=" + leaseNamespace,
		"--metrics-bind-address=" + metrics,
		"--health-probe-bind-address=" + health,
		"--zap-log-level=debug",
	}, nil, logFile)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the cluster's cleanup, so it runs first: the manager stops
	// before the API server it talks to.
	t.Cleanup(func() {
		if err := r.proc.Stop(30 * time.Second); err != nil {
			t.Error(err)
		}
		_ = logFile.Close()
		if t.Failed() {
			r.dumpLog(t)
		}
	})
	return r
}

// freeAddress returns a loopback address with a port nothing listens on.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// testFailover runs the deployment's two replicas. A standby syncs its cache and
// reconciles nothing while the leader holds the Lease. The leader stopped (SIGTERM, a
// rolling update) releases the Lease at once; the standby takes it, reconciles every
// organization once and, the platform being converged, writes nothing; then it serves
// changes. A leader that dies (SIGKILL) holds the Lease until it expires, and then the
// next standby takes over; a change made before it did is published ahead of its first
// pass.
func (e *env) testFailover(t *testing.T) {
	converged := e.awaitQuiet(t)
	orgs := strings.Fields(e.must(t, "get", "organizations", "-A", "-o", "jsonpath={.items[*].metadata.name}"))

	standby := e.startReplica(t, "standby")
	standby.awaitReady(t)
	first := e.leaseHolder(t)
	if first == "" {
		t.Fatal("no replica holds the Lease")
	}
	if n := standby.metric(t, "controller_runtime_reconcile_total"); n != 0 {
		t.Fatalf("the standby reconciled %v times while the leader held the Lease", n)
	}

	stopped := time.Now()
	if err := e.manager.proc.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	// Released, the Lease is taken at a standby's next retry: every 2 s, jittered up
	// to 4.4 s. Under 15 s, it cannot have expired instead.
	second := e.awaitNewLeader(t, first, 12*time.Second)
	t.Logf("the standby (%s) took the Lease %s after the leader was stopped", second, time.Since(stopped).Round(time.Millisecond))
	e.manager = standby

	standby.awaitIdle(t)
	if n := standby.metric(t, "controller_runtime_reconcile_total", "controller", "organization"); n < float64(len(orgs)) {
		t.Errorf("the new leader reconciled organizations %v times; want every one of the %d at least once", n, len(orgs))
	}
	if diff := cmp.Diff(converged, e.snapshot(t)); diff != "" {
		t.Errorf("the new leader wrote to a converged platform (-before +after, kind/namespace/name: resourceVersion):\n%s", diff)
	}
	// Nothing changed while no replica led: no object waits for a reconcile.
	if n := standby.metric(t, "orgaccess_unobserved_at_start_total"); n != 0 {
		t.Errorf("the new leader found %v objects changed since their last reconcile on a converged platform", n)
	}
	standby.expectNoErrorLogged(t)
	e.testBlock(t)

	// A binding of zoe's made while a replica leads, to be deleted while none does.
	golden := readGolden(t, "distributor")["acme"]["cathy@acme.example"]
	e.applyBinding(t, "distributor", "zoe", "zoe@acme.example", "customer", "acme")
	e.expectUser(t, "distributor", "acme", "zoe@acme.example", expectedUser{Status: v1alpha1.UserPhaseActive, Roles: golden.Roles, Permissions: golden.Permissions})

	third := e.startReplica(t, "third replica")
	third.awaitReady(t)
	// Every status of the block above written: what the third replica finds
	// unobserved is then only what changes while no replica leads.
	e.awaitQuiet(t)
	killed := time.Now()
	if err := standby.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	// A user blocked and a binding deleted while the dead leader still holds the Lease:
	// no leader sees them as events. The new leader finds the invitation changed since
	// its last reconcile, and its informers saw the deletion while it stood by; it
	// publishes both ahead of its first pass (controllers/first_pass.go).
	e.patchInvitation(t, "distributor", "cathy", `{"spec":{"blocked":true}}`)
	e.must(t, "-n", "distributor", "delete", "rolebindings.access.orgaccess.dev", "zoe")
	if holder := e.leaseHolder(t); holder != second {
		t.Fatalf("the Lease is held by %q, want the killed leader %q until it expires", holder, second)
	}
	// controller-runtime's Lease lasts 15 s and a standby retries every 2 s.
	holder := e.awaitNewLeader(t, second, 45*time.Second)
	t.Logf("the third replica (%s) took the Lease %s after the leader was killed", holder, time.Since(killed).Round(time.Millisecond))
	e.manager = third
	e.expectUser(t, "distributor", "acme", "cathy@acme.example", expectedUser{Status: v1alpha1.UserPhaseBlocked})
	e.expectAbsent(t, "distributor", "acme", "zoe@acme.example")
	if n := third.metric(t, "orgaccess_unobserved_at_start_total", "queued", "ahead"); n != 1 {
		t.Errorf("the new leader queued %v objects ahead of its first pass, want cathy's invitation", n)
	}
	if n := third.metric(t, "orgaccess_deleted_at_start_total", "queued", "ahead"); n != 1 {
		t.Errorf("the new leader queued %v deletions ahead of its first pass, want zoe's binding", n)
	}
	e.patchInvitation(t, "distributor", "cathy", `{"spec":{"blocked":false}}`)
	e.expectUser(t, "distributor", "acme", "cathy@acme.example", golden)
	third.expectNoErrorLogged(t)
}

// must runs kubectl and fails the test on an error.
func (e *env) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.kubectl(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// leaseHolder returns the Lease's holderIdentity: "" while no replica holds it.
func (e *env) leaseHolder(t *testing.T) string {
	t.Helper()
	return e.must(t, "-n", leaseNamespace, "get", "lease", leaseName, "-o", "jsonpath={.spec.holderIdentity}")
}

// awaitNewLeader waits until a replica other than previous holds the Lease.
func (e *env) awaitNewLeader(t *testing.T, previous string, timeout time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if holder := e.leaseHolder(t); holder != "" && holder != previous {
			return holder
		}
	}
	t.Fatalf("%s after %s held the Lease, no other replica holds it", timeout, previous)
	return ""
}

// snapshot returns every orgaccess object's and ConfigMap's resourceVersion, by
// kind/namespace/name: a write of any of them changes it. Events are left out: the
// Lease's holder records one on taking it.
func (e *env) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := e.must(t, "get", "organizations,permissiontrees,roles,rolebindings,userinvitations,configmaps", "-A",
		"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name} {.metadata.resourceVersion}{"\n"}{end}`)
	versions := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		key, version, _ := strings.Cut(line, " ")
		versions[key] = version
	}
	return versions
}

// awaitQuiet waits until two snapshots two seconds apart are the same, and returns it.
func (e *env) awaitQuiet(t *testing.T) map[string]string {
	t.Helper()
	last := e.snapshot(t)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		time.Sleep(2 * time.Second)
		cur := e.snapshot(t)
		if cmp.Equal(last, cur) {
			return cur
		}
		last = cur
	}
	t.Fatal("the platform is still being written after a minute")
	return nil
}

// awaitReady waits until the replica's /readyz answers OK: its informers have synced.
func (r *replica) awaitReady(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(r.readyURL)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("the %s is not ready after a minute", r.name)
}

// awaitIdle waits until two samples half a second apart see every controller's queue
// empty and no worker busy, as the scale harness does. A replica that does not lead
// has no queues and is never idle.
func (r *replica) awaitIdle(t *testing.T) {
	t.Helper()
	idle := 0
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		families := r.metrics(t)
		queues, busy := families["workqueue_depth"], 0.0
		for _, name := range []string{"workqueue_depth", "controller_runtime_active_workers"} {
			for _, m := range families[name].GetMetric() {
				busy += m.GetGauge().GetValue()
			}
		}
		if queues == nil || busy > 0 {
			idle = 0
			continue
		}
		if idle++; idle == 2 {
			return
		}
	}
	t.Fatalf("the %s is not idle after a minute", r.name)
}

// metric returns the sum of the counter name's samples whose labels hold every
// label/value pair of labels.
func (r *replica) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	sum := 0.0
	for _, m := range r.metrics(t)[name].GetMetric() {
		held := map[string]string{}
		for _, l := range m.GetLabel() {
			held[l.GetName()] = l.GetValue()
		}
		matches := true
		for i := 0; i+1 < len(labels); i += 2 {
			matches = matches && held[labels[i]] == labels[i+1]
		}
		if matches {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func (r *replica) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(r.metricsURL)
	if err != nil {
		t.Fatalf("the %s's metrics: %v", r.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the %s's metrics: %s", r.name, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the %s's metrics: %v", r.name, err)
	}
	return families
}
