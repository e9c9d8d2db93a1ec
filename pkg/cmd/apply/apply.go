// Package apply implements `ccictl apply -f` as server-side apply.
package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/manifest"
)

// FieldManager is ccictl's server-side apply field manager.
const FieldManager = "ccictl"

// ApplyOptions holds everything `apply` was asked to do.
type ApplyOptions struct {
	PrintFlags *genericclioptions.PrintFlags
	resource.FilenameOptions
	FieldManager   string
	ForceConflicts bool
	Validation     cmdutil.ValidationOptions

	DryRun           cmdutil.DryRunStrategy
	Namespace        string
	EnforceNamespace bool
	printer          printers.ResourcePrinter
	factory          *cmdutil.Factory

	genericiooptions.IOStreams
}

var example = `  # Create or update the objects of a file (server-side apply, field manager "ccictl")
  ccictl apply -f service.yaml

  # Take over fields another manager owns
  ccictl apply -f service.yaml --force-conflicts

  # Ask the server what would happen, without persisting anything
  ccictl apply -f manifests/ -R --dry-run=server`

// NewCmdApply returns the apply command.
func NewCmdApply(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ApplyOptions{
		PrintFlags:   genericclioptions.NewPrintFlags("serverside-applied"),
		FieldManager: FieldManager,
		IOStreams:    streams,
	}
	cmd := &cobra.Command{
		Use:                   "apply -f FILENAME",
		DisableFlagsInUseLine: true,
		Short:                 "Apply a configuration to a resource by file name or stdin (server-side apply)",
		Long: `Apply a configuration to resources with server-side apply: the server merges
the fields you give and records them under the field manager "ccictl".

PoolBinding specs are immutable after creation (the platform supports create,
delete and query); applying a changed spec is refused by the server.`,
		Example: example,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.UsageErrorf(cmd, "unexpected args: %v", args)
			}
			// As kubectl: a missing -f is reported before the config is read.
			if len(o.Filenames) == 0 {
				return errors.New("must specify -f")
			}
			if err := o.Complete(f, cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().StringSliceVarP(&o.Filenames, "filename", "f", nil, "The files that contain the configurations to apply.")
	cmd.Flags().BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	cmd.Flags().StringVar(&o.FieldManager, "field-manager", o.FieldManager, "Name of the manager used to track field ownership.")
	cmd.Flags().BoolVar(&o.ForceConflicts, "force-conflicts", false, "If true, server-side apply will force the changes against conflicts.")
	cmd.Flags().Bool("server-side", true, "Always true: ccictl applies server-side. Accepted for kubectl compatibility.")
	cmdutil.AddDryRunFlag(cmd)
	o.Validation.AddFlags(cmd)
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml")
	return cmd
}

// Complete resolves namespace, dry-run and printer.
func (o *ApplyOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command) error {
	if err := o.Validation.Complete(cmd); err != nil {
		return err
	}
	var err error
	if ss, _ := cmd.Flags().GetBool("server-side"); !ss {
		return cmdutil.UsageErrorf(cmd, "--server-side=false is not supported: ccictl only applies server-side")
	}
	o.DryRun, err = cmdutil.GetDryRunStrategy(cmd)
	if err != nil {
		return err
	}
	cmdutil.PrintFlagsWithDryRun(o.PrintFlags, o.DryRun)
	if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
		return err
	}
	if o.Namespace, o.EnforceNamespace, err = f.Namespace(); err != nil {
		return err
	}
	o.factory = f
	return nil
}

// Run applies every usable object and reports every unusable one.
func (o *ApplyOptions) Run(ctx context.Context) error {
	in := cmdutil.ManifestInput{
		Filenames: o.Filenames, Recursive: o.Recursive, In: o.In, ErrOut: o.ErrOut,
		Validation: &o.Validation, Namespace: o.Namespace, EnforceNamespace: o.EnforceNamespace,
	}
	count, errs := cmdutil.VisitManifests(ctx, o.factory, in, func(doc manifest.Document, info *resource.Info) error {
		if o.DryRun == cmdutil.DryRunClient {
			return o.printer.PrintObj(info.Object, o.Out)
		}
		data, err := json.Marshal(info.Object)
		if err != nil {
			return cmdutil.DocumentError(doc, err)
		}
		force := o.ForceConflicts
		obj, err := resource.NewHelper(info.Client, info.Mapping).
			DryRun(o.DryRun == cmdutil.DryRunServer).
			WithFieldManager(o.FieldManager).
			WithFieldValidation(o.Validation.ServerDirective()).
			Patch(info.Namespace, info.Name, types.ApplyPatchType, data, &metav1.PatchOptions{Force: &force})
		if err != nil {
			if apierrors.IsConflict(err) {
				err = fmt.Errorf("%w\nPlease review the fields above; re-run with --force-conflicts to take them over, or remove them from your manifest", err)
			}
			return kcmdutil.AddSourceToErr("applying patch", info.Source, err)
		}
		_ = info.Refresh(obj, true)
		return o.printer.PrintObj(info.Object, o.Out)
	})
	if count == 0 && len(errs) == 0 {
		return errors.New("no objects passed to apply")
	}
	return utilerrors.NewAggregate(errs)
}
