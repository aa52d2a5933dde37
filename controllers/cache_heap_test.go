package controllers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/cbor"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/controllers/permissions"
	"github.com/orgaccess/orgaccess/test/platformgen"
)

// convergedWire is a converged platform's bindings and invitations as the API server
// sends them to an informer: JSON with the statuses the reconcilers write, UIDs,
// resourceVersions and managedFields.
func convergedWire(tb testing.TB) (bindings, invitations [][]byte) {
	tb.Helper()
	in := platformgen.Generate(platformgen.Small(), 1)
	now := platformgen.Now()
	p := permissions.Compile(in, now)
	stamp := func(m *metav1.ObjectMeta, i int) {
		m.UID = types.UID(fmt.Sprintf("6c1f0d2e-3b4a-4f5e-8a9b-%012d", i))
		m.ResourceVersion = strconv.Itoa(100000 + i)
		m.ManagedFields = []metav1.ManagedFieldsEntry{{
			Manager: "orgaccess", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: v1alpha1.GroupVersion.String(),
			Time: &metav1.Time{Time: now}, FieldsType: "FieldsV1", Subresource: "status",
			FieldsV1: metav1.NewFieldsV1(`{"f:status":{".":{},"f:conditions":{},"f:observedGeneration":{}}}`),
		}}
	}
	for i := range in.Bindings {
		b := in.Bindings[i]
		b.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "RoleBinding"}
		stamp(&b.ObjectMeta, i)
		if res, ok := p.Binding(b.Name); ok {
			b.Status = v1alpha1.RoleBindingStatus{
				ObservedGeneration: b.Generation,
				Conditions:         mergeConditions(nil, res.Conditions, b.Generation),
			}
		}
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		bindings = append(bindings, raw)
	}
	for i := range in.Invitations {
		inv := in.Invitations[i]
		inv.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "UserInvitation"}
		stamp(&inv.ObjectMeta, len(in.Bindings)+i)
		if res, ok := p.Invitation(inv.Name); ok {
			inv.Status = invitationStatus(inv, res)
		}
		inv.Finalizers = []string{InvitationFinalizer}
		raw, err := json.Marshal(inv)
		if err != nil {
			tb.Fatal(err)
		}
		invitations = append(invitations, raw)
	}
	return bindings, invitations
}

// BenchmarkCachedObjectHeap measures the heap the informer cache keeps for each
// RoleBinding and UserInvitation of a converged platform: each object decoded from the
// API server's JSON by the manager's decoder and passed through the cache's transform,
// as an informer stores it. It reports the bytes kept per object, after a collection;
// the cache's field indexes come on top (docs/performance.md, Heap per cached object).
//
//	go test -run XXX -bench CachedObjectHeap -benchtime 3x ./controllers/
func BenchmarkCachedObjectHeap(b *testing.B) {
	bindings, invitations := convergedWire(b)
	decoder := serializer.NewCodecFactory(testScheme).UniversalDeserializer()
	for _, kind := range []struct {
		name string
		wire [][]byte
	}{{"binding", bindings}, {"invitation", invitations}} {
		for _, sharing := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/interned=%t", kind.name, sharing), func(b *testing.B) {
				var kept float64
				for range b.N {
					held := make([]any, len(kind.wire))
					var shared *interner
					if sharing {
						shared = newInterner(internerCapacity)
					}
					before := liveHeap()
					for i, raw := range kind.wire {
						obj, _, err := decoder.Decode(raw, nil, nil)
						if err != nil {
							b.Fatal(err)
						}
						if held[i], err = trimForCache(obj, shared); err != nil {
							b.Fatal(err)
						}
					}
					kept = float64(liveHeap()-before) / float64(len(held))
					runtime.KeepAlive(held)
				}
				b.ReportMetric(kept, "kept-B/"+kind.name)
			})
		}
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCachedObjectDecode measures what decoding one converged RoleBinding or
// UserInvitation costs the manager, the informers' largest CPU cost in a cold start
// (docs/performance.md, Full size): from the JSON the API server sends custom
// resources in today, and from CBOR, which Kubernetes 1.37 serves behind alpha feature
// gates on both ends (CBORServingAndStorage, ClientsAllowCBOR). Custom resources have
// no protobuf encoding.
//
//	go test -run XXX -bench CachedObjectDecode ./controllers/
func BenchmarkCachedObjectDecode(b *testing.B) {
	bindings, invitations := convergedWire(b)
	jsonDecoder := serializer.NewCodecFactory(testScheme).UniversalDeserializer()
	cborSerializer := cbor.NewSerializer(testScheme, testScheme)
	for _, kind := range []struct {
		name string
		wire [][]byte
	}{{"binding", bindings}, {"invitation", invitations}} {
		cborWire := make([][]byte, len(kind.wire))
		for i, raw := range kind.wire {
			obj, _, err := jsonDecoder.Decode(raw, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			if err := cborSerializer.Encode(obj, &buf); err != nil {
				b.Fatal(err)
			}
			cborWire[i] = buf.Bytes()
		}
		for _, format := range []struct {
			name    string
			decoder kruntime.Decoder
			wire    [][]byte
		}{{"json", jsonDecoder, kind.wire}, {"cbor", cborSerializer, cborWire}} {
			b.Run(kind.name+"/"+format.name, func(b *testing.B) {
				var size int
				for _, raw := range format.wire {
					size += len(raw)
				}
				b.ReportAllocs()
				b.ReportMetric(float64(size)/float64(len(format.wire)), "wire-B/op")
				for i := range b.N {
					if _, _, err := format.decoder.Decode(format.wire[i%len(format.wire)], nil, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
