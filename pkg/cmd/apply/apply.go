// Package apply implements `ccictl apply`: kubectl's apply
// (k8s.io/kubectl/pkg/cmd/apply) on kubectl's Factory over ccictl's config
// loading — client-side by default with the last-applied annotation and the
// words created/configured/unchanged, --server-side, -k, --prune, --wait —
// with ccictl's platform rules run over the input before anything is sent.
package apply

import (
	"fmt"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kapply "k8s.io/kubectl/pkg/cmd/apply"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// Field managers ccictl records when --field-manager is not given: its own
// names where kubectl records "kubectl" and "kubectl-client-side-apply".
const (
	FieldManager           = "ccictl"
	FieldManagerClientSide = "ccictl-client-side-apply"
)

var long = `Apply a configuration to a resource by file name or stdin, as kubectl
applies it: the resource is created if it does not exist yet, otherwise
patched with the difference between the last applied configuration (the
kubectl.kubernetes.io/last-applied-configuration annotation), the file and
the live object. Each object prints "created", "configured" or "unchanged".
Objects last applied by kubectl are applied the same way.

--server-side applies on the server instead (field manager "ccictl";
prints "serverside-applied"). As with kubectl and a --field-manager of its
own, the server then no longer keeps the last-applied annotation, and a
later client-side apply warns that it is missing and adds it again;
--field-manager=kubectl keeps kubectl's behaviour. -k applies a
kustomization directory.
--prune with -l (or --all) deletes objects of the allowed types that carry
the label but are not in the input.

Before anything is sent, every object of the input is checked against the
platform rules ('ccictl validate'); with --validate=strict (the default) an
object that breaks a rule the platform enforces is refused with its file and
line, and the other objects are still applied (exit 1). Values that carry a
'//' comment copied from documentation are refused. When an object is
refused, --prune deletes nothing.

PoolBinding specs are immutable after creation (the platform supports
create, delete and query); applying a changed spec is refused by the server.`

var example = `  # Create or update the objects of a file (client-side apply)
  ccictl apply -f poolbinding.yaml

  # The same, on the server, taking over fields another manager owns
  ccictl apply -f service.yaml --server-side --force-conflicts

  # The merged object that would be sent, without sending it
  ccictl apply -f poolbinding.yaml --dry-run=client -o yaml

  # Apply a kustomization directory
  ccictl apply -k overlays/prod/

  # Apply a directory of manifests labelled app=web and delete the Services
  # labelled app=web that are no longer in it
  ccictl apply -f manifests/ -R -l app=web --prune --prune-allowlist=core/v1/Service`

// NewCmdApply returns the apply command.
func NewCmdApply(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	flags := kapply.NewApplyFlags(streams)
	var rules cmdutil.ValidationOptions
	cmd := &cobra.Command{
		Use:                   "apply (-f FILENAME | -k DIRECTORY)",
		DisableFlagsInUseLine: true,
		Short:                 "Apply a configuration to a resource by file name or stdin",
		Long:                  long,
		Example:               example,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, args, f, flags, &rules)
		},
	}
	flags.AddFlags(cmd)
	rules.AddRuleFlags(cmd)
	// kubectl's --validate, read as kubectl reads it; it also sets how the
	// platform rules refuse.
	cmd.Flags().Lookup("validate").Usage = cmdutil.ValidateFlagUsage
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml")
	// kubectl's subcommands, unchanged but for the command name they show.
	for _, sub := range []*cobra.Command{
		kapply.NewCmdApplyViewLastApplied(kf, streams),
		kapply.NewCmdApplySetLastApplied(kf, streams),
		kapply.NewCmdApplyEditLastApplied(kf, streams),
	} {
		cmdutil.RenameKubectlExamples(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}

// run checks the flags ccictl adds, reads and checks the input, and hands
// the usable objects to kubectl's apply. kubectl's own errors end through
// kcmdutil.CheckErr with kubectl's words and exit codes; a refused document
// is reported as create reports it (file:line, exit 1).
func run(cmd *cobra.Command, args []string, f *cmdutil.Factory, flags *kapply.ApplyFlags, rules *cmdutil.ValidationOptions) error {
	// Usage mistakes first, before any config is read (as kubectl, which
	// needs none to say so).
	directive, err := kcmdutil.GetValidationDirective(cmd)
	kcmdutil.CheckErr(err)
	rules.SetMode(directive)
	if err := rules.Complete(cmd); err != nil {
		return err
	}
	input := flags.DeleteFlags.FileNameFlags.ToOptions()
	kcmdutil.CheckErr(input.RequireFilenameOrKustomize())

	o, err := flags.ToOptions(f.Kubectl(), cmd, "ccictl", args)
	kcmdutil.CheckErr(err)
	kcmdutil.CheckErr(o.Validate())
	if !cmd.Flags().Changed("field-manager") {
		o.FieldManager = FieldManagerClientSide
		if o.ServerSideApply {
			o.FieldManager = FieldManager
		}
	}

	in := cmdutil.CheckedInput{
		Files: o.DeleteOptions.FilenameOptions, Selector: o.Selector,
		Namespace: o.Namespace, EnforceNamespace: o.EnforceNamespace,
		In: o.In, ErrOut: o.ErrOut, Rules: rules, Build: o.GetObjects,
	}
	infos, refused, readErr, err := in.Objects(cmd.Context(), f)
	if err != nil {
		return err
	}
	if len(infos) == 0 && len(refused) > 0 {
		return utilerrors.NewAggregate(refused)
	}
	if o.ApplySet != nil {
		kcmdutil.CheckErr(o.ApplySet.AddLabels(infos...))
	}
	if o.Prune && (len(refused) > 0 || readErr != nil) {
		// An object that was not sent is not "gone from the input": pruning
		// now would delete the live copy of every refused object. kubectl
		// does not prune after a failed object either.
		if len(refused) > 0 {
			fmt.Fprintf(o.ErrOut, "Warning: nothing pruned: %d object(s) of the input were refused\n", len(refused))
		}
		o.Prune = false
	}
	o.SetObjects(infos)
	err = o.Run()
	if readErr != nil {
		err = utilerrors.NewAggregate([]error{readErr, err})
	}
	if len(refused) == 0 {
		kcmdutil.CheckErr(err)
		return nil
	}
	if err != nil {
		refused = append(refused, err)
	}
	return utilerrors.NewAggregate(refused)
}
