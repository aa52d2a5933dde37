package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	uzap "go.uber.org/zap"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// logLikeAReconcile logs through l as a reconcile does: controller-runtime's values
// for the controller and the request, then the reconciler's own lines. Every line is
// logged from here, so that both loggers report the same caller.
func logLikeAReconcile(l logr.Logger) {
	l = l.WithName("rolebinding").WithValues("controller", "rolebinding", "controllerKind", "RoleBinding")
	l = l.WithValues("RoleBinding", map[string]string{"name": "b", "namespace": "billing"}, "namespace", "billing", "name", "b")
	l = l.WithValues("reconcileID", "0f1e")
	l.Info("published", "documents", 3)
	l.V(1).Info("not written at the default level")
	l.WithName("status").WithValues("attempt", 2).Error(errors.New("conflict"), "patch failed")
}

// zapLines is what logLikeAReconcile writes through a production zap logger, wrapped
// by wrap, each line decoded, without its timestamp.
func zapLines(t *testing.T, wrap func(logr.Logger) logr.Logger) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	l := zap.New(zap.WriteTo(&out), zap.UseDevMode(false), zap.RawZapOpts(uzap.AddCaller()))
	logLikeAReconcile(wrap(l))
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		delete(m, "ts")
		lines = append(lines, m)
	}
	return lines
}

func TestDeferredValuesWriteTheSameLines(t *testing.T) {
	// Both from this one line, so that the stack traces match too.
	var plainAndDeferred [2][]map[string]any
	for i, wrap := range []func(logr.Logger) logr.Logger{func(l logr.Logger) logr.Logger { return l }, deferValues} {
		plainAndDeferred[i] = zapLines(t, wrap)
	}
	want, got := plainAndDeferred[0], plainAndDeferred[1]
	if len(want) != 2 {
		t.Fatalf("zap wrote %d lines, want the info and the error line: %v", len(want), want)
	}
	if _, ok := want[0]["caller"]; !ok {
		t.Fatalf("no caller in %v: the test would not see a wrong call depth", want[0])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deferred values change the log lines (-plain +deferred):\n%s", diff)
	}
}

// countingSink records what reaches it.
type countingSink struct {
	withValues *int
	values     []any
	lines      *[][]any
	enabled    int
}

func (countingSink) Init(logr.RuntimeInfo)    {}
func (s countingSink) Enabled(level int) bool { return level <= s.enabled }
func (s countingSink) Info(_ int, msg string, kv ...any) {
	*s.lines = append(*s.lines, append(append([]any{msg}, s.values...), kv...))
}
func (s countingSink) Error(_ error, msg string, kv ...any) { s.Info(0, msg, kv...) }
func (s countingSink) WithName(string) logr.LogSink         { return s }
func (s countingSink) WithValues(kv ...any) logr.LogSink {
	*s.withValues++
	s.values = append(append([]any{}, s.values...), kv...)
	return s
}

func TestDeferredValuesReachTheSinkOnlyWhenALineIsWritten(t *testing.T) {
	var calls int
	var lines [][]any
	l := deferValues(logr.New(countingSink{withValues: &calls, lines: &lines}))

	parent := l.WithValues("controller", "rolebinding")
	a := parent.WithValues("name", "a")
	b := parent.WithValues("name", "b")
	a.V(1).Info("disabled")
	if calls != 0 || len(lines) != 0 {
		t.Fatalf("after WithValues and a disabled line: %d WithValues calls and lines %v reached the sink, want none", calls, lines)
	}

	a.Info("one", "k", 1)
	b.Error(errors.New("x"), "two")
	want := [][]any{
		{"one", "controller", "rolebinding", "name", "a", "k", 1},
		{"two", "controller", "rolebinding", "name", "b"},
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if calls != 2 {
		t.Errorf("WithValues reached the sink %d times, want once per written line (2)", calls)
	}
}

// BenchmarkReconcileLogger is the logger work of one reconcile that writes nothing:
// controller-runtime's per-request values and reconcile ID on a production zap logger.
func BenchmarkReconcileLogger(b *testing.B) {
	for _, bb := range []struct {
		name string
		wrap func(logr.Logger) logr.Logger
	}{
		{"zap", func(l logr.Logger) logr.Logger { return l }},
		{"deferred", deferValues},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var out bytes.Buffer
			l := bb.wrap(zap.New(zap.WriteTo(&out), zap.UseDevMode(false)))
			l = l.WithValues("controller", "rolebinding", "controllerGroup", "access.orgaccess.dev", "controllerKind", "RoleBinding")
			b.ReportAllocs()
			for b.Loop() {
				r := l.WithValues("RoleBinding", "billing/b", "namespace", "billing", "name", "b")
				r = r.WithValues("reconcileID", "0f1e")
				r.V(1).Info("not written")
			}
			if out.Len() != 0 {
				b.Fatalf("wrote %q", out.String())
			}
		})
	}
}
