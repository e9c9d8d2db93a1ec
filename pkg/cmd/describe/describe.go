// Package describe implements `ccictl describe`, with kubectl's describers:
// typed ones for built-in kinds, the generic one for PoolBindings and for
// CCI's cci/v2 kinds.
package describe

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	kdescribe "k8s.io/kubectl/pkg/describe"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// DescribeOptions holds everything `describe` was asked to do.
type DescribeOptions struct {
	resource.FilenameOptions
	Selector      string
	AllNamespaces bool
	ShowEvents    bool
	ChunkSize     int64

	Namespace        string
	EnforceNamespace bool
	Args             []string
	factory          *cmdutil.Factory

	genericiooptions.IOStreams
}

// NewCmdDescribe returns the describe command.
func NewCmdDescribe(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DescribeOptions{ShowEvents: true, ChunkSize: 500, IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME)",
		DisableFlagsInUseLine: true,
		Short:                 "Show details of a specific resource or group of resources",
		Example: `  # Describe a PoolBinding
  ccictl describe plb test-c1 -n test-ns

  # Describe every Service whose name starts with "web"
  ccictl describe svc web -n test-ns`,
		ValidArgsFunction: cmdutil.ResourceTypeAndNameCompletionFunc(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, args); err != nil {
				return err
			}
			if len(o.Args) == 0 && len(o.Filenames) == 0 {
				return cmdutil.UsageErrorf(cmd, "You must specify the type of resource to describe. Use \"ccictl api-resources\" for a complete list of supported resources.")
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.Filenames, "filename", "f", nil, "Filename, directory, or URL to files containing the resource to describe")
	fl.BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	fl.StringVarP(&o.Selector, "selector", "l", "", "Selector (label query) to filter on.")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	fl.BoolVar(&o.ShowEvents, "show-events", true, "If true, display events related to the described object.")
	fl.Int64Var(&o.ChunkSize, "chunk-size", o.ChunkSize, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
	return cmd
}

// Complete reads namespace and args.
func (o *DescribeOptions) Complete(f *cmdutil.Factory, args []string) error {
	var err error
	if o.Namespace, o.EnforceNamespace, err = f.Namespace(); err != nil {
		return err
	}
	if o.AllNamespaces {
		o.EnforceNamespace = false
	}
	o.Args, o.factory = args, f
	return nil
}

// Run describes every match; like kubectl, "describe TYPE PREFIX" matches
// names that start with PREFIX when no object has exactly that name.
func (o *DescribeOptions) Run(ctx context.Context) error {
	r := o.factory.NewBuilder().
		Unstructured().
		ContinueOnError().
		NamespaceParam(o.Namespace).DefaultNamespace().AllNamespaces(o.AllNamespaces).
		FilenameParam(o.EnforceNamespace, &o.FilenameOptions).
		LabelSelectorParam(o.Selector).
		ResourceTypeOrNameArgs(true, o.Args...).
		RequestChunksOf(o.ChunkSize).
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	var errs []error
	infos, err := r.Infos()
	if err != nil {
		if apierrors.IsNotFound(err) && len(o.Args) == 2 {
			return o.describeMatchingResources(err, o.Args[0], o.Args[1])
		}
		errs = append(errs, err)
	}
	settings := kdescribe.DescriberSettings{ShowEvents: o.ShowEvents, ChunkSize: o.ChunkSize}
	first := true
	for _, info := range infos {
		d, err := kdescribe.Describer(o.factory.Getter(), info.Mapping)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s, err := d.Describe(info.Namespace, info.Name, settings)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !first {
			fmt.Fprintf(o.Out, "\n\n")
		}
		first = false
		fmt.Fprint(o.Out, s)
	}
	if len(infos) == 0 && len(errs) == 0 {
		if o.Namespace != "" && !o.AllNamespaces {
			fmt.Fprintf(o.ErrOut, "No resources found in %s namespace.\n", o.Namespace)
		} else {
			fmt.Fprintln(o.ErrOut, "No resources found")
		}
	}
	return utilerrors.NewAggregate(errs)
}

func (o *DescribeOptions) describeMatchingResources(original error, typ, prefix string) error {
	r := o.factory.NewBuilder().
		Unstructured().
		NamespaceParam(o.Namespace).DefaultNamespace().
		ResourceTypeOrNameArgs(true, typ).
		SingleResourceType().
		Flatten().
		Do()
	infos, err := r.Infos()
	if err != nil {
		return err
	}
	settings := kdescribe.DescriberSettings{ShowEvents: o.ShowEvents, ChunkSize: o.ChunkSize}
	found := false
	for _, info := range infos {
		if !strings.HasPrefix(info.Name, prefix) {
			continue
		}
		d, err := kdescribe.Describer(o.factory.Getter(), info.Mapping)
		if err != nil {
			return err
		}
		s, err := d.Describe(info.Namespace, info.Name, settings)
		if err != nil {
			return err
		}
		if found {
			fmt.Fprintf(o.Out, "\n\n")
		}
		fmt.Fprint(o.Out, s)
		found = true
	}
	if !found {
		return original
	}
	return nil
}
