package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Reconcile errors are not counted here: controller-runtime already exports
// controller_runtime_reconcile_errors_total{controller=...} for every controller below.
var (
	// documentWrites counts ConfigMap writes of access documents by operation: create and
	// update publish a document (shard), delete removes a stale shard.
	documentWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgaccess_document_writes_total",
		Help: "ConfigMap writes of published access documents, by operation (create, update, delete).",
	}, []string{"operation"})

	// writesSkipped counts the writes compare-before-write avoided, by what would have
	// been written (configmap, status, rolebinding, finalizer).
	writesSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgaccess_writes_skipped_total",
		Help: "Writes skipped because the object already held what the reconciler computed, by resource.",
	}, []string{"resource"})

	// compiles counts the engine compiles the reconcilers made (organization subsets,
	// whole-namespace inputs), and those the compile cache served instead (result:
	// compiled, reused).
	compiles = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgaccess_compiles_total",
		Help: "Engine compiles made for reconciles, or reused from the compile cache, by result (compiled, reused).",
	}, []string{"result"})

	// changeToPublish is the delay from the watch event announcing a change of a
	// document's inputs to the write that published it; docs/controllers.md says how a
	// change's time is decided.
	changeToPublish = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "orgaccess_change_to_publish_seconds",
		Help:    "Seconds from the watch event announcing a change of a document's inputs to the ConfigMap write that published it.",
		Buckets: []float64{0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900},
	})

	// unobservedAtStart counts the objects a manager found changed since their last
	// reconcile when it started leading (first_pass.go), by how their organizations were
	// queued: ahead of the first pass, or in it once unobservedAheadLimit was reached.
	unobservedAtStart = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgaccess_unobserved_at_start_total",
		Help: "Objects found changed since their last reconcile when the manager started leading (changes made while no replica led), by how their organizations were queued (ahead, in_pass).",
	}, []string{"queued"})

	// deletedAtStart counts the deletions a standby saw before it started leading
	// (first_pass.go, standbyDeletions), by how their organizations were queued: ahead of
	// the first pass, or in it once more than unobservedAheadLimit had been logged.
	deletedAtStart = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgaccess_deleted_at_start_total",
		Help: "Deletions the manager saw while it did not lead, by how their organizations were queued when it started leading (ahead, in_pass).",
	}, []string{"queued"})
)

// Label values of writesSkipped.
const (
	resourceConfigMap   = "configmap"
	resourceStatus      = "status"
	resourceRoleBinding = "rolebinding"
)

// The two series of compiles, resolved once.
var (
	compilesMade   = compiles.WithLabelValues("compiled")
	compilesReused = compiles.WithLabelValues("reused")
)

// The two series of unobservedAtStart.
var (
	unobservedAhead  = unobservedAtStart.WithLabelValues("ahead")
	unobservedInPass = unobservedAtStart.WithLabelValues("in_pass")
)

// The two series of deletedAtStart.
var (
	deletedAhead  = deletedAtStart.WithLabelValues("ahead")
	deletedInPass = deletedAtStart.WithLabelValues("in_pass")
)

func init() {
	metrics.Registry.MustRegister(documentWrites, writesSkipped, compiles, changeToPublish, unobservedAtStart, deletedAtStart)
}
