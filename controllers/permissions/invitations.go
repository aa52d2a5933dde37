package permissions

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// defaultExpiresAfter is how long an invitation may be accepted when it does not say.
const defaultExpiresAfter = 168 * time.Hour

// invitation is one UserInvitation, resolved.
type invitation struct {
	name      string
	user      int32
	org       int32 // refMissing when the organization does not exist
	orgName   string
	roles     []string   // spec.roles, or the organization's defaultRoles (once granted, the recorded grant); sorted
	defaulted bool       // spec.roles is empty: the organization's defaultRoles apply
	invitedBy int32      // user id; refNone when trusted (no invitedBy)
	accepted  bool       // accepted in time: spec.acceptedAt before expiresAt
	late      *time.Time // spec.acceptedAt when it came at or after expiresAt
	acceptsAt *time.Time // spec.acceptedAt when accepted in time but after now: New until then
	blocked   bool
	expiresAt time.Time
	status    *v1alpha1.UserInvitationStatus

	phase           v1alpha1.UserPhase // "" while undecided
	settled         bool               // blocked, or its recorded grant kept: decided whatever the time
	granted         []string
	grantedBy       string
	grantedDefaults bool     // granted are the organization's defaultRoles
	grantedHere     bool     // granted in the organization only (status.grantedInheritance None)
	problem         *problem // why a Rejected invitation was rejected
}

// compileInvitations reads the invitations: their roles, their users' platform-wide
// block, and which organization each reaches.
func (p *Platform) compileInvitations(invites []*v1alpha1.UserInvitation) {
	p.invites = make([]invitation, len(invites))
	p.inviteIndex = make(map[string]int32, len(invites))
	for i, in := range invites {
		id := int32(i)
		p.inviteIndex[in.Name] = id
		inv := &p.invites[i]
		*inv = invitation{
			name:      in.Name,
			user:      p.userID(in.Spec.Email),
			org:       refMissing,
			orgName:   string(in.Spec.OrganizationRef.Name),
			invitedBy: p.userID(in.Spec.InvitedBy),
			blocked:   in.Spec.Blocked,
			expiresAt: expiry(in),
			accepted:  acceptedInTime(in),
			status:    &in.Status,
		}
		if at := in.Spec.AcceptedAt; at != nil {
			switch {
			case !inv.accepted:
				inv.late = &at.Time
			case at.After(p.now):
				inv.acceptsAt = &at.Time
			}
		}
		inv.roles = sortedUnique(roleNames(in.Spec.Roles))
		inv.defaulted = len(inv.roles) == 0
		if j, ok := p.orgIndex[inv.orgName]; ok {
			inv.org = j
			p.orgs[j].invitations = append(p.orgs[j].invitations, id)
			if len(inv.roles) == 0 {
				inv.roles = sortedUnique(p.orgs[j].defaultRoles)
			}
		}
		u := &p.users[inv.user]
		u.invitations = append(u.invitations, id)
		u.blocked = u.blocked || inv.blocked
		if inv.invitedBy >= 0 {
			p.users[inv.invitedBy].invited = append(p.users[inv.invitedBy].invited, id)
		}
	}
}

