package controllers

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// compileCache shares compiled platforms between reconciles that gather the same
// input. The publisher of an organization and the reconcilers of that organization's
// bindings and invitations gather the same subset, and a burst of changes enqueues many
// of them together; one compile serves them all.
//
// A platform is reused only for the same input, judged by what the engine reads of each
// object (fingerprint), and only while the engine's results cannot change by time
// alone: from the instant it was compiled until its NextChange.
type compileCache struct {
	mu      sync.Mutex
	entries map[fingerprint]compiled
	order   []fingerprint // oldest first, for eviction
	limit   int

	// compiled and reused count compiles and reuses (orgaccess_compiles_total).
	compiled, reused prometheus.Counter
}

type compiled struct {
	platform   *permissions.Platform
	at         time.Time // the now it was compiled for
	validUntil time.Time // its NextChange; zero when time changes nothing
}

// fingerprint identifies an engine input by content.
type fingerprint [2]uint64

func newCompileCache(limit int) *compileCache {
	return &compileCache{entries: map[fingerprint]compiled{}, limit: limit, compiled: compilesMade, reused: compilesReused}
}

// compile returns compiler.Compile(in, now), reusing a platform compiled for the same
// input at an earlier instant whose results still hold at now. A nil cache compiles.
func (c *compileCache) compile(in permissions.Input, now time.Time, compiler *permissions.Compiler) *permissions.Platform {
	if c == nil {
		return compileCounted(in, now, compiler)
	}
	key := fingerprintOf(in)
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && !now.Before(e.at) && (e.validUntil.IsZero() || now.Before(e.validUntil)) {
		c.reused.Inc()
		return e.platform
	}

	c.compiled.Inc()
	p := compiler.Compile(in, now)
	e = compiled{platform: p, at: now}
	if next, ok := p.NextChange(); ok {
		e.validUntil = next
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.entries[key]; !exists {
		c.order = append(c.order, key)
	}
	c.entries[key] = e
	for len(c.order) > c.limit {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	return p
}

// compileCounted compiles in at now and counts the compile (orgaccess_compiles_total).
func compileCounted(in permissions.Input, now time.Time, compiler *permissions.Compiler) *permissions.Platform {
	compilesMade.Inc()
	return compiler.Compile(in, now)
}

// fingerprintOf hashes what the engine reads of each object (controllers/permissions
// reads specs, names, a binding's owner references, an invitation's creation time and
// persisted grant, a role's deletion): kind, name, UID and generation (which moves with
// every spec change), plus those. The status the operator writes is left out, so a
// status write does not invalidate the platforms that include the object. Objects are
// hashed one by one and summed, so the cache's listing order does not matter.
func fingerprintOf(in permissions.Input) fingerprint {
	var f fingerprinter
	for _, o := range in.Organizations {
		f.head("Organization", o.Name, string(o.UID), o.Generation)
		f.sum()
	}
	for _, t := range in.Trees {
		f.head("PermissionTree", t.Name, string(t.UID), t.Generation)
		f.sum()
	}
	for _, r := range in.Roles {
		f.head("Role", r.Name, string(r.UID), r.Generation)
		f.bool(r.DeletionTimestamp != nil)
		f.sum()
	}
	for _, b := range in.Bindings {
		f.head("RoleBinding", b.Name, string(b.UID), b.Generation)
		for _, ref := range b.OwnerReferences {
			f.string(ref.APIVersion)
			f.string(ref.Kind)
			f.string(ref.Name)
		}
		f.sum()
	}
	for _, inv := range in.Invitations {
		f.head("UserInvitation", inv.Name, string(inv.UID), inv.Generation)
		f.int(inv.CreationTimestamp.Unix())
		f.string(string(inv.Status.Phase))
		f.string(inv.Status.GrantedBy)
		if inv.Status.GrantedDefaultRoles {
			f.int(1)
		} else {
			f.int(0)
		}
		f.string(string(inv.Status.GrantedInheritance))
		for _, r := range inv.Status.GrantedRoles {
			f.string(r)
		}
		f.sum()
	}
	return f.total
}

// fingerprinter encodes one object at a time into a reused buffer, each string
// length-prefixed so that consecutive strings cannot run together, and adds the
// object's SHA-256 to the total. It allocates only while its buffer grows: a
// reconcile fingerprints hundreds of objects.
type fingerprinter struct {
	buf   []byte
	total fingerprint
}

func (f *fingerprinter) head(kind, name, uid string, generation int64) {
	f.string(kind)
	f.string(name)
	f.string(uid)
	f.int(generation)
}

func (f *fingerprinter) string(s string) {
	f.buf = binary.LittleEndian.AppendUint32(f.buf, uint32(len(s)))
	f.buf = append(f.buf, s...)
}

func (f *fingerprinter) int(n int64) {
	f.buf = binary.LittleEndian.AppendUint64(f.buf, uint64(n))
}

func (f *fingerprinter) bool(b bool) {
	v := byte(0)
	if b {
		v = 1
	}
	f.buf = append(f.buf, v)
}

// sum adds the encoded object to the total and starts the next one.
func (f *fingerprinter) sum() {
	digest := sha256.Sum256(f.buf)
	f.total[0] += binary.LittleEndian.Uint64(digest[0:8])
	f.total[1] += binary.LittleEndian.Uint64(digest[8:16])
	f.buf = f.buf[:0]
}
