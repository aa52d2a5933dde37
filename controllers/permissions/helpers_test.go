package permissions_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

// epoch is "now" in the tests; objects are created relative to it.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// acceptedAt is when the tests' accepted invitations were accepted.
var acceptedAt = epoch.Add(-30 * time.Minute)

// meta is the metadata every object of the tests' platform has unless told otherwise:
// the platform namespace, a first generation, created an hour before epoch.
func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "platform", Generation: 1, CreationTimestamp: metav1.NewTime(epoch.Add(-time.Hour))}
}

// platform assembles an Input from builders of any kind, each object given meta's
// metadata where its builder left it unset.
func platform(objs ...any) permissions.Input {
	var in permissions.Input
	for _, o := range objs {
		switch b := o.(type) {
		case *builders.OrganizationBuilder:
			in.Organizations = append(in.Organizations, placed(b.Obj()))
		case *builders.RoleBuilder:
			in.Roles = append(in.Roles, placed(b.Obj()))
		case *builders.BindingBuilder:
			in.Bindings = append(in.Bindings, placed(b.Obj()))
		case *builders.InvitationBuilder:
			in.Invitations = append(in.Invitations, placed(b.Obj()))
		case *builders.TreeBuilder:
			in.Trees = append(in.Trees, placed(b.Obj()))
		default:
			panic(fmt.Sprintf("platform: %T is not a builder", o))
		}
	}
	return in
}

// placed fills in the metadata of obj that its builder left unset from meta.
func placed[T any, P interface {
	*T
	metav1.Object
}](obj P) P {
	m := meta(obj.GetName())
	if obj.GetNamespace() == "" {
		obj.SetNamespace(m.Namespace)
	}
	if obj.GetGeneration() == 0 {
		obj.SetGeneration(m.Generation)
	}
	if created := obj.GetCreationTimestamp(); created.IsZero() {
		obj.SetCreationTimestamp(m.CreationTimestamp)
	}
	return obj
}

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
// check it: through the published document and v1alpha1.AccessIndex, at the instant
// the platform was compiled for.
func allowed(t *testing.T, p *permissions.Platform, org, user, permission string) bool {
	t.Helper()
	return accessIndex(t, p, org).AllowedAt(user, permission, p.Now())
}

func hasFeature(t *testing.T, p *permissions.Platform, org, user, feature string) bool {
	t.Helper()
	return accessIndex(t, p, org).HasFeatureAt(user, feature, p.Now())
}

// accessIndex indexes org's published document.
func accessIndex(t *testing.T, p *permissions.Platform, org string) *v1alpha1.AccessIndex {
	t.Helper()
	doc, ok := p.Document(org)
	if !ok {
		t.Fatalf("no document for organization %s", org)
	}
	return v1alpha1.NewAccessIndex(doc.Document)
}

// ready returns an object's Ready condition.
func ready(t *testing.T, conds []permissions.Condition) permissions.Condition {
	t.Helper()
	c, ok := condition(conds, v1alpha1.ConditionReady)
	if !ok {
		t.Fatalf("no Ready condition in %+v", conds)
	}
	return c
}

func condition(conds []permissions.Condition, typ string) (permissions.Condition, bool) {
	for _, c := range conds {
		if c.Type == typ {
			return c, true
		}
	}
	return permissions.Condition{}, false
}

// must returns the result lookup finds for name (p.Organization, p.Role, ...) and fails
// the test when there is none.
func must[R any](t *testing.T, lookup func(string) (R, bool), name string) R {
	t.Helper()
	r, ok := lookup(name)
	if !ok {
		t.Fatalf("no %T named %s", r, name)
	}
	return r
}

func equal(a, b []string) bool { return slices.Equal(a, b) || len(a) == 0 && len(b) == 0 }
