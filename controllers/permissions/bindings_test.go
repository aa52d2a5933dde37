package permissions_test

import (
	"testing"
	"time"

	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/builders"
)

func TestBindingExpiry(t *testing.T) {
	at := epoch.Add(time.Hour)
	in := platform(builders.Role("r").Permissions("a"), builders.Customer("acme"), builders.Binding("u@x.example", "r", "acme").ExpiresAt(at).Named("b"))
	before := permissions.Compile(in, epoch)
	if !allowed(t, before, "acme", "u@x.example", "a") {
		t.Error("before expiresAt the binding grants")
	}
	if next, ok := before.NextChange(); !ok || !next.Equal(at) {
		t.Errorf("NextChange = %v, want %v", next, at)
	}
	after := permissions.Compile(in, at)
	if allowed(t, after, "acme", "u@x.example", "a") || ready(t, must(t, after.Binding, "b").Conditions).Reason != "Expired" {
		t.Error("at expiresAt the binding is revoked")
	}
}

// An inheritance the schema refuses, stored before its admission or restored around
// it, holds in the binding's organization only: the narrower, never the wider.
func TestUnknownInheritanceHoldsInItsOrganizationOnly(t *testing.T) {
	in := platform(builders.Role("r").Permissions("stores"), builders.Customer("acme"), builders.Unit("store").Under("acme"),
		builders.Binding("u@x.example", "r", "acme"))
	in.Bindings[0].Spec.Inheritance = "none"
	p := permissions.Compile(in, epoch)
	if !allowed(t, p, "acme", "u@x.example", "stores") {
		t.Error("the binding grants nothing in its own organization")
	}
	if allowed(t, p, "store", "u@x.example", "stores") {
		t.Errorf("a binding with inheritance %q holds in a descendant", in.Bindings[0].Spec.Inheritance)
	}
}
