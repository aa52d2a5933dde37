package permissions_test

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// Fluent builders for the engine's inputs, so each table row reads like the platform
// it describes.

// epoch is "now" in the tests; objects are created relative to it.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "platform", Generation: 1, CreationTimestamp: metav1.NewTime(epoch.Add(-time.Hour))}
}

type orgB struct{ o v1alpha1.Organization }

func Org(name string, typ v1alpha1.OrganizationType) *orgB {
	return &orgB{v1alpha1.Organization{ObjectMeta: meta(name), Spec: v1alpha1.OrganizationSpec{Type: typ}}}
}
func Distributor(name string) *orgB { return Org(name, v1alpha1.OrganizationTypeDistributor) }
func Seller(name string) *orgB      { return Org(name, v1alpha1.OrganizationTypeSeller) }
func Customer(name string) *orgB    { return Org(name, v1alpha1.OrganizationTypeCustomer) }
func Unit(name string) *orgB        { return Org(name, v1alpha1.OrganizationTypeUnit) }
func (b *orgB) Under(parent string) *orgB {
	b.o.Spec.ParentRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(parent)}
	return b
}
func (b *orgB) Owner(email string) *orgB { b.o.Spec.Owner = v1alpha1.Email(email); return b }
func (b *orgB) DefaultRoles(roles ...string) *orgB {
	for _, r := range roles {
		b.o.Spec.DefaultRoles = append(b.o.Spec.DefaultRoles, v1alpha1.RoleName(r))
	}
	return b
}

type roleB struct{ r v1alpha1.Role }

func Role(name string) *roleB { return &roleB{v1alpha1.Role{ObjectMeta: meta(name)}} }
func (b *roleB) Permissions(paths ...string) *roleB {
	for _, p := range paths {
		b.r.Spec.Permissions = append(b.r.Spec.Permissions, v1alpha1.PermissionPattern(p))
	}
	return b
}
func (b *roleB) Includes(roles ...string) *roleB {
	for _, r := range roles {
		b.r.Spec.Includes = append(b.r.Spec.Includes, v1alpha1.RoleName(r))
	}
	return b
}
func (b *roleB) Features(fs ...string) *roleB {
	for _, f := range fs {
		b.r.Spec.Features = append(b.r.Spec.Features, v1alpha1.FeatureName(f))
	}
	return b
}
func (b *roleB) Types(ts ...v1alpha1.OrganizationType) *roleB {
	b.r.Spec.OrganizationTypes = append(b.r.Spec.OrganizationTypes, ts...)
	return b
}
func (b *roleB) Assigns(roles ...string) *roleB {
	for _, r := range roles {
		b.r.Spec.AssignableRoles = append(b.r.Spec.AssignableRoles, v1alpha1.AssignableRole(r))
	}
	return b
}
func (b *roleB) Of(org string) *roleB {
	b.r.Spec.OrganizationRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(org)}
	return b
}
func (b *roleB) Deprecated(replacement string, removeAfter time.Time) *roleB {
	b.r.Spec.Deprecation = &v1alpha1.RoleDeprecation{Replacement: v1alpha1.RoleName(replacement), RemoveAfter: metav1.NewTime(removeAfter)}
	return b
}

type bindingB struct{ b v1alpha1.RoleBinding }

// Bind binds role to email in org, with Subtree inheritance; the name is derived.
func Bind(email, role, org string) *bindingB {
	return &bindingB{v1alpha1.RoleBinding{
		ObjectMeta: meta("rb-" + sanitize(email) + "-" + role + "-" + org),
		Spec: v1alpha1.RoleBindingSpec{
			Subject:         v1alpha1.Subject{Email: v1alpha1.Email(email)},
			RoleRef:         v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(role)},
			OrganizationRef: v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(org)},
			Inheritance:     v1alpha1.InheritanceSubtree,
		},
	}}
}
func (b *bindingB) Named(name string) *bindingB { b.b.Name = name; return b }
func (b *bindingB) Only() *bindingB             { b.b.Spec.Inheritance = v1alpha1.InheritanceNone; return b }
func (b *bindingB) ExpiresAt(t time.Time) *bindingB {
	at := metav1.NewTime(t)
	b.b.Spec.ExpiresAt = &at
	return b
}
func (b *bindingB) OwnedBy(invitation string) *bindingB {
	b.b.Labels = map[string]string{v1alpha1.InvitationLabel: invitation}
	b.b.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "UserInvitation", Name: invitation}}
	return b
}

