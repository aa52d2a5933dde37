package v1alpha1

import (
	"strconv"
	"time"
)

// The published access document: for every Organization the operator writes ConfigMap
// access-<organization> (shards access-<organization>-<n> above 900 KiB) with the key
// access.json holding an AccessDocument. docs/document-format.md describes it for
// consumers; AccessIndex (access_index.go) answers Allowed from loaded documents.

const (
	// DocumentKey is the ConfigMap key that holds the JSON document.
	DocumentKey = "access.json"
	// DocumentConfigMapPrefix starts the name of every published ConfigMap.
	DocumentConfigMapPrefix = "access-"
	// OrganizationLabel labels every published ConfigMap with its organization's name.
	OrganizationLabel = "access.orgaccess.dev/organization"
	// ShardLabel labels every published ConfigMap with its shard number (1-based).
	ShardLabel = "access.orgaccess.dev/shard"
	// InvitationLabel labels the RoleBindings an invitation created with its name.
	InvitationLabel = "access.orgaccess.dev/invitation"
	// MaxDocumentBytes is the largest access.json written to one ConfigMap; a larger
	// document is split by user into self-contained shards.
	MaxDocumentBytes = 900 * 1024
)

// DocumentConfigMapName is the name of the ConfigMap holding shard (1-based) of org's
// document: access-<org> for the first (or only) one, access-<org>-<shard> after it.
// Consumers read documents by these names, not by label (docs/document-format.md).
func DocumentConfigMapName(org string, shard int) string {
	if shard <= 1 {
		return DocumentConfigMapPrefix + org
	}
	return DocumentConfigMapPrefix + org + "-" + strconv.Itoa(shard)
}

// AccessDocument is one organization's published access: every user who appears there
// with their status, roles and effective permissions.
// +kubebuilder:object:generate=false
type AccessDocument struct {
	// Organization is the organization's name.
	Organization string `json:"organization"`
	// Path lists the organization's ancestors and itself, root first.
	Path []string `json:"path"`
	// Closure is true when a PermissionTree was present: every permission set then holds
	// the full closure (descendants, implications, wildcards expanded) and a consumer
	// checks by exact membership. When false, a set holds granted paths and patterns and
	// a consumer allows P when the set holds P, an ancestor of P, or a matching pattern.
	Closure bool `json:"closure,omitempty"`
	// Shard is this document's shard number (1-based) when the organization's document
	// is split; 0 when it is not.
	Shard int `json:"shard,omitempty"`
	// Shards, on every shard of a split document, is how many shards exist.
	Shards int `json:"shards,omitempty"`
	// PermissionSets maps a set id to its sorted permissions. Users with identical
	// effective permissions share one set.
	PermissionSets map[string][]string `json:"permissionSets"`
	// Users maps a user's email to their access here.
	Users map[string]DocumentUser `json:"users"`
}

// DocumentUser is one user's access in one organization.
// +kubebuilder:object:generate=false
type DocumentUser struct {
	// Status is the user's status on the platform: New, Active, Blocked, Expired or
	// Rejected. Only Active users hold permissions.
	Status UserPhase `json:"status"`
	// Roles lists, sorted, the roles that grant the user access here.
	Roles []string `json:"roles,omitempty"`
	// PermissionSet is the id of the user's permission set in PermissionSets; set for
	// every Active user, pointing at an empty set when they hold no permission.
	PermissionSet string `json:"permissionSet,omitempty"`
	// Features lists, sorted, the feature flags the user holds here.
	Features []string `json:"features,omitempty"`
	// ValidUntil, when set, is the instant at which what this entry grants changes by
	// time alone: a binding's expiresAt, a deprecated role's removeAfter. The operator
	// publishes a new document then; a consumer that still holds this one at or after
	// ValidUntil must treat the user as holding nothing here (AccessIndex does), so
	// time-bound access ends on time even when the operator is late or down.
	ValidUntil *time.Time `json:"validUntil,omitempty"`
}
