package controllers

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
	"time"

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
}

type compiled struct {
	platform   *permissions.Platform
	at         time.Time // the now it was compiled for
	validUntil time.Time // its NextChange; zero when time changes nothing
}

// fingerprint identifies an engine input by content.
type fingerprint [2]uint64

func newCompileCache(limit int) *compileCache {
	return &compileCache{entries: map[fingerprint]compiled{}, limit: limit}
}

// compile returns permissions.Compile(in, now), reusing a platform compiled for the same
// input at an earlier instant whose results still hold at now. A nil cache compiles.
func (c *compileCache) compile(in permissions.Input, now time.Time) *permissions.Platform {
	if c == nil {
		return permissions.Compile(in, now)
	}
	key := fingerprintOf(in)
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && !now.Before(e.at) && (e.validUntil.IsZero() || now.Before(e.validUntil)) {
		return e.platform
	}

	p := permissions.Compile(in, now)
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

// fingerprintOf hashes what the engine reads of each object (controllers/permissions
// reads specs, names, a binding's owner references, an invitation's creation time and
// persisted grant, a role's deletion): kind, name, UID and generation (which moves with
// every spec change), plus those. The status the operator writes is left out, so a
// status write does not invalidate the platforms that include the object. Objects are
// hashed one by one and summed, so the cache's listing order does not matter.
func fingerprintOf(in permissions.Input) fingerprint {
	var sum fingerprint
	h := sha256.New()
	add := func(kind, name, uid string, generation int64, extra func(hash.Hash)) {
		h.Reset()
		writeString(h, kind)
		writeString(h, name)
		writeString(h, uid)
		_ = binary.Write(h, binary.LittleEndian, generation)
		if extra != nil {
			extra(h)
		}
		var digest [sha256.Size]byte
		h.Sum(digest[:0])
		sum[0] += binary.LittleEndian.Uint64(digest[0:8])
		sum[1] += binary.LittleEndian.Uint64(digest[8:16])
	}
	for i := range in.Organizations {
		o := &in.Organizations[i]
		add("Organization", o.Name, string(o.UID), o.Generation, nil)
	}
	for i := range in.Trees {
		t := &in.Trees[i]
		add("PermissionTree", t.Name, string(t.UID), t.Generation, nil)
	}
	for i := range in.Roles {
		r := &in.Roles[i]
		add("Role", r.Name, string(r.UID), r.Generation, func(h hash.Hash) {
			writeString(h, boolString(r.DeletionTimestamp != nil))
		})
	}
	for i := range in.Bindings {
		b := &in.Bindings[i]
		add("RoleBinding", b.Name, string(b.UID), b.Generation, func(h hash.Hash) {
			for _, ref := range b.OwnerReferences {
				writeString(h, ref.APIVersion)
				writeString(h, ref.Kind)
				writeString(h, ref.Name)
			}
		})
	}
	for i := range in.Invitations {
		inv := &in.Invitations[i]
		add("UserInvitation", inv.Name, string(inv.UID), inv.Generation, func(h hash.Hash) {
			writeString(h, inv.CreationTimestamp.UTC().Format(time.RFC3339))
			writeString(h, string(inv.Status.Phase))
			writeString(h, inv.Status.GrantedBy)
			for _, r := range inv.Status.GrantedRoles {
				writeString(h, r)
			}
		})
	}
	return sum
}

// writeString writes s length-prefixed, so that consecutive strings cannot run together.
func writeString(h hash.Hash, s string) {
	_ = binary.Write(h, binary.LittleEndian, uint32(len(s)))
	_, _ = h.Write([]byte(s))
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
