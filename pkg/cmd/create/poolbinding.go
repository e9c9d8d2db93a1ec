package create

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	plbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/readinessgate"
)

// PoolBindingOptions is `create poolbinding`.
type PoolBindingOptions struct {
	Name    string
	PoolID  string
	Service string
	Port    int64
	Group   string
	Kind    string

	*generatorOptions
}

var poolBindingExample = `  # Fill backend server group e08f4a6b-… with the endpoints of port 123 of Service test-name
  ccictl create poolbinding test-c1 -n test-ns --pool-id=e08f4a6b-1c2d-4e5f-8a9b-0c1d2e3f29c1 --service=test-name --port=123

  # Bind a Deployment's container port instead, and print the manifest
  ccictl create poolbinding web-pods --pool-id=e08f4a6b-1c2d-4e5f-8a9b-0c1d2e3f29c1 --kind=Deployment --service=web --port=8080 --dry-run=client -o yaml`

// NewCmdCreatePoolBinding returns `create poolbinding`.
func NewCmdCreatePoolBinding(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &PoolBindingOptions{generatorOptions: newGeneratorOptions(streams)}
	cmd := &cobra.Command{
		Use:                   "poolbinding NAME --pool-id=ID --service=NAME --port=N [--group=cci/v2] [--kind=Service] [--dry-run=none|client|server]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"plb", "poolbindings"},
		Short:                 "Create a PoolBinding that fills an ELB backend server group from a Service",
		Long: `Create a PoolBinding named NAME that keeps ELB backend server group --pool-id
filled with the endpoints of port --port of Service --service (or, with
--kind=Deployment, of that Deployment's container port), in the binding's
namespace (-n), as the CCI 2.0 documentation describes.

The object is checked against the platform rules before it is sent (see
'ccictl validate'): a pool ID that is not a UUID (such as the masked IDs of
the documentation) or a port outside 1-65535 is refused with the rule that
says so, unless --validate=warn or ignore.

After a binding of a Service is created, a hint on standard error gives the
readinessGates entry to add to the pod template of the workload behind the
Service, so that with 'ccictl sync --watch' its rolling updates wait until
the load balancer reports each new pod ONLINE (see docs/watch-gates.md).
Standard output stays what -o asks for.`,
		Example: poolBindingExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run()
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.PoolID, "pool-id", "", "ID (UUID) of the ELB backend server group to fill")
	cmd.Flags().StringVar(&o.Service, "service", "", "Name of the target Service (or Deployment, with --kind=Deployment)")
	cmd.Flags().Int64Var(&o.Port, "port", 0, "The Service's port (spec.ports[].port), or the Deployment's container port")
	cmd.Flags().StringVar(&o.Group, "group", "cci/v2", "group/version of the target object")
	cmd.Flags().StringVar(&o.Kind, "kind", "Service", "Kind of the target object: Service or Deployment")
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"Service", "Deployment"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete reads NAME and the shared generator flags.
func (o *PoolBindingOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return cmdutil.UsageErrorf(cmd, "exactly one NAME is required, got %d", len(args))
	}
	o.Name = args[0]
	return o.complete(f, cmd)
}

// Validate checks that the required flags were given; their values are
// the rules' business, so the messages match `ccictl validate`'s.
func (o *PoolBindingOptions) Validate(cmd *cobra.Command) error {
	var missing []string
	for _, fl := range []string{"pool-id", "service", "port"} {
		if !cmd.Flags().Changed(fl) {
			missing = append(missing, "--"+fl)
		}
	}
	if len(missing) > 0 {
		return cmdutil.UsageErrorf(cmd, "required flag(s) not set: %s", strings.Join(missing, ", "))
	}
	return nil
}

// Run builds the PoolBinding, checks it and sends or prints it.
func (o *PoolBindingOptions) Run() error {
	// The rules need no server, so bad flags are reported even without a config.
	obj := o.object()
	if err := o.check(obj, poolBindingFlag); err != nil {
		return err
	}
	if o.configErr != nil {
		return o.configErr
	}
	if err := o.send(obj); err != nil {
		return err
	}
	o.printGateHint()
	return nil
}

// printGateHint tells, on stderr after a binding is really created, what
// its Service's pods declare so that rollouts wait for the load balancer
// (pkg/readinessgate; `sync --watch` sets the condition). Standard output
// keeps exactly what -o asked for; dry runs create nothing and print none.
func (o *PoolBindingOptions) printGateHint() {
	if o.DryRun != cmdutil.DryRunNone || o.Kind != "Service" {
		return
	}
	fmt.Fprintf(o.ErrOut, "Hint: for rolling updates to wait until pool %s reports a new pod's member ONLINE ('ccictl sync --watch' sets the gate), add to the pod template (spec.template.spec) of the workload behind Service %s:\n%s",
		o.PoolID, o.Service, readinessgate.Snippet(o.Name, "  "))
}

// object is the PoolBinding of the CCI 2.0 documentation (CCI 2.0, "Associating a Service with a PoolBinding").
func (o *PoolBindingOptions) object() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": plbv1.SchemeGroupVersion.String(),
		"kind":       plbv1.Kind,
		"metadata":   map[string]interface{}{"name": o.Name},
		"spec": map[string]interface{}{
			"poolRef": map[string]interface{}{"id": o.PoolID},
			"targetRef": map[string]interface{}{
				"kind":  o.Kind,
				"group": o.Group,
				"name":  o.Service,
				"port":  o.Port,
			},
		},
	}}
	if o.EnforceNamespace {
		u.SetNamespace(o.Namespace)
	}
	return u
}

// poolBindingFlag names the flag behind a field of the generated binding.
func poolBindingFlag(field string) string {
	switch field {
	case "spec.poolRef.id":
		return "--pool-id"
	case "spec.targetRef.name":
		return "--service"
	case "spec.targetRef.port":
		return "--port"
	case "spec.targetRef.group":
		return "--group"
	case "spec.targetRef.kind":
		return "--kind"
	case "metadata.name":
		return "NAME"
	case "metadata.namespace":
		return "--namespace"
	}
	return ""
}
