package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// sample is one line of the Prometheus text format: a metric name, its labels and value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the Prometheus text exposition format, keeping the samples whose
// name is one of names. Both the apiserver and the manager serve it; a parser this
// small spares the harness a dependency.
func parseMetrics(r io.Reader, names ...string) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		labelText := ""
		if rest != "" {
			var ok bool
			if labelText, rest, ok = cutLabels(rest); !ok {
				return nil, fmt.Errorf("malformed metric line %q", line)
			}
		} else {
			name, rest, _ = strings.Cut(line, " ")
		}
		if !slices.Contains(names, name) {
			continue
		}
		valueText, _, _ := strings.Cut(strings.TrimSpace(rest), " ") // drop a timestamp
		value, err := strconv.ParseFloat(valueText, 64)
		if err != nil {
			return nil, fmt.Errorf("metric line %q: %w", line, err)
		}
		labels, err := parseLabels(labelText)
		if err != nil {
			return nil, fmt.Errorf("metric line %q: %w", line, err)
		}
		out = append(out, sample{name: name, labels: labels, value: value})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// cutLabels splits `a="x",b="y"} 1` at the closing brace that is outside quotes.
func cutLabels(s string) (labels, rest string, ok bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == '}' && !quoted:
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func parseLabels(s string) (map[string]string, error) {
	labels := map[string]string{}
	for s != "" {
		key, rest, ok := strings.Cut(s, "=")
		if !ok || !strings.HasPrefix(rest, `"`) {
			return nil, fmt.Errorf("malformed labels %q", s)
		}
		var value strings.Builder
		i := 1
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				switch rest[i] {
				case 'n':
					value.WriteByte('\n')
					continue
				}
			}
			value.WriteByte(rest[i])
		}
		if i == len(rest) {
			return nil, fmt.Errorf("unterminated label value in %q", s)
		}
		labels[strings.TrimSpace(key)] = value.String()
		s = strings.TrimPrefix(rest[i+1:], ",")
	}
	return labels, nil
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

// activity is what the manager's metrics say it did: reconciles by controller, and
// engine compiles made or reused from the compile cache, by result.
type activity struct {
	reconciles, compiles counts
}

// since returns what was done after before was taken.
func (a activity) since(before activity) activity {
	return activity{reconciles: a.reconciles.since(before.reconciles), compiles: a.compiles.since(before.compiles)}
}

// String gives the reconciles' total and counts, then the compiles'.
func (a activity) String() string {
	return fmt.Sprintf("%d: %v; compiles %d, reused %d",
		a.reconciles.total(), a.reconciles, int(a.compiles["compiled"]), int(a.compiles["reused"]))
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
