package v1alpha1

import (
	"fmt"
	"strings"
	"time"
)

// AccessIndex answers authorization questions from one organization's published
// documents: load every shard's access.json, decode each into an AccessDocument, and
// pass them all to LoadAccessIndex. Look-ups do not allocate.
// +kubebuilder:object:generate=false
type AccessIndex struct {
	closure bool
	users   map[string]indexedUser
}

type indexedUser struct {
	active   bool
	set      *indexedSet
	features []string
	// validUntil is the entry's DocumentUser.ValidUntil; nil when it has none. A
	// pointer keeps the map's values small: every look-up copies one.
	validUntil *time.Time
}

// current says whether the entry still holds at now; a zero now is the present, read
// from the clock only for an entry that has a validUntil.
func (u indexedUser) current(now time.Time) bool {
	if u.validUntil == nil {
		return true
	}
	if now.IsZero() {
		now = time.Now()
	}
	return now.Before(*u.validUntil)
}

// indexedSet is one permission set, ready for look-ups.
type indexedSet struct {
	paths map[string]struct{}
	// patterns are the members with a "*" segment, split (pattern sets only).
	patterns [][]string
	// firstSegments has bit firstSegmentBit(s) set for the first segment s of every
	// path. A permission and all its ancestors share their first segment, so when its
	// bit is clear no path can allow it and the map look-ups are skipped.
	firstSegments uint64
}

// firstSegmentBit hashes (FNV-1a) a permission's first segment to one of 64 bits.
func firstSegmentBit(permission string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(permission) && permission[i] != '/'; i++ {
		h ^= uint64(permission[i])
		h *= 1099511628211
	}
	return 1 << (h % 64)
}

// LoadAccessIndex indexes organization org's documents, after checking that they are
// exactly that organization's document: every one names org, and either there is one
// document that is not split, or every shard 1..shards is there once and all agree on
// how many there are. It refuses anything else, so that a workload fails closed
// instead of authorizing from another organization's document (ConfigMap
// access-x-2 is shard 2 of organization x when x is split, not organization x-2's
// document), from a partial set of shards, or from a stray ConfigMap that carries
// the organization's label.
func LoadAccessIndex(org string, docs ...*AccessDocument) (*AccessIndex, error) {
	if len(docs) == 0 || docs[0] == nil {
		return nil, fmt.Errorf("no document for organization %s", org)
	}
	shards := docs[0].Shards
	seen := make(map[int]bool, len(docs))
	for _, doc := range docs {
		switch {
		case doc == nil:
			return nil, fmt.Errorf("organization %s: a nil document", org)
		case doc.Organization != org:
			return nil, fmt.Errorf("a document of organization %q is not organization %s's", doc.Organization, org)
		case doc.Shards != shards:
			return nil, fmt.Errorf("organization %s: documents disagree on the number of shards (%d and %d)", org, shards, doc.Shards)
		case shards == 0 && len(docs) > 1:
			return nil, fmt.Errorf("organization %s: %d documents, and the first is not split", org, len(docs))
		case shards > 0 && (doc.Shard < 1 || doc.Shard > shards || seen[doc.Shard]):
			return nil, fmt.Errorf("organization %s: shard %d of %d is out of range or given twice", org, doc.Shard, shards)
		}
		seen[doc.Shard] = true
	}
	if shards > 0 && len(seen) != shards {
		return nil, fmt.Errorf("organization %s: %d of its %d shards", org, len(seen), shards)
	}
	return NewAccessIndex(docs...), nil
}

