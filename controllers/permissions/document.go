package permissions

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// docUser is one user of an organization's document.
type docUser struct {
	user   int32
	status v1alpha1.UserPhase
	grants *grantSet // Active users only
	// validUntil is when what the user's bindings grant here changes by time alone;
	// nil: never. The entry's JSON is then grants.entry with the field added as it is
	// written (appendUserEntry), not a copy per user. A pointer into one array per
	// document: a document lists up to thousands of users, and few have one.
	validUntil *time.Time
}

// grantSet is what a combination of roles grants, rendered once per platform and shared
// by every user who holds that combination anywhere.
type grantSet struct {
	roles    []string // sorted names
	features []string
	set      *permissionSet
	entry    []byte // the JSON of an Active DocumentUser holding exactly these roles
	// withheld is the size of what these roles grant when it is too large for any
	// document (maxGrantBytes): the set and features are then left out, and the user
	// holds nothing (withhold). 0 otherwise.
	withheld int
}

// maxGrantBytes is the largest user entry and permission set a document lists: a shard
// holds at least one user whole, with the document's header (its path, at most 8
// names), the email and a validUntil, all within v1alpha1.MaxDocumentBytes.
const maxGrantBytes = v1alpha1.MaxDocumentBytes - 4<<10

// permissionSet is one distinct set of permissions, with its content-derived id.
type permissionSet struct {
	id    string
	paths []string
	json  []byte // the JSON array of paths
}

// orgUsers lists the users of organization o's document, sorted by email: everyone
// with a binding or invitation at o, or at an ancestor whose grant reaches o (Subtree
// bindings; invitations reach the whole subtree), with their status and, when Active,
// what their Ready bindings reaching o grant. Without grants it leaves out what they
// grant and until when (grants and validUntil): the status alone, for counting users.
func (p *Platform) orgUsers(o int32, grants bool) []docUser {
	// Each entry packs a user id and a role id (+1, 0 for "appears, grants nothing"),
	// so one sort groups entries by user, roles sorted within.
	size := len(p.orgs[o].bindings) + len(p.orgs[o].invitations)
	for _, a := range p.orgs[o].ancestors {
		size += len(p.orgs[a].bindings) + len(p.orgs[a].invitations)
	}
	entries := make([]uint64, 0, size)
	var changes map[int32]time.Time // by user: the earliest change of a grant of theirs
	add := func(bindings, invitations []int32, inherited bool) {
		for _, bi := range bindings {
			b := &p.bindings[bi]
			if (inherited && !b.subtree) || b.owner == refMissing {
				continue // None bindings stay where they are; orphans are on their way out
			}
			role := uint64(0)
			if b.grants && grants {
				role = uint64(b.role) + 1
				if next := p.grantChange(b); !next.at.IsZero() {
					if changes == nil {
						changes = map[int32]time.Time{}
					}
					if c, ok := changes[b.user]; !ok || next.at.Before(c) {
						changes[b.user] = next.at
					}
				}
			}
			entries = append(entries, uint64(b.user)<<32|role)
		}
		for _, ii := range invitations {
			entries = append(entries, uint64(p.invites[ii].user)<<32)
		}
	}
	for _, a := range p.orgs[o].ancestors {
		add(p.orgs[a].bindings, p.orgs[a].invitations, true)
	}
	add(p.orgs[o].bindings, p.orgs[o].invitations, false)
	slices.Sort(entries)
	entries = slices.Compact(entries)

	users := make([]docUser, 0, len(entries))
	var bounds []time.Time // validUntil of the users that have one; never grows past len(changes)
	if len(changes) > 0 {
		bounds = make([]time.Time, 0, len(changes))
	}
	roles := make([]int32, 0, 8)
	for k := 0; k < len(entries); {
		u := int32(entries[k] >> 32)
		roles = roles[:0]
		for ; k < len(entries) && int32(entries[k]>>32) == u; k++ {
			if r := int32(entries[k]); r > 0 {
				roles = append(roles, r-1)
			}
		}
		du := docUser{user: u, status: p.statusIn(u, o)}
		if du.status == v1alpha1.UserPhaseActive && grants {
			du.grants = p.grantSetOf(roles)
			if c, ok := changes[u]; ok && len(roles) > 0 {
				bounds = append(bounds, c.UTC()) // the same bytes wherever the operator runs
				du.validUntil = &bounds[len(bounds)-1]
			}
		}
		users = append(users, du)
	}
	return users
}

