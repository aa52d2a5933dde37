package validation

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// BenchmarkInvitationAdmission measures what config/policy's ValidatingAdmissionPolicy
// adds to writing a UserInvitation, on a real kube-apiserver: one create at a time, by
// each kind of writer, without the policy and with it.
//
//	KUBEBUILDER_ASSETS=$(hack/envtest.sh) go test ./test/validation -run XXX -bench InvitationAdmission -benchtime 300x -count 3
//
// The writers are those operations.md names: an administrator in system:masters and a
// platform administrator with the orgaccess-admin ClusterRole write trusted
// invitations (no invitedBy: the policy asks the authorizer whether they may create
// RoleBindings), an onboarding service with orgaccess-inviter names the inviter (the
// policy's first clause admits it). Besides the client's ns/op it reports, per create,
// from the apiserver's own metrics: the request's time in the apiserver, the time of
// every validating admission plugin, and of the ValidatingAdmissionPolicy plugin alone
// (which runs on every request, and with the policy installed evaluates it). The
// apiserver's histogram of policy checks counts only denials and errors, so which
// configuration is measured is checked by a dry run before and after each case.
func BenchmarkInvitationAdmission(b *testing.B) {
	ctx := context.Background()
	ns := newNamespace(b)
	writers := []struct {
		name        string
		user        string // impersonated; "" is the admin connection itself
		clusterRole string // from config/rbac, bound in ns
		invitedBy   string
	}{
		{name: "masters"},
		{name: "admin-role", user: "platform-admin", clusterRole: "access_admin_role.yaml"},
		{name: "inviter-role", user: "onboarding-service", clusterRole: "access_inviter_role.yaml", invitedBy: "ivan@north.example"},
	}
	clients := make([]client.Client, len(writers))
	for i, w := range writers {
		clients[i] = k8sClient
		if w.user == "" {
			continue
		}
		bindClusterRole(b, ns, w.clusterRole, w.user)
		cfg := rest.CopyConfig(restConfig)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: w.user}
		c, err := client.New(cfg, client.Options{Mapper: k8sClient.RESTMapper()})
		if err != nil {
			b.Fatalf("client as %s: %v", w.user, err)
		}
		clients[i] = c
	}
	inviter := clients[2]

	for _, policy := range []bool{false, true} {
		if policy {
			installPolicy(b)
		}
		// Until the apiserver has loaded (or dropped) the policy, the inviter's
		// invitation without invitedBy tells which configuration is measured.
		waitForPolicy(b, inviter, ns, policy)
		for i, w := range writers {
			b.Run(fmt.Sprintf("policy=%v/%s", policy, w.name), func(b *testing.B) {
				before := scrapeAdmission(b)
				b.ResetTimer()
				for range b.N {
					if err := clients[i].Create(ctx, benchInvitation(ns, w.invitedBy)); err != nil {
						b.Fatalf("create as %s: %v", w.name, err)
					}
				}
				b.StopTimer()
				spent := scrapeAdmission(b).since(before)
				// Other tests' writes would be counted too; benchmarks run alone.
				if spent.requests != float64(b.N) || spent.policyPluginRuns != float64(b.N) {
					b.Fatalf("the apiserver counted %v invitation creates and %v runs of its policy plugin, want %d of each",
						spent.requests, spent.policyPluginRuns, b.N)
				}
				waitForPolicy(b, inviter, ns, policy)
				perOp := func(seconds float64) float64 { return seconds * 1e6 / float64(b.N) }
				b.ReportMetric(perOp(spent.requestSeconds), "apiserver-µs/op")
				b.ReportMetric(perOp(spent.validateSeconds), "validating-µs/op")
				b.ReportMetric(perOp(spent.policyPluginSeconds), "policy-plugin-µs/op")
				// Keep etcd the same size for every case.
				if err := k8sClient.DeleteAllOf(ctx, invitationObject(), client.InNamespace(ns)); err != nil {
					b.Fatalf("delete the invitations: %v", err)
				}
			})
		}
	}
}

var benchInvitations atomic.Int64

// benchInvitation returns a new, valid UserInvitation into north, naming invitedBy
// when it is not empty.
func benchInvitation(ns, invitedBy string) *unstructured.Unstructured {
	n := benchInvitations.Add(1)
	spec := map[string]any{
		"email":           fmt.Sprintf("user%d@north.example", n),
		"organizationRef": map[string]any{"name": "north"},
		"roles":           []any{"viewer"},
	}
	if invitedBy != "" {
		spec["invitedBy"] = invitedBy
	}
	inv := invitationObject()
	inv.SetNamespace(ns)
	inv.SetName(fmt.Sprintf("bench-%d", n))
	inv.Object["spec"] = spec
	return inv
}

