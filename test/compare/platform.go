package compare

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// Check is one authorization question: may User do Permission in Organization?
type Check struct {
	User         string
	Organization string
	Permission   string
}

// Grant is one Ready binding of a user who is not Blocked: the only kind of binding
// that grants anything, and so the only kind the other engines are loaded with.
type Grant struct {
	User         string
	Role         string
	Organization string
	Subtree      bool // holds in the organization's descendants too
}

// RoleGrants is what one role contributes on its own: the closure of its own
// permissions under the tree, and the roles it links to (its includes, or its
// replacement once it is past removeAfter). The other engines follow the links
// themselves, as their role hierarchy.
type RoleGrants struct {
	Own   []string
	Links []string
}

// Platform is one generated platform and everything the engines are loaded from.
type Platform struct {
	Input    permissions.Input
	Compiled *permissions.Platform
	// Paths lists every permission path of the tree, sorted.
	Paths []string
	// Ancestors maps every organization to its ancestors, root first.
	Ancestors map[string][]string
	// Subtree maps every organization to itself and its descendants.
	Subtree map[string][]string
	Roles   map[string]RoleGrants
	Grants  []Grant
	// Documents holds every organization's published document, as orgaccess publishes it.
	Documents []*v1alpha1.AccessDocument
}

// Size picks a platformgen size by name.
func Size(name string) (platformgen.Size, error) {
	switch name {
	case "", "small":
		return platformgen.Small(), nil
	case "full":
		return platformgen.Full(), nil
	}
	return platformgen.Size{}, fmt.Errorf("unknown size %q: want small or full", name)
}

// NewPlatform generates the platform and compiles it with the orgaccess engine.
func NewPlatform(size platformgen.Size, seed int64) (*Platform, error) {
	now := platformgen.Now()
	in := platformgen.Generate(size, seed)
	p := &Platform{
		Input:     in,
		Compiled:  permissions.Compile(in, now),
		Ancestors: map[string][]string{},
		Subtree:   map[string][]string{},
		Roles:     map[string]RoleGrants{},
	}
	for _, t := range in.Trees {
		for _, perm := range t.Spec.Permissions {
			p.Paths = append(p.Paths, string(perm.Path))
		}
	}
	slices.Sort(p.Paths)
	for _, org := range p.Compiled.Organizations() {
		res, _ := p.Compiled.Organization(org)
		ancestors := res.Path[:max(len(res.Path)-1, 0)]
		p.Ancestors[org] = ancestors
		p.Subtree[org] = append(p.Subtree[org], org)
		for _, a := range ancestors {
			p.Subtree[a] = append(p.Subtree[a], org)
		}
		doc, ok := p.Compiled.Document(org)
		if !ok {
			return nil, fmt.Errorf("no document for organization %s", org)
		}
		p.Documents = append(p.Documents, doc.Document)
	}
	for _, r := range in.Roles {
		grants, err := roleGrants(in, r, now)
		if err != nil {
			return nil, err
		}
		p.Roles[r.Name] = grants
	}
	blocked := map[string]bool{}
	for _, inv := range in.Invitations {
		if res, _ := p.Compiled.Invitation(inv.Name); res.Phase == v1alpha1.UserPhaseBlocked {
			blocked[string(inv.Spec.Email)] = true
		}
	}
	for _, b := range in.Bindings {
		res, _ := p.Compiled.Binding(b.Name)
		if !res.Ready || blocked[string(b.Spec.Subject.Email)] {
			continue
		}
		p.Grants = append(p.Grants, Grant{
			User:         string(b.Spec.Subject.Email),
			Role:         string(b.Spec.RoleRef.Name),
			Organization: string(b.Spec.OrganizationRef.Name),
			Subtree:      b.Spec.Inheritance != v1alpha1.InheritanceNone,
		})
	}
	return p, nil
}

// roleGrants splits a role into its own closure and its links. The closure comes from
// the orgaccess engine itself (a one-organization platform binding a copy of the role
// stripped of includes and restrictions), so no second implementation of wildcards,
// implications and the tree is written here.
func roleGrants(in permissions.Input, role *v1alpha1.Role, now time.Time) (RoleGrants, error) {
	if d := role.Spec.Deprecation; d != nil && !now.Before(d.RemoveAfter.Time) {
		// Past removeAfter a binding grants the replacement's closure, or nothing.
		if d.Replacement == "" {
			return RoleGrants{}, nil
		}
		return RoleGrants{Links: []string{string(d.Replacement)}}, nil
	}
	var grants RoleGrants
	for _, inc := range role.Spec.Includes {
		grants.Links = append(grants.Links, string(inc))
	}
	own := role.DeepCopy()
	own.Name = "probe-role"
	own.Spec = v1alpha1.RoleSpec{Permissions: role.Spec.Permissions}
	const org, user = "probe-org", "probe@probe.example"
	probe := permissions.Input{
		Trees: in.Trees,
		Roles: []*v1alpha1.Role{own},
		Organizations: []*v1alpha1.Organization{{
			ObjectMeta: own.ObjectMeta,
			Spec:       v1alpha1.OrganizationSpec{Type: v1alpha1.OrganizationTypeCustomer},
		}},
		Bindings: []*v1alpha1.RoleBinding{{
			ObjectMeta: own.ObjectMeta,
			Spec: v1alpha1.RoleBindingSpec{
				Subject:         v1alpha1.Subject{Email: user},
				RoleRef:         v1alpha1.LocalObjectReference{Name: "probe-role"},
				OrganizationRef: v1alpha1.LocalObjectReference{Name: org},
			},
		}},
	}
	probe.Organizations[0].Name = org
	probe.Bindings[0].Name = "probe-binding"
	doc, ok := permissions.Compile(probe, now).Document(org)
	if !ok {
		return RoleGrants{}, fmt.Errorf("expand role %s: no probe document", role.Name)
	}
	u, ok := doc.Document.Users[user]
	if !ok {
		return RoleGrants{}, fmt.Errorf("expand role %s: probe user missing from the document", role.Name)
	}
	grants.Own = doc.Document.PermissionSets[u.PermissionSet]
	return grants, nil
}

// Checks draws n checks in three kinds, a third each: a user's grant asked about a
// permission the role grants (mostly allowed), the same asked about a random
// permission (mostly refused), and a random organization (the typical refusal).
func (p *Platform) Checks(n int, seed uint64) []Check {
	rng := rand.New(rand.NewPCG(seed, 1))
	orgs := p.Compiled.Organizations()
	checks := make([]Check, 0, n)
	for i := range n {
		g := p.Grants[rng.IntN(len(p.Grants))]
		c := Check{User: g.User, Organization: g.Organization, Permission: p.Paths[rng.IntN(len(p.Paths))]}
		if reach := p.Subtree[g.Organization]; g.Subtree {
			c.Organization = reach[rng.IntN(len(reach))]
		}
		switch i % 3 {
		case 0:
			if granted := p.roleClosure(g.Role); len(granted) > 0 {
				c.Permission = granted[rng.IntN(len(granted))]
			}
		case 2:
			c.Organization = orgs[rng.IntN(len(orgs))]
		}
		checks = append(checks, c)
	}
	return checks
}

// roleClosure lists what a role grants: its own closure and its links', recursively.
func (p *Platform) roleClosure(role string) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(string)
	walk = func(r string) {
		if seen[r] {
			return
		}
		seen[r] = true
		out = append(out, p.Roles[r].Own...)
		for _, l := range p.Roles[r].Links {
			walk(l)
		}
	}
	walk(role)
	return out
}
