package permissions

import (
	"time"
)

// Platform is a compiled, immutable view of one platform at one instant.
type Platform struct{}

// Compile builds the platform's indexes. It never fails: every problem of the input
// becomes a condition on the object at fault.
func Compile(in Input, now time.Time) *Platform {
	panic("permissions: Compile not implemented yet")
}

// Organizations returns the names of every organization, sorted.
func (p *Platform) Organizations() []string { panic("not implemented yet") }

// Organization returns the result for one Organization.
func (p *Platform) Organization(name string) (OrganizationResult, bool) {
	panic("not implemented yet")
}

// Tree returns the result for one PermissionTree.
func (p *Platform) Tree(name string) (TreeResult, bool) { panic("not implemented yet") }

// Role returns the result for one Role.
func (p *Platform) Role(name string) (RoleResult, bool) { panic("not implemented yet") }

// Binding returns the result for one RoleBinding.
func (p *Platform) Binding(name string) (BindingResult, bool) { panic("not implemented yet") }

// Invitation returns the result for one UserInvitation.
func (p *Platform) Invitation(name string) (InvitationResult, bool) {
	panic("not implemented yet")
}

// Document computes one organization's published document.
func (p *Platform) Document(org string) (PublishedDocument, bool) {
	panic("not implemented yet")
}

// Explain says whether user holds permission in org, and why.
func (p *Platform) Explain(user, org, permission string) Explanation {
	panic("not implemented yet")
}

// NextChange returns the earliest instant after now at which some result changes by
// time alone (invitation expiry, binding expiry, a deprecated role's removeAfter).
func (p *Platform) NextChange() (time.Time, bool) { panic("not implemented yet") }

// AffectedOrganizations returns, sorted, the organizations whose documents may change
// when the named object changes or is deleted, judged on this platform. Callers union
// the answers of the platform before and after a change.
func (p *Platform) AffectedOrganizations(ref ObjectRef) []string {
	panic("not implemented yet")
}
