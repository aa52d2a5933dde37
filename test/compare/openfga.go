package compare

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	openfgav1 "github.com/openfga/api/proto/openfga/v1"
	language "github.com/openfga/language/pkg/go/transformer"
	"github.com/openfga/openfga/pkg/server"
	"github.com/openfga/openfga/pkg/storage/memory"
)

// OpenFGA is an embedded OpenFGA server on its in-memory store, loaded with the
// platform through its public API.
type OpenFGA struct {
	server   *server.Server
	store    string
	model    string
	relation map[string]string // permission path -> relation on organization
}

// openFGAModel writes the authorization model in OpenFGA's DSL. Roles are relations on
// organization (the "roles as relations" pattern): r<i> holds role i in the
// organization and its subtree (through parent), l<i> in the organization only, h<i>
// holds it here directly or through a role that includes it; every permission path is a
// relation p<j>, the union of the roles whose closure contains it.
func openFGAModel(p *Platform) (dsl string, relation map[string]string) {
	roles := sortedRoles(p)
	includedBy := map[string][]int{}
	grantedBy := map[string][]int{} // permission path -> roles whose own closure holds it
	for i, r := range roles {
		for _, inc := range p.Roles[r].Links {
			includedBy[inc] = append(includedBy[inc], i)
		}
		for _, perm := range p.Roles[r].Own {
			grantedBy[perm] = append(grantedBy[perm], i)
		}
	}
	var b strings.Builder
	b.WriteString("model\n  schema 1.1\n\ntype user\n\ntype organization\n  relations\n")
	b.WriteString("    define parent: [organization]\n")
	for i, r := range roles {
		fmt.Fprintf(&b, "    define r%d: [user] or r%d from parent\n", i, i)
		fmt.Fprintf(&b, "    define l%d: [user]\n", i)
		fmt.Fprintf(&b, "    define h%d: r%d or l%d", i, i, i)
		for _, x := range includedBy[r] {
			fmt.Fprintf(&b, " or h%d", x)
		}
		b.WriteString("\n")
	}
	relation = map[string]string{}
	for j, path := range p.Paths {
		relation[path] = fmt.Sprintf("p%d", j)
		holders := grantedBy[path]
		if len(holders) == 0 {
			fmt.Fprintf(&b, "    define p%d: [user]\n", j) // granted by no role: no tuple ever written
			continue
		}
		terms := make([]string, len(holders))
		for k, h := range holders {
			terms[k] = fmt.Sprintf("h%d", h)
		}
		fmt.Fprintf(&b, "    define p%d: %s\n", j, strings.Join(terms, " or "))
	}
	return b.String(), relation
}

// openFGATuples lists the platform's relationship tuples: the organization tree and
// one tuple per grant.
func openFGATuples(p *Platform) []*openfgav1.TupleKey {
	roleIndex := map[string]int{}
	for i, r := range sortedRoles(p) {
		roleIndex[r] = i
	}
	var tuples []*openfgav1.TupleKey
	for org, ancestors := range p.Ancestors {
		if len(ancestors) > 0 {
			tuples = append(tuples, &openfgav1.TupleKey{
				Object: "organization:" + org, Relation: "parent", User: "organization:" + ancestors[len(ancestors)-1],
			})
		}
	}
	seen := map[string]bool{}
	for _, g := range p.Grants {
		rel := fmt.Sprintf("l%d", roleIndex[g.Role])
		if g.Subtree {
			rel = fmt.Sprintf("r%d", roleIndex[g.Role])
		}
		key := g.Organization + "#" + rel + "@" + g.User
		if seen[key] {
			continue
		}
		seen[key] = true
		tuples = append(tuples, &openfgav1.TupleKey{Object: "organization:" + g.Organization, Relation: rel, User: "user:" + g.User})
	}
	return tuples
}

// NewOpenFGA starts an embedded server and loads the platform. cached turns on
// OpenFGA's check query cache, with a TTL long enough (an hour, against the default
// 10 s) that a warmed cache still holds every benchmark check.
func NewOpenFGA(ctx context.Context, p *Platform, cached bool) (*OpenFGA, error) {
	ds := memory.New()
	opts := []server.OpenFGAServiceV1Option{server.WithDatastore(ds)}
	if cached {
		opts = append(opts, server.WithCheckQueryCacheEnabled(true), server.WithCheckQueryCacheTTL(time.Hour))
	}
	s, err := server.NewServerWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("start openfga server: %w", err)
	}
	store, err := s.CreateStore(ctx, &openfgav1.CreateStoreRequest{Name: "platform"})
	if err != nil {
		return nil, fmt.Errorf("create openfga store: %w", err)
	}
	dsl, relation := openFGAModel(p)
	model, err := language.TransformDSLToProto(dsl)
	if err != nil {
		return nil, fmt.Errorf("parse openfga model: %w", err)
	}
	written, err := s.WriteAuthorizationModel(ctx, &openfgav1.WriteAuthorizationModelRequest{
		StoreId: store.GetId(), TypeDefinitions: model.GetTypeDefinitions(), SchemaVersion: model.GetSchemaVersion(),
	})
	if err != nil {
		return nil, fmt.Errorf("write openfga model: %w", err)
	}
	f := &OpenFGA{server: s, store: store.GetId(), model: written.GetAuthorizationModelId(), relation: relation}
	tuples := openFGATuples(p)
	for batch := range slices.Chunk(tuples, ds.MaxTuplesPerWrite()) {
		if _, err := s.Write(ctx, &openfgav1.WriteRequest{
			StoreId: f.store, AuthorizationModelId: f.model,
			Writes: &openfgav1.WriteRequestWrites{TupleKeys: batch},
		}); err != nil {
			return nil, fmt.Errorf("write openfga tuples: %w", err)
		}
	}
	return f, nil
}

// Allowed answers one check.
func (f *OpenFGA) Allowed(ctx context.Context, c Check) (bool, error) {
	rel, ok := f.relation[c.Permission]
	if !ok {
		return false, nil
	}
	res, err := f.server.Check(ctx, &openfgav1.CheckRequest{
		StoreId: f.store, AuthorizationModelId: f.model,
		TupleKey: &openfgav1.CheckRequestTupleKey{User: "user:" + c.User, Relation: rel, Object: "organization:" + c.Organization},
	})
	if err != nil {
		return false, fmt.Errorf("openfga check %v: %w", c, err)
	}
	return res.GetAllowed(), nil
}

// Close stops the server.
func (f *OpenFGA) Close() { f.server.Close() }

// sortedRoles numbers the roles: role i is relation r<i>, l<i> and h<i>.
func sortedRoles(p *Platform) []string {
	roles := make([]string, 0, len(p.Roles))
	for r := range p.Roles {
		roles = append(roles, r)
	}
	slices.Sort(roles)
	return roles
}
