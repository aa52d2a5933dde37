package controllers

import (
	"reflect"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// Informers records the informers a manager's cache creates, so that gathers can read
// bindings and invitations straight from their indexers (indexedEach) rather than
// through the client. controller-runtime does not hand out an informer's indexer when
// the cache watches several namespaces (it wraps one informer per namespace), so the
// manager's cache creates its informers through NewInformer:
//
//	informers := controllers.NewInformers()
//	cacheOpts.NewInformer = informers.NewInformer
//	controllers.SetupWithManager(mgr, controllers.Options{Informers: informers})
type Informers struct {
	mu     sync.Mutex
	byType map[reflect.Type][]toolscache.Indexer
}

// NewInformers returns an empty record, for one manager's cache.
func NewInformers() *Informers {
	return &Informers{byType: map[reflect.Type][]toolscache.Indexer{}}
}

// NewInformer is a cache.Options.NewInformer: it creates the informer as
// controller-runtime does by default and records its indexer under the type of obj.
func (i *Informers) NewInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	informer := toolscache.NewSharedIndexInformer(lw, obj, resync, indexers)
	i.mu.Lock()
	defer i.mu.Unlock()
	t := reflect.TypeOf(obj)
	i.byType[t] = append(i.byType[t], informer.GetIndexer())
	return informer
}

// orgType is the Organization's type as NewInformer records it: a gather looks
// organizations up one by one (gatherer.organization).
var orgType = reflect.TypeFor[*v1alpha1.Organization]()

// indexers returns the indexers of the informers created for objects of type t (a
// pointer type, as NewInformer records it), none when i is nil or the cache has
// created none.
func (i *Informers) indexers(t reflect.Type) []toolscache.Indexer {
	if i == nil {
		return nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.byType[t]
}
