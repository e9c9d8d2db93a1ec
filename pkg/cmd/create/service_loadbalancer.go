package create

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/manifest"
	"github.com/openvessel/ccictl/pkg/validate"
)

// GeneratedSource is the Source of generated objects in validation findings.
const GeneratedSource = "<generated>"

// AnnotationELBID attaches a Service to an existing ELB (CCE user guide, LoadBalancer Service annotations).
const AnnotationELBID = "kubernetes.io/elb.id"

// NewCmdCreateService returns `create service`, the parent of the Service
// generators: ccictl's loadbalancer; create adds kubectl's other types.
func NewCmdCreateService(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "service",
		Aliases: []string{"svc"},
		Short:   "Create a Service using a specified subcommand",
		Long:    "Create a Service using a specified subcommand.",
		RunE: func(cmd *cobra.Command, args []string) error {
			var kinds []string
			for _, c := range cmd.Commands() {
				kinds = append(kinds, c.Name())
			}
			supported := strings.Join(kinds, ", ")
			if len(args) > 0 {
				return cmdutil.UsageErrorf(cmd, "unknown service type %q (supported: %s)", args[0], supported)
			}
			return cmdutil.UsageErrorf(cmd, "a service type is required (supported: %s)", supported)
		},
	}
	cmd.AddCommand(NewCmdCreateServiceLoadBalancer(f, streams))
	return cmd
}

// ServiceLoadBalancerOptions is `create service loadbalancer`.
type ServiceLoadBalancerOptions struct {
	Name       string
	TCP        []string
	UDP        []string
	ELBID      string
	APIVersion string

	ports []servicePort
	*generatorOptions
}

// servicePort is one parsed --tcp/--udp value.
type servicePort struct {
	name     string
	protocol string
	port     int64
	target   interface{} // int64, or a port name
}

var serviceLoadBalancerExample = `  # A LoadBalancer Service for port 5678, forwarding to 8080 on pods labelled app=my-lbs,
  # attached to an existing ELB
  ccictl create service loadbalancer my-lbs --tcp=5678:8080 --elb-id=5d3c1a52-8f1e-4c7b-9a0e-2b6f7c8d9e10

  # TCP and UDP ports; print the manifest instead of creating it
  ccictl create service loadbalancer dns --tcp=53 --udp=53 --dry-run=client -o yaml`

// NewCmdCreateServiceLoadBalancer returns `create service loadbalancer`.
func NewCmdCreateServiceLoadBalancer(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ServiceLoadBalancerOptions{generatorOptions: newGeneratorOptions(streams)}
	cmd := &cobra.Command{
		Use:                   "loadbalancer NAME --tcp=PORT[:TARGET][,...] [--udp=PORT[:TARGET][,...]] [--elb-id=ID] [--dry-run=none|client|server]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"lb"},
		Short:                 "Create a LoadBalancer Service",
		Long: `Create a Service of type LoadBalancer named NAME, selecting the pods labelled
app=NAME, as the vendor's ccictl does.

Each --tcp/--udp value is PORT or PORT:TARGET (TARGET is a number or a
container port name; PORT alone forwards to the same port). Ports are named
as kubectl names them: PORT-TARGET ("5678-8080", or "80" for PORT alone);
UDP ports get a "udp-" prefix so that the same port can be exposed for both
protocols. --elb-id sets the kubernetes.io/elb.id annotation, which attaches
the Service to an existing ELB.

The apiVersion is cci/v2 when the server serves the cci group (CCI 2.0),
else v1. With --dry-run=client nothing is asked of the server: the
apiVersion is v1 unless --api-version says otherwise.

The object is checked against the platform rules before it is sent (see
'ccictl validate'); with --validate=strict (the default) an object that
breaks one is not sent.`,
		Example: serviceLoadBalancerExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringSliceVar(&o.TCP, "tcp", nil, "Port pairs PORT[:TARGET] to expose over TCP")
	cmd.Flags().StringSliceVar(&o.UDP, "udp", nil, "Port pairs PORT[:TARGET] to expose over UDP")
	cmd.Flags().StringVar(&o.ELBID, "elb-id", "", "ID of an existing ELB to attach the Service to (annotation kubernetes.io/elb.id)")
	cmd.Flags().StringVar(&o.APIVersion, "api-version", "", "apiVersion of the Service (v1 or cci/v2); default: cci/v2 if the server serves the cci group, else v1 (v1 with --dry-run=client)")
	return cmd
}

// Complete reads NAME, the ports and the shared generator flags.
func (o *ServiceLoadBalancerOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return cmdutil.UsageErrorf(cmd, "exactly one NAME is required, got %d", len(args))
	}
	o.Name = args[0]
	var err error
	if o.ports, err = parseServicePorts(o.TCP, o.UDP); err != nil {
		return cmdutil.UsageErrorf(cmd, "%v", err)
	}
	return o.complete(f, cmd)
}

// Validate checks what the rules cannot: that there is a port at all.
func (o *ServiceLoadBalancerOptions) Validate(cmd *cobra.Command) error {
	if len(o.ports) == 0 {
		return cmdutil.UsageErrorf(cmd, "at least one port is required: --tcp=PORT[:TARGET] or --udp=PORT[:TARGET]")
	}
	return nil
}

