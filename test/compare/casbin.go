package compare

import (
	"fmt"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// casbinModel is RBAC with domains: a domain is an organization, g links a user to a
// role in a domain and a role to the roles it includes (in that domain), p grants a
// role a permission. The cheap equality comes first so the matcher short-circuits
// before the role-graph walk.
const casbinModel = `
[request_definition]
r = sub, dom, obj

[policy_definition]
p = sub, obj

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.obj == p.obj && g(r.sub, p.sub, r.dom)
`

// Enforcer is what both Casbin enforcers answer checks with.
type Enforcer interface {
	Enforce(rvals ...any) (bool, error)
}

// CasbinPolicy is the platform as Casbin rules. Casbin domains are flat, so the
// organization tree is expanded: a Subtree binding becomes one g rule per organization
// of its subtree, and every role bound in a domain brings its includes into that domain.
type CasbinPolicy struct {
	Policies  [][]string // p: role, permission
	Groupings [][]string // g: user or role, role, organization
}

// NewCasbinPolicy translates the platform.
func NewCasbinPolicy(p *Platform) CasbinPolicy {
	var cp CasbinPolicy
	for role, grants := range p.Roles {
		for _, perm := range grants.Own {
			cp.Policies = append(cp.Policies, []string{role, perm})
		}
	}
	type roleInDomain struct{ role, domain string }
	linked := map[roleInDomain]bool{}
	var link func(role, domain string)
	link = func(role, domain string) {
		if linked[roleInDomain{role, domain}] {
			return
		}
		linked[roleInDomain{role, domain}] = true
		for _, inc := range p.Roles[role].Links {
			cp.Groupings = append(cp.Groupings, []string{role, inc, domain})
			link(inc, domain)
		}
	}
	seen := map[[3]string]bool{} // a user may hold a role twice through ancestors
	for _, g := range p.Grants {
		domains := []string{g.Organization}
		if g.Subtree {
			domains = p.Subtree[g.Organization]
		}
		for _, d := range domains {
			rule := [3]string{g.User, g.Role, d}
			if seen[rule] {
				continue
			}
			seen[rule] = true
			cp.Groupings = append(cp.Groupings, rule[:])
			link(g.Role, d)
		}
	}
	return cp
}

// NewCasbin loads the policy into a plain enforcer, or a cached one.
func NewCasbin(cp CasbinPolicy, cached bool) (Enforcer, error) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, fmt.Errorf("parse casbin model: %w", err)
	}
	var e *casbin.Enforcer
	var enforcer Enforcer
	if cached {
		ce, err := casbin.NewCachedEnforcer(m)
		if err != nil {
			return nil, fmt.Errorf("new cached enforcer: %w", err)
		}
		e, enforcer = ce.Enforcer, ce
	} else {
		if e, err = casbin.NewEnforcer(m); err != nil {
			return nil, fmt.Errorf("new enforcer: %w", err)
		}
		enforcer = e
	}
	// Bulk-load into the model and build the role graph once, as an adapter would.
	if err := e.GetModel().AddPolicies("p", "p", cp.Policies); err != nil {
		return nil, fmt.Errorf("add casbin policies: %w", err)
	}
	if err := e.GetModel().AddPolicies("g", "g", cp.Groupings); err != nil {
		return nil, fmt.Errorf("add casbin groupings: %w", err)
	}
	if err := e.BuildRoleLinks(); err != nil {
		return nil, fmt.Errorf("build casbin role links: %w", err)
	}
	return enforcer, nil
}

// CasbinAllowed answers one check.
func CasbinAllowed(e Enforcer, c Check) (bool, error) {
	return e.Enforce(c.User, c.Organization, c.Permission)
}
