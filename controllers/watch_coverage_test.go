package controllers

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// TestPublisherMapsCoverEveryDocumentAChangeChanges removes or alters one binding,
// invitation or organization of random platforms and checks that every organization
// whose document the change changes is among the requests the publisher's map
// functions return for the object before and after the change, each read from the
// platform after it, as the cache is when the event comes. The documents are compiled
// with the statuses as they were: what must be republished before any reconciler
// writes a status (a status write that records a grant brings its own event). The
// engine's AffectedOrganizations has the same property test; this one holds the map
// functions the manager runs to it.
func TestPublisherMapsCoverEveryDocumentAChangeChanges(t *testing.T) {
	runs := 1500
	if testing.Short() {
		runs /= 10
	}
	now := platformgen.Now()
	for seed := range runs {
		in := platformgen.Random(rand.New(rand.NewPCG(uint64(seed), 17)), now)
		before := permissions.Compile(in, now)
		for _, c := range changesOf(in) {
			after := permissions.Compile(c.after, now)
			rel := relations{reader: newInputReader(c.after)}
			mapped := map[string]bool{}
			for _, o := range []client.Object{c.old, c.new} {
				if o == nil {
					continue
				}
				for _, req := range c.mapping(rel)(context.Background(), o) {
					mapped[req.Name] = true
				}
			}
			for _, org := range before.Organizations() {
				d1, _ := before.Document(org)
				d2, _ := after.Document(org)
				if !slices.EqualFunc(d1.Shards, d2.Shards, bytes.Equal) && !mapped[org] {
					t.Fatalf("seed %d: %s changed %s's document, which the publisher's map does not enqueue (it enqueues %v)",
						seed, c.what, org, sortedKeys(mapped))
				}
			}
		}
	}
}

// platformChange is one change of a platform: the object before and after (nil when
// created or deleted), the platform after, and the publisher's map of that kind.
type platformChange struct {
	what     string
	old, new client.Object
	after    permissions.Input
	mapping  func(relations) func(context.Context, client.Object) []reconcile.Request
}

// changesOf lists changes of in: each binding deleted, moved to another role or
// organization, or made to hold there only; each invitation deleted, blocked or
// unblocked, accepted, or given other roles; each organization given another owner or
// parent.
func changesOf(in permissions.Input) []platformChange {
	var out []platformChange
	forBinding := func(r relations) func(context.Context, client.Object) []reconcile.Request {
		return r.organizationsForBinding
	}
	forInvitation := func(r relations) func(context.Context, client.Object) []reconcile.Request {
		return r.organizationsForInvitation
	}
	forOrganization := func(r relations) func(context.Context, client.Object) []reconcile.Request {
		return r.organizationsForOrganization
	}
	var orgNames, roleNames []string
	for _, o := range in.Organizations {
		orgNames = append(orgNames, o.Name)
	}
	for _, r := range in.Roles {
		roleNames = append(roleNames, r.Name)
	}

	for i, b := range in.Bindings {
		deleted := copyOfInput(in)
		deleted.Bindings = slices.Delete(deleted.Bindings, i, i+1)
		out = append(out, platformChange{"deleting RoleBinding " + b.Name, b, nil, deleted, forBinding})
		edits := map[string]func(*v1alpha1.RoleBinding){
			"made to hold in its organization only": func(b *v1alpha1.RoleBinding) { b.Spec.Inheritance = v1alpha1.InheritanceNone },
		}
		if len(roleNames) > 0 {
			role := roleNames[i%len(roleNames)]
			edits["bound to role "+role] = func(b *v1alpha1.RoleBinding) { b.Spec.RoleRef.Name = v1alpha1.ObjectName(role) }
		}
		if len(orgNames) > 0 {
			org := orgNames[i%len(orgNames)]
			edits["moved to "+org] = func(b *v1alpha1.RoleBinding) { b.Spec.OrganizationRef.Name = v1alpha1.ObjectName(org) }
		}
		for what, edit := range edits {
			after := copyOfInput(in)
			edit(after.Bindings[i])
			out = append(out, platformChange{"RoleBinding " + b.Name + " " + what, b, after.Bindings[i], after, forBinding})
		}
	}
	for i, inv := range in.Invitations {
		deleted := copyOfInput(in)
		deleted.Invitations = slices.Delete(deleted.Invitations, i, i+1)
		out = append(out, platformChange{"deleting UserInvitation " + inv.Name, inv, nil, deleted, forInvitation})
		edits := map[string]func(*v1alpha1.UserInvitation){
			"blocked or unblocked": func(inv *v1alpha1.UserInvitation) { inv.Spec.Blocked = !inv.Spec.Blocked },
			"accepted": func(inv *v1alpha1.UserInvitation) {
				at := metav1.NewTime(inv.CreationTimestamp.Add(1))
				inv.Spec.AcceptedAt = &at
			},
			"naming no roles": func(inv *v1alpha1.UserInvitation) { inv.Spec.Roles = nil },
		}
		if len(roleNames) > 0 {
			role := roleNames[i%len(roleNames)]
			edits["naming role "+role] = func(inv *v1alpha1.UserInvitation) { inv.Spec.Roles = []v1alpha1.RoleName{v1alpha1.RoleName(role)} }
		}
		for what, edit := range edits {
			after := copyOfInput(in)
			edit(after.Invitations[i])
			out = append(out, platformChange{"UserInvitation " + inv.Name + " " + what, inv, after.Invitations[i], after, forInvitation})
		}
	}
	for i, o := range in.Organizations {
		edits := map[string]func(*v1alpha1.Organization){
			"owned by another": func(o *v1alpha1.Organization) { o.Spec.Owner = "a@x.example" },
			"without a parent": func(o *v1alpha1.Organization) { o.Spec.ParentRef = nil },
		}
		parent := orgNames[(i+1)%len(orgNames)]
		edits["moved under "+parent] = func(o *v1alpha1.Organization) {
			o.Spec.ParentRef = &v1alpha1.LocalObjectReference{Name: v1alpha1.ObjectName(parent)}
		}
		for what, edit := range edits {
			after := copyOfInput(in)
			edit(after.Organizations[i])
			out = append(out, platformChange{fmt.Sprintf("Organization %s %s", o.Name, what), o, after.Organizations[i], after, forOrganization})
		}
	}
	return out
}