// Run builds the Service, checks it and sends or prints it.
func (o *ServiceLoadBalancerOptions) Run(cmd *cobra.Command) error {
	if o.configErr != nil {
		return o.configErr
	}
	apiVersion, err := o.serviceAPIVersion(cmd)
	if err != nil {
		return err
	}
	obj := o.object(apiVersion)
	if err := o.check(obj, serviceFlag); err != nil {
		return err
	}
	return o.send(obj)
}

// serviceAPIVersion is --api-version, else v1 without a server, else what
// the server serves: CCI 2.0 serves Services only as cci/v2 (the vendor's ccictl page).
func (o *ServiceLoadBalancerOptions) serviceAPIVersion(cmd *cobra.Command) (string, error) {
	if cmd.Flags().Changed("api-version") {
		return o.APIVersion, nil
	}
	if o.DryRun == cmdutil.DryRunClient {
		return "v1", nil
	}
	dc, err := o.factory.ToDiscoveryClient()
	if err != nil {
		return "", err
	}
	groups, err := dc.ServerGroups()
	if err != nil {
		return "", fmt.Errorf("finding the Service apiVersion the server serves (set --api-version to skip): %w", err)
	}
	return servedServiceAPIVersion(groups), nil
}

// servedServiceAPIVersion picks the Service apiVersion from the groups a
// server serves: cci/v2 when the cci group has v2, the cci group's preferred
// version when it has not, else v1.
func servedServiceAPIVersion(groups *metav1.APIGroupList) string {
	for _, g := range groups.Groups {
		if g.Name != "cci" {
			continue
		}
		for _, v := range g.Versions {
			if v.Version == "v2" {
				return "cci/v2"
			}
		}
		return g.PreferredVersion.GroupVersion
	}
	return "v1"
}

// object is the Service kubectl's `create service loadbalancer` would make,
// plus the ELB annotation, without the empty status and creationTimestamp.
func (o *ServiceLoadBalancerOptions) object(apiVersion string) *unstructured.Unstructured {
	ports := make([]interface{}, 0, len(o.ports))
	for _, p := range o.ports {
		ports = append(ports, map[string]interface{}{
			"name": p.name, "protocol": p.protocol, "port": p.port, "targetPort": p.target,
		})
	}
	u := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": apiVersion,
		"kind":       "Service",
		"metadata": map[string]interface{}{
			"name":   o.Name,
			"labels": map[string]interface{}{"app": o.Name},
		},
		"spec": map[string]interface{}{
			"type":     "LoadBalancer",
			"selector": map[string]interface{}{"app": o.Name},
			"ports":    ports,
		},
	}}
	if o.ELBID != "" {
		u.SetAnnotations(map[string]string{AnnotationELBID: o.ELBID})
	}
	if o.EnforceNamespace {
		u.SetNamespace(o.Namespace)
	}
	return u
}

// parseServicePorts reads --tcp and --udp. Only the syntax is checked here;
// ranges and names are the rules' business, so the messages match
// `ccictl validate`'s.
func parseServicePorts(tcp, udp []string) ([]servicePort, error) {
	var out []servicePort
	for _, set := range []struct {
		protocol, flag, prefix string
		values                 []string
	}{{"TCP", "--tcp", "", tcp}, {"UDP", "--udp", "udp-", udp}} {
		for _, v := range set.values {
			v = strings.TrimSpace(v)
			portStr, targetStr, hasTarget := strings.Cut(v, ":")
			port, err := strconv.ParseInt(portStr, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s %q: PORT must be a number, as in %s=5678:8080", set.flag, v, set.flag)
			}
			var target interface{} = port
			if hasTarget {
				if targetStr == "" {
					return nil, fmt.Errorf("%s %q: TARGET is empty; write PORT or PORT:TARGET", set.flag, v)
				}
				if n, err := strconv.ParseInt(targetStr, 10, 64); err == nil {
					target = n
				} else {
					target = targetStr
				}
			}
			out = append(out, servicePort{
				name:     set.prefix + strings.ReplaceAll(v, ":", "-"),
				protocol: set.protocol,
				port:     port,
				target:   target,
			})
		}
	}
	return out, nil
}

// serviceFlag names the flag behind a field of the generated Service.
func serviceFlag(field string) string {
	switch {
	case strings.HasPrefix(field, "spec.ports"):
		return "--tcp/--udp"
	case field == "metadata.annotations["+AnnotationELBID+"]":
		return "--elb-id"
	case strings.HasPrefix(field, "metadata.annotations"):
		return "" // annotations the generator does not set: no flag fixes them
	case field == "metadata.namespace":
		return "--namespace"
	case field == "apiVersion":
		return "--api-version"
	case strings.HasPrefix(field, "metadata"), strings.HasPrefix(field, "spec.selector"):
		return "NAME"
	}
	return ""
}

