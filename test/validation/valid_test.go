package validation

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// TestValidManifestsAccepted applies a valid object of every kind, including the edge
// cases the rules must still allow, and checks that what the apiserver stored decodes
// into the Go types with no field left over: the CRD schema and the types agree.
func TestValidManifestsAccepted(t *testing.T) {
	ns := newNamespace(t)
	stored := map[string]*unstructured.Unstructured{}
	kinds := map[string]bool{}
	for _, obj := range manifests(t, ns, filepath.Join("testdata", "valid.yaml")) {
		if err := k8sClient.Create(context.Background(), obj); err != nil {
			t.Fatalf("the apiserver refused valid %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		stored[obj.GetKind()+"/"+obj.GetName()] = obj
		kinds[obj.GetKind()] = true
		typed := typedObject(t, obj.GetKind())
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, typed, true); err != nil {
			t.Errorf("stored %s %s does not decode into the Go type: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
	for _, kind := range []string{"Organization", "PermissionTree", "Role", "RoleBinding", "UserInvitation"} {
		if !kinds[kind] {
			t.Errorf("valid.yaml has no %s", kind)
		}
	}

	t.Run("inheritance_defaults_to_Subtree", func(t *testing.T) {
		requireString(t, stored["RoleBinding/alice-customer-admin"], "Subtree", "spec", "inheritance")
		requireString(t, stored["RoleBinding/store-manager-store-1"], "None", "spec", "inheritance")
	})
	t.Run("expiresAfter_defaults_to_168h", func(t *testing.T) {
		requireString(t, stored["UserInvitation/bob"], "168h", "spec", "expiresAfter")
		requireString(t, stored["UserInvitation/dave"], "1h30m", "spec", "expiresAfter")

		var bob v1alpha1.UserInvitation
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(stored["UserInvitation/bob"].Object, &bob); err != nil {
			t.Fatalf("decode bob: %v", err)
		}
		if bob.Spec.ExpiresAfter == nil || bob.Spec.ExpiresAfter.Duration != 168*time.Hour {
			t.Errorf("bob's expiresAfter decodes to %v, want 168h", bob.Spec.ExpiresAfter)
		}
	})
}

func requireString(t *testing.T, obj *unstructured.Unstructured, want string, fields ...string) {
	t.Helper()
	if obj == nil {
		t.Fatal("object missing from valid.yaml")
	}
	got, found, err := unstructured.NestedString(obj.Object, fields...)
	if err != nil || !found {
		t.Fatalf("%s %s: %v not set (err %v)", obj.GetKind(), obj.GetName(), fields, err)
	}
	if got != want {
		t.Errorf("%s %s: %v = %q, want %q", obj.GetKind(), obj.GetName(), fields, got, want)
	}
}

func typedObject(t *testing.T, kind string) runtime.Object {
	t.Helper()
	switch kind {
	case "Organization":
		return &v1alpha1.Organization{}
	case "PermissionTree":
		return &v1alpha1.PermissionTree{}
	case "Role":
		return &v1alpha1.Role{}
	case "RoleBinding":
		return &v1alpha1.RoleBinding{}
	case "UserInvitation":
		return &v1alpha1.UserInvitation{}
	}
	t.Fatalf("unknown kind %s", kind)
	return nil
}

// TestSamplesAccepted applies every orgaccess object of every platform in
// config/samples (what `make run` applies), one namespace per platform, so that a
// tightened rule cannot silently break the samples.
func TestSamplesAccepted(t *testing.T) {
	platforms, err := os.ReadDir(filepath.Join("..", "..", "config", "samples"))
	if err != nil {
		t.Fatalf("read config/samples: %v", err)
	}
	for _, platform := range platforms {
		if !platform.IsDir() {
			continue
		}
		t.Run(platform.Name(), func(t *testing.T) {
			dir := filepath.Join("..", "..", "config", "samples", platform.Name())
			files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
			if err != nil {
				t.Fatalf("list %s: %v", dir, err)
			}
			ns := newNamespace(t)
			applied := 0
			for _, file := range files {
				for _, obj := range manifests(t, ns, file) {
					if !strings.HasPrefix(obj.GetAPIVersion(), v1alpha1.GroupVersion.Group+"/") {
						continue // the Namespace and the Kustomization
					}
					if err := k8sClient.Create(context.Background(), obj); err != nil {
						t.Errorf("%s: the apiserver refused %s %s: %v", filepath.Base(file), obj.GetKind(), obj.GetName(), err)
					}
					applied++
				}
			}
			if applied == 0 {
				t.Errorf("%s holds no orgaccess object", dir)
			}
		})
	}
}
