package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
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
// client-side rate limit. It is the least any publisher of these documents can take.
func measureFloor(ctx context.Context, cfg *rest.Config, exp expectation, limits clientLimits) (time.Duration, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = limits.qps, limits.burst
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, fmt.Errorf("floor client: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: floorNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
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
	err = parallel(ctx, limits.workers, items, func(ctx context.Context, it *item) error {
		cm := it.doc.configMap(it.name, floorNamespace)
		if _, err := cs.CoreV1().ConfigMaps(floorNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("floor: create ConfigMap %s: %w", it.name, err)
		}
		return nil
	})
	return time.Since(start), err
}
