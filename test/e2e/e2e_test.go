// Package e2e runs the built manager against a local control plane (the same one
// `make run` starts) and drives it only with kubectl, as a platform team would: it
// applies each sample platform of config/samples and compares the published access
// documents with golden files written from the seed articles.
package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/localcluster"
)

var update = flag.Bool("update", false,
	"rewrite testdata/*.golden.json from what the manager published; review every line against the seed articles")

// platforms are the folders of config/samples, one namespace each.
var platforms = []string{"billing", "distributor", "merchant", "storefront"}

// convergeTimeout bounds each wait for documents. The samples' Expired invitations
// expire one minute after they are applied, so the first wait lasts at least that.
const convergeTimeout = 4 * time.Minute

// env is the running system under test.
type env struct {
	root    string
	cluster *localcluster.Cluster
	binary  string // the built manager
	dir     string
	// manager is the replica that holds the Lease: the first one started, until the
	// failover test stops it.
	manager *replica
}

func TestE2E(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset: run `make test`, or KUBEBUILDER_ASSETS=$(hack/envtest.sh) go test ./test/e2e/")
	}
	e := setUp(t, assets)

	for _, p := range platforms {
		if _, err := e.kubectl(t, "apply", "-k", filepath.Join(e.root, "config", "samples", p)); err != nil {
			t.Fatalf("apply sample %s: %v", p, err)
		}
	}
	// Each platform is independent: wait for them side by side.
	t.Run("samples", func(t *testing.T) {
		for _, p := range platforms {
			t.Run(p, func(t *testing.T) {
				t.Parallel()
				e.expectGolden(t, p)
			})
		}
	})
	if t.Failed() {
		return // later steps build on the samples' converged state
	}
	t.Run("a clean start logs no error", func(t *testing.T) { e.expectNoErrorLogged(t) })

	t.Run("get orgaccess lists every kind", func(t *testing.T) { e.testGetOrgaccess(t) })
	t.Run("accepting an invitation grants its roles", func(t *testing.T) { e.testAccept(t) })
	t.Run("blocking a user revokes everything, unblocking renews", func(t *testing.T) { e.testBlock(t) })
	t.Run("an inviter without the right to bind must name who invites", func(t *testing.T) { e.testInviterPolicy(t) })
	t.Run("config/default and make deploy pass a server-side dry run", func(t *testing.T) { e.testDeployDryRun(t) })
	t.Run("a standby takes over when the leader stops or dies", func(t *testing.T) { e.testFailover(t) })
}

// setUp builds the manager, starts the control plane, installs the CRDs and starts the
// manager as a separate process, with leader election as config/default runs it;
// cleanups stop both.
func setUp(t *testing.T, assets string) *env {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	manager := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", manager, "./cmd/manager")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build manager: %v\n%s", err, out)
	}

	cluster, err := localcluster.Start(localcluster.Options{Dir: filepath.Join(dir, "cluster"), AssetsDir: assets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Error(err)
		}
	})
	e := &env{root: root, cluster: cluster, binary: manager, dir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := localcluster.InstallCRDs(ctx, cluster.KubectlPath, cluster.Kubeconfig, root); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Kubectl(ctx, "create", "namespace", leaseNamespace); err != nil {
		t.Fatal(err)
	}
	e.manager = e.startReplica(t, "manager")
	return e
}

func (e *env) kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.cluster.Kubectl(ctx, args...)
	return string(out), err
}

// expectNoErrorLogged checks the manager's log for error lines. Valid samples on a fresh
// control plane give no reason for one: write races are retried quietly, and an error
// line would also count towards the "Reconciles fail" alert (operations.md).
func (e *env) expectNoErrorLogged(t *testing.T) {
	t.Helper()
	e.manager.expectNoErrorLogged(t)
}

// expectNoErrorLogged checks this replica's log for error lines.
func (r *replica) expectNoErrorLogged(t *testing.T) {
	t.Helper()
	log, err := os.ReadFile(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, `"level":"error"`) {
			t.Errorf("the %s logged an error: %.600s", r.name, line)
		}
	}
}

