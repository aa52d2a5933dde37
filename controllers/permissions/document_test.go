package permissions_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// The document's bytes must be exactly encoding/json's, with a trailing newline, on a
// realistic platform (every phase, closure sets, features).
func TestDocumentBytesAreEncodingJSON(t *testing.T) {
	p := permissions.Compile(platformgen.Generate(platformgen.Small(), 3), platformgen.Now())
	for _, org := range p.Organizations() {
		doc, ok := p.Document(org)
		if !ok {
			t.Fatalf("Document(%s) not found", org)
		}
		want, err := json.Marshal(doc.Document)
		if err != nil {
			t.Fatalf("marshal %s: %v", org, err)
		}
		want = append(want, '\n')
		if len(doc.Shards) != 1 || !bytes.Equal(doc.Shards[0], want) {
			t.Fatalf("Document(%s) bytes differ from encoding/json:\n got %.300s\nwant %.300s", org, doc.Shards[0], want)
		}
	}
}

// Every Active user has a permission set; nobody else has one.
func TestDocumentPermissionSetOnlyForActiveUsers(t *testing.T) {
	p := permissions.Compile(platformgen.Generate(platformgen.Small(), 4), platformgen.Now())
	for _, org := range p.Organizations() {
		doc, _ := p.Document(org)
		for email, u := range doc.Document.Users {
			_, exists := doc.Document.PermissionSets[u.PermissionSet]
			if (u.Status == v1alpha1.UserPhaseActive) != (u.PermissionSet != "" && exists) {
				t.Fatalf("%s in %s: status %s, permission set %q (exists %v)", email, org, u.Status, u.PermissionSet, exists)
			}
		}
	}
}
