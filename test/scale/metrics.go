package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sample is one value of a Prometheus exposition: a counter, gauge or untyped value,
// or a histogram's or summary's _sum or _count; its metric name, labels and value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the Prometheus text exposition format, which the apiserver, etcd
// and the manager serve, keeping the samples whose name is one of names, in the order
// of names.
func parseMetrics(r io.Reader, names ...string) ([]sample, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	var out []sample
	for _, name := range names {
		family, value := families[name], plainValue
		if family == nil {
			// A histogram's or summary's _sum and _count belong to its family.
			if base, ok := strings.CutSuffix(name, "_sum"); ok {
				family, value = families[base], sampleSum
			} else if base, ok := strings.CutSuffix(name, "_count"); ok {
				family, value = families[base], sampleCount
			}
		}
		for _, m := range family.GetMetric() {
			v, ok := value(m)
			if !ok {
				continue
			}
			labels := make(map[string]string, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out = append(out, sample{name: name, labels: labels, value: v})
		}
	}
	return out, nil
}

func plainValue(m *dto.Metric) (float64, bool) {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	}
	return 0, false
}

func sampleSum(m *dto.Metric) (float64, bool) {
	switch {
	case m.Histogram != nil:
		return m.Histogram.GetSampleSum(), true
	case m.Summary != nil:
		return m.Summary.GetSampleSum(), true
	}
	return 0, false
}

func sampleCount(m *dto.Metric) (float64, bool) {
	switch {
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), true
	case m.Summary != nil:
		return float64(m.Summary.GetSampleCount()), true
	}
	return 0, false
}

// writeVerbs are the apiserver_request_total verbs that change state.
var writeVerbs = []string{"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"}

// counts are counters summed by a key: write requests by resource, reconciles by
// controller.
type counts map[string]float64

// writesFrom sums apiserver_request_total over write verbs, by resource ("configmaps",
// "organizations/status", ...), as the apiserver saw them, whatever their outcome; a
// refused write (a 4xx or 5xx code: a conflict, a create of what exists) counts under
// its resource and code too ("configmaps 409"), so the report tells writes that changed
// something from attempts. Leases are left out: the apiserver renews its own identity
// lease every few seconds whoever else is writing.
func writesFrom(samples []sample) counts {
	w := counts{}
	for _, s := range samples {
		if s.name != "apiserver_request_total" || !slices.Contains(writeVerbs, s.labels["verb"]) ||
			s.labels["resource"] == "leases" {
			continue
		}
		key := s.labels["resource"]
		if sub := s.labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		if code := s.labels["code"]; strings.HasPrefix(code, "4") || strings.HasPrefix(code, "5") {
			key += " " + code
		}
		w[key] += s.value
	}
	return w
}

// reconcilesFrom sums controller_runtime_reconcile_total by controller, whatever the
// result (success, error, requeue).
func reconcilesFrom(samples []sample) counts {
	return sumBy(samples, "controller_runtime_reconcile_total", "controller")
}

// compilesFrom sums orgaccess_compiles_total by result (compiled, reused).
func compilesFrom(samples []sample) counts {
	return sumBy(samples, "orgaccess_compiles_total", "result")
}

// activityMetrics are the manager's metrics activityFrom reads.
var activityMetrics = []string{"controller_runtime_reconcile_total", "orgaccess_compiles_total",
	"orgaccess_unobserved_at_start_total", "orgaccess_deleted_at_start_total"}

// activityFrom reads the manager's activity from its metrics.
func activityFrom(samples []sample) activity {
	return activity{reconciles: reconcilesFrom(samples), compiles: compilesFrom(samples),
		unobserved: sumBy(samples, "orgaccess_unobserved_at_start_total", "queued"),
		deleted:    sumBy(samples, "orgaccess_deleted_at_start_total", "queued")}
}

// sumBy sums the samples of metric name by the value of one label.
func sumBy(samples []sample, name, label string) counts {
	c := counts{}
	for _, s := range samples {
		if s.name == name {
			c[s.labels[label]] += s.value
		}
	}
	return c
}

// activity is what the manager's metrics say it did: reconciles by controller, engine
// compiles made or reused from the compile cache, by result, and the objects it found
// changed since their last reconcile when it started leading and the deletions it saw
// before it led, by how their organizations were queued (ahead of its first pass,
// in_pass).
type activity struct {
	reconciles, compiles, unobserved, deleted counts
}

// since returns what was done after before was taken.
func (a activity) since(before activity) activity {
	return activity{reconciles: a.reconciles.since(before.reconciles), compiles: a.compiles.since(before.compiles),
		unobserved: a.unobserved.since(before.unobserved), deleted: a.deleted.since(before.deleted)}
}

// String gives the reconciles' total and counts, then the compiles', then the
// unobserved objects' and the deletions' when there were any.
func (a activity) String() string {
	s := fmt.Sprintf("%d: %v; compiles %d, reused %d",
		a.reconciles.total(), a.reconciles, int(a.compiles["compiled"]), int(a.compiles["reused"]))
	if a.unobserved.total() > 0 {
		s += fmt.Sprintf("; unobserved at start %d ahead of the first pass, %d in it",
			int(a.unobserved["ahead"]), int(a.unobserved["in_pass"]))
	}
	if a.deleted.total() > 0 {
		s += fmt.Sprintf("; deleted before it led %d ahead of the first pass, %d in it",
			int(a.deleted["ahead"]), int(a.deleted["in_pass"]))
	}
	return s
}

// since returns what was counted after before was taken.
func (w counts) since(before counts) counts {
	d := counts{}
	for k, v := range w {
		if n := v - before[k]; n > 0 {
			d[k] = n
		}
	}
	return d
}

// takeOne removes one count of key: a write of the harness's own.
func (w counts) takeOne(key string) {
	if w[key] > 1 {
		w[key]--
	} else {
		delete(w, key)
	}
}

func (w counts) total() int {
	var t float64
	for _, v := range w {
		t += v
	}
	return int(t)
}

// String lists the counts by key, largest first, e.g. "configmaps 521, organizations/status 521".
func (w counts) String() string {
	if len(w) == 0 {
		return "none"
	}
	keys := slices.SortedFunc(maps.Keys(w), func(a, b string) int {
		if w[a] != w[b] {
			if w[a] > w[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, int(w[k]))
	}
	return strings.Join(parts, ", ")
}
