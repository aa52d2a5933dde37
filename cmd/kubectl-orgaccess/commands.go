package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	accessv1 "github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register core types: %w", err)
	}
	if err := accessv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register orgaccess types: %w", err)
	}
	return scheme, nil
}

// explain compiles the namespace's objects with the same engine the operator runs, and
// prints every grant of the permission, or why nothing grants it.
func explain(ctx context.Context, c client.Client, namespace, user, org, permission string, out io.Writer) error {
	in, err := gather(ctx, c, namespace)
	if err != nil {
		return err
	}
	p := permissions.Compile(in, time.Now())
	if _, ok := p.Organization(org); !ok {
		// As can-i does: most often the platform is another namespace (-n).
		return fmt.Errorf("no organization %q in namespace %q", org, namespace)
	}
	e := p.Explain(user, org, permission)
	if !e.Allowed {
		fmt.Fprintf(out, "%s may NOT %s in %s: %s\n", user, permission, org, e.Reason)
		return nil
	}
	fmt.Fprintf(out, "%s may %s in %s, granted by:\n", user, permission, org)
	for _, g := range e.Grants {
		fmt.Fprintf(out, "- RoleBinding %s (role %s at %s)", g.Binding, g.Role, g.Organization)
		if g.Replacement != "" {
			fmt.Fprintf(out, ", replaced by %s after its removeAfter", g.Replacement)
		}
		if len(g.IncludeChain) > 1 {
			fmt.Fprintf(out, ", through %s", strings.Join(g.IncludeChain, " → "))
		}
		fmt.Fprintf(out, ", via %s", g.Via)
		if len(g.Implied) > 0 {
			fmt.Fprintf(out, " implying %s", strings.Join(g.Implied, " → "))
		}
		fmt.Fprintln(out)
	}
	return nil
}

func gather(ctx context.Context, c client.Client, namespace string) (permissions.Input, error) {
	var (
		in    permissions.Input
		orgs  accessv1.OrganizationList
		trees accessv1.PermissionTreeList
		roles accessv1.RoleList
		rbs   accessv1.RoleBindingList
		invs  accessv1.UserInvitationList
	)
	for _, l := range []client.ObjectList{&orgs, &trees, &roles, &rbs, &invs} {
		if err := c.List(ctx, l, client.InNamespace(namespace)); err != nil {
			return in, fmt.Errorf("list %T in %s: %w", l, namespace, err)
		}
	}
	in.Organizations, in.Trees, in.Roles = permissions.Pointers(orgs.Items), permissions.Pointers(trees.Items), permissions.Pointers(roles.Items)
	in.Bindings, in.Invitations = permissions.Pointers(rbs.Items), permissions.Pointers(invs.Items)
	return in, nil
}

// canI answers from the published ConfigMaps, exactly as a workload would: the
// organization's document read by name (every shard it announces), checked by
// LoadAccessIndex.
func canI(ctx context.Context, c client.Client, namespace, user, org, permission string, out io.Writer) error {
	docs, err := documentOf(ctx, c, namespace, org)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return fmt.Errorf("no published document for organization %q in namespace %q", org, namespace)
	}
	idx, err := accessv1.LoadAccessIndex(org, docs...)
	if err != nil {
		return fmt.Errorf("the published documents in namespace %q cannot be used: %w", namespace, err)
	}
	if !idx.Allowed(user, permission) {
		fmt.Fprintln(out, "no")
		return errDenied
	}
	fmt.Fprintln(out, "yes")
	return nil
}

