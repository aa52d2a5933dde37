package main

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper counts the RESTMapping look-ups that reach it.
type countingMapper struct {
	meta.RESTMapper
	calls int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.calls++
	return c.RESTMapper.RESTMapping(gk, versions...)
}

func TestMemoizingMapperAsksOncePerKindAndVersion(t *testing.T) {
	gv := schema.GroupVersion{Group: "access.orgaccess.dev", Version: "v1alpha1"}
	base := meta.NewDefaultRESTMapper([]schema.GroupVersion{gv})
	base.Add(gv.WithKind("Organization"), meta.RESTScopeNamespace)
	counting := &countingMapper{RESTMapper: base}
	m := &memoizingMapper{RESTMapper: counting}
	gk := schema.GroupKind{Group: gv.Group, Kind: "Organization"}

	for range 3 {
		mapping, err := m.RESTMapping(gk, gv.Version)
		if err != nil {
			t.Fatal(err)
		}
		if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			t.Fatalf("scope = %s, want namespace", mapping.Scope.Name())
		}
	}
	if counting.calls != 1 {
		t.Errorf("the mapper was asked %d times, want once", counting.calls)
	}

	// A failed look-up is not remembered: the kind may be installed later.
	missing := schema.GroupKind{Group: gv.Group, Kind: "Missing"}
	for range 2 {
		if _, err := m.RESTMapping(missing, gv.Version); err == nil {
			t.Fatal("a missing kind has a mapping")
		}
	}
	if counting.calls != 3 {
		t.Errorf("the mapper was asked %d times, want 3 (each failure asks again)", counting.calls)
	}
}
