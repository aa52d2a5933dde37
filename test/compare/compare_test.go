package compare

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

// The platform and its checks are built once per test binary; each engine is loaded
// the first time a test or benchmark asks for it.
var (
	platformOnce sync.Once
	platform     *Platform
	checks       []Check
	platformErr  error
)

const (
	seed      = 1
	numChecks = 10_000
)

func loadPlatform(tb testing.TB) (*Platform, []Check) {
	tb.Helper()
	platformOnce.Do(func() {
		size, err := Size(os.Getenv("COMPARE_SIZE"))
		if err != nil {
			platformErr = err
			return
		}
		start := time.Now()
		platform, platformErr = NewPlatform(size, seed)
		if platformErr == nil {
			checks = platform.Checks(numChecks, seed)
			tb.Logf("platform: %d organizations, %d bindings (%d grant), %d roles, %d paths; generated and compiled in %v",
				len(platform.Documents), len(platform.Input.Bindings), len(platform.Grants), len(platform.Roles),
				len(platform.Paths), time.Since(start).Round(time.Millisecond))
		}
	})
	if platformErr != nil {
		tb.Fatalf("load platform: %v", platformErr)
	}
	return platform, checks
}

type engines struct {
	once                 sync.Once
	orgaccess            *Orgaccess
	casbin, casbinCached Enforcer
	openfga, openfgaC    *OpenFGA
	err                  error
}

var loaded = map[string]*engines{"orgaccess": {}, "casbin": {}, "openfga": {}}

// load builds one engine family once, logging how long loading took.
func load(tb testing.TB, name string) *engines {
	tb.Helper()
	p, _ := loadPlatform(tb)
	e := loaded[name]
	e.once.Do(func() {
		start := time.Now()
		switch name {
		case "orgaccess":
			e.orgaccess = NewOrgaccess(p)
		case "casbin":
			cp := NewCasbinPolicy(p)
			tb.Logf("casbin: %d p rules, %d g rules", len(cp.Policies), len(cp.Groupings))
			if e.casbin, e.err = NewCasbin(cp, false); e.err == nil {
				e.casbinCached, e.err = NewCasbin(cp, true)
			}
		case "openfga":
			ctx := context.Background()
			if e.openfga, e.err = NewOpenFGA(ctx, p, false); e.err == nil {
				e.openfgaC, e.err = NewOpenFGA(ctx, p, true)
			}
		}
		tb.Logf("%s: loaded in %v", name, time.Since(start).Round(time.Millisecond))
	})
	if e.err != nil {
		tb.Fatalf("load %s: %v", name, e.err)
	}
	return e
}

// TestEnginesAgree asks every engine a sample of the benchmark's checks and requires
// the same answer as orgaccess's published documents, so the benchmarks compare engines
// answering the same question.
func TestEnginesAgree(t *testing.T) {
	p, all := loadPlatform(t)
	sample := all[:2_000]
	if testing.Short() {
		sample = all[:200]
	}
	o := load(t, "orgaccess").orgaccess
	allowed := 0
	for _, c := range sample {
		if o.Allowed(c) {
			allowed++
		}
	}
	// A sample that is all allowed or all refused would prove nothing about agreement.
	if allowed == 0 || allowed == len(sample) {
		t.Fatalf("orgaccess allows %d of %d sampled checks; want a mix", allowed, len(sample))
	}
	t.Logf("orgaccess allows %d of %d sampled checks on %d organizations", allowed, len(sample), len(p.Documents))

	c := load(t, "casbin")
	f := load(t, "openfga")
	ctx := context.Background()
	for _, check := range sample {
		want := o.Allowed(check)
		for name, e := range map[string]Enforcer{"casbin": c.casbin, "casbin-cached": c.casbinCached} {
			got, err := CasbinAllowed(e, check)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got != want {
				t.Errorf("%s says %v for %+v; orgaccess says %v", name, got, check, want)
			}
		}
		for name, e := range map[string]*OpenFGA{"openfga": f.openfga, "openfga-cached": f.openfgaC} {
			got, err := e.Allowed(ctx, check)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got != want {
				t.Errorf("%s says %v for %+v; orgaccess says %v", name, got, check, want)
			}
		}
	}
}

// BenchmarkCheck runs the same random checks against each engine; one op is one check.
// The cached engines first answer every check once, so they are measured warm: the
// best case for a cache.
func BenchmarkCheck(b *testing.B) {
	_, all := loadPlatform(b)
	b.Run("orgaccess", func(b *testing.B) {
		o := load(b, "orgaccess").orgaccess
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			o.Allowed(all[i%len(all)])
			i++
		}
	})
	casbinBench := func(cached bool) func(b *testing.B) {
		return func(b *testing.B) {
			c := load(b, "casbin")
			e := c.casbin
			if cached {
				e = c.casbinCached
				for _, check := range all {
					if _, err := CasbinAllowed(e, check); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := CasbinAllowed(e, all[i%len(all)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		}
	}
	b.Run("casbin", casbinBench(false))
	b.Run("casbin-cached", casbinBench(true))
	openFGABench := func(cached bool) func(b *testing.B) {
		return func(b *testing.B) {
			f := load(b, "openfga")
			e := f.openfga
			ctx := context.Background()
			if cached {
				e = f.openfgaC
				for _, check := range all {
					if _, err := e.Allowed(ctx, check); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := e.Allowed(ctx, all[i%len(all)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		}
	}
	b.Run("openfga", openFGABench(false))
	b.Run("openfga-cached", openFGABench(true))
}
