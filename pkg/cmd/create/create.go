// Package create implements `ccictl create -f`.
package create

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/manifest"
)

// FieldManager is recorded in managedFields for objects ccictl creates.
const FieldManager = "ccictl-create"

// CreateOptions holds everything `create` was asked to do.
type CreateOptions struct {
	PrintFlags *genericclioptions.PrintFlags
	resource.FilenameOptions
	FieldManager string
	Validation   cmdutil.ValidationOptions

	DryRun           cmdutil.DryRunStrategy
	Namespace        string
	EnforceNamespace bool
	printer          printers.ResourcePrinter
	factory          *cmdutil.Factory

	genericiooptions.IOStreams
}

var example = `  # Create the objects of a file (the seed PoolBinding)
  ccictl create -f poolbinding.yaml

  # Create from standard input, or every manifest under a directory
  cat svc.yaml | ccictl create -f -
  ccictl create -f manifests/ -R

  # See what would be sent, without sending it
  ccictl create -f poolbinding.yaml --dry-run=client -o yaml`

// NewCmdCreate returns the create command; generators attach as subcommands.
func NewCmdCreate(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CreateOptions{
		PrintFlags:   genericclioptions.NewPrintFlags("created"),
		FieldManager: FieldManager,
		IOStreams:    streams,
	}
	cmd := &cobra.Command{
		Use:                   "create -f FILENAME",
		DisableFlagsInUseLine: true,
		Short:                 "Create a resource from a file or from stdin",
		Long: `Create resources from files, directories, URLs or standard input (JSON or YAML).

Each object is checked and sent on its own: the good ones are created, each
bad one is reported with its file and line, and the exit code is 1 if any
failed. Values that carry a '//' comment copied from documentation are
refused before anything is sent.`,
		Example: example,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.UsageErrorf(cmd, "unexpected args: %v", args)
			}
			// As kubectl: a missing -f is reported before the config is read.
			if err := o.Validate(cmd); err != nil {
				return err
			}
			if err := o.Complete(f, cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().StringSliceVarP(&o.Filenames, "filename", "f", nil, "Filename, directory, or URL to files to use to create the resource")
	cmd.Flags().BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	cmd.Flags().StringVar(&o.FieldManager, "field-manager", o.FieldManager, "Name of the manager used to track field ownership.")
	cmdutil.AddDryRunFlag(cmd)
	o.Validation.AddFlags(cmd)
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml")
	cmd.AddCommand(NewCmdCreateService(f, streams))
	cmd.AddCommand(NewCmdCreatePoolBinding(f, streams))
	return cmd
}

// Complete resolves namespace, dry-run and printer.
func (o *CreateOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command) error {
	if err := o.Validation.Complete(cmd); err != nil {
		return err
	}
	var err error
	o.DryRun, err = cmdutil.GetDryRunStrategy(cmd)
	if err != nil {
		return err
	}
	cmdutil.PrintFlagsWithDryRun(o.PrintFlags, o.DryRun)
	o.printer, err = o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	o.Namespace, o.EnforceNamespace, err = f.Namespace()
	if err != nil {
		return err
	}
	o.factory = f
	return nil
}

// Validate checks that there is something to create. kubectl says "must
// specify one of -f and -k"; create has no -k, so it names only -f.
func (o *CreateOptions) Validate(cmd *cobra.Command) error {
	if len(o.Filenames) == 0 {
		return errors.New("must specify -f")
	}
	return nil
}

// Run creates every usable object and reports every unusable one.
func (o *CreateOptions) Run(ctx context.Context) error {
	in := cmdutil.ManifestInput{
		Filenames: o.Filenames, Recursive: o.Recursive, In: o.In, ErrOut: o.ErrOut,
		Validation: &o.Validation, Namespace: o.Namespace, EnforceNamespace: o.EnforceNamespace,
	}
	count, errs := cmdutil.VisitManifests(ctx, o.factory, in, func(_ manifest.Document, info *resource.Info) error {
		if o.DryRun != cmdutil.DryRunClient {
			obj, err := resource.NewHelper(info.Client, info.Mapping).
				DryRun(o.DryRun == cmdutil.DryRunServer).
				WithFieldManager(o.FieldManager).
				WithFieldValidation(o.Validation.ServerDirective()).
				Create(info.Namespace, true, info.Object)
			if err != nil {
				return kcmdutil.AddSourceToErr("creating", info.Source, err)
			}
			_ = info.Refresh(obj, true)
		}
		return o.printer.PrintObj(info.Object, o.Out)
	})
	if count == 0 && len(errs) == 0 {
		return errors.New("no objects passed to create")
	}
	return utilerrors.NewAggregate(errs)
}