func (r *replica) dumpLog(t *testing.T) {
	t.Helper()
	log, err := os.ReadFile(r.logPath)
	if err != nil {
		t.Logf("read %s log: %v", r.name, err)
		return
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	t.Logf("last lines of the %s log:\n%s", r.name, strings.Join(lines, "\n"))
}

// expectedUser is one user's access in one organization, as the golden files state it:
// the permission set is resolved to its paths.
type expectedUser struct {
	Status      v1alpha1.UserPhase `json:"status"`
	Roles       []string           `json:"roles,omitempty"`
	Permissions []string           `json:"permissions,omitempty"`
	Features    []string           `json:"features,omitempty"`
}

// platformAccess maps organization → user email → access.
type platformAccess map[string]map[string]expectedUser

func goldenPath(platform string) string {
	return filepath.Join("testdata", platform+".golden.json")
}

func readGolden(t *testing.T, platform string) platformAccess {
	t.Helper()
	data, err := os.ReadFile(goldenPath(platform))
	if err != nil {
		t.Fatalf("read golden: %v", err)
	}
	var want platformAccess
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("parse %s: %v", goldenPath(platform), err)
	}
	return want
}

// expectGolden waits until every organization's published document in the platform's
// namespace holds exactly what the golden file says.
func (e *env) expectGolden(t *testing.T, platform string) {
	t.Helper()
	if *update {
		e.waitStable(t, platform)
		got, err := e.published(t, platform)
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath(platform), append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s: review it against the seed articles", goldenPath(platform))
		return
	}
	want := readGolden(t, platform)
	e.eventually(t, convergeTimeout, func() string {
		got, err := e.published(t, platform)
		if err != nil {
			return err.Error()
		}
		return cmp.Diff(want, got, cmpopts.EquateEmpty())
	})
}

// waitStable waits, for -update, until no invitation is unreconciled or about to expire
// (New with an expiresAt in the next few minutes), so the rewritten goldens hold the
// samples' settled state.
func (e *env) waitStable(t *testing.T, platform string) {
	t.Helper()
	e.eventually(t, convergeTimeout, func() string {
		out, err := e.kubectl(t, "-n", platform, "get", "userinvitations",
			"-o", `jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.status.expiresAt}{"\n"}{end}`)
		if err != nil {
			return err.Error()
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 {
				return "waiting for invitation " + line + " to be reconciled"
			}
			if fields[1] != string(v1alpha1.UserPhaseNew) || len(fields) < 3 {
				continue
			}
			expiresAt, err := time.Parse(time.RFC3339, fields[2])
			if err != nil {
				return fmt.Sprintf("invitation %s: expiresAt %q: %v", fields[0], fields[2], err)
			}
			if time.Until(expiresAt) < 5*time.Minute {
				return "waiting for invitation " + fields[0] + " to expire"
			}
		}
		return ""
	})
}

// published reads every organization's document with kubectl and resolves each user's
// permission set.
func (e *env) published(t *testing.T, platform string) (platformAccess, error) {
	t.Helper()
	orgs, err := e.kubectl(t, "-n", platform, "get", "organizations", "-o", "jsonpath={.items[*].metadata.name}")
	if err != nil {
		return nil, err
	}
	got := platformAccess{}
	for _, org := range strings.Fields(orgs) {
		doc, err := e.document(t, platform, org)
		if err != nil {
			return nil, err
		}
		got[org] = usersOf(doc)
	}
	return got, nil
}

// document reads organization org's published access.json.
func (e *env) document(t *testing.T, platform, org string) (*v1alpha1.AccessDocument, error) {
	t.Helper()
	raw, err := e.kubectl(t, "-n", platform, "get", "configmap", v1alpha1.DocumentConfigMapPrefix+org,
		"-o", `jsonpath={.data.access\.json}`)
	if err != nil {
		return nil, err
	}
	var doc v1alpha1.AccessDocument
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return nil, fmt.Errorf("parse access.json of %s/%s: %w", platform, org, err)
	}
	if doc.Organization != org {
		return nil, fmt.Errorf("document of %s/%s names organization %q", platform, org, doc.Organization)
	}
	return &doc, nil
}

func usersOf(doc *v1alpha1.AccessDocument) map[string]expectedUser {
	users := map[string]expectedUser{}
	for email, u := range doc.Users {
		eu := expectedUser{Status: u.Status, Roles: u.Roles, Features: u.Features}
		// Every Active user, and only they, points at a permission set (maybe empty);
		// a breach shows up in the diff as a permission no golden file holds.
		switch {
		case u.Status == v1alpha1.UserPhaseActive && u.PermissionSet == "":
			eu.Permissions = []string{"<Active without a permission set>"}
		case u.Status != v1alpha1.UserPhaseActive && u.PermissionSet != "":
			eu.Permissions = []string{"<" + string(u.Status) + " with permission set " + u.PermissionSet + ">"}
		case u.PermissionSet != "":
			perms, ok := doc.PermissionSets[u.PermissionSet]
			if !ok {
				perms = []string{"<missing permission set " + u.PermissionSet + ">"}
			}
			eu.Permissions = perms
		}
		users[email] = eu
	}
	return users
}

