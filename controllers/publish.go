package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// publisher writes an organization's document to its ConfigMaps: access-<org> for the
// whole document or its first shard, access-<org>-<n> for shard n >= 2. It compares
// before writing, so an unchanged document writes nothing.
type publisher struct {
	client client.Client
	// uncached reads a ConfigMap the cache does not hold: one whose organization label
	// was removed, when the cache holds only labelled ConfigMaps (CacheOptions). nil
	// reads through client.
	uncached client.Reader
	// own records each update so that its watch event does not bring the organization
	// back; nil records nothing.
	own *ownWrites
}

// isDocumentName says whether cm is named and labelled as a shard of org's document.
func isDocumentName(cm *corev1.ConfigMap, org string) bool {
	shard, err := strconv.Atoi(cm.Labels[v1alpha1.ShardLabel])
	return err == nil && shard >= 1 && cm.Name == v1alpha1.DocumentConfigMapName(org, shard)
}

// desiredConfigMaps renders the ConfigMaps that publish shards, in shard order: labelled
// with the organization and shard number, and controlled by the organization so that
// deleting it deletes them.
//
// A ConfigMap's data shares its shard's bytes instead of copying them: shards are the
// buffers permissions.Platform.Shards made for this call, which nothing writes to once
// it returns, so the string cannot change under the ConfigMap. The copies were 0.78 GB
// of what a full-size cold start allocated (docs/performance-log.md).
func desiredConfigMaps(org *v1alpha1.Organization, shards [][]byte) []corev1.ConfigMap {
	owner := metav1.NewControllerRef(org, v1alpha1.GroupVersion.WithKind("Organization"))
	out := make([]corev1.ConfigMap, len(shards))
	for i, data := range shards {
		out[i] = corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name:      v1alpha1.DocumentConfigMapName(org.Name, i+1),
				Namespace: org.Namespace,
				Labels: map[string]string{
					v1alpha1.OrganizationLabel: org.Name,
					v1alpha1.ShardLabel:        strconv.Itoa(i + 1),
				},
				OwnerReferences: []metav1.OwnerReference{*owner},
			},
			Data: map[string]string{v1alpha1.DocumentKey: unsafe.String(unsafe.SliceData(data), len(data))},
		}
	}
	return out
}

// configMapUpToDate says whether have already holds want's data (and nothing else), its
// labels and its controller reference; other labels, annotations and owners may differ.
// wantDigest is dataDigest(want.Data), computed once by the caller, who needs it again
// for the write.
func configMapUpToDate(have, want *corev1.ConfigMap, wantDigest string) bool {
	return len(have.BinaryData) == 0 && sameData(have, want, wantDigest) && sameMetadata(have, want)
}

// sameMetadata says whether have carries want's labels and controller reference.
func sameMetadata(have, want *corev1.ConfigMap) bool {
	for k, v := range want.Labels {
		if have.Labels[k] != v {
			return false
		}
	}
	ref := metav1.GetControllerOf(have)
	return ref != nil && equality.Semantic.DeepEqual(*ref, want.OwnerReferences[0])
}

// sameData says whether have's data is want's; have's may be the digest the cache keeps
// (CacheOptions).
func sameData(have, want *corev1.ConfigMap, wantDigest string) bool {
	if digest, ok := have.Data[dataDigestKey]; ok {
		return digest == wantDigest
	}
	return maps.Equal(have.Data, want.Data)
}

// mergeConfigMap returns have changed to hold want's data, labels and controller
// reference, keeping what others added (labels, annotations, other owners).
func mergeConfigMap(have, want *corev1.ConfigMap) *corev1.ConfigMap {
	out := have.DeepCopy()
	out.Data, out.BinaryData = want.Data, nil
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	maps.Copy(out.Labels, want.Labels)
	owner := want.OwnerReferences[0]
	out.OwnerReferences = slices.DeleteFunc(out.OwnerReferences, func(r metav1.OwnerReference) bool {
		return r.UID == owner.UID || (r.Controller != nil && *r.Controller)
	})
	out.OwnerReferences = append(out.OwnerReferences, owner)
	return out
}

// controlledBy says whether obj is controlled by the object with uid.
func controlledBy(obj client.Object, uid types.UID) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == uid
}

// controlledByEarlier says whether cm's controller is an earlier Organization of org's
// name, deleted since (the only one of that name now is org): its documents are org's to
// take over, and mergeConfigMap replaces the controller reference. A cluster's garbage
// collector deletes them in time, but one without (envtest, `make run`) keeps them, and
// refusing them left the new organization unpublished behind its predecessor's
// document, which went on granting.
func controlledByEarlier(cm client.Object, org *v1alpha1.Organization) bool {
	ref := metav1.GetControllerOf(cm)
	return ref != nil && ref.Kind == "Organization" && ref.Name == org.Name && ref.UID != org.UID &&
		strings.HasPrefix(ref.APIVersion, v1alpha1.GroupVersion.Group+"/")
}

