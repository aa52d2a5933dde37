package main

import (
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// newMemoizingMapper is controller-runtime's lazy RESTMapper with its successful
// RESTMapping answers remembered. The cache asks for a kind's mapping on every List (to
// tell namespaced kinds from cluster-scoped ones), and the reconcilers list from the
// cache several times per reconcile; each answer walks the discovery-backed mapper and
// allocates. The kinds the manager reads are the five of orgaccess and a few built-in
// ones, whose mappings do not change while it runs.
func newMemoizingMapper(c *rest.Config, httpClient *http.Client) (meta.RESTMapper, error) {
	m, err := apiutil.NewDynamicRESTMapper(c, httpClient)
	if err != nil {
		return nil, err
	}
	return &memoizingMapper{RESTMapper: m}, nil
}

type memoizingMapper struct {
	meta.RESTMapper
	mappings sync.Map // mappingKey -> *meta.RESTMapping
}

type mappingKey struct {
	gk      schema.GroupKind
	version string
}

// RESTMapping answers for one version from memory once it answered successfully; a
// look-up of several versions, or of none, asks the mapper every time.
func (m *memoizingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	if len(versions) != 1 {
		return m.RESTMapper.RESTMapping(gk, versions...)
	}
	key := mappingKey{gk: gk, version: versions[0]}
	if mapping, ok := m.mappings.Load(key); ok {
		return mapping.(*meta.RESTMapping), nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.mappings.Store(key, mapping)
	return mapping, nil
}
