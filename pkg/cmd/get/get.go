// Package get implements `ccictl get`: kubectl's get for the resource types
// the server offers, with server-side Table output so CRD printer columns show.
package get

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest"
	kget "k8s.io/kubectl/pkg/cmd/get"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// GetOptions holds everything `get` was asked to do.
type GetOptions struct {
	PrintFlags *kget.PrintFlags
	resource.FilenameOptions

	LabelSelector  string
	FieldSelector  string
	AllNamespaces  bool
	IgnoreNotFound bool
	Watch          bool
	WatchOnly      bool
	ChunkSize      int64
	ServerPrint    bool

	Namespace         string
	ExplicitNamespace bool
	Args              []string
	OutputFormat      string

	newBuilder func() *resource.Builder
	genericiooptions.IOStreams
}

var example = `  # List PoolBindings in a namespace as a table (server-side columns)
  ccictl get poolbindings -n test-ns

  # One PoolBinding as YAML (a bare object), all of them as a List
  ccictl get plb test-c1 -n test-ns -o yaml
  ccictl get poolbindings -n test-ns -o yaml

  # Services and PoolBindings across all namespaces
  ccictl get svc,plb -A

  # Names only, for scripts
  ccictl get plb -n test-ns -o jsonpath='{.items[*].metadata.name}'`

