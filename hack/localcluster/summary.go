package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
	"github.com/orgaccess/orgaccess/test/localcluster"
)

type watchOptions struct {
	cluster   *localcluster.Cluster
	manager   *localcluster.Process
	platforms []string
	dataDir   string
	timeout   time.Duration
}

// platformSummary is what the manager reconciled on one platform (namespace).
type platformSummary struct {
	name          string
	orgsByType    map[v1alpha1.OrganizationType]int
	usersByStatus map[v1alpha1.UserPhase]int
	documents     int
	pending       []string // objects not reconciled yet, "Kind/name"
	exampleOrg    string   // an organization with an Active user, for the printed commands
	exampleUser   string
}

// watch waits for the samples to converge, prints the summary, and prints it again
// whenever it changes (invitations expire a minute after they are applied) until ctx
// is done or the manager exits.
func watch(ctx context.Context, o watchOptions) error {
	c, err := newClient(o.cluster.Kubeconfig)
	if err != nil {
		return err
	}
	fmt.Println("Waiting for the samples to converge ...")
	deadline := time.Now().Add(o.timeout)
	converged, last := false, ""
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-o.manager.Done():
			exit := o.manager.Err()
			if exit == nil {
				exit = errors.New("exit status 0")
			}
			return fmt.Errorf("the manager exited; see %s/manager.log: %w", o.dataDir, exit)
		case <-ticker.C:
		}
		summaries, err := summarize(ctx, c, o.platforms)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		pending := pendingObjects(summaries)
		if !converged {
			if len(pending) > 0 {
				if time.Now().After(deadline) {
					return fmt.Errorf("samples not reconciled after %s: %s; see %s/manager.log",
						o.timeout, abbreviate(pending, 8), o.dataDir)
				}
				continue
			}
			converged = true
		}
		text := renderTable(summaries)
		if text == last {
			continue
		}
		fmt.Printf("\n=== %s: orgaccess reconciled the samples ===\n%s", time.Now().Format(time.TimeOnly), text)
		if last == "" {
			fmt.Print(renderHelp(summaries, o))
		}
		last = text
	}
}

func newClient(kubeconfig string) (client.Client, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", kubeconfig, err)
	}
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1alpha1.AddToScheme(scheme)); err != nil {
		return nil, fmt.Errorf("build scheme: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// summarize reads each platform's organizations, invitations and published documents.
func summarize(ctx context.Context, c client.Client, platforms []string) ([]platformSummary, error) {
	var out []platformSummary
	for _, ns := range platforms {
		s := platformSummary{
			name:          ns,
			orgsByType:    map[v1alpha1.OrganizationType]int{},
			usersByStatus: map[v1alpha1.UserPhase]int{},
		}
		var orgs v1alpha1.OrganizationList
		if err := c.List(ctx, &orgs, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list Organizations in %s: %w", ns, err)
		}
		for _, o := range orgs.Items {
			s.orgsByType[o.Spec.Type]++
			ready := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
			if o.Status.ObservedGeneration != o.Generation || ready == nil || len(o.Status.PublishedConfigMaps) == 0 {
				s.pending = append(s.pending, ns+"/Organization/"+o.Name)
			}
		}
		var invites v1alpha1.UserInvitationList
		if err := c.List(ctx, &invites, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list UserInvitations in %s: %w", ns, err)
		}
		sort.Slice(invites.Items, func(i, j int) bool { return invites.Items[i].Name < invites.Items[j].Name })
		for _, inv := range invites.Items {
			if inv.Status.Phase == "" || inv.Status.ObservedGeneration != inv.Generation {
				s.pending = append(s.pending, ns+"/UserInvitation/"+inv.Name)
				continue
			}
			s.usersByStatus[inv.Status.Phase]++
			if s.exampleUser == "" && inv.Status.Phase == v1alpha1.UserPhaseActive && len(inv.Status.GrantedRoles) > 0 {
				s.exampleOrg, s.exampleUser = string(inv.Spec.OrganizationRef.Name), string(inv.Spec.Email)
			}
		}
		var cms corev1.ConfigMapList
		if err := c.List(ctx, &cms, client.InNamespace(ns), client.HasLabels{v1alpha1.OrganizationLabel}); err != nil {
			return nil, fmt.Errorf("list ConfigMaps in %s: %w", ns, err)
		}
		s.documents = len(cms.Items)
		out = append(out, s)
	}
	return out, nil
}

func pendingObjects(summaries []platformSummary) []string {
	var pending []string
	for _, s := range summaries {
		pending = append(pending, s.pending...)
	}
	return pending
}

// renderTable prints what was reconciled on each platform. It holds no time, so that
// watch prints it again only when something changed.
func renderTable(summaries []platformSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %-42s %-56s %s\n", "PLATFORM", "ORGANIZATIONS", "USERS BY STATUS", "DOCUMENTS (ConfigMaps)")
	for _, s := range summaries {
		var orgs []string
		total := 0
		for _, t := range []v1alpha1.OrganizationType{v1alpha1.OrganizationTypeDistributor,
			v1alpha1.OrganizationTypeSeller, v1alpha1.OrganizationTypeCustomer, v1alpha1.OrganizationTypeUnit} {
			if n := s.orgsByType[t]; n > 0 {
				orgs = append(orgs, fmt.Sprintf("%d %s", n, t))
				total += n
			}
		}
		var users []string
		for _, p := range []v1alpha1.UserPhase{v1alpha1.UserPhaseActive, v1alpha1.UserPhaseNew,
			v1alpha1.UserPhaseBlocked, v1alpha1.UserPhaseExpired, v1alpha1.UserPhaseRejected} {
			if n := s.usersByStatus[p]; n > 0 {
				users = append(users, fmt.Sprintf("%d %s", n, p))
			}
		}
		fmt.Fprintf(&b, "%-12s %-42s %-56s %d published\n", s.name,
			fmt.Sprintf("%d: %s", total, strings.Join(orgs, ", ")), strings.Join(users, ", "), s.documents)
	}
	return b.String()
}

// renderHelp prints the commands to look around.
func renderHelp(summaries []platformSummary, o watchOptions) string {
	var b strings.Builder

	kubectl := "kubectl"
	if _, err := exec.LookPath("kubectl"); err != nil {
		kubectl = o.cluster.KubectlPath
	}
	k := fmt.Sprintf("%s --kubeconfig %s", kubectl, o.cluster.Kubeconfig)
	fmt.Fprintf(&b, "\nLook around:\n  %s get orgaccess -A\n", k)
	for _, s := range summaries {
		if s.exampleUser == "" {
			continue
		}
		fmt.Fprintf(&b, "One user's effective permissions (%s in %s/%s):\n", s.exampleUser, s.name, s.exampleOrg)
		fmt.Fprintf(&b, "  %s -n %s get configmap access-%s -o jsonpath='{.data.access\\.json}' \\\n"+
			"    | jq '.permissionSets[.users[\"%s\"].permissionSet]'\n", k, s.name, s.exampleOrg, s.exampleUser)
		break
	}
	fmt.Fprintf(&b, "Manager logs: %s/manager.log. Ctrl-C stops the manager, kube-apiserver and etcd;\n"+
		"`make run` again resumes with the data in %s/ (delete it to start from scratch).\n", o.dataDir, o.dataDir)
	return b.String()
}

// abbreviate joins the first n items and counts the rest.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
