// Package get implements `ccictl get`: kubectl's get (k8s.io/kubectl/pkg/cmd/get)
// on kubectl's Factory over ccictl's config loading, so flags, output,
// messages and exit codes are kubectl's. Human-readable output is the
// server's Table, so a PoolBinding's printer columns show as the CRD defines
// them. Only the watch loop is ccictl's: it ends when the command's context
// is cancelled (SIGINT/SIGTERM, handled in main) with kubectl's exit code 1,
// where kubectl's own loop would exit the process from inside the package.
package get

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1beta1 "k8s.io/apimachinery/pkg/apis/meta/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/rest"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/jsonpath"
	kget "k8s.io/kubectl/pkg/cmd/get"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

var long = `Display one or many resources.

Prints a table of the most important information about the specified
resources: for a PoolBinding the columns its CRD defines (POOL, TARGET, PORT,
MEMBERS, HEALTHY, SYNCED, AGE; -o wide adds the rest), drawn by the server.
Types resolve through the server's discovery, so 'svc' is cci/v2 on CCI 2.0
and v1 on Kubernetes. A list query prints a List in -o yaml/json; one named
object prints bare. "No resources found" goes to stderr and exits 0.

Use "ccictl api-resources" for a complete list of supported resources.`

var example = `  # List PoolBindings in a namespace as a table (server-side columns)
  ccictl get poolbindings -n test-ns

  # One PoolBinding as YAML (a bare object), all of them as a List
  ccictl get plb test-c1 -n test-ns -o yaml
  ccictl get poolbindings -n test-ns -o yaml

  # Services and PoolBindings across all namespaces, oldest first
  ccictl get svc,plb -A --sort-by=.metadata.creationTimestamp

  # Names only, for scripts
  ccictl get plb -n test-ns -o jsonpath='{.items[*].metadata.name}'

  # Print every change to the bindings of a namespace, one name a line
  ccictl get plb -n test-ns -w -o name

  # The status subresource of one binding, and a raw API path
  ccictl get plb test-c1 -n test-ns --subresource=status -o yaml
  ccictl get --raw /apis/loadbalancer.networking.openvessel.io/v1`