// documentOf reads org's document by name, as docs/document-format.md tells consumers
// to: access-<org>, then every further shard the first announces. None when the first
// does not exist; a missing further shard is an error.
func documentOf(ctx context.Context, c client.Client, namespace, org string) ([]*accessv1.AccessDocument, error) {
	first, err := readDocument(ctx, c, namespace, accessv1.DocumentConfigMapName(org, 1))
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	docs := []*accessv1.AccessDocument{first}
	for shard := 2; shard <= first.Shards; shard++ {
		doc, err := readDocument(ctx, c, namespace, accessv1.DocumentConfigMapName(org, shard))
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

func readDocument(ctx context.Context, c client.Client, namespace, name string) (*accessv1.AccessDocument, error) {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cm); err != nil {
		return nil, fmt.Errorf("read ConfigMap %s/%s: %w", namespace, name, err)
	}
	doc := &accessv1.AccessDocument{}
	if err := json.Unmarshal([]byte(cm.Data[accessv1.DocumentKey]), doc); err != nil {
		return nil, fmt.Errorf("decode ConfigMap %s/%s: %w", namespace, name, err)
	}
	return doc, nil
}

// showUser prints the user's status, roles and permissions in every organization whose
// document lists them, as of now: an entry past its validUntil holds nothing (as
// AccessIndex answers) until the operator publishes again.
func showUser(ctx context.Context, c client.Client, namespace, user string, now time.Time, out io.Writer) error {
	user = string(accessv1.Email(user).Canonical()) // the form documents list
	docs, err := publishedDocuments(ctx, c, namespace)
	if err != nil {
		return err
	}
	orgs := make([]string, 0, len(docs))
	for org := range docs {
		orgs = append(orgs, org)
	}
	sort.Strings(orgs)
	found := false
	for _, org := range orgs {
		if _, err := accessv1.LoadAccessIndex(org, docs[org]...); err != nil {
			fmt.Fprintf(out, "%s: its published documents cannot be used: %v\n", org, err)
			continue
		}
		for _, doc := range docs[org] {
			u, ok := doc.Users[user]
			if !ok {
				continue
			}
			found = true
			fmt.Fprintf(out, "%s (%s): %s", org, strings.Join(doc.Path, " > "), u.Status)
			if len(u.Roles) > 0 {
				fmt.Fprintf(out, ", roles %s", strings.Join(u.Roles, ", "))
			}
			if len(u.Features) > 0 {
				fmt.Fprintf(out, ", features %s", strings.Join(u.Features, ", "))
			}
			lapsed := u.ValidUntil != nil && !now.Before(*u.ValidUntil)
			switch {
			case lapsed:
				fmt.Fprintf(out, ", lapsed at %s: holds nothing here until the operator publishes again\n", u.ValidUntil.UTC().Format(time.RFC3339))
				continue
			case u.ValidUntil != nil:
				fmt.Fprintf(out, ", valid until %s", u.ValidUntil.UTC().Format(time.RFC3339))
			}
			fmt.Fprintln(out)
			if u.PermissionSet != "" {
				perms := doc.PermissionSets[u.PermissionSet]
				if len(perms) == 0 {
					fmt.Fprintln(out, "  (no permissions: own profile only)")
				}
				for _, p := range perms {
					fmt.Fprintf(out, "  %s\n", p)
				}
			}
		}
	}
	if !found {
		fmt.Fprintf(out, "%s appears in no published document of namespace %s\n", user, namespace)
	}
	return nil
}

// publishedDocuments lists the namespace's published documents by organization. Only a
// ConfigMap named as its document's shard (DocumentConfigMapName) counts: one that
// merely carries the label is not a document.
func publishedDocuments(ctx context.Context, c client.Client, namespace string) (map[string][]*accessv1.AccessDocument, error) {
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace(namespace), client.HasLabels{accessv1.OrganizationLabel}); err != nil {
		return nil, fmt.Errorf("list published ConfigMaps in %s: %w", namespace, err)
	}
	docs := map[string][]*accessv1.AccessDocument{}
	for i := range cms.Items {
		cm := &cms.Items[i]
		doc := &accessv1.AccessDocument{}
		if err := json.Unmarshal([]byte(cm.Data[accessv1.DocumentKey]), doc); err != nil {
			return nil, fmt.Errorf("decode ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
		}
		if cm.Name != accessv1.DocumentConfigMapName(doc.Organization, doc.Shard) {
			continue
		}
		docs[doc.Organization] = append(docs[doc.Organization], doc)
	}
	return docs, nil
}
