// Package delete implements `ccictl delete`.
package delete

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/manifest"
)

// DeleteOptions holds everything `delete` was asked to do.
type DeleteOptions struct {
	resource.FilenameOptions
	LabelSelector  string
	FieldSelector  string
	All            bool
	AllNamespaces  bool
	IgnoreNotFound bool
	Wait           bool
	Timeout        time.Duration
	GracePeriod    int
	Force          bool
	Now            bool
	Cascade        string
	Output         string

	DryRun           cmdutil.DryRunStrategy
	Namespace        string
	EnforceNamespace bool
	Args             []string
	factory          *cmdutil.Factory

	genericiooptions.IOStreams
}

var example = `  # Delete one PoolBinding
  ccictl delete poolbindings -n test-ns test-c1

  # Delete the objects a file describes, ignoring those already gone
  ccictl delete -f poolbinding.yaml --ignore-not-found

  # Delete every PoolBinding with a label, without waiting for finalizers
  ccictl delete plb -n test-ns -l app=web --wait=false`

// NewCmdDelete returns the delete command.
func NewCmdDelete(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{Wait: true, GracePeriod: -1, Cascade: "background", IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])",
		DisableFlagsInUseLine: true,
		Short:                 "Delete resources by file names, stdin, resources and names, or by resources and label selector",
		Long: `Delete resources by file names, stdin, resource type and names, or label selector.

By default delete waits until each object is gone (finalizers included);
--wait=false returns as soon as the server accepted the deletion.`,
		Example:           example,
		ValidArgsFunction: cmdutil.ResourceTypeAndNameCompletionFunc(f),
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
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.Filenames, "filename", "f", nil, "containing the resource to delete.")
	fl.BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.")
	fl.StringVar(&o.FieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.")
	fl.BoolVar(&o.All, "all", false, "Delete all resources, in the namespace of the specified resource types.")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	fl.BoolVar(&o.IgnoreNotFound, "ignore-not-found", false, "Treat \"resource not found\" as a successful delete. Defaults to \"true\" when --all is specified.")
	fl.BoolVar(&o.Wait, "wait", true, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	fl.DurationVar(&o.Timeout, "timeout", 0, "The length of time to wait before giving up on a delete, zero means wait up to a week")
	fl.IntVar(&o.GracePeriod, "grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	fl.BoolVar(&o.Force, "force", false, "If true, immediately remove resources from API and bypass graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data loss and requires confirmation.")
	fl.BoolVar(&o.Now, "now", false, "If true, resources are signaled for immediate shutdown (same as --grace-period=1).")
	fl.StringVar(&o.Cascade, "cascade", "background", `Must be "background", "orphan", or "foreground".`)
	fl.StringVarP(&o.Output, "output", "o", "", "Output mode. Use \"-o name\" for shorter output (resource/name).")
	cmdutil.AddDryRunFlag(cmd)
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml")
	return cmd
}

// Complete reads flags, namespace and args.
func (o *DeleteOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	var err error
	if o.DryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return err
	}
	if o.Namespace, o.EnforceNamespace, err = f.Namespace(); err != nil {
		return err
	}
	if o.AllNamespaces {
		o.EnforceNamespace = false
	}
	// As kubectl: --all, -l and --field-selector ignore NotFound unless told.
	if (o.All || o.LabelSelector != "" || o.FieldSelector != "") && !cmd.Flags().Changed("ignore-not-found") {
		o.IgnoreNotFound = true
	}
	// kubectl's grace-period rules: --now is --grace-period=1; 0 without
	// --force becomes 1 (so a typo cannot skip graceful termination);
	// --force alone means 0.
	if o.Now {
		if o.GracePeriod != -1 {
			return fmt.Errorf("--now and --grace-period cannot be specified together")
		}
		o.GracePeriod = 1
	}
	if o.GracePeriod == 0 && !o.Force {
		o.GracePeriod = 1
	}
	if o.Force && o.GracePeriod < 0 {
		o.GracePeriod = 0
	}
	if o.DryRun != cmdutil.DryRunNone {
		o.Wait = false
	}
	o.Args, o.factory = args, f
	return nil
}

// Validate rejects ambiguous or empty requests.
func (o *DeleteOptions) Validate(cmd *cobra.Command) error {
	if o.Output != "" && o.Output != "name" {
		return cmdutil.UsageErrorf(cmd, "unexpected -o output mode: %v. We only support '-o name'", o.Output)
	}
	switch o.Cascade {
	case "background", "foreground", "orphan":
	case "true":
		o.Cascade = "background"
	case "false":
		o.Cascade = "orphan"
	default:
		return cmdutil.UsageErrorf(cmd, `invalid cascade value (%v). Must be "background", "foreground", or "orphan"`, o.Cascade)
	}
	switch {
	case o.GracePeriod == 0 && o.Force:
		fmt.Fprintln(o.ErrOut, "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.")
	case o.GracePeriod > 0 && o.Force:
		return fmt.Errorf("--force and --grace-period greater than 0 cannot be specified together")
	}
	hasFiles := len(o.Filenames) > 0
	if !hasFiles && len(o.Args) == 0 {
		return cmdutil.UsageErrorf(cmd, "You must provide one or more resources by argument or filename.")
	}
	if o.All && o.LabelSelector != "" {
		return fmt.Errorf("cannot set --all and --selector at the same time")
	}
	if !hasFiles && len(o.Args) == 1 && !strings.Contains(o.Args[0], "/") && !o.All && o.LabelSelector == "" && o.FieldSelector == "" {
		return fmt.Errorf("resource(s) were provided, but no name was specified")
	}
	return nil
}

// Run deletes the selected objects, then waits for them to be gone.
func (o *DeleteOptions) Run(ctx context.Context) error {
	var errs []error
	var infos []*resource.Info
	if len(o.Filenames) > 0 {
		// Files go through the shared decoder so '//' comments and broken
		// documents are reported by file and line, like create reports them.
		docs, err := cmdutil.ReadManifests(ctx, o.Filenames, o.Recursive, o.In)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			info, err := o.infoFor(doc)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			infos = append(infos, info)
		}
	}
	if len(o.Args) > 0 {
		r := o.factory.NewBuilder().
			Unstructured().
			NamespaceParam(o.Namespace).DefaultNamespace().AllNamespaces(o.AllNamespaces).
			LabelSelectorParam(o.LabelSelector).
			FieldSelectorParam(o.FieldSelector).
			SelectAllParam(o.All).
			ResourceTypeOrNameArgs(false, o.Args...).
			RequireObject(false).
			ContinueOnError().
			Flatten().
			Do()
		if o.IgnoreNotFound {
			r.IgnoreErrors(apierrors.IsNotFound)
		}
		found, err := r.Infos()
		if err != nil {
			errs = append(errs, err)
		}
		infos = append(infos, found...)
	}

	policy := map[string]metav1.DeletionPropagation{
		"background": metav1.DeletePropagationBackground,
		"foreground": metav1.DeletePropagationForeground,
		"orphan":     metav1.DeletePropagationOrphan,
	}[o.Cascade]
	var deleted []*resource.Info
	var uids []types.UID
	for _, info := range infos {
		opts := &metav1.DeleteOptions{PropagationPolicy: &policy}
		if o.GracePeriod >= 0 {
			gp := int64(o.GracePeriod)
			opts.GracePeriodSeconds = &gp
		}
		var uid types.UID
		if o.DryRun != cmdutil.DryRunClient {
			if o.DryRun == cmdutil.DryRunServer {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			res, err := resource.NewHelper(info.Client, info.Mapping).DeleteWithOptions(info.Namespace, info.Name, opts)
			if err != nil {
				if apierrors.IsNotFound(err) && o.IgnoreNotFound {
					continue
				}
				errs = append(errs, kcmdutil.AddSourceToErr("deleting", info.Source, err))
				continue
			}
			if st, ok := res.(*metav1.Status); !ok || st == nil {
				if a, err := metaUID(res); err == nil {
					uid = a
				}
			}
		}
		o.printDeletion(info)
		deleted = append(deleted, info)
		uids = append(uids, uid)
	}
	if len(infos) == 0 && len(errs) == 0 && (o.LabelSelector != "" || o.All || o.FieldSelector != "") {
		fmt.Fprintln(o.Out, "No resources found")
	}
	if o.Wait && len(deleted) > 0 {
		if err := o.waitGone(ctx, deleted, uids); err != nil {
			errs = append(errs, err)
		}
	}
	return utilerrors.NewAggregate(errs)
}

func (o *DeleteOptions) infoFor(doc manifest.Document) (*resource.Info, error) {
	if doc.Err != nil {
		return nil, doc.Err
	}
	info, err := cmdutil.InfoForDocument(o.factory, doc, o.Namespace, o.EnforceNamespace)
	if err != nil {
		return nil, cmdutil.DocumentError(doc, err)
	}
	return info, nil
}

func kindString(info *resource.Info) string {
	gvk := info.Mapping.GroupVersionKind
	if gvk.Group == "" {
		return strings.ToLower(gvk.Kind)
	}
	return strings.ToLower(gvk.Kind) + "." + gvk.Group
}

func (o *DeleteOptions) printDeletion(info *resource.Info) {
	if o.Output == "name" {
		fmt.Fprintf(o.Out, "%s/%s\n", kindString(info), info.Name)
		return
	}
	op := "deleted"
	if o.GracePeriod == 0 {
		op = "force deleted"
	}
	switch o.DryRun {
	case cmdutil.DryRunClient:
		op += " (dry run)"
	case cmdutil.DryRunServer:
		op += " (server dry run)"
	}
	fmt.Fprintf(o.Out, "%s %q %s\n", kindString(info), info.Name, op)
}

// waitGone polls until each object is gone or replaced by a new one (another
// UID), within --timeout (0 = a week, as kubectl does).
func (o *DeleteOptions) waitGone(ctx context.Context, infos []*resource.Info, uids []types.UID) error {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 7 * 24 * time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var errs []error
	for i, info := range infos {
		helper := resource.NewHelper(info.Client, info.Mapping)
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			obj, err := helper.Get(info.Namespace, info.Name)
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			if uid, err := metaUID(obj); err == nil && uids[i] != "" && uid != uids[i] {
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("timed out waiting for %s %q to be deleted: %w", kindString(info), info.Name, err))
		}
	}
	return utilerrors.NewAggregate(errs)
}
