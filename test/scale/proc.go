package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Where an incremental step's time goes when the manager is not the one busy: the CPU
// each process of the run used from the write to the last document, and the memory
// the machine had left. A step whose manager profile shows it mostly waiting (the
// full-size block on 2026-12-02: 0.16 of a core for 13.5 s) is then told apart: an API
// server or etcd at full cores, the harness itself, or a machine short of memory
// (the API server's resident memory grows past 13 GB on the full platform, on a 24 GiB
// machine).

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// procStat is what the run reads of /proc/<pid>/stat.
type procStat struct {
	command string
	ppid    int
	cpu     float64 // user + system, seconds
}

// parseProcStat parses one /proc/<pid>/stat line. The command is in parentheses and
// may itself hold spaces and parentheses: the fields are those after its last ')'.
func parseProcStat(line []byte) (procStat, error) {
	open, end := bytes.IndexByte(line, '('), bytes.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("no command in %q", line)
	}
	fields := strings.Fields(string(line[end+1:]))
	// fields[0] is field 3 of proc(5): state; ppid is field 4, utime 14, stime 15.
	if len(fields) < 13 {
		return procStat{}, fmt.Errorf("%d fields after the command in %q", len(fields), line)
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return procStat{}, fmt.Errorf("ppid in %q: %w", line, err)
	}
	var ticks float64
	for _, f := range fields[11:13] {
		t, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("CPU time in %q: %w", line, err)
		}
		ticks += t
	}
	return procStat{command: string(line[open+1 : end]), ppid: ppid, cpu: ticks / clockTicks}, nil
}

func readProcStat(pid int) (procStat, error) {
	line, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(line)
}

// runProcesses are the processes of a run by role: the manager, the harness, and the
// envtest control plane it started (children of the harness named kube-apiserver and
// etcd; none when -kubeconfig names a cluster elsewhere).
type runProcesses struct {
	roles []string // in report order
	pids  map[string]int
}

func findRunProcesses(managerPID int) runProcesses {
	p := runProcesses{pids: map[string]int{}}
	add := func(role string, pid int) {
		p.roles = append(p.roles, role)
		p.pids[role] = pid
	}
	add("manager", managerPID)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, command := range []string{"kube-apiserver", "etcd"} {
		for _, path := range stats {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			if err != nil {
				continue
			}
			if st, err := readProcStat(pid); err == nil && st.ppid == os.Getpid() && st.command == command {
				add(command, pid)
				break
			}
		}
	}
	add("harness", os.Getpid())
	return p
}

// cpuSample is each process's CPU seconds at one instant; a process gone is left out.
type cpuSample map[string]float64

func (p runProcesses) sample() cpuSample {
	s := cpuSample{}
	for role, pid := range p.pids {
		if st, err := readProcStat(pid); err == nil {
			s[role] = st.cpu
		}
	}
	return s
}

// cpuUse is the CPU seconds each process used between two samples, in report order.
type cpuUse struct {
	roles   []string
	seconds map[string]float64
}

func (p runProcesses) since(before, after cpuSample) cpuUse {
	u := cpuUse{seconds: map[string]float64{}}
	for _, role := range p.roles {
		b, okB := before[role]
		a, okA := after[role]
		if okB && okA {
			u.roles = append(u.roles, role)
			u.seconds[role] = a - b
		}
	}
	return u
}

func (u cpuUse) String() string {
	parts := make([]string, 0, len(u.roles))
	for _, role := range u.roles {
		parts = append(parts, fmt.Sprintf("%s %.2f s", role, u.seconds[role]))
	}
	return strings.Join(parts, ", ")
}

// memAvailable is the machine's MemAvailable in bytes, from /proc/meminfo; 0 when
// unknown.
func memAvailable() float64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
