package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// The manager's client asks the API server to answer its two bulk writes, a document
// ConfigMap's create or update and a status patch, with the object's metadata alone
// (PartialObjectMetadata) instead of the whole object. controller-runtime's client
// decodes the whole answer into the object it wrote, but nothing reads more of it than
// the metadata: a document's data is what the publisher sent, and a status is what
// the reconciler computed. On a full-size cold start reading and decoding the whole
// answers (each document read back, each status's object) was 2.4 of the 31.5 GB the
// manager allocated, and a role edit that rewrites every document took a fifth less
// of the manager's CPU without them (docs/performance-log.md).

// metadataAnswer is the Accept header of such a write: PartialObjectMetadata, as
// protobuf when the API server offers it (every resource, custom ones included, serves
// meta.k8s.io types as protobuf), else as JSON.
const metadataAnswer = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1," +
	"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

// answerCodecs encode a ConfigMap as protobuf (the wire format controller-runtime
// picks for built-in kinds) and decode an answer: PartialObjectMetadata, or the Status
// of a refused write.
var answerCodecs = func() runtime.NegotiatedSerializer {
	scheme := runtime.NewScheme()
	// ConfigMap, and the Status of version v1; then PartialObjectMetadata.
	if err := errors.Join(corev1.AddToScheme(scheme), metav1.AddMetaToScheme(scheme)); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(scheme).WithoutConversion()
}()

// NewClient is the manager's client (ctrl.Options.NewClient): controller-runtime's,
// whose creates and updates of ConfigMaps and patches of a status are answered with
// the object's metadata alone. Every other call, and such a write with options, goes
// to controller-runtime's client unchanged.
//
// After such a write the object holds the metadata the API server answered (its
// resourceVersion, UID, creationTimestamp, managedFields) and what the caller sent for
// the rest. A mutating admission webhook that changed the rest is not seen by the
// caller; the watch event brings it to the cache as it brings any change.
func NewClient(cfg *rest.Config, opts client.Options) (client.Client, error) {
	c, err := client.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		if httpClient, err = rest.HTTPClientFor(cfg); err != nil {
			return nil, fmt.Errorf("HTTP client: %w", err)
		}
	}
	return &metadataAnswers{Client: c, config: cfg, httpClient: httpClient,
		kinds: map[schema.GroupVersionKind]answeringKind{}}, nil
}

// metadataAnswers is the client NewClient returns.
type metadataAnswers struct {
	client.Client
	config     *rest.Config
	httpClient *http.Client

	mu sync.Mutex
	// kinds holds a REST client per kind, as controller-runtime keeps one: each has its
	// own client-side rate limit (--kube-api-qps is per kind). A kind's answered writes
	// and its other requests draw on two such budgets, as controller-runtime's typed and
	// metadata clients of one kind do.
	kinds map[schema.GroupVersionKind]answeringKind
}

var _ client.Client = &metadataAnswers{}

// Create creates obj; a ConfigMap created without options is answered with its
// metadata.
func (c *metadataAnswers) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*corev1.ConfigMap); !ok || len(opts) > 0 {
		return c.Client.Create(ctx, obj, opts...)
	}
	return c.write(ctx, obj, answeredWrite{verb: http.MethodPost, body: obj})
}

// Update updates obj; a ConfigMap updated without options is answered with its
// metadata.
func (c *metadataAnswers) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if _, ok := obj.(*corev1.ConfigMap); !ok || len(opts) > 0 {
		return c.Client.Update(ctx, obj, opts...)
	}
	return c.write(ctx, obj, answeredWrite{verb: http.MethodPut, name: obj.GetName(), body: obj})
}

// Status writes the status subresource; a patch without options is answered with the
// object's metadata.
func (c *metadataAnswers) Status() client.SubResourceWriter {
	return statusAnswers{SubResourceWriter: c.Client.Status(), parent: c}
}

// statusAnswers is metadataAnswers' status writer.
type statusAnswers struct {
	client.SubResourceWriter
	parent *metadataAnswers
}

// Patch patches obj's status; without options, the answer is its metadata.
func (s statusAnswers) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if len(opts) > 0 {
		return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
	}
	data, err := patch.Data(obj)
	if err != nil {
		return fmt.Errorf("status patch of %s: %w", obj.GetName(), err)
	}
	return s.parent.write(ctx, obj, answeredWrite{verb: http.MethodPatch, patchType: patch.Type(),
		name: obj.GetName(), subresource: "status", body: data})
}

// answeredWrite is a write answered with metadata: its HTTP verb, the patch's type, the
// object's name (none for a create), the subresource and the body (an object to
// encode, or a patch's bytes).
type answeredWrite struct {
	verb        string
	patchType   types.PatchType
	name        string
	subresource string
	body        any
}

// write sends w for obj with the REST client of obj's kind, and sets obj's metadata to
// the answer's.
func (c *metadataAnswers) write(ctx context.Context, obj client.Object, w answeredWrite) error {
	accessor, ok := obj.(metav1.ObjectMetaAccessor)
	var m *metav1.ObjectMeta
	if ok {
		m, ok = accessor.GetObjectMeta().(*metav1.ObjectMeta)
	}
	if !ok {
		return fmt.Errorf("%T has no ObjectMeta to answer into", obj)
	}
	kind, err := c.kindOf(obj)
	if err != nil {
		return err
	}
	// The kind's client asks for metadataAnswer (its AcceptContentTypes).
	req := kind.client.Verb(w.verb).NamespaceIfScoped(obj.GetNamespace(), kind.namespaced).
		Resource(kind.resource)
	if w.name != "" {
		req = req.Name(w.name)
	}
	if w.subresource != "" {
		req = req.SubResource(w.subresource)
	}
	if w.patchType != "" {
		req = req.SetHeader("Content-Type", string(w.patchType))
	}
	var answer metav1.PartialObjectMetadata
	if err := req.Body(w.body).Do(ctx).Into(&answer); err != nil {
		return err
	}
	*m = answer.ObjectMeta
	return nil
}

// answeringKind is what write needs of a kind: its REST client, resource name and
// scope.
type answeringKind struct {
	client     rest.Interface
	resource   string
	namespaced bool
}

// kindOf returns obj's kind, its REST client made on first use.
func (c *metadataAnswers) kindOf(obj client.Object) (answeringKind, error) {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return answeringKind{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if kind, ok := c.kinds[gvk]; ok {
		return kind, nil
	}
	mapping, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return answeringKind{}, fmt.Errorf("resource of %s: %w", gvk, err)
	}
	cfg := rest.CopyConfig(c.config)
	gv := gvk.GroupVersion()
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.ContentType = runtime.ContentTypeProtobuf // a ConfigMap's body; a patch names its own
	cfg.AcceptContentTypes = metadataAnswer
	cfg.NegotiatedSerializer = answerCodecs
	r, err := rest.RESTClientForConfigAndClient(cfg, c.httpClient)
	if err != nil {
		return answeringKind{}, fmt.Errorf("REST client for %s: %w", gvk, err)
	}
	kind := answeringKind{client: r, resource: mapping.Resource.Resource,
		namespaced: mapping.Scope.Name() == meta.RESTScopeNameNamespace}
	c.kinds[gvk] = kind
	return kind, nil
}
