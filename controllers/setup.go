// Package controllers holds orgaccess's reconcilers: one per kind plus the publisher of
// access documents. They gather inputs from the cache, call the permission engine in
// controllers/permissions, and write only what changed. docs/controllers.md describes
// them.
package controllers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/orgaccess/orgaccess/controllers/permissions"
)

// Options configures the reconcilers.
type Options struct {
	// MaxConcurrentReconciles bounds each controller's parallel reconciles; 0 picks the default.
	MaxConcurrentReconciles int
	// CacheSyncTimeout bounds how long each controller waits for its informers to sync
	// before the manager gives up; 0 keeps controller-runtime's 2 minutes, too short for
	// a platform of hundreds of thousands of objects on a small machine.
	CacheSyncTimeout time.Duration
	// Clock is where the reconcilers take now from (expiry, removeAfter); nil is the
	// real clock. Tests inject one to move time.
	Clock clock.PassiveClock
	// Informers are the manager cache's informers, recorded as the cache created them
	// (Informers.NewInformer); gathers read bindings and invitations from their
	// indexers. nil: gathers look up through the manager's client, more slowly.
	Informers *Informers
}

// compileCacheSize bounds the compiled organization subsets kept for reuse: enough for
// the organizations a burst of changes touches at once.
const compileCacheSize = 64

// catalogsKept bounds the compiled trees and roles kept for reuse: one per namespace a
// manager serves covers most; with more namespaces than this, some compiles compile
// their trees and roles again. Each is small (0.6 MB for the 50 roles and 300 paths
// of the scale platform, with every permission set its documents use).
const catalogsKept = 16

// EventReporter names the operator in the events it records.
const EventReporter = "orgaccess-controller"

// SetupWithManager registers every orgaccess reconciler, field index and watch with mgr.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	if err := setupIndexes(context.Background(), mgr.GetCache()); err != nil {
		return err
	}
	c := mgr.GetClient()
	// Every compile of a namespace holds all of its trees and roles, compiled once.
	compiler := permissions.NewCompiler(catalogsKept)
	// An organization's subset is compiled once for its publisher and the reconcilers of
	// its bindings and invitations.
	subsets := gatherer{reader: c, informers: opts.Informers, compiler: compiler, compiled: newCompileCache(compileCacheSize)}
	// Role statuses compile the whole namespace once per snapshot, and tree statuses
	// their trees and roles: no compiled platform is shared, but they read the cache's
	// own objects too (a List of every binding copies each of them).
	namespaces := gatherer{reader: c, informers: opts.Informers, compiler: compiler}
	recorder := mgr.GetEventRecorder(EventReporter)
	controllerOpts := controller.Options{
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
		CacheSyncTimeout:        opts.CacheSyncTimeout,
	}
	// The other reconcilers yield to the publisher while documents wait (backlog.go).
	backlog := newPublishBacklog()
	reconcilers := []struct {
		kind  string
		setup func(ctrl.Manager, controller.Options) error
	}{
		{"Organization", newOrganizationReconciler(c, mgr.GetAPIReader(), clk, subsets, backlog).SetupWithManager},
		{"Role", newRoleReconciler(c, clk, namespaces, backlog, recorder).SetupWithManager},
		{"RoleBinding", newRoleBindingReconciler(c, clk, subsets, backlog).SetupWithManager},
		{"PermissionTree", newPermissionTreeReconciler(c, clk, namespaces).SetupWithManager},
		{"UserInvitation", newUserInvitationReconciler(c, clk, subsets, backlog, recorder).SetupWithManager},
	}
	for _, r := range reconcilers {
		if err := r.setup(mgr, controllerOpts); err != nil {
			return fmt.Errorf("set up the %s reconciler: %w", r.kind, err)
		}
	}
	return nil
}
