package permissions

import (
	"slices"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// user is one email address of the platform: a subject, an invitee, an inviter or an
// organization's owner.
type user struct {
	email       string
	bindings    []int32 // RoleBindings whose subject is this user
	invitations []int32 // UserInvitations for this user
	invited     []int32 // UserInvitations whose invitedBy is this user
	blocked     bool    // some invitation of theirs is blocked: nothing anywhere
	active      bool    // an Active invitation, or a binding managed outside
}

// internUsers gives every email a dense id in sorted order, so that sorting ids sorts
// emails and documents list users without comparing strings. An address that differs
// only in the case of its ASCII letters is the same user (v1alpha1.Email.Canonical).
func (p *Platform) internUsers(orgs []*v1alpha1.Organization, bindings []*v1alpha1.RoleBinding, invites []*v1alpha1.UserInvitation) {
	emails := make([]string, 0, len(bindings)+2*len(invites)+len(orgs))
	for _, o := range orgs {
		if o.Spec.Owner != "" {
			emails = append(emails, string(o.Spec.Owner.Canonical()))
		}
	}
	for _, b := range bindings {
		emails = append(emails, string(b.Spec.Subject.Email.Canonical()))
	}
	for _, i := range invites {
		emails = append(emails, string(i.Spec.Email.Canonical()))
		if i.Spec.InvitedBy != "" {
			emails = append(emails, string(i.Spec.InvitedBy.Canonical()))
		}
	}
	slices.Sort(emails)
	emails = slices.Compact(emails)
	p.users = make([]user, len(emails))
	p.userIndex = make(map[string]int32, len(emails))
	for i, e := range emails {
		p.users[i].email = e
		p.userIndex[e] = int32(i)
	}
}

// userID returns the id of an email, or refNone for the empty email. Addresses are compared
// in their canonical form (v1alpha1.Email.Canonical), which is what documents list.
func (p *Platform) userID(email v1alpha1.Email) int32 {
	if id, ok := p.userIndex[string(email)]; ok {
		return id
	}
	if id, ok := p.userIndex[string(email.Canonical())]; ok {
		return id
	}
	return refNone
}
