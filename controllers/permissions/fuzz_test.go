package permissions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// FuzzCompile builds a platform from arbitrary bytes, including names and paths that
// admission would refuse (the engine never trusts that it ran), and checks that no
// entry point panics and that documents stay exactly encoding/json's bytes.
func FuzzCompile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03\x01\x02\x00\x05abcde\x07\x09\x11\x13"))
	f.Add([]byte("org/a//b*\x00\xff\x80<>&\"\\ \u2028"))
	f.Add(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 40))
	f.Add(bytes.Repeat([]byte{0xff, 0x00, 0x7f, 0x2f, 0x2a}, 60))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzPlatform(&byteSource{data: data})
		p := permissions.Compile(in, epoch)
		p.NextChange()
		for _, org := range p.Organizations() {
			p.Organization(org)
			doc, ok := p.Document(org)
			if !ok {
				t.Fatalf("Document(%q) missing", org)
			}
			want, err := json.Marshal(doc.Document)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if len(doc.Shards) == 1 && !bytes.Equal(doc.Shards[0], append(want, '\n')) {
				t.Fatalf("document %q bytes differ from encoding/json:\n%s\n%s", org, doc.Shards[0], want)
			}
			for email := range doc.Document.Users {
				for _, perm := range []string{"a", "a/b", "", "*", "x/y/z"} {
					p.Explain(email, org, perm)
				}
			}
		}
		for _, kind := range []string{"Organization", "Role", "RoleBinding", "UserInvitation", "PermissionTree"} {
			for _, name := range []string{"o0", "r0", "b0", "i0", "t0", ""} {
				p.AffectedOrganizations(permissions.ObjectRef{Kind: kind, Name: name})
			}
		}
		for _, r := range in.Roles {
			p.Role(r.Name)
		}
		for _, b := range in.Bindings {
			p.Binding(b.Name)
		}
		for _, i := range in.Invitations {
			p.Invitation(i.Name)
		}
		for _, tr := range in.Trees {
			p.Tree(tr.Name)
		}
	})
}

// byteSource hands out the fuzzer's bytes as choices; zeros once exhausted.
type byteSource struct {
	data []byte
	pos  int
}

func (s *byteSource) next() int {
	if s.pos >= len(s.data) {
		return 0
	}
	s.pos++
	return int(s.data[s.pos-1])
}

func (s *byteSource) below(n int) int { return s.next() % n }

// name is one of a few plausible names, or raw bytes.
func (s *byteSource) name(prefix string, n int) string {
	if c := s.next(); c >= 250 {
		end := min(s.pos+s.below(12), len(s.data))
		raw := string(s.data[s.pos:end])
		s.pos = end
		return raw
	} else {
		return fmt.Sprintf("%s%d", prefix, c%n)
	}
}

func (s *byteSource) path() string {
	segs := []string{"a", "b", "*", "c", "", "a-b"}
	out := segs[s.below(len(segs))]
	for range s.below(4) {
		out += "/" + segs[s.below(len(segs))]
	}
	if s.below(16) == 0 {
		return s.name("", 1)
	}
	return out
}

