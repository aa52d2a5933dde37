package compare

import (
	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// Orgaccess answers checks the way a workload does: from the published documents, one
// AccessIndex per organization.
type Orgaccess struct {
	byOrganization map[string]*v1alpha1.AccessIndex
}

// NewOrgaccess indexes every published document.
func NewOrgaccess(p *Platform) *Orgaccess {
	o := &Orgaccess{byOrganization: make(map[string]*v1alpha1.AccessIndex, len(p.Documents))}
	for _, doc := range p.Documents {
		o.byOrganization[doc.Organization] = v1alpha1.NewAccessIndex(doc)
	}
	return o
}

// Allowed answers one check.
func (o *Orgaccess) Allowed(c Check) bool {
	idx, ok := o.byOrganization[c.Organization]
	return ok && idx.Allowed(c.User, c.Permission)
}