// eventually polls check every second until it returns "" or timeout passes, then fails
// with its last answer. It fails at once when the manager has exited.
func (e *env) eventually(t *testing.T, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last := check()
		if last == "" {
			return
		}
		select {
		case <-e.manager.proc.Done():
			t.Fatalf("the %s exited (%v) before converging:\n%s", e.manager.name, e.manager.proc.Err(), last)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged after %s (-want +got):\n%s", timeout, last)
		}
		time.Sleep(time.Second)
	}
}

// userIn returns what organization org's published document says of email.
func (e *env) userIn(t *testing.T, platform, org, email string) (expectedUser, string) {
	t.Helper()
	doc, err := e.document(t, platform, org)
	if err != nil {
		return expectedUser{}, err.Error()
	}
	u, ok := usersOf(doc)[email]
	if !ok {
		return expectedUser{}, fmt.Sprintf("%s is not in the document of %s", email, org)
	}
	return u, ""
}

// expectUser waits until org's document says exactly want of email.
func (e *env) expectUser(t *testing.T, platform, org, email string, want expectedUser) {
	t.Helper()
	e.eventually(t, time.Minute, func() string {
		got, problem := e.userIn(t, platform, org, email)
		if problem != "" {
			return problem
		}
		return cmp.Diff(want, got, cmpopts.EquateEmpty())
	})
}

// expectAbsent waits until org's document says nothing of email.
func (e *env) expectAbsent(t *testing.T, platform, org, email string) {
	t.Helper()
	e.eventually(t, time.Minute, func() string {
		doc, err := e.document(t, platform, org)
		if err != nil {
			return err.Error()
		}
		if u, ok := usersOf(doc)[email]; ok {
			return fmt.Sprintf("%s is in the document of %s: %+v", email, org, u)
		}
		return ""
	})
}

// applyBinding applies a RoleBinding of email to role in org.
func (e *env) applyBinding(t *testing.T, platform, name, email, role, org string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".yaml")
	manifest := fmt.Sprintf(`apiVersion: access.orgaccess.dev/v1alpha1
kind: RoleBinding
metadata: {name: %s, namespace: %s}
spec: {subject: {email: %s}, roleRef: {name: %s}, organizationRef: {name: %s}}
`, name, platform, email, role, org)
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	e.must(t, "apply", "-f", path)
}

func (e *env) patchInvitation(t *testing.T, platform, name, patch string) {
	t.Helper()
	if _, err := e.kubectl(t, "-n", platform, "patch", "userinvitation", name, "--type=merge", "-p", patch); err != nil {
		t.Fatalf("patch invitation %s/%s: %v", platform, name, err)
	}
}

func (e *env) testGetOrgaccess(t *testing.T) {
	out, err := e.kubectl(t, "get", "orgaccess", "-A", "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"organization.access.orgaccess.dev/northwind",
		"permissiontree.access.orgaccess.dev/company-acl",
		"role.access.orgaccess.dev/distributor-readonly",
		"rolebinding.access.orgaccess.dev/mia-manager-downtown",
		"userinvitation.access.orgaccess.dev/nina",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("kubectl get orgaccess -A does not list %s", want)
		}
	}
}

// testAccept accepts nina's invitation to Globex (no roles named, so Globex's default
// role, Customer): she becomes Active there with what the golden file gives another
// Active Customer.
func (e *env) testAccept(t *testing.T) {
	golden := readGolden(t, "distributor")
	if got := golden["globex"]["nina@globex.example"].Status; got != v1alpha1.UserPhaseNew {
		t.Fatalf("golden: nina is %s in globex, want New before she accepts", got)
	}
	customer := golden["acme"]["cathy@acme.example"]
	if diff := cmp.Diff([]string{"customer"}, customer.Roles); diff != "" {
		t.Fatalf("golden: cathy's roles in acme (-want +got):\n%s", diff)
	}

	e.patchInvitation(t, "distributor", "nina", `{"spec":{"acceptedAt":"2026-05-04T12:00:00Z"}}`)
	e.expectUser(t, "distributor", "globex", "nina@globex.example", customer)
	// Her access is Globex's only: she appears nowhere else.
	if _, problem := e.userIn(t, "distributor", "acme", "nina@globex.example"); problem == "" {
		t.Error("nina appears in acme's document after accepting an invitation to globex")
	}
}

