package compare

import (
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// Orgaccess answers checks the way a workload does: from the published documents, one
// AccessIndex per organization.
type Orgaccess struct {
	byOrganization map[string]*v1alpha1.AccessIndex
	// now is the instant the documents were compiled for: the platform's expiries and
	// removals are relative to it, not to the clock.
	now time.Time
}

// NewOrgaccess indexes every published document.
func NewOrgaccess(p *Platform) *Orgaccess {
	o := &Orgaccess{byOrganization: make(map[string]*v1alpha1.AccessIndex, len(p.Documents)), now: p.Compiled.Now()}
	for _, doc := range p.Documents {
		o.byOrganization[doc.Organization] = v1alpha1.NewAccessIndex(doc)
	}
	return o
}

// Allowed answers one check.
func (o *Orgaccess) Allowed(c Check) bool {
	idx, ok := o.byOrganization[c.Organization]
	return ok && idx.AllowedAt(c.User, c.Permission, o.now)
}
