package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// tracker watches the published ConfigMaps and tells when they all hold the expected
// bytes. It keeps only a hash per ConfigMap, so watching 10,000 documents stays cheap.
type tracker struct {
	mu         sync.Mutex
	current    map[string][32]byte
	since      map[string]time.Time // when each ConfigMap came to hold its current bytes
	target     map[string][32]byte
	mismatched int       // target names whose current hash differs
	matchedAt  time.Time // when mismatched last dropped to 0
	firstAt    time.Time // when a target ConfigMap first came to match since startStep
	done       chan struct{}
}

const hashKey = "sha256"

// startTracker starts an informer on namespace's published ConfigMaps.
func startTracker(ctx context.Context, cs *kubernetes.Clientset, namespace string) (*tracker, error) {
	t := &tracker{current: map[string][32]byte{}, since: map[string]time.Time{}}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = v1alpha1.OrganizationLabel }))
	inf := factory.Core().V1().ConfigMaps().Informer()
	if err := inf.SetTransform(func(obj any) (any, error) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return obj, nil
		}
		h := sha256.Sum256([]byte(cm.Data[v1alpha1.DocumentKey]))
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: cm.Name, Namespace: cm.Namespace, ResourceVersion: cm.ResourceVersion},
			BinaryData: map[string][]byte{hashKey: h[:]},
		}, nil
	}); err != nil {
		return nil, fmt.Errorf("set ConfigMap transform: %w", err)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(obj, false) },
		UpdateFunc: func(_, obj any) { t.observe(obj, false) },
		DeleteFunc: func(obj any) { t.observe(obj, true) },
	}); err != nil {
		return nil, fmt.Errorf("add ConfigMap handler: %w", err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("ConfigMap informer did not sync")
	}
	return t, nil
}

func (t *tracker) observe(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	want, tracked := t.target[cm.Name]
	wasMatching := tracked && t.current[cm.Name] == want
	if deleted {
		delete(t.current, cm.Name)
		delete(t.since, cm.Name)
	} else if h := [32]byte(cm.BinaryData[hashKey]); t.current[cm.Name] != h {
		t.current[cm.Name], t.since[cm.Name] = h, now
	}
	if !tracked {
		return
	}
	switch matching := !deleted && t.current[cm.Name] == want; {
	case matching && !wasMatching:
		t.mismatched--
		if t.firstAt.IsZero() {
			t.firstAt = now
		}
	case !matching && wasMatching:
		t.mismatched++
	}
	t.settle(now)
}

// settle records the instant every target ConfigMap matched. Called with mu held.
func (t *tracker) settle(now time.Time) {
	if t.mismatched == 0 && t.done != nil {
		t.matchedAt = now
		close(t.done)
		t.done = nil
	}
}

// startStep forgets when a document first matched, before an incremental change:
// firstMatch then tells when its first changed document was published.
func (t *tracker) startStep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.firstAt = time.Time{}
}

// firstMatch is when a target ConfigMap that differed first came to hold its expected
// bytes since startStep; zero if none has.
func (t *tracker) firstMatch() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.firstAt
}

// expect sets the bytes every published ConfigMap should converge to and returns a
// channel closed once they all do. When they already do, they did so when the last of
// them came to hold its bytes.
func (t *tracker) expect(e expectation) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.target = e.hashes
	t.mismatched = 0
	var last time.Time
	for name, h := range e.hashes {
		if cur, ok := t.current[name]; !ok || cur != h {
			t.mismatched++
		} else if t.since[name].After(last) {
			last = t.since[name]
		}
	}
	done := make(chan struct{})
	t.done = done
	t.settle(last)
	return done
}

// await waits for the expectation set last and returns when it was met, logging
// progress every 15 seconds. It gives up when the manager exits.
func (t *tracker) await(ctx context.Context, done <-chan struct{}, m *manager) (time.Time, error) {
	progress := time.NewTicker(15 * time.Second)
	defer progress.Stop()
	for {
		select {
		case <-done:
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.matchedAt, nil
		case <-m.exited:
			t.mu.Lock()
			defer t.mu.Unlock()
			return time.Time{}, fmt.Errorf("%d of %d documents not published when the manager exited: %w",
				t.mismatched, len(t.target), m.exitReason())
		case <-progress.C:
			t.mu.Lock()
			logf("%d of %d documents still differ from the expected bytes", t.mismatched, len(t.target))
			t.mu.Unlock()
		case <-ctx.Done():
			t.mu.Lock()
			defer t.mu.Unlock()
			return time.Time{}, fmt.Errorf("%d of %d documents not published as expected (for example %v): %w",
				t.mismatched, len(t.target), t.mismatches(3), ctx.Err())
		}
	}
}

// mismatches names up to n target ConfigMaps that differ. Called with mu held.
func (t *tracker) mismatches(n int) []string {
	var out []string
	for name, want := range t.target {
		if cur, ok := t.current[name]; !ok || cur != want {
			out = append(out, name)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// heldSince is when the last of the named ConfigMaps came to hold its current bytes;
// zero when one of them is not there.
func (t *tracker) heldSince(names []string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last time.Time
	for _, name := range names {
		at, ok := t.since[name]
		if !ok {
			return time.Time{}
		}
		if at.After(last) {
			last = at
		}
	}
	return last
}