// testBlock blocks cathy: she keeps her place in the documents as Blocked with no
// permissions; clearing spec.blocked renews her access.
func (e *env) testBlock(t *testing.T) {
	golden := readGolden(t, "distributor")
	active := golden["acme"]["cathy@acme.example"]
	if active.Status != v1alpha1.UserPhaseActive || len(active.Permissions) == 0 {
		t.Fatalf("golden: cathy in acme is %+v, want Active with permissions", active)
	}

	e.patchInvitation(t, "distributor", "cathy", `{"spec":{"blocked":true}}`)
	e.expectUser(t, "distributor", "acme", "cathy@acme.example", expectedUser{Status: v1alpha1.UserPhaseBlocked})
	// The status follows the documents (the status reconcilers yield to the publisher,
	// docs/controllers.md), within seconds.
	e.eventually(t, 10*time.Second, func() string {
		phase, err := e.kubectl(t, "-n", "distributor", "get", "userinvitation", "cathy", "-o", "jsonpath={.status.phase}")
		if err != nil {
			return err.Error()
		}
		if phase != string(v1alpha1.UserPhaseBlocked) {
			return fmt.Sprintf("cathy's invitation phase = %q, want Blocked", phase)
		}
		return ""
	})

	e.patchInvitation(t, "distributor", "cathy", `{"spec":{"blocked":false}}`)
	e.expectUser(t, "distributor", "acme", "cathy@acme.example", active)
}

// testInviterPolicy installs config/policy and the inviter ClusterRole, and gives an
// onboarding service the role in a platform namespace. An invitation it writes without
// invitedBy, or an update of a trusted invitation's roles, is refused with the field;
// one naming its inviter, accepting a trusted invitation, and an administrator's trusted
// invitation are admitted. A RoleBinding is beyond it.
func (e *env) testInviterPolicy(t *testing.T) {
	const ns, as = "onboarding", "--as=onboarding-service"
	dir := t.TempDir()
	write := func(name, yaml string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	invitation := func(name, extra string) string {
		return write(name+".yaml", `apiVersion: access.orgaccess.dev/v1alpha1
kind: UserInvitation
metadata: {name: `+name+`, namespace: `+ns+`}
spec: {email: `+name+`@north.example, organizationRef: {name: north}, roles: [viewer]`+extra+`}
`)
	}
	must := func(args ...string) {
		t.Helper()
		if _, err := e.kubectl(t, args...); err != nil {
			t.Fatal(err)
		}
	}
	must("create", "namespace", ns)
	must("apply", "-k", filepath.Join(e.root, "config", "policy"))
	must("apply", "-f", filepath.Join(e.root, "config", "rbac", "access_inviter_role.yaml"))
	must("-n", ns, "create", "rolebinding", "onboarding-inviter", "--clusterrole=inviter", "--user=onboarding-service")
	must("apply", "-f", write("platform.yaml", `apiVersion: access.orgaccess.dev/v1alpha1
kind: Organization
metadata: {name: north, namespace: `+ns+`}
spec: {type: Distributor, displayName: North}
---
apiVersion: access.orgaccess.dev/v1alpha1
kind: Role
metadata: {name: viewer, namespace: `+ns+`}
spec: {permissions: [sales]}
`))
	must("create", "-f", invitation("trusted", "")) // an administrator's: may bind

	// The API server loads a new policy asynchronously: wait until it refuses.
	untrusted := invitation("untrusted", "")
	var refusal error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, refusal = e.kubectl(t, as, "create", "--dry-run=server", "-f", untrusted); refusal != nil {
			break
		}
	}
	if refusal == nil || !strings.Contains(refusal.Error(), "spec.invitedBy") || !strings.Contains(refusal.Error(), "may not create RoleBindings in onboarding") {
		t.Fatalf("an invitation without invitedBy from the onboarding service: %v; want it refused, naming spec.invitedBy", refusal)
	}
	t.Logf("the refusal: %v", refusal)
	must(as, "create", "-f", invitation("named", ", invitedBy: ivan@north.example"))
	must(as, "-n", ns, "patch", "userinvitation", "trusted", "--type=merge", "-p", `{"spec":{"acceptedAt":"2026-05-04T12:00:00Z"}}`)
	if _, err := e.kubectl(t, as, "-n", ns, "patch", "userinvitation", "trusted", "--type=merge", "-p", `{"spec":{"roles":["viewer","admin"]}}`); err == nil || !strings.Contains(err.Error(), "spec.invitedBy") {
		t.Errorf("the onboarding service changing a trusted invitation's roles: %v; want it refused, naming spec.invitedBy", err)
	}
	binding := write("binding.yaml", `apiVersion: access.orgaccess.dev/v1alpha1
kind: RoleBinding
metadata: {name: direct, namespace: `+ns+`}
spec: {subject: {email: eve@north.example}, roleRef: {name: viewer}, organizationRef: {name: north}}
`)
	if _, err := e.kubectl(t, as, "create", "-f", binding); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("the onboarding service creating a RoleBinding: %v; want it forbidden", err)
	}
}