// decideInvitations decides every invitation's phase.
//
// A grant already judged is kept: an invitation whose status says Active (or Blocked)
// with the same roles and invitedBy as now stays granted, whatever the inviter holds
// today. An invitation that names no roles got its organization's defaultRoles when it
// was granted (status.grantedDefaultRoles), and keeps the roles recorded then:
// defaultRoles are what a new member gets, and changing them neither widens nor
// re-judges a grant already made. A recorded grant that was not of defaultRoles (the
// invitation named roles then, or was blocked before any grant) is kept for an
// invitation naming no roles only if it is today's defaultRoles. A grant
// into an organization that no longer exists is not kept: the invitation is judged
// again, and Rejected (OrganizationNotFound), so that it no longer makes its user Active
// anywhere. Other accepted invitations are judged against what their inviters hold, and
// since an inviter's access may itself come from an invitation being judged, they are
// judged repeatedly until no more pass: the least fixpoint, independent of order (a
// grant only ever helps other grants).
func (p *Platform) decideInvitations() {
	var pending []int32
	for i := range p.invites {
		inv := &p.invites[i]
		st := inv.status
		switch {
		case inv.blocked:
			inv.phase = v1alpha1.UserPhaseBlocked
			inv.granted, inv.grantedBy, inv.grantedDefaults = slices.Clone(st.GrantedRoles), st.GrantedBy, st.GrantedDefaultRoles
			inv.grantedHere = !holdsInSubtree(st.GrantedInheritance)
			inv.settled = true
		case inv.accepted && inv.org >= 0 && grantRecordedFor(st, v1alpha1.Email(p.email(inv.invitedBy))) &&
			(inv.defaulted && st.GrantedDefaultRoles || slices.Equal(sortedUnique(st.GrantedRoles), inv.roles)):
			if inv.defaulted {
				inv.roles = sortedUnique(st.GrantedRoles)
			}
			p.grant(inv, !holdsInSubtree(st.GrantedInheritance))
			inv.settled = true
		default:
			pending = append(pending, int32(i))
		}
	}
	for changed := true; changed; {
		changed = false
		for _, i := range pending {
			inv := &p.invites[i]
			if !inv.acceptedNow() || inv.phase != "" {
				continue
			}
			if problem, here := p.judge(inv); problem == nil {
				p.grant(inv, here)
				changed = true
			}
		}
	}
	for _, i := range pending {
		inv := &p.invites[i]
		if inv.phase != "" {
			continue
		}
		if inv.problem, _ = p.judge(inv); inv.problem != nil {
			inv.phase = v1alpha1.UserPhaseRejected
		} else if !p.now.Before(inv.expiresAt) {
			inv.phase = v1alpha1.UserPhaseExpired
		} else {
			inv.phase = v1alpha1.UserPhaseNew
		}
	}
}

// acceptedNow says whether a grant may be judged for inv at the platform's now: it was
// accepted in time, and the acceptance it records is not later than now. An acceptedAt
// in the future is not taken as an acceptance already made (a sign-in service's clock
// ahead of the operator's, or a mistaken edit): the invitation stays New until that
// instant, which NextChange names, and its condition says so. A grant already recorded
// is kept, as decideInvitations keeps every recorded grant.
func (inv *invitation) acceptedNow() bool {
	return inv.accepted && inv.acceptsAt == nil
}

// RecordsGrant says whether an invitation's status phase records a grant that
// decideInvitations keeps: Active, or Blocked. With status.grantedRoles, grantedBy and
// grantedDefaultRoles it is all the engine reads of an invitation's status; the other
// phases (New, Expired, Rejected) are its output only.
func RecordsGrant(phase v1alpha1.UserPhase) bool {
	return phase == v1alpha1.UserPhaseActive || phase == v1alpha1.UserPhaseBlocked
}

// grantRecordedFor says whether st records a grant judged against inviter invitedBy
// (empty: trusted), comparing addresses in their canonical form.
func grantRecordedFor(st *v1alpha1.UserInvitationStatus, invitedBy v1alpha1.Email) bool {
	return RecordsGrant(st.Phase) && v1alpha1.Email(st.GrantedBy).Canonical() == invitedBy.Canonical()
}

// JudgedOnInviter says whether the engine may judge invitation inv against what its
// inviter holds where it invites, so that a subset has to hold every binding of the
// inviter: it names an inviter, is not blocked, and its status does not record the
// grant its spec asks for. It errs towards true: an invitation without roles whose
// recorded grant is not of defaultRoles counts as judged (whether it equals today's
// defaultRoles, which are not looked at here, decides).
func JudgedOnInviter(inv *v1alpha1.UserInvitation) bool {
	return inv.Spec.InvitedBy != "" && !inv.Spec.Blocked && !RecordsItsGrant(inv)
}

// RecordsItsGrant says whether inv's status records the grant its spec asks for, which
// decideInvitations keeps whatever else changes (unless its organization is gone):
// accepted in time, a phase that records a grant, judged against today's invitedBy, of
// the roles it names, or, naming none, of the defaultRoles of its day. It errs towards
// false: a grant of roles recorded before grantedDefaultRoles existed does not count
// (the engine keeps it when it equals today's defaultRoles, which are not looked at
// here). Any other invitation is judged on every compile.
func RecordsItsGrant(inv *v1alpha1.UserInvitation) bool {
	st := &inv.Status
	if !acceptedInTime(inv) || !grantRecordedFor(st, inv.Spec.InvitedBy) {
		return false
	}
	if len(inv.Spec.Roles) == 0 {
		return st.GrantedDefaultRoles
	}
	return slices.Equal(sortedUnique(st.GrantedRoles), sortedUnique(roleNames(inv.Spec.Roles)))
}