// generatorOptions is what the create generators (this file and
// poolbinding.go) share: printing, --dry-run, --validate, the field
// manager, and the way from a generated object to the server.
type generatorOptions struct {
	PrintFlags   *genericclioptions.PrintFlags
	FieldManager string
	Validation   cmdutil.ValidationOptions

	DryRun           cmdutil.DryRunStrategy
	Namespace        string
	EnforceNamespace bool
	printer          printers.ResourcePrinter
	factory          *cmdutil.Factory
	configErr        error // the config cannot be read; fatal unless --dry-run=client

	genericiooptions.IOStreams
}

func newGeneratorOptions(streams genericiooptions.IOStreams) *generatorOptions {
	return &generatorOptions{
		PrintFlags:   genericclioptions.NewPrintFlags("created"),
		FieldManager: FieldManager,
		IOStreams:    streams,
	}
}

func (g *generatorOptions) addFlags(cmd *cobra.Command) {
	g.PrintFlags.AddFlags(cmd)
	cmd.Flags().StringVar(&g.FieldManager, "field-manager", g.FieldManager, "Name of the manager used to track field ownership.")
	cmdutil.AddDryRunFlag(cmd)
	g.Validation.AddFlags(cmd)
}

// complete resolves dry-run, printer, namespace and validation flags.
func (g *generatorOptions) complete(f *cmdutil.Factory, cmd *cobra.Command) error {
	var err error
	g.DryRun, err = cmdutil.GetDryRunStrategy(cmd)
	if err != nil {
		return err
	}
	cmdutil.PrintFlagsWithDryRun(g.PrintFlags, g.DryRun)
	if g.printer, err = g.PrintFlags.ToPrinter(); err != nil {
		return err
	}
	g.factory = f
	g.Namespace, g.EnforceNamespace, g.configErr = f.Namespace()
	if g.configErr != nil {
		// Printing a manifest needs no config file: only -n matters then.
		// Otherwise the error is reported by Run, after the flags are checked.
		g.Namespace = f.Connection.Namespace
		g.EnforceNamespace = g.Namespace != ""
		if g.DryRun == cmdutil.DryRunClient {
			g.configErr = nil
		}
	}
	return g.Validation.Complete(cmd)
}

// generatedDocument wraps a generated object as the rules and InfoForDocument take it.
func generatedDocument(obj *unstructured.Unstructured) (manifest.Document, error) {
	raw, err := json.Marshal(obj.Object)
	if err != nil {
		return manifest.Document{}, err
	}
	return manifest.Document{Source: GeneratedSource, Raw: raw, Object: obj}, nil
}

// check runs the platform rules on the generated object, as create -f does
// on a manifest. In strict mode errors refuse the object, naming the flags
// that produced the fields; everything else is printed as a warning.
func (g *generatorOptions) check(obj *unstructured.Unstructured, flagFor func(field string) string) error {
	if g.Validation.Mode == "ignore" {
		return nil
	}
	doc, err := generatedDocument(obj)
	if err != nil {
		return err
	}
	var lines []string
	flags := map[string]bool{}
	for _, fd := range validate.Validate([]manifest.Document{doc}, g.Validation.Options()) {
		if fd.Severity == validate.SeverityError && g.Validation.Mode == "strict" {
			lines = append(lines, cmdutil.FormatFinding(fd))
			if fl := flagFor(fd.Field); fl != "" {
				flags[fl] = true
			}
			continue
		}
		fmt.Fprintf(g.ErrOut, "Warning: %s\n", cmdutil.FormatFinding(fd))
	}
	if len(lines) == 0 {
		return nil
	}
	fix := "fix the flags"
	if len(flags) > 0 {
		names := make([]string, 0, len(flags))
		for fl := range flags {
			names = append(names, fl)
		}
		sort.Strings(names)
		fix = "fix " + strings.Join(names, ", ")
	}
	return fmt.Errorf("the generated %s breaks platform rules and was not sent:\n%s\n%s, or pass --validate=warn to send it anyway",
		obj.GetKind(), strings.Join(lines, "\n"), fix)
}

// send prints the object (--dry-run=client, no server contact at all) or
// creates it through the REST mapping of the server, as create -f does.
func (g *generatorOptions) send(obj *unstructured.Unstructured) error {
	if g.DryRun == cmdutil.DryRunClient {
		return g.printer.PrintObj(obj, g.Out)
	}
	doc, err := generatedDocument(obj)
	if err != nil {
		return err
	}
	info, err := cmdutil.InfoForDocument(g.factory, doc, g.Namespace, g.EnforceNamespace)
	if err != nil {
		return err
	}
	created, err := resource.NewHelper(info.Client, info.Mapping).
		DryRun(g.DryRun == cmdutil.DryRunServer).
		WithFieldManager(g.FieldManager).
		WithFieldValidation(g.Validation.ServerDirective()).
		Create(info.Namespace, true, info.Object)
	if err != nil {
		return kcmdutil.AddSourceToErr("creating", GeneratedSource, err)
	}
	if err := info.Refresh(created, true); err != nil {
		return errors.Join(fmt.Errorf("created, but the server's answer could not be read"), err)
	}
	return g.printer.PrintObj(info.Object, g.Out)
}
