package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers"
)

// floorNamespace holds the plain writer's ConfigMaps, apart from the manager's.
const floorNamespace = "scale-floor"

// clientLimits is a client's concurrency and client-side rate limit.
type clientLimits struct {
	workers int
	qps     float32 // < 0: no client-side limit
	burst   int
}

// measureFloor creates the final ConfigMaps with a plain writer: no reads, no engine,
// no status, only one create per document, with the manager's concurrency and
// client-side rate limit, wire format (protobuf) and client (controllers.NewClient,
// whose creates are answered with the ConfigMap's metadata alone). It is the least any
// publisher of these documents can take.
func measureFloor(ctx context.Context, cfg *rest.Config, exp expectation, limits clientLimits) (time.Duration, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = limits.qps, limits.burst
	c, err := controllers.NewClient(cfg, client.Options{})
	if err != nil {
		return 0, fmt.Errorf("floor client: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: floorNamespace}}
	if err := c.Create(ctx, ns); err != nil {
		return 0, fmt.Errorf("create namespace %s: %w", floorNamespace, err)
	}
	type item struct {
		name string
		doc  document
	}
	items := make([]item, 0, len(exp.documents))
	for name, doc := range exp.documents {
		items = append(items, item{name, doc})
	}
	start := time.Now()
	err = parallel(ctx, limits.workers, items, func(ctx context.Context, it item) error {
		if err := c.Create(ctx, it.doc.configMap(it.name, floorNamespace)); err != nil {
			return fmt.Errorf("floor: create ConfigMap %s: %w", it.name, err)
		}
		return nil
	})
	return time.Since(start), err
}

// measureReadFloor starts a plain cache of what the manager caches, the same kinds and
// selection (controllers.CacheOptions) but no transform and no field index, with the
// manager's client-side rate limit, and returns how long its informers take to sync.
// The manager can publish nothing before its own cache has synced (a document built
// from a partial cache could grant what a binding not yet read would deny), so this is
// the least any cache-based publisher spends before its first write: listing and
// decoding the platform, on the API server's side and its own.
func measureReadFloor(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, limits clientLimits) (time.Duration, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = limits.qps, limits.burst
	opts, err := controllers.CacheOptions(nil)
	if err != nil {
		return 0, err
	}
	opts.Scheme = scheme
	opts.DefaultTransform = nil
	c, err := cache.New(cfg, opts)
	if err != nil {
		return 0, fmt.Errorf("read floor: new cache: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	for _, obj := range cachedKinds() {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			return 0, fmt.Errorf("read floor: informer for %T: %w", obj, err)
		}
	}
	start := time.Now()
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return 0, fmt.Errorf("read floor: cache did not sync: %w", ctx.Err())
	}
	return time.Since(start), nil
}

// cachedKinds are the kinds the manager's controllers watch, and so cache.
func cachedKinds() []client.Object {
	return []client.Object{
		&v1alpha1.Organization{}, &v1alpha1.Role{}, &v1alpha1.PermissionTree{},
		&v1alpha1.RoleBinding{}, &v1alpha1.UserInvitation{}, &corev1.ConfigMap{},
	}
}
