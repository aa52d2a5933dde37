package v1alpha1

// Condition types.
const (
	// ConditionReady is True when the object is valid and its effects are published.
	ConditionReady = "Ready"
	// ConditionDeprecated is True on a deprecated Role and on bindings to it.
	ConditionDeprecated = "Deprecated"
	// ConditionInUse is True on a Role or UserInvitation whose deletion waits until
	// nothing uses it (a role's bindings, invitations and including or replacing roles;
	// an invitation's user's other bindings). It is set only while a deletion waits.
	ConditionInUse = "InUse"
)

// Reasons shared by every kind.
const (
	// ReasonReconciled: the object is valid and its effects are published.
	ReasonReconciled = "Reconciled"
)

// Organization reasons.
const (
	ReasonParentNotFound   = "ParentNotFound"
	ReasonInvalidNesting   = "InvalidNesting"
	ReasonInCycle          = "InCycle"
	ReasonAncestorNotReady = "AncestorNotReady"
	ReasonPublishFailed    = "PublishFailed"
	// ReasonPermissionsTooLarge: a user's permissions are larger than a document can
	// hold; the document lists them holding nothing.
	ReasonPermissionsTooLarge = "PermissionsTooLarge"
)

// PermissionTree reasons.
const (
	ReasonDuplicatePath      = "DuplicatePath"
	ReasonUnknownImplication = "UnknownImplication"
	ReasonMissingParent      = "MissingParent"
)

// Role reasons.
const (
	ReasonUnknownPermission      = "UnknownPermission"
	ReasonIncludeCycle           = "IncludeCycle"
	ReasonIncludeNotFound        = "IncludeNotFound"
	ReasonIncludeNotReady        = "IncludeNotReady"
	ReasonReplacementNotFound    = "ReplacementNotFound"
	ReasonDeprecated             = "Deprecated"
	ReasonRemoved                = "Removed"
	ReasonInUse                  = "InUse"
	ReasonNotInUse               = "NotInUse"
	ReasonAssignableRoleNotFound = "AssignableRoleNotFound"
)

// RoleBinding reasons.
const (
	ReasonRoleNotFound         = "RoleNotFound"
	ReasonOrganizationNotFound = "OrganizationNotFound"
	ReasonRoleNotApplicable    = "RoleNotApplicable"
	ReasonRoleNotReady         = "RoleNotReady"
	ReasonSubjectBlocked       = "SubjectBlocked"
	ReasonExpired              = "Expired"
	// ReasonInvitationNotActive means the binding belongs to a UserInvitation that is not
	// Active (or no longer exists); it grants nothing until the invitation is Active.
	ReasonInvitationNotActive = "InvitationNotActive"
	// ReasonRoleNotGranted means the binding belongs to a UserInvitation whose grant does
	// not cover what the binding says: its role, its user, its organization, or, for a
	// grant in the organization only, the organization's subtree.
	ReasonRoleNotGranted = "RoleNotGranted"
)

// UserInvitation reasons.
const (
	ReasonPending           = "Pending"
	ReasonAccepted          = "Accepted"
	ReasonBlocked           = "Blocked"
	ReasonDelegationRefused = "DelegationRefused"
	// ReasonBindingNameTaken means a RoleBinding the invitation should own has a name
	// another RoleBinding already holds (one not created by the invitation): the
	// invitation grants nothing through that role until it is renamed or deleted.
	ReasonBindingNameTaken = "BindingNameTaken"
)
