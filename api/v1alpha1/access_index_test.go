package v1alpha1

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"
)

func TestAccessIndexAllowed(t *testing.T) {
	closure := &AccessDocument{
		Organization: "acme", Path: []string{"acme"}, Closure: true,
		PermissionSets: map[string][]string{
			"s1": {"sales", "sales/checkout", "sales/orders"},
			"s0": {},
		},
		Users: map[string]DocumentUser{
			"alice@acme.example": {Status: UserPhaseActive, PermissionSet: "s1", Features: []string{"beta-preview"}},
			"bob@acme.example":   {Status: UserPhaseActive, PermissionSet: "s0"},
			"carol@acme.example": {Status: UserPhaseNew},
			"dave@acme.example":  {Status: UserPhaseBlocked, Features: []string{"beta-preview"}},
		},
	}
	patterns := &AccessDocument{
		Organization: "acme", Path: []string{"acme"},
		PermissionSets: map[string][]string{
			"p1": {"*/read", "sales"},
			"p2": {"*"},
		},
		Users: map[string]DocumentUser{
			"alice@acme.example": {Status: UserPhaseActive, PermissionSet: "p1"},
			"root@acme.example":  {Status: UserPhaseActive, PermissionSet: "p2"},
			"eve@acme.example":   {Status: UserPhaseExpired, PermissionSet: "p2"},
		},
	}
	tests := []struct {
		doc        *AccessDocument
		user, perm string
		want       bool
	}{
		// closure: exact membership only
		{closure, "alice@acme.example", "sales", true},
		{closure, "alice@acme.example", "sales/checkout", true},
		{closure, "alice@acme.example", "sales/refunds", false}, // not in the closure: not in the tree
		{closure, "alice@acme.example", "quotes", false},
		{closure, "bob@acme.example", "sales", false},   // Active, empty set
		{closure, "carol@acme.example", "sales", false}, // not Active
		{closure, "dave@acme.example", "sales", false},  // blocked
		{closure, "nobody@acme.example", "sales", false},
		{closure, "alice@acme.example", "", false},
		{closure, "Alice@ACME.example", "sales", true}, // the address as typed: its canonical form is listed
		{closure, "Dave@acme.example", "sales", false},
		// patterns: the permission, an ancestor, or a pattern matching either
		{patterns, "alice@acme.example", "sales", true},
		{patterns, "alice@acme.example", "sales/checkout", true}, // ancestor sales
		{patterns, "alice@acme.example", "quotes/read", true},    // */read
		{patterns, "alice@acme.example", "quotes/read/own", true},
		{patterns, "alice@acme.example", "quotes", false}, // */read does not cover its parent
		{patterns, "alice@acme.example", "quotes/write", false},
		{patterns, "alice@acme.example", "salesx", false},
		{patterns, "root@acme.example", "anything/at/all", true},
		{patterns, "eve@acme.example", "anything", false}, // not Active
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s/%s", tt.doc.Closure, tt.user, tt.perm), func(t *testing.T) {
			if got := NewAccessIndex(tt.doc).Allowed(tt.user, tt.perm); got != tt.want {
				t.Errorf("Allowed(%q, %q) = %v, want %v", tt.user, tt.perm, got, tt.want)
			}
		})
	}
	x := NewAccessIndex(closure)
	if !x.HasFeature("alice@acme.example", "beta-preview") || x.HasFeature("bob@acme.example", "beta-preview") ||
		x.HasFeature("dave@acme.example", "beta-preview") || x.HasFeature("alice@acme.example", "other") || !x.HasFeature("ALICE@acme.example", "beta-preview") {
		t.Error("HasFeature: want only Active alice to hold beta-preview")
	}
}

