package permissions_test

import (
	"sync"
	"testing"

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

// BenchmarkWholePlatform compiles the 10,101-organization platform and renders every
// organization's document: what the operator does after a restart.
func BenchmarkWholePlatform(b *testing.B) {
	in := fullPlatform()
	now := platformgen.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p := permissions.Compile(in, now)
		bytes := 0
		for _, org := range p.Organizations() {
			doc, _ := p.Document(org)
			for _, s := range doc.Shards {
				bytes += len(s)
			}
		}
		b.ReportMetric(float64(bytes), "doc-bytes")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(in.Bindings)), "ns/binding")
}

// BenchmarkCompile is Compile alone on the whole platform.
func BenchmarkCompile(b *testing.B) {
	in := fullPlatform()
	now := platformgen.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		permissions.Compile(in, now)
	}
}

// BenchmarkDocument renders one customer's document on a compiled platform.
func BenchmarkDocument(b *testing.B) {
	p := permissions.Compile(fullPlatform(), platformgen.Now())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p.Document("customer-42-17")
	}
}
