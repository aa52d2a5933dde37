package validation

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// OpenAPI's date-time format checks a lowercased value, so "2026-11-20t09:15:00z" passes
// it, but metav1.Time parses with time.RFC3339, which refuses a lowercase t or z. Stored,
// such an object makes every typed list of its kind fail: the manager's informer of that
// kind then lists nothing, and a block in any other namespace is never applied. Each time
// field is refused with its path unless the Go types can read it; if one is admitted
// anyway, the test says whether a typed list still decodes.
func TestTimesTheGoTypesCannotReadAreRefused(t *testing.T) {
	ns := newNamespace(t)
	typed := typedClient(t)
	for i, value := range []string{"2026-11-20t09:15:00z", "2026-11-20T09:15:00z", "2026-11-20t09:15:00+01:00"} {
		for _, tc := range []struct {
			name, manifest, field string
			list                  client.ObjectList
		}{
			{
				name: "invitation_acceptedAt",
				manifest: `
kind: UserInvitation
metadata: {name: alice-%i}
spec: {email: alice@acme.example, organizationRef: {name: acme}, acceptedAt: "%v"}`,
				field: "spec.acceptedAt",
				list:  &v1alpha1.UserInvitationList{},
			},
			{
				name: "binding_expiresAt",
				manifest: `
kind: RoleBinding
metadata: {name: alice-%i}
spec: {subject: {email: alice@acme.example}, roleRef: {name: customer}, organizationRef: {name: acme}, expiresAt: "%v"}`,
				field: "spec.expiresAt",
				list:  &v1alpha1.RoleBindingList{},
			},
			{
				name: "role_removeAfter",
				manifest: `
kind: Role
metadata: {name: legacy-%i}
spec: {deprecation: {removeAfter: "%v"}}`,
				field: "spec.deprecation.removeAfter",
				list:  &v1alpha1.RoleList{},
			},
		} {
			t.Run(tc.name+"_"+value, func(t *testing.T) {
				obj := manifest(t, ns, apiVersion+strings.NewReplacer("%v", value, "%i", strconv.Itoa(i)).Replace(tc.manifest))
				err := k8sClient.Create(context.Background(), obj)
				if err == nil {
					defer func() { _ = k8sClient.Delete(context.Background(), obj) }()
					if lerr := typed.List(context.Background(), tc.list, client.InNamespace(ns)); lerr != nil {
						t.Errorf("admitted %s %q, and a typed list of the namespace now fails: %v", tc.field, value, lerr)
					}
				}
				requireRefused(t, err, tc.field, "should match")
			})
		}
	}
}

// typedClient decodes into the api package's Go types, as the manager's cache does.
func typedClient(t *testing.T) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatalf("scheme: %v", err)
	}
	c, err := client.New(restConfig, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("typed client: %v", err)
	}
	return c
}
