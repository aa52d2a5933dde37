package permissions

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// org is one Organization in the forest.
type org struct {
	name         string
	typ          v1alpha1.OrganizationType
	owner        int32 // user id, refNone when none
	defaultRoles []string
	parent       int32   // effective parent: refNone for a root or below a break
	children     []int32 // effective children, sorted by name
	path         []string
	ancestors    []int32 // effective ancestors, root first, excluding itself
	// Euler tour of the effective forest: o is in the subtree of a when
	// a.enter <= o.enter < a.exit.
	enter, exit int32
	cut         *problem // why the link to the parent was cut, if it was

	bindings    []int32 // RoleBindings whose organizationRef is this organization
	invitations []int32 // UserInvitations into this organization
}

// inSubtree reports whether o is a, or a descendant of a, in the effective forest.
func (p *Platform) inSubtree(o, a int32) bool {
	return p.orgs[a].enter <= p.orgs[o].enter && p.orgs[o].enter < p.orgs[a].exit
}

// validParent reports whether an organization of type child may nest under one of type
// parent ("" for the root), per DESIGN.md.
func validParent(child, parent v1alpha1.OrganizationType) bool {
	switch child {
	case v1alpha1.OrganizationTypeDistributor:
		return parent == ""
	case v1alpha1.OrganizationTypeSeller:
		return parent == "" || parent == v1alpha1.OrganizationTypeDistributor
	case v1alpha1.OrganizationTypeCustomer:
		return parent == "" || parent == v1alpha1.OrganizationTypeDistributor || parent == v1alpha1.OrganizationTypeSeller
	case v1alpha1.OrganizationTypeUnit:
		return parent == v1alpha1.OrganizationTypeCustomer || parent == v1alpha1.OrganizationTypeUnit
	}
	return false
}

// compileForest links the organizations into a forest. An organization whose parent is
// missing, whose nesting is invalid, or which is in a parent cycle is cut from its
// parent: it becomes a root of the effective forest and inherits nothing from above
// (fail closed), and its descendants say that an ancestor is not Ready.
func (p *Platform) compileForest(orgs []*v1alpha1.Organization) {
	p.orgs = make([]org, len(orgs))
	p.orgIndex = make(map[string]int32, len(orgs))
	for i, o := range orgs {
		p.orgIndex[o.Name] = int32(i)
	}
	declared := make([]int32, len(orgs)) // the parentRef as written
	for i, o := range orgs {
		p.orgs[i] = org{
			name:         o.Name,
			typ:          o.Spec.Type,
			owner:        p.userID(o.Spec.Owner),
			defaultRoles: roleNames(o.Spec.DefaultRoles),
			parent:       refNone,
		}
		declared[i] = refNone
		if o.Spec.ParentRef != nil {
			declared[i] = resolve(p.orgIndex, string(o.Spec.ParentRef.Name))
		}
	}
	inCycle := cycleMembers(declared)
	own := make([]*problem, len(orgs)) // the organization's own problem, if any
	for i, o := range orgs {
		var parentType v1alpha1.OrganizationType
		switch d := declared[i]; {
		case inCycle[i]:
			own[i] = &problem{v1alpha1.ReasonInCycle, fmt.Sprintf("organization %s is in a parent cycle (%s)", o.Name, p.cycleText(declared, int32(i)))}
			continue
		case d == refMissing:
			own[i] = &problem{v1alpha1.ReasonParentNotFound, fmt.Sprintf("parent organization %s of %s does not exist", o.Spec.ParentRef.Name, o.Name)}
			continue
		case d >= 0:
			parentType = p.orgs[d].typ
		}
		if !validParent(o.Spec.Type, parentType) {
			where := "at the root"
			if parentType != "" {
				where = fmt.Sprintf("under %s %s", parentType, p.orgs[declared[i]].name)
			}
			own[i] = &problem{v1alpha1.ReasonInvalidNesting, fmt.Sprintf("organization %s of type %q may not be %s", o.Name, o.Spec.Type, where)}
			continue
		}
		p.orgs[i].parent = declared[i]
	}
	for i := range p.orgs {
		if pa := p.orgs[i].parent; pa >= 0 {
			p.orgs[pa].children = append(p.orgs[pa].children, int32(i))
		}
	}
	var clock int32
	var visit func(i int32, ancestors []int32)
	visit = func(i int32, ancestors []int32) {
		o := &p.orgs[i]
		o.enter = clock
		clock++
		o.ancestors = ancestors
		o.path = make([]string, 0, len(ancestors)+1)
		for _, a := range ancestors {
			o.path = append(o.path, p.orgs[a].name)
		}
		o.path = append(o.path, o.name)
		below := append(slices.Clip(ancestors), i)
		for _, c := range o.children {
			visit(c, below)
		}
		o.exit = clock
	}
	for i := range p.orgs {
		if p.orgs[i].parent < 0 {
			visit(int32(i), nil)
		}
	}
	for i := range p.orgs {
		p.orgs[i].cut = own[i]
	}
}

// readyOf renders an organization's Ready condition (on demand: a platform has tens of
// thousands of organizations).
func (p *Platform) readyOf(o *org) Condition {
	var problems []problem
	if o.cut != nil {
		problems = append(problems, *o.cut)
	} else if len(o.ancestors) > 0 && p.orgs[o.ancestors[0]].cut != nil {
		top := &p.orgs[o.ancestors[0]]
		problems = append(problems, problem{v1alpha1.ReasonAncestorNotReady,
			fmt.Sprintf("ancestor %s is not Ready (%s): %s inherits nothing from above %s", top.name, top.cut.reason, o.name, top.name)})
	}
	return readyCondition(fmt.Sprintf("path %s", strings.Join(o.path, "/")), problems)
}

// cycleMembers marks the nodes that lie on a cycle of the parent pointers.
func cycleMembers(parent []int32) []bool {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]uint8, len(parent))
	in := make([]bool, len(parent))
	for start := range parent {
		var trail []int32
		i := int32(start)
		for i >= 0 && state[i] == unvisited {
			state[i] = visiting
			trail = append(trail, i)
			i = parent[i]
		}
		if i >= 0 && state[i] == visiting {
			// i is on this walk's trail: everything from i onwards is the cycle.
			for k := slices.Index(trail, i); k < len(trail); k++ {
				in[trail[k]] = true
			}
		}
		for _, t := range trail {
			state[t] = done
		}
	}
	return in
}

// cycleText names the members of the cycle through i, in parent order from i.
func (p *Platform) cycleText(parent []int32, i int32) string {
	names := []string{p.orgs[i].name}
	for j := parent[i]; j != i && j >= 0 && len(names) <= len(parent); j = parent[j] {
		names = append(names, p.orgs[j].name)
	}
	return strings.Join(append(names, p.orgs[i].name), " -> ")
}

func roleNames(names []v1alpha1.RoleName) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return out
}
