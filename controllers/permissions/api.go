package permissions

import (
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// Input is what the engine reads: the objects of one platform, or the subset one
// organization depends on (see the package documentation). Order does not matter, and
// nil entries are skipped.
//
// The engine holds on to the objects, never copying or modifying them: a Platform
// compiled from an Input reads them for as long as it is in use, so the caller must not
// modify them meanwhile. Controllers pass the informer cache's own objects, which the
// cache replaces rather than modifies.
type Input struct {
	Organizations []*v1alpha1.Organization
	Trees         []*v1alpha1.PermissionTree
	Roles         []*v1alpha1.Role
	Bindings      []*v1alpha1.RoleBinding
	Invitations   []*v1alpha1.UserInvitation
}

// Pointers returns pointers to the elements of items, for building an Input from the
// Items of API lists. The elements are not copied.
func Pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// Condition is a status condition the engine decided for an object. Controllers turn it
// into a metav1.Condition stamped with the object's generation. Messages are
// deterministic: sorted, with no times.
type Condition struct {
	Type    string // v1alpha1.ConditionReady, ConditionDeprecated, ...
	True    bool
	Reason  string // a v1alpha1.Reason* constant
	Message string
}

// OrganizationResult is what the engine decided for one Organization.
type OrganizationResult struct {
	Path       []string // ancestors and itself, root first (up to a break, when broken)
	Depth      int32
	Users      v1alpha1.UserCounts
	Conditions []Condition
}

// TreeResult is what the engine decided for one PermissionTree.
type TreeResult struct {
	Paths      int32
	Conditions []Condition
}

// RoleResult is what the engine decided for one Role.
type RoleResult struct {
	Permissions         []string // expanded: own and included roles', sorted
	Features            []string // expanded, sorted
	BoundUsers          int32
	DeprecatedOnlyUsers int32
	UsedBy              []string // "Kind/name" of every Role, RoleBinding and UserInvitation naming it, sorted; cut to the limit given
	Conditions          []Condition
}

// BindingResult is what the engine decided for one RoleBinding.
type BindingResult struct {
	Ready      bool // a binding that is not Ready grants nothing
	Conditions []Condition
}

// DesiredBinding is a RoleBinding an Active invitation should own.
type DesiredBinding struct {
	Name         string // deterministic, a valid object name
	Email        v1alpha1.Email
	Role         string
	Organization string
	Inheritance  v1alpha1.Inheritance // None when the grant holds in the organization only
}

// InvitationResult is what the engine decided for one UserInvitation.
type InvitationResult struct {
	Phase        v1alpha1.UserPhase
	ExpiresAt    *time.Time // when a New invitation expires
	GrantedRoles []string   // roles granted after the delegation check (Active only)
	GrantedBy    string     // the invitedBy the grant was judged against
	// GrantedDefaultRoles: GrantedRoles are the organization's defaultRoles, the
	// invitation naming none.
	GrantedDefaultRoles bool
	// GrantedInheritance is None when the grant holds in the organization only (the
	// inviter may assign the roles there through bindings with inheritance None), else
	// empty.
	GrantedInheritance v1alpha1.Inheritance
	Bindings           []DesiredBinding
	Conditions         []Condition
}

// PublishedDocument is one organization's document, rendered.
type PublishedDocument struct {
	Document *v1alpha1.AccessDocument // the whole document, before any split
	// Shards holds the access.json bytes to publish: one entry, or one per shard when
	// the document is larger than v1alpha1.MaxDocumentBytes. Deterministic bytes.
	Shards [][]byte
	// Withheld are the users whose permissions are too large for any shard: the
	// document lists them holding nothing (withhold). Almost always none.
	Withheld []WithheldUser
}

// WithheldUser is a user whose permissions in an organization are too large for its
// document, and are withheld there.
type WithheldUser struct {
	Email string
	Bytes int // the size of what their roles grant, rendered
}

// Grant explains one way a user holds a permission in an organization.
type Grant struct {
	Binding      string   // the RoleBinding
	Organization string   // where the binding is (the organization or an ancestor)
	Role         string   // the bound role
	IncludeChain []string // bound role, then each included role down to the one granting
	Via          string   // the granted path or pattern that covers the permission
	Implied      []string // implication steps from Via to the permission, if any
	Replacement  string   // the replacement role, when the bound role is past removeAfter
}

// Explanation says whether a user holds a permission in an organization, and why.
type Explanation struct {
	Allowed bool
	Grants  []Grant
	Reason  string // when not allowed: why nothing grants it (blocked, no binding, ...)
}

// ObjectRef names an object of the platform.
type ObjectRef struct {
	Kind string // "Organization", "PermissionTree", "Role", "RoleBinding", "UserInvitation"
	Name string
}
