package platformgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// Random builds a small platform that exercises every rule: broken forests,
// optional trees with implications, roles with includes (cycles, missing ones),
// patterns, features, types, custom organizations, deprecation, assignable roles;
// bindings of both inheritances, some expired or owned by invitations; invitations in
// every phase, some already granted.
func Random(rng *rand.Rand, now time.Time) permissions.Input {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: Namespace, Generation: 1, CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}
	}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	chance := func(n int) bool { return rng.IntN(n) == 0 }
	// orBroken picks from s, and now and then the broken alternative instead.
	orBroken := func(s []string, broken string) string {
		if chance(10) {
			return broken
		}
		return pick(s)
	}
	var in permissions.Input

	orgNames := []string{"o0", "o1", "o2", "o3", "o4", "o5", "o6"}[:3+rng.IntN(5)]
	types := []v1alpha1.OrganizationType{"Distributor", "Seller", "Customer", "Unit"}
	emails := []string{"a@x.example", "b@x.example", "c@x.example", "d@x.example", "e@x.example"}
	for i, name := range orgNames {
		o := v1alpha1.Organization{ObjectMeta: meta(name)}
		// Mostly a sound tree (types going down with depth), sometimes anything.
		o.Spec.Type = types[min(i, 3)]
		if chance(4) {
			o.Spec.Type = types[rng.IntN(4)]
		}
		if i > 0 && !chance(6) {
			parent := orgNames[rng.IntN(i)]
			if chance(8) {
				parent = pick(append(slices.Clone(orgNames), "missing")) // cycles and missing parents
			}
			o.Spec.ParentRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(parent)}
		}
		if chance(3) {
			o.Spec.Owner = v1alpha1.Email(pick(emails))
		}
		if chance(3) {
			o.Spec.DefaultRoles = []v1alpha1.RoleName{"r0"}
		}
		in.Organizations = append(in.Organizations, &o)
	}

	paths := []string{"a", "a/x", "a/y", "a/x/deep", "b", "b/x", "c", "c/y"}
	if !chance(3) {
		for k := range 1 + rng.IntN(2) {
			t := v1alpha1.PermissionTree{ObjectMeta: meta(fmt.Sprintf("tree-%d", k))}
			for _, p := range paths {
				if chance(8) || (k == 1 && !chance(4)) {
					continue
				}
				perm := v1alpha1.Permission{Path: v1alpha1.PermissionPath(p)}
				if chance(4) {
					perm.Implies = []v1alpha1.PermissionPath{v1alpha1.PermissionPath(pick(append(paths, "ghost")))}
				}
				t.Spec.Permissions = append(t.Spec.Permissions, perm)
			}
			in.Trees = append(in.Trees, &t)
		}
	}

	patterns := append(slices.Clone(paths), "*", "*/x", "*/y", "a/*")
	roleNames := []string{"r0", "r1", "r2", "r3", "r4", "r5"}[:2+rng.IntN(5)]
	for _, name := range roleNames {
		r := v1alpha1.Role{ObjectMeta: meta(name)}
		for range rng.IntN(3) {
			r.Spec.Permissions = append(r.Spec.Permissions, v1alpha1.PermissionPattern(orBroken(patterns, "nowhere")))
		}
		if chance(2) {
			r.Spec.Includes = append(r.Spec.Includes, v1alpha1.RoleName(orBroken(roleNames, "ghost")))
		}
		if chance(3) {
			r.Spec.Features = []v1alpha1.FeatureName{v1alpha1.FeatureName(pick([]string{"beta", "gamma"}))}
		}
		if chance(5) {
			r.Spec.OrganizationTypes = []v1alpha1.OrganizationType{types[rng.IntN(4)]}
		}
		if chance(6) {
			r.Spec.OrganizationRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(pick(append(slices.Clone(orgNames), "missing")))}
		}
		if chance(3) {
			r.Spec.AssignableRoles = []v1alpha1.AssignableRole{v1alpha1.AssignableRole(pick(append(slices.Clone(roleNames), "*")))}
		}
		if chance(5) {
			d := &v1alpha1.RoleDeprecation{RemoveAfter: metav1.NewTime(now.Add(time.Duration(rng.IntN(3)-1) * time.Hour))}
			if chance(2) {
				d.Replacement = v1alpha1.RoleName(pick(append(slices.Clone(roleNames), "ghost")))
			}
			r.Spec.Deprecation = d
		}
		in.Roles = append(in.Roles, &r)
	}

	for k := range rng.IntN(5) {
		inv := v1alpha1.UserInvitation{ObjectMeta: meta(fmt.Sprintf("inv-%d", k))}
		inv.CreationTimestamp = metav1.NewTime(now.Add(-time.Duration(rng.IntN(300)) * time.Hour))
		inv.Spec.Email = v1alpha1.Email(pick(emails))
		inv.Spec.OrganizationRef.Name = v1alpha1.ObjectName(orBroken(orgNames, "missing"))
		for range rng.IntN(3) {
			inv.Spec.Roles = append(inv.Spec.Roles, v1alpha1.RoleName(orBroken(roleNames, "ghost")))
		}
		if chance(2) {
			inv.Spec.InvitedBy = v1alpha1.Email(pick(emails))
		}
		if !chance(3) {
			// Mostly within the week an invitation lasts, sometimes after it expired,
			// sometimes recorded for an instant after now.
			at := metav1.NewTime(inv.CreationTimestamp.Add(time.Duration(rng.IntN(200)) * time.Hour))
			if !at.Before(&metav1.Time{Time: now}) && !chance(3) {
				at = metav1.NewTime(now.Add(-time.Minute))
			}
			inv.Spec.AcceptedAt = &at
		}
		inv.Spec.Blocked = chance(8)
		if chance(3) {
			inv.Status.Phase = v1alpha1.UserPhaseActive
			if chance(4) {
				inv.Status.Phase = v1alpha1.UserPhaseBlocked
			}
			for _, r := range inv.Spec.Roles {
				inv.Status.GrantedRoles = append(inv.Status.GrantedRoles, string(r))
			}
			inv.Status.GrantedBy = string(inv.Spec.InvitedBy)
			if chance(4) { // granted in its organization only
				inv.Status.GrantedInheritance = v1alpha1.InheritanceNone
			}
			if len(inv.Spec.Roles) == 0 && chance(2) {
				// A grant of the defaultRoles of its day, not necessarily today's; or of
				// roles the invitation named before they were removed from it.
				inv.Status.GrantedRoles = []string{pick(roleNames)}
				inv.Status.GrantedDefaultRoles = chance(2)
			}
		}
		in.Invitations = append(in.Invitations, &inv)
	}

	for k := range rng.IntN(14) {
		b := v1alpha1.RoleBinding{ObjectMeta: meta(fmt.Sprintf("rb-%d", k))}
		b.Spec.Subject.Email = v1alpha1.Email(pick(emails))
		b.Spec.RoleRef.Name = v1alpha1.ObjectName(orBroken(roleNames, "ghost"))
		b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(orBroken(orgNames, "missing"))
		b.Spec.Inheritance = v1alpha1.InheritanceSubtree
		if chance(3) {
			b.Spec.Inheritance = v1alpha1.InheritanceNone
		}
		if chance(6) {
			at := metav1.NewTime(now.Add(time.Duration(rng.IntN(3)-1) * time.Hour))
			b.Spec.ExpiresAt = &at
		}
		if len(in.Invitations) > 0 && chance(3) {
			owner := in.Invitations[rng.IntN(len(in.Invitations))]
			b.Spec.Subject.Email = owner.Spec.Email
			name := owner.Name
			if chance(5) {
				name = "gone"
			}
			b.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "UserInvitation", Name: name}}
		}
		in.Bindings = append(in.Bindings, &b)
	}
	return in
}