func invitationObject() *unstructured.Unstructured {
	inv := &unstructured.Unstructured{}
	inv.SetAPIVersion("access.orgaccess.dev/v1alpha1")
	inv.SetKind("UserInvitation")
	return inv
}

// bindClusterRole creates the ClusterRole of config/rbac/file under the name
// config/default gives it (orgaccess-<name>: the file's own names, admin among them,
// are Kubernetes' built-in roles), and binds it to user in ns.
func bindClusterRole(b *testing.B, ns, file, user string) {
	b.Helper()
	ctx := context.Background()
	role := manifests(b, "", filepath.Join("..", "..", "config", "rbac", file))[0]
	role.SetName("orgaccess-" + role.GetName())
	if err := k8sClient.Create(ctx, role); err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatalf("create ClusterRole %s: %v", role.GetName(), err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.GetName()},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := k8sClient.Create(ctx, binding); err != nil {
		b.Fatalf("bind %s to %s: %v", role.GetName(), user, err)
	}
}

// installPolicy creates config/policy's objects and deletes them when b ends.
func installPolicy(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	objs := manifests(b, "", filepath.Join("..", "..", "config", "policy", "invitations_name_their_inviter.yaml"))
	for _, obj := range objs {
		if err := k8sClient.Create(ctx, obj); err != nil {
			b.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
	b.Cleanup(func() {
		for _, obj := range objs {
			if err := k8sClient.Delete(ctx, obj); err != nil {
				b.Errorf("delete %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		}
	})
}

// waitForPolicy waits until the apiserver refuses (enforced) or admits (not) an
// invitation without invitedBy from the inviter, in a dry run.
func waitForPolicy(b *testing.B, inviter client.Client, ns string, enforced bool) {
	b.Helper()
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		err = inviter.Create(context.Background(), benchInvitation(ns, ""), client.DryRunAll)
		if refused := err != nil && strings.Contains(err.Error(), "spec.invitedBy"); refused == enforced && (refused || err == nil) {
			return
		}
	}
	b.Fatalf("the policy is not %s after 30 s: the inviter's invitation without invitedBy: %v",
		map[bool]string{true: "enforced", false: "gone"}[enforced], err)
}

// admissionSpent is what the apiserver's metrics count for invitation creates.
type admissionSpent struct {
	requests, requestSeconds float64 // apiserver_request_duration_seconds, POST userinvitations
	validateSeconds          float64 // every validating admission plugin, of a CREATE
	// The ValidatingAdmissionPolicy plugin's validation of a CREATE.
	policyPluginRuns, policyPluginSeconds float64
}

func (a admissionSpent) since(before admissionSpent) admissionSpent {
	return admissionSpent{
		requests:            a.requests - before.requests,
		requestSeconds:      a.requestSeconds - before.requestSeconds,
		validateSeconds:     a.validateSeconds - before.validateSeconds,
		policyPluginRuns:    a.policyPluginRuns - before.policyPluginRuns,
		policyPluginSeconds: a.policyPluginSeconds - before.policyPluginSeconds,
	}
}

// scrapeAdmission reads the apiserver's /metrics. The admission histograms have no
// resource label, so they would also count other objects' creates; the benchmark
// issues none while it measures.
func scrapeAdmission(b *testing.B) admissionSpent {
	b.Helper()
	httpClient, err := rest.HTTPClientFor(restConfig)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := httpClient.Get(strings.TrimSuffix(restConfig.Host, "/") + "/metrics")
	if err != nil {
		b.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		b.Fatalf("GET /metrics: %s: %s", resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		b.Fatalf("parse /metrics: %v", err)
	}
	var spent admissionSpent
	for _, m := range families["apiserver_request_duration_seconds"].GetMetric() {
		if label(m, "verb") == "POST" && label(m, "resource") == "userinvitations" && label(m, "dry_run") == "" {
			spent.requests += float64(m.GetHistogram().GetSampleCount())
			spent.requestSeconds += m.GetHistogram().GetSampleSum()
		}
	}
	for _, m := range families["apiserver_admission_step_admission_duration_seconds"].GetMetric() {
		if label(m, "type") == "validate" && label(m, "operation") == "CREATE" {
			spent.validateSeconds += m.GetHistogram().GetSampleSum()
		}
	}
	for _, m := range families["apiserver_admission_controller_admission_duration_seconds"].GetMetric() {
		if label(m, "name") == "ValidatingAdmissionPolicy" && label(m, "type") == "validate" && label(m, "operation") == "CREATE" {
			spent.policyPluginRuns += float64(m.GetHistogram().GetSampleCount())
			spent.policyPluginSeconds += m.GetHistogram().GetSampleSum()
		}
	}
	return spent
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
