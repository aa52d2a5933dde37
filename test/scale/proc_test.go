package main

import (
	"os"
	"testing"
)

func TestParseProcStatTakesTheFieldsAfterTheCommand(t *testing.T) {
	// A command with a space and a parenthesis: the fields start after the last ')'.
	line := []byte("4242 (kube (api) x) S 17 4242 17 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 30 0 100 0 0\n")
	st, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.command != "kube (api) x" || st.ppid != 17 || st.cpu != 3.25 {
		t.Errorf("parsed %+v, want command %q, ppid 17, cpu 3.25 s (325 ticks)", st, "kube (api) x")
	}
	if _, err := parseProcStat([]byte("4242 (short) S 1 2")); err == nil {
		t.Error("a truncated line parsed without an error")
	}
}

func TestRunProcessesSampleThisProcess(t *testing.T) {
	p := findRunProcesses(os.Getpid())
	use := p.since(p.sample(), p.sample())
	if len(use.roles) != 2 || use.roles[0] != "manager" || use.roles[1] != "harness" {
		t.Fatalf("roles %v, want the manager and the harness (no control plane is a child of the test)", use.roles)
	}
	if use.seconds["harness"] < 0 {
		t.Errorf("CPU %v: a process's CPU time went back", use.seconds)
	}
	if memAvailable() <= 0 {
		t.Error("no MemAvailable read from /proc/meminfo")
	}
}
