package permissions_test

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

var (
	fullOnce sync.Once
	fullIn   permissions.Input
)

// fullPlatform is the scale target, generated once per test binary.
func fullPlatform() permissions.Input {
	fullOnce.Do(func() { fullIn = platformgen.Generate(platformgen.Full(), 1) })
	return fullIn
}

// cpuTime is the CPU time this process has used, all threads. With GOMAXPROCS=1 it is
// the time on one core, and unlike wall time it does not grow when the machine is
// shared; benchmarks report it as cpu-ns/op beside ns/op.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs f b.N times and reports its CPU time per op.
func measure(b *testing.B, f func()) {
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkWholePlatform compiles the 10,101-organization platform and renders every
// organization's document: what the operator does after a restart.
func BenchmarkWholePlatform(b *testing.B) {
	in := fullPlatform()
	now := platformgen.Now()
	bytes := 0
	measure(b, func() {
		p := permissions.Compile(in, now)
		bytes = 0
		for _, org := range p.Organizations() {
			doc, _ := p.Document(org)
			for _, s := range doc.Shards {
				bytes += len(s)
			}
		}
	})
	b.ReportMetric(float64(bytes), "doc-bytes")
}

// BenchmarkCompile is Compile alone on the whole platform; it also reports the heap the
// compiled platform keeps, per binding.
func BenchmarkCompile(b *testing.B) {
	in := fullPlatform()
	now := platformgen.Now()
	var p *permissions.Platform
	measure(b, func() { p = permissions.Compile(in, now) })
	b.StopTimer()
	p = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p = permissions.Compile(in, now)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(p)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(in.Bindings)), "kept-B/binding")
}

// BenchmarkCompileShuffled is Compile on the whole platform listed in no order, as the
// Role controller's snapshot gathers it from an informer's store (a Go map): the
// engine sorts each kind by name itself.
func BenchmarkCompileShuffled(b *testing.B) {
	in := fullPlatform()
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := permissions.Input{
		Organizations: shuffledCopy(rng, in.Organizations), Trees: in.Trees, Roles: in.Roles,
		Bindings: shuffledCopy(rng, in.Bindings), Invitations: shuffledCopy(rng, in.Invitations),
	}
	now := platformgen.Now()
	measure(b, func() { permissions.Compile(shuffled, now) })
}

// shuffledCopy is a copy of s in random order.
func shuffledCopy[T any](rng *rand.Rand, s []T) []T {
	c := slices.Clone(s)
	rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return c
}

// BenchmarkRoles computes every role's result on the compiled 10,101-organization
// platform: with Roles, as the Role controller's snapshot does (usedBy cut at 20, as
// the API keeps it), or with one Role call per role.
func BenchmarkRoles(b *testing.B) {
	in := fullPlatform()
	p := permissions.Compile(in, platformgen.Now())
	b.Run("Roles", func(b *testing.B) {
		measure(b, func() { p.Roles(20) })
	})
	b.Run("Role", func(b *testing.B) {
		measure(b, func() {
			for _, r := range in.Roles {
				p.Role(r.Name)
			}
		})
	})
}

// BenchmarkDocument renders one customer's document on a compiled platform: the parsed
// document and its bytes (Document), or the bytes alone, as the publisher does (Shards).
func BenchmarkDocument(b *testing.B) {
	p := permissions.Compile(fullPlatform(), platformgen.Now())
	b.Run("Document", func(b *testing.B) {
		measure(b, func() { p.Document("customer-42-17") })
	})
	b.Run("Shards", func(b *testing.B) {
		measure(b, func() { p.Shards("customer-42-17") })
	})
	b.Run("Organization", func(b *testing.B) {
		measure(b, func() { p.Organization("customer-42-17") })
	})
}

// BenchmarkOrganizationRecompute is what a controller does for one organization after
// a change: compile the subset of the platform that organization depends on (see the
// package documentation), then render its document's bytes. Compile compiles the trees and
// roles too; Compiler reuses them from an earlier subset's compile, as the controllers'
// Compiler does for every organization but the first.
func BenchmarkOrganizationRecompute(b *testing.B) {
	sub := permissions.InputFor(fullPlatform(), "customer-42-17")
	now := platformgen.Now()
	b.Run("Compile", func(b *testing.B) {
		measure(b, func() {
			p := permissions.Compile(sub, now)
			p.Shards("customer-42-17")
		})
	})
	b.Run("Compiler", func(b *testing.B) {
		c := permissions.NewCompiler(1)
		c.Compile(permissions.InputFor(fullPlatform(), "customer-1-1"), now).Shards("customer-1-1")
		measure(b, func() {
			p := c.Compile(sub, now)
			p.Shards("customer-42-17")
		})
	})
}
