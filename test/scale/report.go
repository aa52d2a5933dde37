package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orgaccess/orgaccess/test/platformgen"
)

// print writes the results table: what was measured, the writes the apiserver counted,
// and the target beside each figure.
func (r *results) print(out io.Writer, o options, size platformgen.Size) {
	if r == nil {
		return
	}
	fmt.Fprintf(out, "\norgaccess scale run, %s UTC\n", time.Now().UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(out, "platform: -size=%s seed %d: %d organizations, %d bindings, %d users, %d roles, %d tree paths, %d documents\n",
		o.size, o.seed, r.organizations, r.bindings, r.users, size.Roles, size.TreePaths, r.documents)
	fmt.Fprintf(out, "machine:  %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Fprintf(out, "load:     %s at the start, %s at the end (1, 5, 15 min)\n", r.loadBefore, loadAverage())
	fmt.Fprintf(out, "manager:  %s (floor writer: %d workers, same QPS and burst)\n", strings.Join(o.managerFlags(), " "), o.limits.workers)
	if o.managerEnv != "" {
		fmt.Fprintf(out, "manager environment: %s\n", o.managerEnv)
	}
	fmt.Fprintf(out, "applied the platform in %v (%d writes, not measured)\n\n", r.apply.Round(time.Millisecond), r.applyWrites)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	row("measure", "result", "writes (manager)", "target")
	row("-------", "------", "----------------", "------")
	if r.floor > 0 {
		row("floor: plain writer creates every ConfigMap", dur(r.floor), fmt.Sprint(r.documents)+r.floorBackground.note(), "")
	}
	if r.readFloor > 0 {
		row("read floor: plain cache of the platform syncs", dur(r.readFloor), "0", "")
	}
	if r.cold > 0 {
		ratio := float64(r.cold) / float64(r.floor)
		row("cold: every document published", fmt.Sprintf("%s = %.2f x floor", dur(r.cold), ratio),
			fmt.Sprintf("%d: %v", r.coldWrites.total(), r.coldWrites)+r.coldBackground.note(), "<= 1.25 x floor")
		if r.coldReady > 0 {
			start := dur(r.coldReady)
			if r.readFloor > 0 {
				start = fmt.Sprintf("%s = %.2f x read floor", start, float64(r.coldReady)/float64(r.readFloor))
			}
			row("cold: of which the manager's start (/readyz)", start, "", "")
			row("cold: of which publishing (start to last document)", fmt.Sprintf("%s = %.2f x floor", dur(r.cold-r.coldReady), float64(r.cold-r.coldReady)/float64(r.floor)), "", "")
		}
		if r.readFloor > 0 {
			both := r.readFloor + r.floor
			row("cold ÷ (read floor + floor)", fmt.Sprintf("%.2f (%s)", float64(r.cold)/float64(both), dur(both)), "", "")
		}
		if r.idleWrites != nil { // nil: the run ended before the wait did
			row("cold: manager idle", idleDur(r.coldIdle, o), fmt.Sprintf("%d: %v", r.idleWrites.total(), r.idleWrites), "")
			row("cold: reconciles by then", r.coldRuns.String(), "", "")
		}
	}
	if r.restartReady > 0 {
		row("restart: Ready (/readyz)", dur(r.restartReady), "", "")
		if r.restartWrites != nil {
			row("restart: manager idle", idleDur(r.restartIdle, o), fmt.Sprintf("%d: %v", r.restartWrites.total(), r.restartWrites), "0 writes")
			row("restart: reconciles by then", r.restartRuns.String(), "", "")
		}
	}
	targets := map[string]string{
		"one binding added": "<= 1 s; ConfigMap writes = documents changed",
		"user blocked":      "<= 2 s",
	}
	for _, inc := range r.incrementals {
		writes := fmt.Sprintf("%d: %v", inc.writes.total(), inc.writes)
		if inc.busy {
			writes += " (manager busy with other work)"
		}
		latency := dur(inc.latency)
		if inc.changedDocs > 1 && inc.first > 0 {
			latency += fmt.Sprintf(" (first document %s)", dur(inc.first))
		}
		row(fmt.Sprintf("%s (%d documents change)", inc.name, inc.changedDocs), latency, writes, targets[inc.name])
		row("  reconciles from the write to idle", inc.runs.String(), "", "")
		if inc.deletion > 0 {
			row("  the deleted binding's documents published (the last)", dur(inc.deletion), "", "")
		}
		if inc.leaseTaken > 0 {
			row("  Lease taken by the standby", dur(inc.leaseTaken), "", "")
		}
		if inc.idle > 0 {
			row("  new leader idle", dur(inc.idle), "", "")
		}
		if len(inc.cpu.roles) > 0 {
			row("  CPU from the write to the last document", inc.cpu.String(), fmt.Sprintf("memory available at the write: %s", gib(inc.memAvailable))+inc.background.note(), "")
		}
	}
	if r.peakHeap > 0 {
		row("manager peak heap in use", fmt.Sprintf("%s = %.2f KiB per binding", mib(r.peakHeap), r.peakHeap/1024/float64(r.bindings)), r.peakHeapWhen, "<= 2 KiB per binding")
		if r.liveHeap > 0 {
			row("manager heap live when idle after the cold start", fmt.Sprintf("%s = %.2f KiB per binding", mib(r.liveHeap), r.liveHeap/1024/float64(r.bindings)), "allocated after a collection (-pprof)", "")
		}
		row("manager peak RSS", mib(r.peakRSS), "", "")
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "scale: print results:", err)
	}
	for _, inc := range r.incrementals {
		fmt.Fprintf(out, "  %s: %s\n", inc.name, inc.change)
	}
}

func dur(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// idleDur is a time to idle, or says it was not reached within -idle-timeout.
func idleDur(d time.Duration, o options) string {
	if d == 0 {
		return "not idle after " + o.idleTimeout.String()
	}
	return dur(d)
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

func gib(b float64) string { return fmt.Sprintf("%.1f GiB", b/(1<<30)) }

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAverage is the machine's 1, 5 and 15 minute load: the harness shares the machine,
// and timings mean little without it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
