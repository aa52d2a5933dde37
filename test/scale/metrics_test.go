package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWritesFromApiserverMetrics(t *testing.T) {
	const text = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 10
apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="LIST",version="v1"} 7
apiserver_request_total{code="200",component="apiserver",dry_run="",group="access.orgaccess.dev",resource="organizations",scope="resource",subresource="status",verb="PUT",version="v1alpha1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="",group="access.orgaccess.dev",resource="organizations",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 1.5e+01
apiserver_request_total{code="200",component="apiserver",group="coordination.k8s.io",resource="leases",subresource="",verb="PUT",version="v1"} 3
apiserver_request_duration_seconds_bucket{verb="POST",le="+Inf"} 12
go_memstats_heap_inuse_bytes 1.2345e+07
`
	samples, err := parseMetrics(strings.NewReader(text), "apiserver_request_total", "go_memstats_heap_inuse_bytes")
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 7 {
		t.Fatalf("parsed %d samples, want 7 (histogram buckets left out)", len(samples))
	}
	if last := samples[6]; last.name != "go_memstats_heap_inuse_bytes" || last.value != 12345000 {
		t.Errorf("unlabelled sample = %+v", last)
	}
	got := writesFrom(samples).since(counts{"configmaps": 5})
	want := counts{"configmaps": 5, "configmaps 409": 2, "organizations/status": 19}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if got.total() != 26 {
		t.Errorf("total = %d, want 26", got.total())
	}
	if s := got.String(); s != "organizations/status 19, configmaps 5, configmaps 409 2" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseLabelsWithQuotesAndBraces(t *testing.T) {
	samples, err := parseMetrics(strings.NewReader(`m{path="/a}b",msg="say \"hi\""} 1`+"\n"), "m")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"path": "/a}b", "msg": `say "hi"`}
	if diff := cmp.Diff(want, samples[0].labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestReconcilesFromManagerMetrics(t *testing.T) {
	const text = `controller_runtime_reconcile_total{controller="rolebinding",result="success"} 90
controller_runtime_reconcile_total{controller="rolebinding",result="error"} 3
controller_runtime_reconcile_total{controller="rolebinding",result="requeue_after"} 7
controller_runtime_reconcile_total{controller="organization",result="success"} 12
controller_runtime_reconcile_errors_total{controller="organization"} 4
`
	samples, err := parseMetrics(strings.NewReader(text), "controller_runtime_reconcile_total")
	if err != nil {
		t.Fatal(err)
	}
	got := reconcilesFrom(samples)
	if s := got.String(); s != "rolebinding 100, organization 12" {
		t.Errorf("reconciles = %q, want every result summed by controller", s)
	}
}

func TestActivitySinceCountsReconcilesAndCompiles(t *testing.T) {
	parse := func(text string) activity {
		t.Helper()
		samples, err := parseMetrics(strings.NewReader(text), activityMetrics...)
		if err != nil {
			t.Fatal(err)
		}
		return activityFrom(samples)
	}
	before := parse(`controller_runtime_reconcile_total{controller="rolebinding",result="success"} 90
orgaccess_compiles_total{result="compiled"} 40
orgaccess_compiles_total{result="reused"} 5
`)
	after := parse(`controller_runtime_reconcile_total{controller="rolebinding",result="success"} 95
controller_runtime_reconcile_total{controller="organization",result="success"} 2
orgaccess_compiles_total{result="compiled"} 43
orgaccess_compiles_total{result="reused"} 9
`)
	if s := after.since(before).String(); s != "7: rolebinding 5, organization 2; compiles 3, reused 4" {
		t.Errorf("activity since = %q", s)
	}
	started := parse(`controller_runtime_reconcile_total{controller="organization",result="success"} 12
orgaccess_unobserved_at_start_total{queued="ahead"} 1000
orgaccess_unobserved_at_start_total{queued="in_pass"} 2500
orgaccess_deleted_at_start_total{queued="ahead"} 1
orgaccess_deleted_at_start_total{queued="in_pass"} 0
`)
	if s := started.String(); s != "12: organization 12; compiles 0, reused 0; unobserved at start 1000 ahead of the first pass, 2500 in it; deleted before it led 1 ahead of the first pass, 0 in it" {
		t.Errorf("activity = %q", s)
	}
}

func TestBackgroundFromEtcdMetrics(t *testing.T) {
	exposition := func(compactions int, ms, keys float64) string {
		return fmt.Sprintf(`# TYPE etcd_debugging_mvcc_db_compaction_total_duration_milliseconds histogram
etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_bucket{le="100"} 0
etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_bucket{le="+Inf"} %[1]d
etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_sum %[2]g
etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count %[1]d
# TYPE etcd_debugging_mvcc_db_compaction_keys_total counter
etcd_debugging_mvcc_db_compaction_keys_total %[3]g
etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds_sum 12
`, compactions, ms, keys)
	}
	var served string
	etcd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, served)
	}))
	defer etcd.Close()
	read := func() background {
		t.Helper()
		samples, err := scrape(t.Context(), etcd.URL+"/metrics", etcdCompactions, etcdCompactionMs, etcdCompactedKeys)
		if err != nil {
			t.Fatal(err)
		}
		b := background{checks: 3}
		b.addCompactions(samples)
		return b
	}

	served = exposition(7, 2100, 1.5e6)
	before := read()
	if want := (background{checks: 3, compactions: 7, compactionMs: 2100, compactedKeys: 1.5e6}); before != want {
		t.Fatalf("read %+v, want %+v", before, want)
	}
	if note := before.since(before).note(); note != "" {
		t.Errorf("nothing completed, but the note is %q", note)
	}
	served = exposition(8, 5350, 1.62e6)
	got := read().since(before)
	if want := (background{compactions: 1, compactionMs: 3250, compactedKeys: 120000}); got != want {
		t.Errorf("since = %+v, want %+v", got, want)
	}
	if note, want := got.note(), " (meanwhile: etcd compactions 1 (3250 ms, 120000 keys))"; note != want {
		t.Errorf("note = %q, want %q", note, want)
	}
	got.checks = 2
	if note, want := got.note(), " (meanwhile: API server consistency checks 2, etcd compactions 1 (3250 ms, 120000 keys))"; note != want {
		t.Errorf("note = %q, want %q", note, want)
	}

	if _, err := scrape(t.Context(), etcd.URL+"/missing", etcdCompactions); err == nil {
		t.Error("a 404 from etcd was read as metrics")
	}
}