// expiry is when an invitation not accepted by then expires: its creation plus
// expiresAfter (168h by default).
func expiry(in *v1alpha1.UserInvitation) time.Time {
	expiresAfter := defaultExpiresAfter
	if in.Spec.ExpiresAfter != nil && in.Spec.ExpiresAfter.Duration > 0 {
		expiresAfter = in.Spec.ExpiresAfter.Duration
	}
	return in.CreationTimestamp.Add(expiresAfter)
}

// acceptedInTime says whether an invitation was accepted before it expired. One
// accepted at or after that instant was not accepted in time: it is Expired
// (DESIGN.md), whatever the sign-in service recorded.
func acceptedInTime(in *v1alpha1.UserInvitation) bool {
	return in.Spec.AcceptedAt != nil && in.Spec.AcceptedAt.Time.Before(expiry(in))
}

// grant makes inv Active with its roles, in its organization only when here.
func (p *Platform) grant(inv *invitation, here bool) {
	inv.phase = v1alpha1.UserPhaseActive
	inv.granted = inv.roles
	inv.grantedBy = p.email(inv.invitedBy)
	inv.grantedDefaults = inv.defaulted
	inv.grantedHere = here
	p.users[inv.user].active = true
}

func (p *Platform) email(u int32) string {
	if u < 0 {
		return ""
	}
	return p.users[u].email
}

// judge checks an invitation's organization, roles and delegation, and returns why it
// must be rejected, or nil and whether the grant holds in the organization only
// (here): the inviter may assign the roles there, but not through bindings that hold
// in its descendants too.
func (p *Platform) judge(inv *invitation) (_ *problem, here bool) {
	if inv.org < 0 {
		return &problem{v1alpha1.ReasonOrganizationNotFound, fmt.Sprintf("organization %s does not exist", inv.orgName)}, false
	}
	var missing []string
	for _, r := range inv.roles {
		if _, ok := p.roleIndex[r]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return &problem{v1alpha1.ReasonRoleNotFound, fmt.Sprintf("role %s does not exist", listOf(missing))}, false
	}
	// A role that may not be bound there would give bindings that grant nothing: the
	// invitation is invalid, and says so instead of showing Active with nothing granted.
	var why []string
	for _, r := range inv.roles {
		ro := &p.roles[p.roleIndex[r]]
		if ro.customOrg == refMissing {
			why = append(why, fmt.Sprintf("role %s is a custom role of %s, which does not exist", r, ro.spec.OrganizationRef.Name))
		} else if msg := p.notApplicable(p.roleIndex[r], inv.org); msg != "" {
			why = append(why, msg)
		}
	}
	if len(why) > 0 {
		return &problem{v1alpha1.ReasonRoleNotApplicable, strings.Join(why, "; ")}, false
	}
	// A role removed for good would give bindings that grant nothing (Removed): the
	// same. A grant recorded before the removal is kept, as every recorded grant is.
	var removed []string
	for _, r := range inv.roles {
		if p.roles[p.roleIndex[r]].removedForGood() {
			removed = append(removed, r)
		}
	}
	if len(removed) > 0 {
		return &problem{v1alpha1.ReasonRemoved, fmt.Sprintf("role %s was removed and has no replacement that grants anything", listOf(removed))}, false
	}
	if inv.invitedBy < 0 {
		return nil, false // trusted: Kubernetes RBAC decided who may create it
	}
	inviter := &p.users[inv.invitedBy]
	if inviter.blocked {
		return &problem{v1alpha1.ReasonDelegationRefused, fmt.Sprintf("inviter %s is blocked on the platform", inviter.email)}, false
	}
	if p.ownsOrAncestor(inv.invitedBy, inv.org) {
		return nil, false
	}
	// The grant's bindings hold in the organization's subtree when the inviter may
	// assign the roles through bindings that do; else in the organization only, when
	// bindings with inheritance None there let them: never where the inviter holds
	// nothing.
	wide, narrowLeftOut := p.heldAt(inv.invitedBy, inv.org, true)
	refused := p.refusedRoles(wide, inv.roles)
	if len(refused) == 0 {
		return nil, false
	}
	if narrowLeftOut { // only then can the organization alone allow more
		all, _ := p.heldAt(inv.invitedBy, inv.org, false)
		if refused = p.refusedRoles(all, inv.roles); len(refused) == 0 {
			return nil, true
		}
	}
	return &problem{v1alpha1.ReasonDelegationRefused, fmt.Sprintf(
		"inviter %s may not assign role %s in organization %s: no role they hold there lists it in assignableRoles (\"*\" covers only Ready roles whose permissions and features they hold, and whose replacements and assignable roles are such roles too)",
		inviter.email, listOf(refused), p.orgs[inv.org].name)}, false
}

