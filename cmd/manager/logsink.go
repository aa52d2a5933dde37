package main

import "github.com/go-logr/logr"

// deferValues returns l with WithValues made lazy: the key/value pairs are kept and
// handed to l's sink only when a message is logged at an enabled level.
//
// controller-runtime adds values to the logger of every reconcile (the object's
// namespace and name, a reconcile ID) and puts it in the context. With zap each
// WithValues clones the encoder and encodes the values into a fresh 1 KiB buffer, so
// a platform of 300,000 objects made about 2 KiB of garbage per reconcile for lines
// that, at the default level, are almost never written (docs/performance-log.md). A
// message that is written reads exactly as before: the wrapped sink gets the same
// values, names and call depth, in the same order.
func deferValues(l logr.Logger) logr.Logger {
	sink := l.GetSink()
	if sink == nil {
		return l
	}
	// The wrapped sink was initialized by its own logger; deferredSink's methods are
	// one more frame between the caller and it.
	if cd, ok := sink.(logr.CallDepthLogSink); ok {
		sink = cd.WithCallDepth(1)
	}
	return logr.New(deferredSink{sink: sink})
}

// deferredSink is the logr.LogSink of deferValues: sink with values not yet given to
// it.
type deferredSink struct {
	sink   logr.LogSink
	values []any
}

var (
	_ logr.LogSink          = deferredSink{}
	_ logr.CallDepthLogSink = deferredSink{}
)

// Init does nothing: the wrapped sink was initialized when its logger was made.
func (deferredSink) Init(logr.RuntimeInfo) {}

func (d deferredSink) Enabled(level int) bool { return d.sink.Enabled(level) }

func (d deferredSink) Info(level int, msg string, keysAndValues ...any) {
	d.withValues().Info(level, msg, keysAndValues...)
}

func (d deferredSink) Error(err error, msg string, keysAndValues ...any) {
	d.withValues().Error(err, msg, keysAndValues...)
}

// WithValues keeps keysAndValues after the values already kept, in a slice of its own
// so that loggers derived from the same parent do not share one.
func (d deferredSink) WithValues(keysAndValues ...any) logr.LogSink {
	values := make([]any, 0, len(d.values)+len(keysAndValues))
	values = append(append(values, d.values...), keysAndValues...)
	return deferredSink{sink: d.sink, values: values}
}

// WithName names the wrapped sink at once: names and values are independent in a log
// line, and naming is cheap.
func (d deferredSink) WithName(name string) logr.LogSink {
	return deferredSink{sink: d.sink.WithName(name), values: d.values}
}

func (d deferredSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := d.sink.(logr.CallDepthLogSink); ok {
		return deferredSink{sink: cd.WithCallDepth(depth), values: d.values}
	}
	return d
}

// withValues is the wrapped sink with the kept values given to it.
func (d deferredSink) withValues() logr.LogSink {
	if len(d.values) == 0 {
		return d.sink
	}
	return d.sink.WithValues(d.values...)
}