// publishError is a failed ConfigMap write, with a message that stays the same across
// retries so the Ready condition does not churn.
type publishError struct {
	configMap string
	reason    string // deterministic: an API status reason or our own explanation
	err       error
}

func (e *publishError) Error() string {
	return fmt.Sprintf("publish ConfigMap %s: %v", e.configMap, e.err)
}

func (e *publishError) Unwrap() error { return e.err }

// conditionMessage is the Ready message of a publish failure.
func (e *publishError) conditionMessage() string {
	return fmt.Sprintf("writing ConfigMap %s failed: %s", e.configMap, e.reason)
}

// writeFailed is the publish failure of a write of ConfigMap name. The condition gives
// the API server's reason (Forbidden, Invalid, ...), which does not change between
// retries as the error's text may; an error that carries none (the API server did not
// answer) says so, and the manager's log has the error itself.
func writeFailed(name string, err error) error {
	reason := string(apierrors.ReasonForError(err))
	if reason == "" {
		reason = "no answer from the API server (the manager's log has the error)"
	}
	return &publishError{configMap: name, reason: reason, err: err}
}

// transient says whether err is a race with another writer that the next reconcile
// resolves by itself, so it is retried without reporting a failure.
func transient(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)
}

// publishResult is what a publish did.
type publishResult struct {
	names []string // the ConfigMaps holding the document, in shard order
	wrote bool     // whether any ConfigMap was created, updated or deleted
}

// publish makes org's ConfigMaps hold exactly shards: it creates or updates the shards
// that differ and deletes the stale shards of a previously larger document.
//
// Shard 1, which says how many shards there are, is written last: a document that
// grows into shards creates them before shard 1 announces them, so a consumer reading by
// name (access-<org>, then the shards it announces) never finds an announced shard
// missing. Stale shards go after shard 1 stopped announcing them.
func (p publisher) publish(ctx context.Context, org *v1alpha1.Organization, shards [][]byte) (publishResult, error) {
	var res publishResult
	existing, err := p.published(ctx, org)
	if err != nil {
		return res, err
	}
	desired := desiredConfigMaps(org, shards)
	for _, want := range desired {
		res.names = append(res.names, want.Name)
	}
	for i := len(desired) - 1; i >= 0; i-- {
		want := desired[i]
		var have *corev1.ConfigMap
		if cm, ok := existing[want.Name]; ok {
			have = &cm
		}
		delete(existing, want.Name)
		wrote, err := p.write(ctx, org, have, &want)
		if err != nil {
			return res, err
		}
		res.wrote = res.wrote || wrote
	}
	for _, name := range sortedKeys(existing) {
		stale := existing[name]
		if !controlledBy(&stale, org.UID) {
			continue
		}
		if err := p.client.Delete(ctx, &stale, client.Preconditions{UID: &stale.UID}); client.IgnoreNotFound(err) != nil {
			return res, writeFailed(name, err)
		}
		documentWrites.WithLabelValues("delete").Inc()
		res.wrote = true
	}
	return res, nil
}