// NewCmdGet returns the get command.
func NewCmdGet(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	o := kget.NewGetOptions("ccictl", streams)
	cmd := &cobra.Command{
		Use:                   fmt.Sprintf("get [(-o|--output=)%s] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]", strings.Join(o.PrintFlags.AllowedFormats(), "|")),
		DisableFlagsInUseLine: true,
		Short:                 "Display one or many resources",
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     cmdutil.ResourceTypeAndNameCompletionFunc(f),
		SuggestFor:            []string{"list", "ls"},
		// As kubectl's get: every error ends through CheckErr, which root.Main
		// turns into kubectl's message and exit code.
		Run: func(cmd *cobra.Command, args []string) {
			kcmdutil.CheckErr(o.Complete(kf, cmd, args))
			kcmdutil.CheckErr(o.Validate())
			if len(o.Raw) == 0 && (o.Watch || o.WatchOnly) {
				kcmdutil.CheckErr(Watch(cmd.Context(), kf, o, args))
				return
			}
			kcmdutil.CheckErr(runGet(o, kf, args))
		},
	}
	// kubectl's flags, in kubectl's order.
	fl := cmd.Flags()
	o.PrintFlags.AddFlags(cmd)
	fl.StringVar(&o.Raw, "raw", o.Raw, "Raw URI to request from the server.  Uses the transport specified by the kubeconfig file.")
	fl.BoolVarP(&o.Watch, "watch", "w", o.Watch, "After listing/getting the requested object, watch for changes.")
	fl.BoolVar(&o.WatchOnly, "watch-only", o.WatchOnly, "Watch for changes to the requested object(s), without listing/getting first.")
	fl.BoolVar(&o.OutputWatchEvents, "output-watch-events", o.OutputWatchEvents, "Output watch event objects when --watch or --watch-only is used. Existing objects are output as initial ADDED events.")
	fl.BoolVar(&o.IgnoreNotFound, "ignore-not-found", o.IgnoreNotFound, "If set to true, suppresses NotFound error for specific objects that do not exist. Using this flag with commands that query for collections of resources has no effect when no resources are found.")
	fl.StringVar(&o.FieldSelector, "field-selector", o.FieldSelector, "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", o.AllNamespaces, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fl.BoolVar(&o.ServerPrint, "server-print", o.ServerPrint, "If true, have the server return the appropriate table output. Supports extension APIs and CRDs.")
	kcmdutil.AddFilenameOptionFlags(cmd, &o.FilenameOptions, "identifying the resource to get from a server.")
	kcmdutil.AddChunkSizeFlag(cmd, &o.ChunkSize)
	kcmdutil.AddLabelSelectorFlagVar(cmd, &o.LabelSelector)
	kcmdutil.AddSubresourceFlags(cmd, &o.Subresource, "If specified, gets the subresource of the requested object.")
	return cmd
}

// runGet is kubectl's get, with --sort-by made to fail as loudly in a table as
// elsewhere. kubectl checks the expression only while printing a table and
// drops a printer's error there, so a malformed expression, or one that no
// object has, prints "No resources found" and exits 0; with -o name or json
// the same expression is an error. Here it is that error in every format.
func runGet(o *kget.GetOptions, f kcmdutil.Factory, args []string) error {
	if len(o.SortBy) == 0 {
		return o.Run(f, args)
	}
	// The checks of kubectl's list sorter (SortObjects), with its words.
	field, err := kget.RelaxedJSONPathExpression(o.SortBy)
	if err != nil {
		return err
	}
	if err := jsonpath.New("sorting").AllowMissingKeys(true).Parse(field); err != nil {
		return err
	}
	if !o.IsHumanReadablePrinter {
		return o.Run(f, args)
	}
	var sortErr error
	toPrinter := o.ToPrinter
	o.ToPrinter = func(m *meta.RESTMapping, output *bool, withNamespace, withKind bool) (printers.ResourcePrinterFunc, error) {
		print, err := toPrinter(m, output, withNamespace, withKind)
		if err != nil {
			return nil, err
		}
		return func(obj runtime.Object, w io.Writer) error {
			err := print(obj, w)
			if err != nil && sortErr == nil {
				sortErr = err
			}
			return err
		}, nil
	}
	// Nothing printed because the sort failed is not "No resources found".
	errOut := o.ErrOut
	o.ErrOut = writerFunc(func(p []byte) (int, error) {
		if sortErr != nil && bytes.HasPrefix(p, []byte("No resources found")) {
			return len(p), nil
		}
		return errOut.Write(p)
	})
	defer func() { o.ErrOut = errOut }()
	if err := o.Run(f, args); err != nil {
		return err
	}
	return sortErr
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Watch is kubectl's `get --watch` / `--watch-only` (the same query, printers
// and output), ending when ctx is cancelled: a watch stopped by a signal
// exits 1 without a message, as kubectl's does; a watch the server closes
// ends with exit 0, as kubectl's does.
func Watch(ctx context.Context, f kcmdutil.Factory, o *kget.GetOptions, args []string) error {
	r := f.NewBuilder().
		Unstructured().
		NamespaceParam(o.Namespace).DefaultNamespace().AllNamespaces(o.AllNamespaces).
		FilenameParam(o.ExplicitNamespace, &o.FilenameOptions).
		LabelSelectorParam(o.LabelSelector).
		FieldSelectorParam(o.FieldSelector).
		RequestChunksOf(o.ChunkSize).
		ResourceTypeOrNameArgs(true, args...).
		SingleResourceType().
		Latest().
		TransformRequests(func(req *rest.Request) { transformRequests(o, req) }).
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	infos, err := r.Infos()
	if err != nil {
		if apierrors.IsNotFound(err) && o.IgnoreNotFound {
			return nil
		}
		return err
	}

	mapping := infos[0].ResourceMapping()
	// Printed through kubectl's printer chain; outputObjects switches the
	// printing of objects off and on (--watch-only, the synthetic ADDED).
	outputObjects := !o.WatchOnly
	printer, err := o.ToPrinter(mapping, &outputObjects, o.AllNamespaces, false)
	if err != nil {
		return err
	}
	obj, err := r.Object()
	if err != nil {
		return err
	}

	// A list's resourceVersion is ~now and its watch sends no initial
	// events; a single object is watched from "0", which starts with a
	// synthetic ADDED event for it.
	rv := "0"
	isList := meta.IsListType(obj)
	if isList {
		if rv, err = meta.NewAccessor().ResourceVersion(obj); err != nil {
			return err
		}
	}

	// One tab writer for the whole watch: it remembers column widths, so
	// every row lines up under the header printed once.
	writer := printers.GetNewTabWriter(o.Out)
	var current []runtime.Object
	if isList {
		current, _ = meta.ExtractList(obj)
	} else {
		current = []runtime.Object{obj}
	}
	for _, obj := range current {
		if o.OutputWatchEvents {
			obj = &metav1.WatchEvent{Type: string(watch.Added), Object: runtime.RawExtension{Object: obj}}
		}
		if err := printer.PrintObj(obj, writer); err != nil {
			return fmt.Errorf("unable to output the provided object: %v", err)
		}
	}
	writer.Flush()
	// After a list every event is printed; after a single object the first
	// (synthetic) event repeats what was just printed and is skipped.
	outputObjects = isList

	w, err := r.Watch(rv)
	if err != nil {
		return err
	}
	defer w.Stop()
	// kubectl's watch ignores how its loop ended (the server closing the
	// watch, a printer error): exit 0, unless it was interrupted.
	_, _ = watchtools.UntilWithoutRetry(ctx, w, func(e watch.Event) (bool, error) {
		obj := e.Object
		if o.OutputWatchEvents {
			obj = &metav1.WatchEvent{Type: string(e.Type), Object: runtime.RawExtension{Object: obj}}
		}
		if err := printer.PrintObj(obj, writer); err != nil {
			return false, err
		}
		writer.Flush()
		outputObjects = true
		return false, nil
	})
	if ctx.Err() != nil {
		// Interrupted: kubectl's watch exits 1 and prints nothing.
		return kcmdutil.ErrExit
	}
	return nil
}

// transformRequests is kubectl's get's: ask for the server's Table for
// human-readable output, with the full objects when sorting.
func transformRequests(o *kget.GetOptions, req *rest.Request) {
	if !o.ServerPrint || !o.IsHumanReadablePrinter {
		return
	}
	req.SetHeader("Accept", strings.Join([]string{
		fmt.Sprintf("application/json;as=Table;v=%s;g=%s", metav1.SchemeGroupVersion.Version, metav1.GroupName),
		fmt.Sprintf("application/json;as=Table;v=%s;g=%s", metav1beta1.SchemeGroupVersion.Version, metav1beta1.GroupName),
		"application/json",
	}, ","))
	if len(o.SortBy) > 0 {
		req.Param("includeObject", "Object")
	}
}
