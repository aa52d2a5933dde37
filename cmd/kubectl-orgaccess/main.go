// Command kubectl-orgaccess is the kubectl plugin of orgaccess: it explains why a user
// holds (or lacks) a permission, and answers permission checks from the published
// documents exactly as a workload would.
//
//	kubectl orgaccess explain USER ORGANIZATION PERMISSION [-n NAMESPACE]
//	kubectl orgaccess can-i USER PERMISSION --org ORGANIZATION [-n NAMESPACE]
//	kubectl orgaccess user USER [-n NAMESPACE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const usage = `Usage:
  kubectl orgaccess explain USER ORGANIZATION PERMISSION   why USER holds PERMISSION in ORGANIZATION, or why not
  kubectl orgaccess can-i USER PERMISSION --org ORG          check against the published document, as a workload does
  kubectl orgaccess user USER                                USER's status, roles and permissions in every organization

can-i exits 0 for yes and 1 for no, as kubectl auth can-i does; errors exit 1 with a
message, wrong arguments 2.

Flags (before or after the arguments):
  -n, --namespace NAMESPACE   the platform's namespace (default: the kubeconfig context's)
  --kubeconfig FILE           the kubeconfig (default: $KUBECONFIG or ~/.kube/config)
  --org ORGANIZATION          the organization, for can-i
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		switch {
		case errors.Is(err, errDenied):
			os.Exit(1) // "no" is already printed
		case errors.Is(err, flag.ErrHelp):
			fmt.Print(usage)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("wrong arguments")

// errDenied is can-i's "no": printed, and the exit status 1, as kubectl auth can-i.
var errDenied = errors.New("no")

type options struct {
	namespace  string
	kubeconfig string
	org        string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	opts, rest, err := parseFlags(args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return fmt.Errorf("%w: a command is required", errUsage)
	}
	c, namespace, err := newClient(opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	switch cmd, params := rest[0], rest[1:]; cmd {
	case "explain":
		if len(params) != 3 {
			return fmt.Errorf("%w: explain takes USER ORGANIZATION PERMISSION", errUsage)
		}
		return explain(ctx, c, namespace, params[0], params[1], params[2], out)
	case "can-i":
		if len(params) != 2 || opts.org == "" {
			return fmt.Errorf("%w: can-i takes USER PERMISSION --org ORGANIZATION", errUsage)
		}
		return canI(ctx, c, namespace, params[0], opts.org, params[1], out)
	case "user":
		if len(params) != 1 {
			return fmt.Errorf("%w: user takes USER", errUsage)
		}
		return showUser(ctx, c, namespace, params[0], time.Now(), out)
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

// parseFlags accepts flags anywhere among the arguments, as kubectl does.
func parseFlags(args []string) (options, []string, error) {
	var opts options
	fs := flag.NewFlagSet("kubectl-orgaccess", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.namespace, "namespace", "", "")
	fs.StringVar(&opts.namespace, "n", "", "")
	fs.StringVar(&opts.kubeconfig, "kubeconfig", "", "")
	fs.StringVar(&opts.org, "org", "", "")
	var rest []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return opts, nil, err
		} else if err != nil {
			return opts, nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return opts, rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

func newClient(opts options) (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = opts.kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("load kubeconfig: %w", err)
	}
	namespace := opts.namespace
	if namespace == "" {
		if namespace, _, err = loader.Namespace(); err != nil {
			return nil, "", fmt.Errorf("read the kubeconfig's namespace: %w", err)
		}
	}
	scheme, err := newScheme()
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, "", fmt.Errorf("create client: %w", err)
	}
	return c, namespace, nil
}
