package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// cgroupMemoryFiles are where a container's memory limit is read from: cgroup v2, then v1.
var cgroupMemoryFiles = []string{
	"/sys/fs/cgroup/memory.max",
	"/sys/fs/cgroup/memory/memory.limit_in_bytes",
}

// noLimitAbove is the value cgroup v1 reports for "no limit" (close to the largest
// int64, rounded down to the page size); anything from here up is no limit.
const noLimitAbove = int64(1) << 62

// softMemoryLimit returns the Go runtime's soft memory limit for a container: ratio of
// the cgroup's memory limit, read from the first of files that exists. ok is false when
// there is no limit to follow: GOMEMLIMIT is set (the runtime already honours it), ratio
// is 0, or the process runs without a cgroup memory limit.
//
// Without a soft limit the heap grows to twice what is live before the collector runs
// (GOGC=100), and on a large platform the live heap is gigabytes: a manager whose limit
// is under twice its live heap would be killed for garbage it was about to collect.
func softMemoryLimit(files []string, ratio float64) (limit int64, ok bool, err error) {
	if os.Getenv("GOMEMLIMIT") != "" || ratio <= 0 {
		return 0, false, nil
	}
	if ratio > 1 {
		return 0, false, fmt.Errorf("--memory-limit-ratio %v: must be between 0 and 1", ratio)
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("read the memory limit: %w", err)
		}
		value := strings.TrimSpace(string(raw))
		if value == "max" {
			return 0, false, nil
		}
		bytes, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("read the memory limit from %s: %w", path, err)
		}
		if bytes <= 0 || bytes >= noLimitAbove {
			return 0, false, nil
		}
		return int64(float64(bytes) * ratio), true, nil
	}
	return 0, false, nil
}