// refusedRoles returns the roles, by name, that holding h may not assign.
func (p *Platform) refusedRoles(h holding, roles []string) []string {
	var refused []string
	for _, name := range roles {
		if !h.mayAssign(p, p.roleIndex[name]) {
			refused = append(refused, name)
		}
	}
	return refused
}

// ownsOrAncestor reports whether user u owns organization o or one of its ancestors.
func (p *Platform) ownsOrAncestor(u, o int32) bool {
	if p.orgs[o].owner == u {
		return true
	}
	for _, a := range p.orgs[o].ancestors {
		if p.orgs[a].owner == u {
			return true
		}
	}
	return false
}

// holding is what a user holds in one organization through Ready bindings.
type holding struct {
	grant, feat, assign bitset
	assignAny           bool
}

// heldAt computes what user u holds in organization o, given the invitations' phases
// as decided so far; with subtree, only through bindings that hold in o's descendants
// too, and says whether it left out one that holds in o alone (inheritance None).
func (p *Platform) heldAt(u, o int32, subtree bool) (h holding, leftOut bool) {
	h = holding{grant: newBitset(p.universe.size()), feat: newBitset(len(p.features.items)), assign: newBitset(len(p.roles))}
	for _, bi := range p.users[u].bindings {
		b := &p.bindings[bi]
		if !p.reaches(b, o) || !p.bindingGrants(b) {
			continue
		}
		if subtree && !b.subtree {
			leftOut = true
			continue
		}
		r := &p.roles[b.role]
		h.grant.or(r.grant)
		h.feat.or(r.grantFeat)
		h.assign.or(r.mayAssign)
		h.assignAny = h.assignAny || r.mayAssignAny
	}
	return h, leftOut
}

// mayAssign reports whether a holder may assign role r: a role they hold lists it, or
// lists "*" and r gives nothing they do not hold (wildcardCovers).
func (h holding) mayAssign(p *Platform, r int32) bool {
	return h.assign.has(int(r)) || h.assignAny && h.wildcardCovers(p, r)
}

// wildcardCovers reports whether "*" lets the holder assign role r: r is Ready, they
// hold every permission and feature r grants, and so for every role r leads to that
// they may not assign by name: the roles r's holders may assign, and the replacements
// of r and of every role r includes, whose grants r's bindings take at their
// removeAfter; and so on from those. Without the second part a holder of "*" could
// hand out, within what they hold, a role that lets its holder assign more (a role
// listing "boss" in assignableRoles), or one that becomes more (deprecated, or
// including a role deprecated, in favour of "boss"): never grant more than they hold
// (DESIGN.md). A role that is not Ready grants nothing yet, but what it will grant once
// its problem is fixed (an include created, a cycle broken) is unknown, and the grant
// would stay recorded: it is refused until it is Ready.
func (h holding) wildcardCovers(p *Platform, r int32) bool {
	seen := newBitset(len(p.roles))
	seen.set(int(r))
	queue := []int32{r}
	for len(queue) > 0 {
		ro := &p.roles[queue[0]]
		queue = queue[1:]
		if !ro.ready || !p.universe.within(ro.grant, h.grant) || !ro.grantFeat.subsetOf(h.feat) {
			return false
		}
		next := func(t int) {
			if !seen.has(t) && !h.assign.has(t) {
				seen.set(t)
				queue = append(queue, int32(t))
			}
		}
		ro.mayAssign.each(next)
		ro.held.each(func(i int) {
			if held := &p.roles[i]; held.replacement >= 0 && !held.removed {
				next(int(held.replacement))
			}
		})
	}
	return true
}

// within reports whether everything set a allows, set b allows too.
func (u *universe) within(a, b bitset) bool {
	if u.closure {
		return a.subsetOf(b)
	}
	ok := true
	a.each(func(i int) {
		if !ok || b.has(i) {
			return
		}
		covered := false
		b.each(func(j int) { covered = covered || u.covers[j].has(i) })
		ok = covered
	})
	return ok
}

// reaches reports whether binding b holds in organization o.
func (p *Platform) reaches(b *binding, o int32) bool {
	return b.org >= 0 && (b.org == o || b.subtree && p.inSubtree(o, b.org))
}