// An entry past its validUntil grants nothing, permissions and features alike, until a
// newer document replaces it; one without validUntil holds at any instant. Allowed and
// HasFeature read the clock.
func TestAccessIndexHonoursValidUntil(t *testing.T) {
	past, future := time.Now().Add(-time.Minute).UTC(), time.Now().Add(time.Hour).UTC()
	raw := fmt.Sprintf(`{"organization":"acme","path":["acme"],"closure":true,"permissionSets":{"s":["sales"]},"users":{`+
		`"lapsed@x.example":{"status":"Active","roles":["r"],"permissionSet":"s","features":["beta"],"validUntil":%q},`+
		`"bounded@x.example":{"status":"Active","roles":["r"],"permissionSet":"s","features":["beta"],"validUntil":%q},`+
		`"open@x.example":{"status":"Active","roles":["r"],"permissionSet":"s","features":["beta"]}}}`,
		past.Format(time.RFC3339Nano), future.Format(time.RFC3339Nano))
	var doc AccessDocument
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	x := NewAccessIndex(&doc)
	for _, tt := range []struct {
		user string
		want bool
	}{{"lapsed@x.example", false}, {"bounded@x.example", true}, {"open@x.example", true}} {
		if got := x.Allowed(tt.user, "sales"); got != tt.want {
			t.Errorf("Allowed(%s) = %v, want %v", tt.user, got, tt.want)
		}
		if got := x.HasFeature(tt.user, "beta"); got != tt.want {
			t.Errorf("HasFeature(%s) = %v, want %v", tt.user, got, tt.want)
		}
	}
	if !x.AllowedAt("bounded@x.example", "sales", future.Add(-time.Nanosecond)) || x.AllowedAt("bounded@x.example", "sales", future) ||
		!x.HasFeatureAt("bounded@x.example", "beta", future.Add(-time.Nanosecond)) || x.HasFeatureAt("bounded@x.example", "beta", future) {
		t.Error("AllowedAt and HasFeatureAt: want the entry to hold before its validUntil and not from it on")
	}
	if !x.AllowedAt("lapsed@x.example", "sales", past.Add(-time.Second)) {
		t.Error("AllowedAt before the lapsed entry's validUntil: want it to hold")
	}
	if !x.AllowedAt("open@x.example", "sales", future.Add(24*time.Hour)) {
		t.Error("an entry without validUntil holds at any instant")
	}
}

// Shards are self-contained; the index merges them.
func TestAccessIndexMergesShards(t *testing.T) {
	one := &AccessDocument{Organization: "acme", Closure: true, Shard: 1, Shards: 2,
		PermissionSets: map[string][]string{"a": {"sales"}},
		Users:          map[string]DocumentUser{"a@x.example": {Status: UserPhaseActive, PermissionSet: "a"}}}
	two := &AccessDocument{Organization: "acme", Closure: true, Shard: 2, Shards: 2,
		PermissionSets: map[string][]string{"b": {"quotes"}},
		Users:          map[string]DocumentUser{"b@x.example": {Status: UserPhaseActive, PermissionSet: "b"}}}
	x := NewAccessIndex(one, two)
	if !x.Allowed("a@x.example", "sales") || !x.Allowed("b@x.example", "quotes") || x.Allowed("a@x.example", "quotes") {
		t.Error("merged shards: want each user's own set")
	}
}

// A document decoded from its JSON works like the value.
func TestAccessIndexFromJSON(t *testing.T) {
	raw := `{"organization":"acme","path":["acme"],"permissionSets":{"x":["*/read"]},"users":{"a@x.example":{"status":"Active","permissionSet":"x"}}}`
	var doc AccessDocument
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	if !NewAccessIndex(&doc).Allowed("a@x.example", "sales/read") {
		t.Error("want */read to allow sales/read")
	}
}

func benchmarkIndex(closure bool) (*AccessIndex, []string) {
	doc := &AccessDocument{Organization: "acme", Closure: closure, PermissionSets: map[string][]string{}, Users: map[string]DocumentUser{}}
	var paths []string
	for a := range 20 {
		for _, leaf := range []string{"", "/read", "/write", "/settings/read"} {
			paths = append(paths, fmt.Sprintf("area-%d%s", a, leaf))
		}
	}
	if closure {
		doc.PermissionSets["big"] = paths
	} else {
		doc.PermissionSets["big"] = []string{"*/read", "area-3", "area-7/settings"}
	}
	var users []string
	for u := range 1000 {
		email := fmt.Sprintf("user-%d@customer-%d.example", u, u%100)
		users = append(users, email)
		doc.Users[email] = DocumentUser{Status: UserPhaseActive, PermissionSet: "big"}
	}
	return NewAccessIndex(doc), users
}

