package validation

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestKubectlDryRunRefuses runs the real kubectl against the envtest apiserver, the way
// a user applies a file, and checks that kubectl's own output names the wrong field.
func TestKubectlDryRunRefuses(t *testing.T) {
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("kubectl is not in KUBEBUILDER_ASSETS (hack/envtest.sh builds it): %v", err)
	}
	kubeconfig := writeKubeconfig(t)
	ns := newNamespace(t)
	apply := func(file string) (string, error) {
		cmd := exec.Command(kubectl, "--kubeconfig", kubeconfig, "--namespace", ns,
			"apply", "--dry-run=server", "-f", filepath.Join("testdata", file))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// Without this control a broken kubeconfig would make every refusal below pass.
	t.Run("valid_manifests_of_every_kind_pass", func(t *testing.T) {
		out, err := apply("valid.yaml")
		if err != nil {
			t.Fatalf("kubectl apply --dry-run=server of valid.yaml failed: %v\n%s", err, out)
		}
		if !strings.Contains(out, "userinvitation.access.orgaccess.dev/dave created (server dry run)") {
			t.Errorf("kubectl output does not report the dry-run creation:\n%s", out)
		}
	})

	cases := []struct {
		name string
		file string
		want []string // every string must appear in kubectl's output
	}{
		{
			name: "uppercase_email_in_invitation",
			file: "kubectl/uppercase-email-invitation.yaml",
			want: []string{`The UserInvitation "alice" is invalid`, `spec.email: Invalid value: "Alice@Acme.example"`, "must be lowercase"},
		},
		{
			name: "organization_is_its_own_parent",
			file: "kubectl/self-parent-organization.yaml",
			want: []string{`The Organization "acme" is invalid`, "spec.parentRef.name: Invalid value", "cannot be its own parent"},
		},
		{
			name: "permission_path_nine_segments_deep",
			file: "kubectl/nine-deep-permission-path.yaml",
			want: []string{`The PermissionTree "catalog" is invalid`, "spec.permissions[0].path: Invalid value", "at most 8 segments deep"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := apply(tc.file)
			var exitErr *exec.ExitError
			if err == nil {
				t.Fatalf("kubectl accepted %s:\n%s", tc.file, out)
			}
			if !errors.As(err, &exitErr) {
				t.Fatalf("run kubectl: %v", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("kubectl output lacks %q:\n%s", want, out)
				}
			}
			t.Logf("kubectl: %s", strings.TrimSpace(out))
		})
	}
}

// writeKubeconfig writes a kubeconfig for an administrator of the envtest apiserver.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	user, err := testEnv.AddUser(envtest.User{Name: "validation-admin", Groups: []string{"system:masters"}}, restConfig)
	if err != nil {
		t.Fatalf("add envtest user: %v", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		t.Fatalf("build kubeconfig: %v", err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}
