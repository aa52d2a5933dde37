package permissions_test

import (
	"slices"
	"testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// held is what a user holds in one organization's document.
type held struct {
	present  bool
	status   v1alpha1.UserPhase
	roles    []string
	perms    []string // nil unless Active
	features []string
}

// access reads user's entry from org's document.
func access(t *testing.T, p *permissions.Platform, org, user string) held {
	t.Helper()
	doc, ok := p.Document(org)
	if !ok {
		t.Fatalf("no document for organization %s", org)
	}
	u, ok := doc.Document.Users[user]
	if !ok {
		return held{}
	}
	h := held{present: true, status: u.Status, roles: u.Roles, features: u.Features}
	if u.PermissionSet != "" {
		set, ok := doc.Document.PermissionSets[u.PermissionSet]
		if !ok {
			t.Fatalf("%s in %s: permission set %s missing from the document", user, org, u.PermissionSet)
		}
		h.perms = set
		if h.perms == nil {
			h.perms = []string{}
		}
	}
	return h
}

// allowed reports whether user may use permission in org, the way a workload would
// check it: through the published document and v1alpha1.AccessIndex.
func allowed(t *testing.T, p *permissions.Platform, org, user, permission string) bool {
	t.Helper()
	doc, ok := p.Document(org)
	if !ok {
		t.Fatalf("no document for organization %s", org)
	}
	return v1alpha1.NewAccessIndex(doc.Document).Allowed(user, permission)
}

func hasFeature(t *testing.T, p *permissions.Platform, org, user, feature string) bool {
	t.Helper()
	doc, _ := p.Document(org)
	return v1alpha1.NewAccessIndex(doc.Document).HasFeature(user, feature)
}

// ready returns an object's Ready condition.
func ready(t *testing.T, conds []permissions.Condition) permissions.Condition {
	t.Helper()
	for _, c := range conds {
		if c.Type == v1alpha1.ConditionReady {
			return c
		}
	}
	t.Fatalf("no Ready condition in %+v", conds)
	return permissions.Condition{}
}

func condition(conds []permissions.Condition, typ string) (permissions.Condition, bool) {
	for _, c := range conds {
		if c.Type == typ {
			return c, true
		}
	}
	return permissions.Condition{}, false
}

func mustOrg(t *testing.T, p *permissions.Platform, name string) permissions.OrganizationResult {
	t.Helper()
	r, ok := p.Organization(name)
	if !ok {
		t.Fatalf("organization %s not found", name)
	}
	return r
}

func mustRole(t *testing.T, p *permissions.Platform, name string) permissions.RoleResult {
	t.Helper()
	r, ok := p.Role(name)
	if !ok {
		t.Fatalf("role %s not found", name)
	}
	return r
}

func mustBinding(t *testing.T, p *permissions.Platform, name string) permissions.BindingResult {
	t.Helper()
	r, ok := p.Binding(name)
	if !ok {
		t.Fatalf("binding %s not found", name)
	}
	return r
}

func mustInvitation(t *testing.T, p *permissions.Platform, name string) permissions.InvitationResult {
	t.Helper()
	r, ok := p.Invitation(name)
	if !ok {
		t.Fatalf("invitation %s not found", name)
	}
	return r
}

func equal(a, b []string) bool { return slices.Equal(a, b) || len(a) == 0 && len(b) == 0 }