// documentUser is the user's DocumentUser.
func (u docUser) documentUser() v1alpha1.DocumentUser {
	du := v1alpha1.DocumentUser{Status: u.status}
	if u.grants != nil {
		du.Roles, du.PermissionSet, du.Features = u.grants.roles, u.grants.set.id, u.grants.features
	}
	if u.validUntil != nil {
		until := *u.validUntil // the parsed document's own copy
		du.ValidUntil = &until
	}
	return du
}

// statusIn is a user's status as shown in organization o: Blocked when any of their
// invitations is blocked; Active when one is Active or a binding managed outside names
// them; else the phase of their invitation into o or an ancestor (New before Expired
// before Rejected), or of any of their invitations when none reaches o.
func (p *Platform) statusIn(u, o int32) v1alpha1.UserPhase {
	us := &p.users[u]
	switch {
	case us.blocked:
		return v1alpha1.UserPhaseBlocked
	case us.active:
		return v1alpha1.UserPhaseActive
	}
	best, bestReaching := v1alpha1.UserPhase(""), v1alpha1.UserPhase("")
	for _, ii := range us.invitations {
		inv := &p.invites[ii]
		best = morePromising(best, inv.phase)
		if inv.org >= 0 && p.inSubtree(o, inv.org) {
			bestReaching = morePromising(bestReaching, inv.phase)
		}
	}
	if bestReaching != "" {
		return bestReaching
	}
	if best != "" {
		return best
	}
	return v1alpha1.UserPhaseNew
}