type inviteB struct{ i v1alpha1.UserInvitation }

// Invite invites email into org with roles; the invitation is named after both.
func Invite(email, org string, roles ...string) *inviteB {
	b := &inviteB{v1alpha1.UserInvitation{ObjectMeta: meta("inv-" + sanitize(email) + "-" + org)}}
	b.i.Spec.Email = v1alpha1.Email(email)
	b.i.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org)
	for _, r := range roles {
		b.i.Spec.Roles = append(b.i.Spec.Roles, v1alpha1.RoleName(r))
	}
	return b
}
func (b *inviteB) Named(name string) *inviteB { b.i.Name = name; return b }
func (b *inviteB) By(email string) *inviteB   { b.i.Spec.InvitedBy = v1alpha1.Email(email); return b }
func (b *inviteB) Accepted() *inviteB {
	at := metav1.NewTime(epoch.Add(-30 * time.Minute))
	b.i.Spec.AcceptedAt = &at
	return b
}
func (b *inviteB) Blocked() *inviteB { b.i.Spec.Blocked = true; return b }
func (b *inviteB) CreatedAgo(d time.Duration) *inviteB {
	b.i.CreationTimestamp = metav1.NewTime(epoch.Add(-d))
	return b
}
func (b *inviteB) ExpiresAfter(d time.Duration) *inviteB {
	b.i.Spec.ExpiresAfter = &metav1.Duration{Duration: d}
	return b
}

// Granted records in status that the roles were granted on activation, by grantedBy.
func (b *inviteB) Granted(grantedBy string, roles ...string) *inviteB {
	b.i.Status.Phase = v1alpha1.UserPhaseActive
	b.i.Status.GrantedRoles = roles
	b.i.Status.GrantedBy = grantedBy
	return b
}

type treeB struct{ t v1alpha1.PermissionTree }

func Tree(name string, paths ...string) *treeB {
	b := &treeB{v1alpha1.PermissionTree{ObjectMeta: meta(name)}}
	for _, p := range paths {
		b.t.Spec.Permissions = append(b.t.Spec.Permissions, v1alpha1.Permission{Path: v1alpha1.PermissionPath(p)})
	}
	return b
}

// Implies adds an implication to a path of the tree, adding the path if needed.
func (b *treeB) Implies(path string, implied ...string) *treeB {
	for i := range b.t.Spec.Permissions {
		if string(b.t.Spec.Permissions[i].Path) == path {
			for _, imp := range implied {
				b.t.Spec.Permissions[i].Implies = append(b.t.Spec.Permissions[i].Implies, v1alpha1.PermissionPath(imp))
			}
			return b
		}
	}
	b.t.Spec.Permissions = append(b.t.Spec.Permissions, v1alpha1.Permission{Path: v1alpha1.PermissionPath(path)})
	return b.Implies(path, implied...)
}

// platform assembles an Input from builders of any kind.
func platform(objs ...any) permissions.Input {
	var in permissions.Input
	for _, o := range objs {
		switch b := o.(type) {
		case *orgB:
			in.Organizations = append(in.Organizations, b.o)
		case *roleB:
			in.Roles = append(in.Roles, b.r)
		case *bindingB:
			in.Bindings = append(in.Bindings, b.b)
		case *inviteB:
			in.Invitations = append(in.Invitations, b.i)
		case *treeB:
			in.Trees = append(in.Trees, b.t)
		default:
			panic("platform: unknown builder")
		}
	}
	return in
}

// sanitize turns an email into a name fragment.
func sanitize(email string) string {
	out := []byte(email)
	for i, c := range out {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			out[i] = '-'
		}
	}
	return string(out)
}