// invitationResult renders an invitation's status.
func (p *Platform) invitationResult(i int32) InvitationResult {
	inv := &p.invites[i]
	res := InvitationResult{Phase: inv.phase, GrantedRoles: slices.Clone(inv.granted), GrantedBy: inv.grantedBy,
		GrantedDefaultRoles: inv.grantedDefaults}
	inheritance := v1alpha1.InheritanceSubtree
	if inv.grantedHere {
		res.GrantedInheritance, inheritance = v1alpha1.InheritanceNone, v1alpha1.InheritanceNone
	}
	if !inv.accepted {
		at := inv.expiresAt
		res.ExpiresAt = &at
	}
	email := p.users[inv.user].email
	var c Condition
	switch inv.phase {
	case v1alpha1.UserPhaseActive:
		c = Condition{Type: v1alpha1.ConditionReady, True: true, Reason: v1alpha1.ReasonAccepted,
			Message: fmt.Sprintf("user %s is Active in %s with roles %s", email, inv.orgName, listOrNone(inv.granted))}
		if inv.grantedHere {
			c.Message += fmt.Sprintf(", in %s only: inviter %s holds the roles that let them assign these there only (inheritance None)", inv.orgName, inv.grantedBy)
		}
		for _, r := range inv.granted {
			if _, ok := p.roleIndex[r]; ok {
				res.Bindings = append(res.Bindings, DesiredBinding{
					Name: BindingName(inv.name, r), Email: v1alpha1.Email(email), Role: r, Organization: inv.orgName,
					Inheritance: inheritance,
				})
			}
		}
	case v1alpha1.UserPhaseBlocked:
		c = Condition{Type: v1alpha1.ConditionReady, Reason: v1alpha1.ReasonBlocked,
			Message: fmt.Sprintf("user %s is blocked on the platform", email)}
	case v1alpha1.UserPhaseRejected:
		c = Condition{Type: v1alpha1.ConditionReady, Reason: inv.problem.reason, Message: inv.problem.message}
	case v1alpha1.UserPhaseExpired:
		c = Condition{Type: v1alpha1.ConditionReady, Reason: v1alpha1.ReasonExpired,
			Message: fmt.Sprintf("the invitation of %s into %s was not accepted in time", email, inv.orgName)}
		if inv.late != nil {
			c.Message = fmt.Sprintf("the invitation of %s into %s was accepted at %s, after it expired at %s; renew it by inviting again",
				email, inv.orgName, inv.late.UTC().Format(time.RFC3339), inv.expiresAt.UTC().Format(time.RFC3339))
		}
	default:
		c = Condition{Type: v1alpha1.ConditionReady, Reason: v1alpha1.ReasonPending,
			Message: fmt.Sprintf("waiting for %s to accept the invitation into %s", email, inv.orgName)}
		if inv.acceptsAt != nil {
			c.Message = fmt.Sprintf("the invitation of %s into %s records an acceptance at %s, which is later than now; it counts from then (is the sign-in service's clock ahead?)",
				email, inv.orgName, inv.acceptsAt.UTC().Format(time.RFC3339))
		}
	}
	res.Conditions = []Condition{c}
	return res
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return listOf(names)
}

// BindingName is the name of the RoleBinding that invitation creates for role:
// "<invitation>-<role>", or, when that is not a valid object name (longer than 253
// characters), a prefix of it and a hash of both names, so names stay unique.
func BindingName(invitation, role string) string {
	name := invitation + "-" + role
	if len(name) <= 253 && validObjectName(name) {
		return name
	}
	sum := sha256.Sum256([]byte(invitation + "/" + role))
	suffix := hex.EncodeToString(sum[:])[:10]
	prefix := name[:min(len(name), 253-len(suffix)-1)]
	for len(prefix) > 0 && !isAlnum(prefix[len(prefix)-1]) {
		prefix = prefix[:len(prefix)-1]
	}
	if prefix == "" || !validObjectName(prefix) {
		return "invitation-" + suffix
	}
	return prefix + "-" + suffix
}

// validObjectName reports whether s is a DNS-1123 subdomain: lowercase alphanumeric
// labels of '-' separated by '.', starting and ending alphanumeric.
func validObjectName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || !isAlnum(label[0]) || !isAlnum(label[len(label)-1]) {
			return false
		}
		for k := range len(label) {
			if c := label[k]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
