package v1alpha1_test

import (
	"testing"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

func TestEmailCanonicalFoldsASCIILettersOnly(t *testing.T) {
	for in, want := range map[v1alpha1.Email]v1alpha1.Email{
		"alice@acme.example":   "alice@acme.example",
		"Alice@ACME.example":   "alice@acme.example",
		"ZOE.Z+Tag@X.Example":  "zoe.z+tag@x.example",
		"Ålice@acme.example":   "Ålice@acme.example",   // not ASCII: left for admission to refuse
		"\u0410lice@acme.test": "\u0410lice@acme.test", // a Cyrillic capital A stays distinct from "alice"
		"":                     "",
	} {
		if got := in.Canonical(); got != want {
			t.Errorf("Email(%q).Canonical() = %q, want %q", in, got, want)
		}
	}
}
