package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

func TestWatchedNamespaces(t *testing.T) {
	tests := []struct {
		flag string
		want map[string]cache.Config
	}{
		{flag: "", want: nil},
		{flag: " , ", want: nil},
		{flag: "billing", want: map[string]cache.Config{"billing": {}}},
		{flag: "billing, merchant,,billing", want: map[string]cache.Config{"billing": {}, "merchant": {}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, watchedNamespaces(tt.flag)); diff != "" {
			t.Errorf("watchedNamespaces(%q) (-want +got):\n%s", tt.flag, diff)
		}
	}
}
