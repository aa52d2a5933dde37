package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSoftMemoryLimitFollowsTheCgroup(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	v2 := write("memory.max", "1073741824\n")
	v1 := write("memory.limit_in_bytes", "9223372036854771712\n") // cgroup v1: no limit
	unlimited := write("unlimited", "max\n")
	missing := filepath.Join(dir, "missing")

	cases := []struct {
		name   string
		files  []string
		ratio  float64
		limit  int64
		wantOK bool
	}{
		{"cgroup v2 limit", []string{missing, v2}, 0.9, 966367641, true},
		{"the first file that exists wins", []string{v2, v1}, 0.5, 536870912, true},
		{"cgroup v2 without a limit", []string{unlimited}, 0.9, 0, false},
		{"cgroup v1 without a limit", []string{v1}, 0.9, 0, false},
		{"no cgroup", []string{missing}, 0.9, 0, false},
		{"disabled", []string{v2}, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			limit, ok, err := softMemoryLimit(c.files, c.ratio)
			if err != nil || ok != c.wantOK || limit != c.limit {
				t.Errorf("softMemoryLimit = %d, %v, %v; want %d, %v, nil", limit, ok, err, c.limit, c.wantOK)
			}
		})
	}
}

func TestSoftMemoryLimitLeavesGOMEMLIMITAlone(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "100MiB")
	path := filepath.Join(t.TempDir(), "memory.max")
	if err := os.WriteFile(path, []byte("1073741824"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := softMemoryLimit([]string{path}, 0.9); ok || err != nil {
		t.Errorf("with GOMEMLIMIT set: ok %v, error %v; want the runtime's own limit kept", ok, err)
	}
}

func TestSoftMemoryLimitRefusesBadInput(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	path := filepath.Join(t.TempDir(), "memory.max")
	if err := os.WriteFile(path, []byte("lots"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := softMemoryLimit([]string{path}, 0.9); err == nil {
		t.Error("an unreadable limit gave no error")
	}
	if _, _, err := softMemoryLimit([]string{path}, 1.5); err == nil {
		t.Error("a ratio above 1 gave no error")
	}
}
