package v1alpha1

import (
	"strings"
	"time"
)

// AccessIndex answers authorization questions from one organization's published
// documents: load every shard's access.json, decode each into an AccessDocument, and
// pass them all to NewAccessIndex. Look-ups do not allocate.
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

// NewAccessIndex indexes one organization's documents; pass every shard. Each shard is
// self-contained, so their permission sets merge by id.
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