// expectSpreadReplicas checks that the Deployment's replicas can lose one without
// losing the leader's standby: at least two, spread over nodes, and a disruption budget
// over those very pods that evicts fewer than all of them.
func expectSpreadReplicas(t *testing.T, d *appsv1.Deployment, pdb *policyv1.PodDisruptionBudget) {
	t.Helper()
	pods := labels.Set(d.Spec.Template.Labels)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("the Deployment runs %v replicas; want a standby beside the leader", d.Spec.Replicas)
	}
	selects := func(what string, ls *metav1.LabelSelector) bool {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || ls == nil || sel.Empty() || !sel.Matches(pods) {
			t.Errorf("%s selects %v (%v), not the manager's pods %v", what, ls, err, pods)
			return false
		}
		return true
	}
	selects("the PodDisruptionBudget", pdb.Spec.Selector)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("the PodDisruptionBudget allows %v unavailable, %v available; want maxUnavailable 1", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	spread := false
	for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
		if c.TopologyKey == corev1.LabelHostname && selects("the topology spread constraint", c.LabelSelector) {
			spread = true
		}
	}
	if !spread {
		t.Errorf("the Deployment's pods are not spread over nodes: %+v", d.Spec.Template.Spec.TopologySpreadConstraints)
	}
}

// testDeployDryRun checks that the deployment manifests are valid against the API
// server, as committed and as `make deploy IMG=...` applies them with an image. A
// server-side dry run cannot create a namespace and the objects in it at once: setUp
// created orgaccess-system, where the replicas hold their Lease.
func (e *env) testDeployDryRun(t *testing.T) {
	out, err := e.kubectl(t, "apply", "--dry-run=server", "-k", filepath.Join(e.root, "config", "default"), "-o", "json")
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server -k config/default: %v", err)
	}
	var applied struct{ Items []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &applied); err != nil {
		t.Fatalf("kubectl apply -o json: %v\n%.2000s", err, out)
	}
	var deployment appsv1.Deployment
	var budget policyv1.PodDisruptionBudget
	found := map[string]bool{}
	for _, raw := range applied.Items {
		var obj metav1.PartialObjectMetadata
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		found[obj.Kind+"/"+obj.Name] = true
		into := map[string]any{"Deployment/orgaccess-manager": &deployment, "PodDisruptionBudget/orgaccess-manager": &budget}[obj.Kind+"/"+obj.Name]
		if into != nil {
			if err := json.Unmarshal(raw, into); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, want := range []string{"Deployment/orgaccess-manager", "ClusterRoleBinding/orgaccess-manager", "PodDisruptionBudget/orgaccess-manager"} {
		if !found[want] {
			t.Errorf("the dry run applied no %s; it applied %v", want, slices.Sorted(maps.Keys(found)))
		}
	}
	expectSpreadReplicas(t, &deployment, &budget)

	// make deploy: hack/deploy.sh writes an overlay naming the image (the checkout's
	// bin/deploy, ignored by git) and applies it server-side; by tag and by digest, the
	// Deployment runs exactly that image.
	for _, image := range []string{
		"registry.example:5000/team/orgaccess:v0.1.0",
		"registry.example/orgaccess@sha256:" + strings.Repeat("0f", 32),
	} {
		cmd := exec.CommandContext(t.Context(), filepath.Join(e.root, "hack", "deploy.sh"), image,
			"--kubeconfig", e.cluster.Kubeconfig, "--dry-run=server", "-o", "yaml")
		cmd.Env = append(os.Environ(), "KUBECTL="+e.cluster.KubectlPath)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("hack/deploy.sh %s --dry-run=server: %v\n%s", image, err, out)
		}
		if !strings.Contains(string(out), "image: "+image+"\n") || strings.Contains(string(out), "ghcr.io/orgaccess") {
			t.Errorf("hack/deploy.sh %s: the Deployment does not run that image:\n%.3000s", image, out)
		}
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(e.root, "hack", "deploy.sh"), "registry.example/orgaccess")
	cmd.Env = append(os.Environ(), "KUBECTL="+e.cluster.KubectlPath)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "names no tag or digest") {
		t.Errorf("hack/deploy.sh with an image without a tag: %v, %s; want it refused", err, out)
	}
}