// NewAccessIndex indexes one organization's documents; pass every shard. Each shard is
// self-contained, so their permission sets merge by id. It trusts what it is given:
// LoadAccessIndex checks that the documents are one organization's, whole.
func NewAccessIndex(docs ...*AccessDocument) *AccessIndex {
	idx := &AccessIndex{users: map[string]indexedUser{}}
	for _, doc := range docs {
		if doc == nil {
			continue
		}
		idx.closure = idx.closure || doc.Closure
		sets := make(map[string]*indexedSet, len(doc.PermissionSets))
		for id, paths := range doc.PermissionSets {
			s := &indexedSet{paths: make(map[string]struct{}, len(paths))}
			for _, p := range paths {
				if !doc.Closure && strings.Contains(p, "*") {
					s.patterns = append(s.patterns, strings.Split(p, "/"))
					continue
				}
				s.paths[p] = struct{}{}
				s.firstSegments |= firstSegmentBit(p)
			}
			sets[id] = s
		}
		for email, u := range doc.Users {
			entry := indexedUser{
				active:   u.Status == UserPhaseActive,
				set:      sets[u.PermissionSet],
				features: u.Features,
			}
			if u.ValidUntil != nil {
				until := *u.ValidUntil // the index's own copy: the document may change
				entry.validUntil = &until
			}
			idx.users[email] = entry
		}
	}
	return idx
}

// Allowed reports whether user holds permission now: only Active users hold anything,
// and a user whose entry is past its ValidUntil holds nothing until a newer document
// is loaded. With a PermissionTree the documents hold closures and membership decides;
// without one, the user's set must hold the permission, one of its ancestors, or a
// pattern ("*" matching one segment) that matches either. The user is looked up by the
// canonical form of the address (Email.Canonical), the form documents list, so an
// address as the user typed it at sign-in ("Alice@Acme.example") finds their entry.
func (x *AccessIndex) Allowed(user, permission string) bool {
	return x.AllowedAt(user, permission, time.Time{})
}

// AllowedAt is Allowed at the instant now (the zero time: the present).
func (x *AccessIndex) AllowedAt(user, permission string, now time.Time) bool {
	u, ok := x.users[user]
	if !ok { // the documents list canonical addresses; a canonical one is found at once
		u, ok = x.users[string(Email(user).Canonical())]
	}
	if !ok || !u.active || u.set == nil || permission == "" || !u.current(now) {
		return false
	}
	if x.closure {
		_, ok := u.set.paths[permission]
		return ok
	}
	if u.set.firstSegments&firstSegmentBit(permission) != 0 {
		if _, ok := u.set.paths[permission]; ok {
			return true
		}
		for i := range len(permission) {
			if permission[i] == '/' {
				if _, ok := u.set.paths[permission[:i]]; ok {
					return true
				}
			}
		}
	}
	for _, pattern := range u.set.patterns {
		if patternMatchesPrefix(pattern, permission) {
			return true
		}
	}
	return false
}

// patternMatchesPrefix reports whether pattern matches permission or one of its
// ancestors: its segments match the permission's first segments.
func patternMatchesPrefix(pattern []string, permission string) bool {
	rest := permission
	for k, seg := range pattern {
		if rest == "" && k > 0 {
			return false // the permission has fewer segments than the pattern
		}
		next, after, found := strings.Cut(rest, "/")
		if seg != "*" && seg != next {
			return false
		}
		rest = after
		if !found {
			rest = ""
			if k < len(pattern)-1 {
				return false
			}
		}
	}
	return true
}

// HasFeature reports whether an Active user holds a feature flag now (not past their
// entry's ValidUntil, and looked up by the canonical address, as Allowed).
func (x *AccessIndex) HasFeature(user, feature string) bool {
	return x.HasFeatureAt(user, feature, time.Time{})
}

// HasFeatureAt is HasFeature at the instant now (the zero time: the present).
func (x *AccessIndex) HasFeatureAt(user, feature string, now time.Time) bool {
	u, ok := x.users[user]
	if !ok { // the documents list canonical addresses; a canonical one is found at once
		u, ok = x.users[string(Email(user).Canonical())]
	}
	if !ok || !u.active || !u.current(now) {
		return false
	}
	for _, f := range u.features {
		if f == feature {
			return true
		}
	}
	return false
}
