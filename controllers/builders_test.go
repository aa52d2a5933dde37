package controllers

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// Fluent builders of test objects: makeRole("admin").permissions("sales").obj().
// Namespaces are filled in by create.

type objectBuilder interface{ obj() client.Object }

type orgBuilder struct{ o v1alpha1.Organization }

func makeOrg(name string, typ v1alpha1.OrganizationType) *orgBuilder {
	b := &orgBuilder{}
	b.o.Name, b.o.Spec.Type = name, typ
	return b
}

func (b *orgBuilder) parent(name string) *orgBuilder {
	b.o.Spec.ParentRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(name)}
	return b
}

func (b *orgBuilder) owner(email string) *orgBuilder {
	b.o.Spec.Owner = v1alpha1.Email(email)
	return b
}

func (b *orgBuilder) defaultRoles(roles ...string) *orgBuilder {
	for _, r := range roles {
		b.o.Spec.DefaultRoles = append(b.o.Spec.DefaultRoles, v1alpha1.RoleName(r))
	}
	return b
}

func (b *orgBuilder) obj() client.Object { o := b.o; return &o }

type roleBuilder struct{ r v1alpha1.Role }

func makeRole(name string) *roleBuilder {
	b := &roleBuilder{}
	b.r.Name = name
	return b
}

func (b *roleBuilder) permissions(paths ...string) *roleBuilder {
	for _, p := range paths {
		b.r.Spec.Permissions = append(b.r.Spec.Permissions, v1alpha1.PermissionPattern(p))
	}
	return b
}

func (b *roleBuilder) includes(roles ...string) *roleBuilder {
	for _, r := range roles {
		b.r.Spec.Includes = append(b.r.Spec.Includes, v1alpha1.RoleName(r))
	}
	return b
}

func (b *roleBuilder) features(features ...string) *roleBuilder {
	for _, f := range features {
		b.r.Spec.Features = append(b.r.Spec.Features, v1alpha1.FeatureName(f))
	}
	return b
}

func (b *roleBuilder) assignable(roles ...string) *roleBuilder {
	for _, r := range roles {
		b.r.Spec.AssignableRoles = append(b.r.Spec.AssignableRoles, v1alpha1.AssignableRole(r))
	}
	return b
}

func (b *roleBuilder) obj() client.Object { r := b.r; return &r }

type bindingBuilder struct{ b v1alpha1.RoleBinding }

// makeBinding binds role to user in org, for the org's subtree unless told otherwise.
func makeBinding(name, user, role, org string) *bindingBuilder {
	b := &bindingBuilder{}
	b.b.Name = name
	b.b.Spec.Subject.Email = v1alpha1.Email(user)
	b.b.Spec.RoleRef.Name = v1alpha1.ObjectName(role)
	b.b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org)
	return b
}

func (b *bindingBuilder) thisOrganizationOnly() *bindingBuilder {
	b.b.Spec.Inheritance = v1alpha1.InheritanceNone
	return b
}

func (b *bindingBuilder) expiresAt(t time.Time) *bindingBuilder {
	mt := metav1.NewTime(t)
	b.b.Spec.ExpiresAt = &mt
	return b
}

func (b *bindingBuilder) obj() client.Object { x := b.b; return &x }

type invitationBuilder struct{ i v1alpha1.UserInvitation }

func makeInvitation(name, email, org string) *invitationBuilder {
	b := &invitationBuilder{}
	b.i.Name = name
	b.i.Spec.Email = v1alpha1.Email(email)
	b.i.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org)
	return b
}

func (b *invitationBuilder) roles(roles ...string) *invitationBuilder {
	for _, r := range roles {
		b.i.Spec.Roles = append(b.i.Spec.Roles, v1alpha1.RoleName(r))
	}
	return b
}

func (b *invitationBuilder) invitedBy(email string) *invitationBuilder {
	b.i.Spec.InvitedBy = v1alpha1.Email(email)
	return b
}

func (b *invitationBuilder) accepted(t time.Time) *invitationBuilder {
	mt := metav1.NewTime(t)
	b.i.Spec.AcceptedAt = &mt
	return b
}

func (b *invitationBuilder) blocked() *invitationBuilder {
	b.i.Spec.Blocked = true
	return b
}

func (b *invitationBuilder) expiresAfter(d time.Duration) *invitationBuilder {
	b.i.Spec.ExpiresAfter = &metav1.Duration{Duration: d}
	return b
}

func (b *invitationBuilder) obj() client.Object { x := b.i; return &x }

type treeBuilder struct{ t v1alpha1.PermissionTree }

func makeTree(name string) *treeBuilder {
	b := &treeBuilder{}
	b.t.Name = name
	return b
}

// path adds a permission that implies the given paths.
func (b *treeBuilder) path(path string, implies ...string) *treeBuilder {
	p := v1alpha1.Permission{Path: v1alpha1.PermissionPath(path)}
	for _, i := range implies {
		p.Implies = append(p.Implies, v1alpha1.PermissionPath(i))
	}
	b.t.Spec.Permissions = append(b.t.Spec.Permissions, p)
	return b
}

func (b *treeBuilder) obj() client.Object { x := b.t; return &x }