// benchmarkAllowed reports, beside ns/op, the process's CPU time per look-up: on a
// shared machine wall time grows with the load and CPU time much less. The look-ups
// cycle through the permissions given.
func benchmarkAllowed(b *testing.B, closure bool, permissions ...string) {
	x, users := benchmarkIndex(closure)
	b.ReportAllocs()
	start := cpuTime()
	i := 0
	for b.Loop() {
		x.Allowed(users[i%len(users)], permissions[i%len(permissions)])
		i++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mixed are look-ups of every kind: allowed by an ancestor, by a pattern, by the path
// itself, and refused early or only after every check.
var mixed = []string{"area-7/settings/read", "area-12/read", "area-3/write", "area-17/settings/read", "area-7/other/read"}

func BenchmarkAllowedClosure(b *testing.B)  { benchmarkAllowed(b, true, mixed...) }
func BenchmarkAllowedPatterns(b *testing.B) { benchmarkAllowed(b, false, mixed...) }

// BenchmarkAllowedPatternsWorst is a refusal that takes every check: the permission's
// first segment is a granted path's, so each ancestor is looked up, then each pattern.
func BenchmarkAllowedPatternsWorst(b *testing.B) { benchmarkAllowed(b, false, "area-7/other/read") }

// LoadAccessIndex takes exactly one organization's whole document and refuses the rest,
// so that a workload fails closed: another organization's document (access-x-2 being
// shard 2 of x), missing or repeated shards, an unsplit document with a stray one.
func TestLoadAccessIndexTakesOneOrganizationsWholeDocument(t *testing.T) {
	user := map[string]DocumentUser{"alice@acme.example": {Status: UserPhaseActive, PermissionSet: "s"}}
	sets := map[string][]string{"s": {"sales"}}
	doc := func(org string, shard, shards int) *AccessDocument {
		return &AccessDocument{Organization: org, Shard: shard, Shards: shards, Users: user, PermissionSets: sets}
	}
	for _, tt := range []struct {
		name string
		docs []*AccessDocument
		ok   bool
	}{
		{"one unsplit document", []*AccessDocument{doc("acme", 0, 0)}, true},
		{"every shard, any order", []*AccessDocument{doc("acme", 2, 2), doc("acme", 1, 2)}, true},
		{"another organization's document", []*AccessDocument{doc("acme-2", 0, 0)}, false},
		{"another organization's shard", []*AccessDocument{doc("acme", 1, 2), doc("acme-x", 2, 2)}, false},
		{"a missing shard", []*AccessDocument{doc("acme", 1, 3), doc("acme", 3, 3)}, false},
		{"a shard twice", []*AccessDocument{doc("acme", 1, 2), doc("acme", 1, 2)}, false},
		{"shards disagreeing on their number", []*AccessDocument{doc("acme", 1, 2), doc("acme", 2, 3)}, false},
		{"an unsplit document and a stray one", []*AccessDocument{doc("acme", 0, 0), doc("acme", 2, 2)}, false},
		{"a shard out of range", []*AccessDocument{doc("acme", 1, 2), doc("acme", 3, 2)}, false},
		{"nothing", nil, false},
		{"nil", []*AccessDocument{nil}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x, err := LoadAccessIndex("acme", tt.docs...)
			if tt.ok && (err != nil || !x.Allowed("alice@acme.example", "sales")) {
				t.Errorf("LoadAccessIndex = %v, %v; want an index allowing alice", x, err)
			}
			if !tt.ok && (err == nil || x != nil) {
				t.Errorf("LoadAccessIndex = %v, %v; want it refused", x, err)
			}
		})
	}
}