func morePromising(a, b v1alpha1.UserPhase) v1alpha1.UserPhase {
	rank := func(p v1alpha1.UserPhase) int {
		return slices.Index([]v1alpha1.UserPhase{"", v1alpha1.UserPhaseRejected, v1alpha1.UserPhaseExpired, v1alpha1.UserPhaseNew}, p)
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// grantSetOf returns the rendered grants of a sorted combination of roles.
func (p *Platform) grantSetOf(roles []int32) *grantSet {
	var key []byte
	if len(roles) > 0 {
		key = unsafe.Slice((*byte)(unsafe.Pointer(&roles[0])), len(roles)*4)
	}
	p.cache.mu.RLock()
	g, ok := p.cache.byRoles[string(key)]
	p.cache.mu.RUnlock()
	if ok {
		return g
	}
	grant := newBitset(p.universe.size())
	feat := newBitset(len(p.features.items))
	g = &grantSet{roles: make([]string, len(roles))}
	for k, r := range roles {
		g.roles[k] = p.roles[r].name
		grant.or(p.roles[r].grant)
		feat.or(p.roles[r].grantFeat)
	}
	g.features = p.renderFeatures(feat)
	g.set = p.permissionSetOf(grant)
	g.entry = encodeUser(nil, v1alpha1.DocumentUser{
		Status: v1alpha1.UserPhaseActive, Roles: g.roles, PermissionSet: g.set.id, Features: g.features,
	})
	if size := len(g.set.json) + len(g.entry); size > maxGrantBytes {
		p.withhold(g, size)
	}
	p.cache.mu.Lock()
	if existing, ok := p.cache.byRoles[string(key)]; ok {
		g = existing
	} else {
		p.cache.byRoles[string(key)] = g
	}
	p.cache.mu.Unlock()
	return g
}

// permissionSetOf returns the rendered permission set of a grant.
func (p *Platform) permissionSetOf(grant bitset) *permissionSet {
	if !p.universe.closure {
		// Grants that differ only in covered patterns are the same set.
		grant = p.universe.reduce(grant)
	}
	c := &p.catalog.sets
	c.mu.RLock()
	s, ok := c.bySet[string(grant.key())]
	c.mu.RUnlock()
	if ok {
		return s
	}
	paths := p.universe.render(grant)
	s = &permissionSet{id: PermissionSetID(paths), paths: paths, json: encodeStrings(nil, paths)}
	c.mu.Lock()
	if existing, ok := c.bySet[string(grant.key())]; ok {
		s = existing
	} else {
		c.bySet[string(grant.key())] = s
	}
	c.mu.Unlock()
	return s
}

// withhold makes g grant nothing: what its roles grant, size bytes rendered, is larger
// than any document shard can hold, and a shard the API server refuses would stop the
// organization's document from following any change (a block, a deleted binding). The
// user is listed Active with the roles and the empty set (fail closed), and the
// document names them (withheldOf) for the organization to say so.
func (p *Platform) withhold(g *grantSet, size int) {
	g.withheld = size
	g.features = nil
	g.set = p.permissionSetOf(newBitset(p.universe.size()))
	g.entry = encodeUser(nil, v1alpha1.DocumentUser{Status: v1alpha1.UserPhaseActive, Roles: g.roles, PermissionSet: g.set.id})
}

// withheldOf lists, by email, the users of a document whose permissions it withholds.
func (p *Platform) withheldOf(users []docUser) []WithheldUser {
	var out []WithheldUser
	for _, u := range users {
		if u.grants != nil && u.grants.withheld > 0 {
			out = append(out, WithheldUser{Email: p.users[u.user].email, Bytes: u.grants.withheld})
		}
	}
	return out
}

// PermissionSetID is the id of a permission set: the first 12 hex digits of the SHA-256
// of its sorted paths, each followed by a newline. It depends on the set's content only,
// so a set keeps its id when other users change.
func PermissionSetID(sortedPaths []string) string {
	h := sha256.New()
	for _, path := range sortedPaths {
		h.Write([]byte(path))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Document computes one organization's published document. The parsed document shares
// its lists with the platform's cache of rendered sets: treat it as read-only.
func (p *Platform) Document(org string) (PublishedDocument, bool) {
	o, ok := p.orgIndex[org]
	if !ok {
		return PublishedDocument{}, false
	}
	users := p.orgUsers(o, true)
	doc := &v1alpha1.AccessDocument{
		Organization:   org,
		Path:           slices.Clone(p.orgs[o].path),
		Closure:        p.universe.closure,
		PermissionSets: map[string][]string{},
		Users:          make(map[string]v1alpha1.DocumentUser, len(users)),
	}
	for _, u := range users {
		if u.grants != nil {
			doc.PermissionSets[u.grants.set.id] = u.grants.set.paths
		}
		doc.Users[p.users[u.user].email] = u.documentUser()
	}
	return PublishedDocument{Document: doc, Shards: p.encodeShards(o, users), Withheld: p.withheldOf(users)}, true
}

// Shards returns the bytes Document publishes for org (its PublishedDocument.Shards)
// and the users it withholds (Withheld), without building the parsed document, which a
// publisher does not read. Each shard is a new buffer the caller owns: the Platform
// keeps no reference to it and never writes to it again.
func (p *Platform) Shards(org string) ([][]byte, []WithheldUser, bool) {
	o, ok := p.orgIndex[org]
	if !ok {
		return nil, nil, false
	}
	users := p.orgUsers(o, true)
	return p.encodeShards(o, users), p.withheldOf(users), true
}

// encodeShards renders the document's bytes: one document, or, above
// v1alpha1.MaxDocumentBytes, self-contained shards of consecutive users (sorted by
// email), each holding the permission sets its users use, numbered from 1, every shard
// saying how many there are.
func (p *Platform) encodeShards(o int32, users []docUser) [][]byte {
	whole := p.encodeDocument(o, users, 0, 0)
	if len(whole) <= v1alpha1.MaxDocumentBytes {
		return [][]byte{whole}
	}
	// Greedy split on an upper bound of each shard's size; the bound counts the
	// header with room for shard numbers, each user's entry and each set's first use.
	header := len(p.encodeDocument(o, nil, 0, 0)) + len(`,"shard":9999999,"shards":9999999`)
	var parts [][]docUser
	start, size := 0, header
	seen := map[*permissionSet]bool{}
	for k, u := range users {
		add := len(quote(nil, p.users[u.user].email)) + 2 + userEntryLen(u)
		if u.grants != nil && !seen[u.grants.set] {
			add += len(quote(nil, u.grants.set.id)) + 2 + len(u.grants.set.json)
		}
		if size+add > v1alpha1.MaxDocumentBytes && k > start {
			parts = append(parts, users[start:k])
			start, size = k, header
			clear(seen)
			add = len(quote(nil, p.users[u.user].email)) + 2 + userEntryLen(u)
			if u.grants != nil {
				add += len(quote(nil, u.grants.set.id)) + 2 + len(u.grants.set.json)
			}
		}
		if u.grants != nil {
			seen[u.grants.set] = true
		}
		size += add
	}
	parts = append(parts, users[start:])
	shards := make([][]byte, len(parts))
	for k, part := range parts {
		shards[k] = p.encodeDocument(o, part, k+1, len(parts))
	}
	return shards
}

// appendUserEntry appends the JSON of one user's DocumentUser: the entry rendered for
// their status or combination of roles, with their validUntil when they have one, as
// encodeUser writes it (the field comes last).
func appendUserEntry(buf []byte, u docUser) []byte {
	if u.grants == nil {
		return append(buf, statusEntries[u.status]...)
	}
	if u.validUntil == nil {
		return append(buf, u.grants.entry...)
	}
	buf = append(buf, u.grants.entry[:len(u.grants.entry)-1]...) // without its '}'
	return appendValidUntil(buf, *u.validUntil)
}

// userEntryLen is the length of what appendUserEntry appends.
func userEntryLen(u docUser) int {
	if u.grants == nil {
		return len(statusEntries[u.status])
	}
	if u.validUntil == nil {
		return len(u.grants.entry)
	}
	var b [64]byte
	return len(u.grants.entry) - 1 + len(appendValidUntil(b[:0], *u.validUntil))
}

var statusEntries = func() map[v1alpha1.UserPhase][]byte {
	m := map[v1alpha1.UserPhase][]byte{}
	for _, s := range []v1alpha1.UserPhase{v1alpha1.UserPhaseNew, v1alpha1.UserPhaseActive, v1alpha1.UserPhaseBlocked, v1alpha1.UserPhaseExpired, v1alpha1.UserPhaseRejected} {
		m[s] = encodeUser(nil, v1alpha1.DocumentUser{Status: s})
	}
	return m
}()

// encodeDocument writes exactly what encoding/json writes for the AccessDocument of
// these users, and a trailing newline; the tests hold it to that. Writing it directly
// from pre-encoded user entries and permission sets is what lets a whole platform's
// documents render in well under a second.
func (p *Platform) encodeDocument(o int32, users []docUser, shard, shards int) []byte {
	var sets []*permissionSet
	for _, u := range users {
		if u.grants != nil {
			sets = append(sets, u.grants.set)
		}
	}
	slices.SortFunc(sets, func(a, b *permissionSet) int { return strings.Compare(a.id, b.id) })
	sets = slices.CompactFunc(sets, func(a, b *permissionSet) bool { return a.id == b.id })
	// Size the buffer exactly (names need no escaping, the common case), so a large
	// document is allocated once.
	size := 128 + len(p.orgs[o].name)
	for _, name := range p.orgs[o].path {
		size += len(name) + 3
	}
	for _, s := range sets {
		size += len(s.id) + 4 + len(s.json)
	}
	for _, u := range users {
		size += len(p.users[u.user].email) + 4 + userEntryLen(u)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"organization":`...)
	buf = quote(buf, p.orgs[o].name)
	buf = append(buf, `,"path":`...)
	buf = encodeStrings(buf, p.orgs[o].path)
	if p.universe.closure {
		buf = append(buf, `,"closure":true`...)
	}
	if shard != 0 {
		buf = append(buf, `,"shard":`...)
		buf = appendInt(buf, shard)
	}
	if shards != 0 {
		buf = append(buf, `,"shards":`...)
		buf = appendInt(buf, shards)
	}
	buf = append(buf, `,"permissionSets":{`...)
	for k, s := range sets {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = quote(buf, s.id)
		buf = append(buf, ':')
		buf = append(buf, s.json...)
	}
	buf = append(buf, `},"users":{`...)
	for k, u := range users {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = quote(buf, p.users[u.user].email)
		buf = append(buf, ':')
		buf = appendUserEntry(buf, u)
	}
	return append(buf, "}}\n"...)
}