// write creates want, or updates have to hold it, unless have already does.
func (p publisher) write(ctx context.Context, org *v1alpha1.Organization, have, want *corev1.ConfigMap) (bool, error) {
	var wantDigest string // want's data digest, once: compared with have's, recorded for the update
	if have != nil {
		wantDigest = dataDigest(want.Data)
	}
	switch {
	case have == nil:
		// Created without looking first: on a cold start none exists, and a look would
		// cost a request per document. One that exists without our label (someone
		// removed it) is read and updated instead.
		err := p.client.Create(ctx, want)
		if apierrors.IsAlreadyExists(err) {
			if have, err = p.unlabelled(ctx, want); err != nil {
				return false, err
			}
			if have != nil {
				return p.write(ctx, org, have, want)
			}
			return false, writeFailed(want.Name, apierrors.NewConflict(corev1.Resource("configmaps"), want.Name,
				errors.New("created and deleted concurrently")))
		}
		if err != nil {
			return false, writeFailed(want.Name, err)
		}
		documentWrites.WithLabelValues("create").Inc()
	case metav1.GetControllerOf(have) != nil && !controlledBy(have, org.UID) && !controlledByEarlier(have, org):
		// A ConfigMap of another owner (another organization's document, when names such
		// as access-a-2 collide) is never taken over.
		ref := metav1.GetControllerOf(have)
		return false, &publishError{configMap: want.Name, err: errors.New("controlled by another owner"),
			reason: fmt.Sprintf("it is controlled by %s %s", ref.Kind, ref.Name)}
	case configMapUpToDate(have, want, wantDigest) && !p.own.awaitingOther(have, wantDigest),
		// (Unless a write of other data is awaited: then the cache's copy is older than
		// the API server's, and the update below, from that copy, fails with a conflict
		// and is retried once the cache has caught up.)
		// Or the cache has not yet seen this publisher's update, which wrote this very
		// data (an organization reconciled again within milliseconds of publishing): the
		// API server holds it, and an update from the stale copy would only fail with a
		// conflict. The update's event comes, and a hand edit after it brings the
		// organization back.
		p.own.awaiting(have, wantDigest) && sameMetadata(have, want):
		writesSkipped.WithLabelValues(resourceConfigMap).Inc()
		return false, nil
	case have.Immutable != nil && *have.Immutable:
		// An immutable ConfigMap (made so by hand, or by a policy that marks ConfigMaps
		// immutable for the kubelet's sake) refuses every update: it is replaced, the one
		// the cache holds and no other (its UID). Consumers find no document in between,
		// and grant nothing.
		if err := p.client.Delete(ctx, have, client.Preconditions{UID: &have.UID}); client.IgnoreNotFound(err) != nil {
			return false, writeFailed(want.Name, err)
		}
		documentWrites.WithLabelValues("delete").Inc()
		return p.write(ctx, org, nil, want)
	default:
		// An update, not a patch: the client sends a ConfigMap as protobuf, which the API
		// server decodes in one pass, where a JSON merge patch of a document costs it
		// (and this client) encoding, parsing and merging the whole document several
		// times over (docs/performance-log.md). The cache's copy lacks only what
		// an update may leave out (CacheOptions): the managedFields, which the API server
		// keeps when an update sends none, and the data, which want replaces. Its
		// resourceVersion makes the update fail with a conflict if the ConfigMap changed
		// since the cache saw it.
		merged := mergeConfigMap(have, want)
		p.own.writing(merged, wantDigest)
		if err := p.client.Update(ctx, merged); err != nil {
			p.own.forget(merged)
			return false, writeFailed(want.Name, err)
		}
		documentWrites.WithLabelValues("update").Inc()
	}
	return true, nil
}

// published returns org's ConfigMaps as the cache holds them, by name.
func (p publisher) published(ctx context.Context, org *v1alpha1.Organization) (map[string]corev1.ConfigMap, error) {
	var list corev1.ConfigMapList
	if err := listByIndex(ctx, p.client, &list, org.Namespace, indexConfigMapOrganization, org.Name); err != nil {
		return nil, fmt.Errorf("list ConfigMaps of Organization %s/%s: %w", org.Namespace, org.Name, err)
	}
	out := make(map[string]corev1.ConfigMap, len(list.Items))
	for _, cm := range list.Items {
		out[cm.Name] = cm
	}
	return out, nil
}

// unlabelled reads the ConfigMap named like want that the labelled ones did not
// include; nil when it does not exist (deleted since the create failed).
func (p publisher) unlabelled(ctx context.Context, want *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	reader := p.uncached
	if reader == nil {
		reader = p.client
	}
	var cm corev1.ConfigMap
	err := reader.Get(ctx, client.ObjectKeyFromObject(want), &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get ConfigMap %s/%s: %w", want.Namespace, want.Name, err)
	}
	return &cm, nil
}

// unpublish deletes the ConfigMaps of an organization deleted or being deleted. In a
// cluster the garbage collector does this through the owner reference, but only once the
// organization is gone: one whose deletion waits for a finalizer (another controller's,
// an orphaning delete's) would keep granting what it granted, whatever changes
// meanwhile. Doing it here also keeps a cluster without a collector (envtest), a stale
// cache, and a delete with --cascade=orphan (which strips the owner reference) from
// leaving documents behind: a document that names the organization and lost its
// controller goes too.
func (p publisher) unpublish(ctx context.Context, ns, org string) error {
	var list corev1.ConfigMapList
	if err := listByIndex(ctx, p.client, &list, ns, indexConfigMapOrganization, org); err != nil {
		return fmt.Errorf("list ConfigMaps of deleted Organization %s/%s: %w", ns, org, err)
	}
	for _, cm := range list.Items {
		ref := metav1.GetControllerOf(&cm)
		ours := ref != nil && ref.Kind == "Organization" && ref.Name == org
		orphaned := ref == nil && isDocumentName(&cm, org)
		if !ours && !orphaned {
			continue
		}
		if err := p.client.Delete(ctx, &cm, client.Preconditions{UID: &cm.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete ConfigMap %s/%s: %w", ns, cm.Name, err)
		}
		documentWrites.WithLabelValues("delete").Inc()
	}
	return nil
}
