package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
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

// TestLeaderElectionTimes: the flags are refused at start, with the flag's name, exactly
// when client-go's leader election would refuse them once the manager runs.
func TestLeaderElectionTimes(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		times leaderElectionTimes
		flag  string // named in the error; "" for none
	}{
		{leaderElectionTimes{lease: 15 * s, renew: 10 * s, retry: 2 * s}, ""}, // the defaults
		{leaderElectionTimes{lease: 4 * s, renew: 3 * s, retry: s / 2}, ""},
		{leaderElectionTimes{lease: 15 * s, renew: 10 * s, retry: 0}, "--leader-election-retry-period"},
		{leaderElectionTimes{lease: 15 * s, renew: 2400 * time.Millisecond, retry: 2 * s}, "--leader-election-renew-deadline"},
		{leaderElectionTimes{lease: 15 * s, renew: 2401 * time.Millisecond, retry: 2 * s}, ""},
		{leaderElectionTimes{lease: 10 * s, renew: 10 * s, retry: 2 * s}, "--leader-election-lease-duration"},
		{leaderElectionTimes{lease: 0, renew: 10 * s, retry: 2 * s}, "--leader-election-lease-duration"},
	} {
		err := tc.times.validate()
		if tc.flag == "" && err != nil || tc.flag != "" && (err == nil || !strings.Contains(err.Error(), tc.flag)) {
			t.Errorf("%+v: validate() = %v, want an error naming %q", tc.times, err, tc.flag)
		}
		_, clientGoErr := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:          &resourcelock.LeaseLock{LockConfig: resourcelock.ResourceLockConfig{Identity: "replica"}},
			LeaseDuration: tc.times.lease, RenewDeadline: tc.times.renew, RetryPeriod: tc.times.retry,
			Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
		})
		if (err == nil) != (clientGoErr == nil) {
			t.Errorf("%+v: validate() = %v, client-go's leader election = %v", tc.times, err, clientGoErr)
		}
	}
}
