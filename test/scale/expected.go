package main

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// document is one ConfigMap the manager should publish.
type document struct {
	organization string
	shard        int // 1-based
	data         []byte
}

// configMapName follows the publisher's names: access-<organization> for the document
// or its first shard, access-<organization>-<n> for shard n >= 2.
func configMapName(org string, shard int) string {
	if shard == 1 {
		return v1alpha1.DocumentConfigMapPrefix + org
	}
	return v1alpha1.DocumentConfigMapPrefix + org + "-" + strconv.Itoa(shard)
}

// expectation is what the namespace should hold once the manager has converged: the
// bytes of every published ConfigMap, by name.
type expectation struct {
	documents map[string]document
	hashes    map[string][32]byte
	// roleReach and userReach count the documents that list a role (held by some user)
	// and a user, so the incremental scenarios can pick what touches many documents.
	roleReach map[string]int
	userReach map[string]int
	// changesAt is when the platform next changes by time alone (an expiry, a role's
	// removeAfter), after which these bytes are stale; zero when nothing does.
	changesAt time.Time
}

// expectDocuments compiles in with the engine the manager uses and renders every
// organization's document.
func expectDocuments(in permissions.Input, now time.Time) (expectation, error) {
	p := permissions.Compile(in, now)
	e := expectation{
		documents: map[string]document{}, hashes: map[string][32]byte{},
		roleReach: map[string]int{}, userReach: map[string]int{},
	}
	if next, ok := p.NextChange(); ok {
		e.changesAt = next
	}
	for _, org := range p.Organizations() {
		doc, ok := p.Document(org)
		if !ok {
			return expectation{}, fmt.Errorf("engine rendered no document for organization %s", org)
		}
		roles := map[string]bool{}
		for email, u := range doc.Document.Users {
			e.userReach[email]++
			for _, r := range u.Roles {
				roles[r] = true
			}
		}
		for r := range roles {
			e.roleReach[r]++
		}
		for i, shard := range doc.Shards {
			name := configMapName(org, i+1)
			e.documents[name] = document{organization: org, shard: i + 1, data: shard}
			e.hashes[name] = sha256.Sum256(shard)
		}
	}
	return e, nil
}

// changed lists the ConfigMaps whose bytes differ from before (new ones included).
func (e expectation) changed(before expectation) []string {
	var out []string
	for name, h := range e.hashes {
		if before.hashes[name] != h {
			out = append(out, name)
		}
	}
	return out
}

// configMap is the ConfigMap a plain writer creates for one document: the same name,
// labels and bytes as the manager's.
func (d document) configMap(name, namespace string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace,
			Labels: map[string]string{
				v1alpha1.OrganizationLabel: d.organization,
				v1alpha1.ShardLabel:        strconv.Itoa(d.shard),
			},
		},
		Data: map[string]string{v1alpha1.DocumentKey: string(d.data)},
	}
}