// NewCmdGet returns the get command.
func NewCmdGet(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GetOptions{
		PrintFlags:  kget.NewGetPrintFlags(),
		ChunkSize:   500,
		ServerPrint: true,
		IOStreams:   streams,
	}
	cmd := &cobra.Command{
		Use:                   "get [(-o|--output=)json|yaml|name|wide|jsonpath=...|go-template=...|custom-columns=...] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Display one or many resources",
		Long:                  "Display one or many resources. Types resolve through the server's discovery, so 'svc' is cci/v2 on CCI 2.0 and v1 on Kubernetes. A list query prints a List in -o yaml/json; one named object prints bare. 'No resources found' goes to stderr and exits 0.",
		Example:               example,
		ValidArgsFunction:     cmdutil.ResourceTypeAndNameCompletionFunc(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.PrintFlags.AddFlags(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.")
	fl.StringVar(&o.FieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	fl.BoolVar(&o.IgnoreNotFound, "ignore-not-found", false, "If the requested object does not exist the command will return exit code 0.")
	fl.BoolVarP(&o.Watch, "watch", "w", false, "After listing/getting the requested object, watch for changes.")
	fl.BoolVar(&o.WatchOnly, "watch-only", false, "Watch for changes to the requested object(s), without listing/getting first.")
	fl.Int64Var(&o.ChunkSize, "chunk-size", o.ChunkSize, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
	fl.BoolVar(&o.ServerPrint, "server-print", o.ServerPrint, "If true, have the server return the appropriate table output.")
	fl.StringSliceVarP(&o.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to get.")
	fl.BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	return cmd
}

// Complete fills the options from flags, args and the factory.
func (o *GetOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	var err error
	o.Namespace, o.ExplicitNamespace, err = f.Namespace()
	if err != nil {
		return err
	}
	if o.AllNamespaces {
		o.ExplicitNamespace = false
	}
	o.Args = args
	o.OutputFormat = *o.PrintFlags.OutputFormat
	switch {
	case o.OutputFormat == "" || o.OutputFormat == "wide":
	default:
		// Only human-readable output uses the server's Table.
		o.ServerPrint = false
	}
	if o.AllNamespaces {
		_ = o.PrintFlags.EnsureWithNamespace()
	}
	o.newBuilder = f.NewBuilder
	return nil
}

// Validate checks the arguments make a query.
func (o *GetOptions) Validate(cmd *cobra.Command) error {
	if len(o.Args) == 0 && cmdutil.IsFilenameSliceEmpty(o.Filenames) {
		return cmdutil.UsageErrorf(cmd, "You must specify the type of resource to get. Use \"ccictl api-resources\" for a complete list of supported resources.")
	}
	if o.WatchOnly {
		o.Watch = true
	}
	if *o.PrintFlags.HumanReadableFlags.ShowLabels && o.OutputFormat != "" && o.OutputFormat != "wide" {
		return fmt.Errorf("--show-labels option cannot be used with %s printer", o.OutputFormat)
	}
	return nil
}

func (o *GetOptions) humanReadable() bool {
	return o.OutputFormat == "" || o.OutputFormat == "wide"
}

// tableAccept asks for server-side Tables, falling back to plain JSON.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func (o *GetOptions) transformRequests(req *rest.Request) {
	if !o.ServerPrint || !o.humanReadable() {
		return
	}
	req.SetHeader("Accept", tableAccept)
}

func (o *GetOptions) builder() *resource.Builder {
	return o.newBuilder().
		Unstructured().
		NamespaceParam(o.Namespace).DefaultNamespace().AllNamespaces(o.AllNamespaces).
		FilenameParam(o.ExplicitNamespace, &o.FilenameOptions).
		LabelSelectorParam(o.LabelSelector).
		FieldSelectorParam(o.FieldSelector).
		RequestChunksOf(o.ChunkSize).
		ResourceTypeOrNameArgs(true, o.Args...).
		ContinueOnError().
		Latest().
		Flatten().
		TransformRequests(o.transformRequests)
}

// Run performs the query and prints the result.
func (o *GetOptions) Run(ctx context.Context) error {
	if o.Watch {
		return o.watch(ctx)
	}
	r := o.builder().Do()
	if o.IgnoreNotFound {
		r.IgnoreErrors(apierrors.IsNotFound)
	}
	if !o.humanReadable() {
		return o.printGeneric(r)
	}

	infos, err := r.Infos()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	written := &countingWriter{w: o.Out}
	w := printers.GetNewTabWriter(written)
	var lastMapping *meta.RESTMapping
	var printer printers.ResourcePrinter
	allNamespaced := !o.AllNamespaces
	kinds := map[string]bool{}
	for _, info := range infos {
		kinds[info.Mapping.GroupVersionKind.GroupKind().String()] = true
	}
	showKind := len(kinds) > 1 || *o.PrintFlags.HumanReadableFlags.ShowKind
	for _, info := range infos {
		m := info.Mapping
		if m != nil && m.Scope.Name() != meta.RESTScopeNameNamespace {
			allNamespaced = false
		}
		if lastMapping == nil || m.Resource != lastMapping.Resource {
			if lastMapping != nil {
				w.Flush()
				// Each type's table gets its own column widths, as in kubectl.
				w.SetRememberedWidths(nil)
				fmt.Fprintln(written)
			}
			pf := o.PrintFlags.Copy()
			if showKind {
				pf.SetKind(m.GroupVersionKind.GroupKind())
				_ = pf.EnsureWithKind()
			}
			if o.AllNamespaces {
				_ = pf.EnsureWithNamespace()
			}
			p, err := pf.ToPrinter()
			if err != nil {
				return err
			}
			printer = &kget.TablePrinter{Delegate: p}
			lastMapping = m
		}
		if err := printer.PrintObj(info.Object, w); err != nil {
			errs = append(errs, err)
		}
	}
	w.Flush()
	if written.n == 0 && !o.IgnoreNotFound && len(errs) == 0 {
		if allNamespaced && o.Namespace != "" {
			fmt.Fprintf(o.ErrOut, "No resources found in %s namespace.\n", o.Namespace)
		} else {
			fmt.Fprintln(o.ErrOut, "No resources found")
		}
	}
	return utilerrors.Reduce(utilerrors.Flatten(utilerrors.NewAggregate(errs)))
}

// printGeneric prints json, yaml, name, templates and custom columns: one
// named object bare, anything else wrapped in a v1 List, as scripts expect.
func (o *GetOptions) printGeneric(r *resource.Result) error {
	var errs []error
	single := false
	infos, err := r.IntoSingleItemImplied(&single).Infos()
	if err != nil {
		if single {
			return err
		}
		errs = append(errs, err)
	}
	if len(infos) == 0 && o.IgnoreNotFound {
		return utilerrors.Reduce(utilerrors.Flatten(utilerrors.NewAggregate(errs)))
	}
	printer, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	if single && len(infos) == 1 {
		if err := printer.PrintObj(infos[0].Object, o.Out); err != nil {
			errs = append(errs, err)
		}
		return utilerrors.Reduce(utilerrors.Flatten(utilerrors.NewAggregate(errs)))
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "List",
		"metadata":   map[string]any{"resourceVersion": ""},
	}}
	for _, info := range infos {
		u, err := toUnstructured(info.Object)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		list.Items = append(list.Items, *u)
	}
	if err := printer.PrintObj(list, o.Out); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.Reduce(utilerrors.Flatten(utilerrors.NewAggregate(errs)))
}

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	return u, u.UnmarshalJSON(data)
}

// watch lists (unless --watch-only) and then prints every change to one
// resource type until interrupted.
func (o *GetOptions) watch(ctx context.Context) error {
	r := o.builder().SingleResourceType().Do()
	if err := r.Err(); err != nil {
		return err
	}
	infos, err := r.Infos()
	if err != nil {
		return err
	}
	if len(infos) > 1 {
		return fmt.Errorf("watch is only supported on individual resources and resource collections, but %d resources were found", len(infos))
	}
	if len(infos) == 0 {
		return fmt.Errorf("no resources found to watch")
	}
	pf := o.PrintFlags.Copy()
	if o.AllNamespaces {
		_ = pf.EnsureWithNamespace()
	}
	p, err := pf.ToPrinter()
	if err != nil {
		return err
	}
	printer := p
	if o.humanReadable() {
		printer = &kget.TablePrinter{Delegate: p}
	}
	obj, err := r.Object()
	if err != nil {
		return err
	}
	// One tab writer for the whole watch: it remembers column widths, so
	// every row lines up under the header printed once, as kubectl's do.
	w := printers.GetNewTabWriter(o.Out)
	rv := "0"
	if !o.WatchOnly {
		rv, err = meta.NewAccessor().ResourceVersion(obj)
		if err != nil {
			return err
		}
		// A collection comes back wrapped in a List (of items, or of the one
		// server-side Table): print what it holds, not the wrapper.
		objs := []runtime.Object{obj}
		if meta.IsListType(obj) {
			if objs, err = meta.ExtractList(obj); err != nil {
				return err
			}
		}
		for _, obj := range objs {
			if err := printer.PrintObj(obj, w); err != nil {
				return err
			}
		}
		w.Flush()
	}
	wi, err := r.Watch(rv)
	if err != nil {
		return err
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return nil
			}
			if ev.Type == watch.Error {
				return apierrors.FromObject(ev.Object)
			}
			if err := printer.PrintObj(ev.Object, w); err != nil {
				return err
			}
			w.Flush()
		}
	}
}

type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}