func fuzzPlatform(s *byteSource) permissions.Input {
	var in permissions.Input
	types := []v1alpha1.OrganizationType{"Distributor", "Seller", "Customer", "Unit", "Other"}
	for range s.below(8) {
		o := v1alpha1.Organization{ObjectMeta: meta(s.name("o", 8))}
		o.Spec.Type = types[s.below(len(types))]
		if s.below(3) > 0 {
			o.Spec.ParentRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(s.name("o", 9))}
		}
		o.Spec.Owner = v1alpha1.Email(s.name("u", 4))
		o.Spec.DefaultRoles = []v1alpha1.RoleName{v1alpha1.RoleName(s.name("r", 6))}
		in.Organizations = append(in.Organizations, &o)
	}
	for range s.below(3) {
		t := v1alpha1.PermissionTree{ObjectMeta: meta(s.name("t", 3))}
		for range s.below(10) {
			perm := v1alpha1.Permission{Path: v1alpha1.PermissionPath(s.path())}
			for range s.below(3) {
				perm.Implies = append(perm.Implies, v1alpha1.PermissionPath(s.path()))
			}
			t.Spec.Permissions = append(t.Spec.Permissions, perm)
		}
		in.Trees = append(in.Trees, &t)
	}
	for range s.below(7) {
		r := v1alpha1.Role{ObjectMeta: meta(s.name("r", 6))}
		for range s.below(4) {
			r.Spec.Permissions = append(r.Spec.Permissions, v1alpha1.PermissionPattern(s.path()))
		}
		for range s.below(3) {
			r.Spec.Includes = append(r.Spec.Includes, v1alpha1.RoleName(s.name("r", 7)))
		}
		for range s.below(2) {
			r.Spec.Features = append(r.Spec.Features, v1alpha1.FeatureName(s.name("f", 3)))
		}
		if s.below(3) == 0 {
			r.Spec.OrganizationTypes = []v1alpha1.OrganizationType{types[s.below(len(types))]}
		}
		if s.below(4) == 0 {
			r.Spec.OrganizationRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(s.name("o", 9))}
		}
		for range s.below(3) {
			r.Spec.AssignableRoles = append(r.Spec.AssignableRoles, v1alpha1.AssignableRole(s.name("r", 7)))
		}
		if s.below(4) == 0 {
			r.Spec.AssignableRoles = append(r.Spec.AssignableRoles, "*")
		}
		if s.below(4) == 0 {
			r.Spec.Deprecation = &v1alpha1.RoleDeprecation{
				Replacement: v1alpha1.RoleName(s.name("r", 7)),
				RemoveAfter: metav1.NewTime(epoch.Add(time.Duration(s.below(5)-2) * time.Hour)),
			}
		}
		in.Roles = append(in.Roles, &r)
	}
	for range s.below(6) {
		inv := v1alpha1.UserInvitation{ObjectMeta: meta(s.name("i", 6))}
		inv.CreationTimestamp = metav1.NewTime(epoch.Add(-time.Duration(s.next()) * time.Hour))
		inv.Spec.Email = v1alpha1.Email(s.name("u", 5))
		inv.Spec.OrganizationRef.Name = v1alpha1.ObjectName(s.name("o", 9))
		for range s.below(3) {
			inv.Spec.Roles = append(inv.Spec.Roles, v1alpha1.RoleName(s.name("r", 7)))
		}
		if s.below(2) == 0 {
			inv.Spec.InvitedBy = v1alpha1.Email(s.name("u", 5))
		}
		if s.below(2) == 0 {
			at := metav1.NewTime(epoch)
			inv.Spec.AcceptedAt = &at
		}
		if s.below(3) == 0 {
			inv.Spec.ExpiresAfter = &metav1.Duration{Duration: time.Duration(s.next()-100) * time.Hour}
		}
		inv.Spec.Blocked = s.below(6) == 0
		if s.below(3) == 0 {
			inv.Status.Phase = v1alpha1.UserPhase(s.name("Active", 1))
			inv.Status.GrantedRoles = []string{s.name("r", 7)}
			inv.Status.GrantedBy = string(inv.Spec.InvitedBy)
		}
		in.Invitations = append(in.Invitations, &inv)
	}
	for range s.below(10) {
		b := v1alpha1.RoleBinding{ObjectMeta: meta(s.name("b", 10))}
		b.Spec.Subject.Email = v1alpha1.Email(s.name("u", 5))
		b.Spec.RoleRef.Name = v1alpha1.ObjectName(s.name("r", 7))
		b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(s.name("o", 9))
		b.Spec.Inheritance = []v1alpha1.Inheritance{"Subtree", "None", ""}[s.below(3)]
		if s.below(4) == 0 {
			at := metav1.NewTime(epoch.Add(time.Duration(s.below(5)-2) * time.Hour))
			b.Spec.ExpiresAt = &at
		}
		if s.below(3) == 0 {
			b.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "UserInvitation", Name: s.name("i", 7)}}
		}
		in.Bindings = append(in.Bindings, &b)
	}
	return in
}
