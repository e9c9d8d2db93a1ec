// Package create implements `ccictl create`: kubectl's create
// (k8s.io/kubectl/pkg/cmd/create) on kubectl's Factory over ccictl's config
// loading — its flags, options, printing, --dry-run, --save-config, --edit,
// --raw, -k and messages — with ccictl's platform rules run over the input
// before anything is sent, and ccictl's generators (poolbinding, service
// loadbalancer) next to kubectl's.
package create

import (
	"bytes"
	"errors"
	"io"
	"runtime"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	kcreate "k8s.io/kubectl/pkg/cmd/create"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/rawhttp"
	"k8s.io/kubectl/pkg/scheme"
	"k8s.io/kubectl/pkg/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// FieldManager is recorded in managedFields for objects ccictl creates
// (kubectl records "kubectl-create").
const FieldManager = "ccictl-create"

var long = `Create a resource from a file or from stdin, as kubectl creates it.

JSON and YAML formats are accepted; -f takes files, directories (-R for
their subdirectories), URLs and '-' for standard input, -k a kustomization
directory.

Before anything is sent, every object of the input is checked against the
platform rules ('ccictl validate'); with --validate=strict (the default) an
object that breaks a rule the platform enforces is refused with its file and
line, and the other objects are still created (exit 1). Values that carry a
'//' comment copied from documentation are refused. With --raw or --edit
the input is sent as one piece, so a refused object sends nothing at all.`

var example = `  # Create the objects of a file (the seed PoolBinding)
  ccictl create -f poolbinding.yaml

  # Create from standard input, or every manifest under a directory
  cat svc.yaml | ccictl create -f -
  ccictl create -f manifests/ -R

  # The object the server would store, without storing it
  ccictl create -f poolbinding.yaml --dry-run=server -o yaml

  # Edit the manifest before it is created
  ccictl create -f poolbinding.yaml --edit -o json`

// NewCmdCreate returns the create command: kubectl's flags and generators,
// ccictl's generators, and ccictl's checks before kubectl's create.
func NewCmdCreate(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := kcreate.NewCreateOptions(streams)
	fieldManager := FieldManager
	var rules cmdutil.ValidationOptions
	cmd := &cobra.Command{
		Use:                   "create -f FILENAME",
		DisableFlagsInUseLine: true,
		Short:                 "Create a resource from a file or from stdin",
		Long:                  long,
		Example:               example,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCreate(cmd, args, f, o, fieldManager, &rules)
		},
	}
	// kubectl's command, for the usage of the flags it declares inline and
	// for its generators.
	kubectl := kcreate.NewCmdCreate(f.Kubectl(), streams)
	usage := func(name string) string { return kubectl.Flags().Lookup(name).Usage }

	// kubectl's flags of create, bound to the options run hands to kubectl.
	o.RecordFlags.AddFlags(cmd)
	kcmdutil.AddFilenameOptionFlags(cmd, &o.FilenameOptions, "to use to create the resource")
	kcmdutil.AddValidateFlags(cmd)
	cmd.Flags().Lookup("validate").Usage = cmdutil.ValidateFlagUsage
	cmd.Flags().BoolVar(&o.EditBeforeCreate, "edit", o.EditBeforeCreate, usage("edit"))
	cmd.Flags().Bool("windows-line-endings", runtime.GOOS == "windows", usage("windows-line-endings"))
	kcmdutil.AddApplyAnnotationFlags(cmd)
	kcmdutil.AddDryRunFlag(cmd)
	kcmdutil.AddLabelSelectorFlagVar(cmd, &o.Selector)
	cmd.Flags().StringVar(&o.Raw, "raw", o.Raw, usage("raw"))
	kcmdutil.AddFieldManagerFlagVar(cmd, &fieldManager, FieldManager)
	o.PrintFlags.AddFlags(cmd)
	rules.AddRuleFlags(cmd)
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml")

	addGenerators(cmd, kubectl, f, streams)
	return cmd
}

// addGenerators attaches kubectl's generators (namespace, secret, configmap,
// deployment, ...) and ccictl's: `create poolbinding`, and `create service
// loadbalancer` in place of kubectl's, beside kubectl's other Service types.
func addGenerators(cmd, kubectl *cobra.Command, f *cmdutil.Factory, streams genericiooptions.IOStreams) {
	service := NewCmdCreateService(f, streams)
	for _, sub := range kubectl.Commands() {
		kubectl.RemoveCommand(sub)
		if sub.Name() != "service" {
			cmdutil.RenameKubectlExamples(sub)
			cmd.AddCommand(sub)
			continue
		}
		for _, kind := range sub.Commands() {
			if kind.Name() == "loadbalancer" {
				continue
			}
			sub.RemoveCommand(kind)
			cmdutil.RenameKubectlExamples(kind)
			service.AddCommand(kind)
		}
	}
	cmd.AddCommand(service)
	cmd.AddCommand(NewCmdCreatePoolBinding(f, streams))
}

// runCreate checks the flags ccictl adds, reads and checks the input and creates
// the usable objects as kubectl's create does. kubectl's own errors end
// through kcmdutil.CheckErr with kubectl's words and exit codes; a refused
// document is reported with its file and line (exit 1).
func runCreate(cmd *cobra.Command, args []string, f *cmdutil.Factory, o *kcreate.CreateOptions, fieldManager string, rules *cmdutil.ValidationOptions) error {
	// Usage mistakes first, before any config is read (as kubectl, which
	// needs none to say so).
	directive, err := kcmdutil.GetValidationDirective(cmd)
	kcmdutil.CheckErr(err)
	rules.SetMode(directive)
	if err := rules.Complete(cmd); err != nil {
		return err
	}
	kf := f.Kubectl()
	kcmdutil.CheckErr(o.Complete(kf, cmd, args))
	kcmdutil.CheckErr(o.Validate())

	namespace, enforceNamespace, err := f.Namespace()
	kcmdutil.CheckErr(err)
	in := cmdutil.CheckedInput{
		Files: o.FilenameOptions, Selector: o.Selector,
		Namespace: namespace, EnforceNamespace: enforceNamespace,
		In: o.In, ErrOut: o.ErrOut, Rules: rules,
		Build: func() ([]*resource.Info, error) {
			return kf.NewBuilder().
				Unstructured().
				ContinueOnError().
				NamespaceParam(namespace).DefaultNamespace().
				FilenameParam(enforceNamespace, &o.FilenameOptions).
				LabelSelectorParam(o.Selector).
				Flatten().
				Do().Infos()
		},
	}
	switch {
	case o.Raw != "":
		return raw(cmd, kf, o, in)
	case o.EditBeforeCreate:
		// kubectl's editor reads the input itself: check it first, unless
		// it is stdin, which can be read only once.
		if !readsStdin(o.FilenameOptions) {
			if err := allUsable(cmd, f, in); err != nil {
				return err
			}
		}
		kcmdutil.CheckErr(kcreate.RunEditOnCreate(kf, o.PrintFlags, o.RecordFlags, o.IOStreams, cmd, &o.FilenameOptions, fieldManager))
		return nil
	}

	infos, refused, buildErr, err := in.Objects(cmd.Context(), f)
	if err != nil {
		return err
	}
	if len(infos) == 0 && len(refused) > 0 {
		return utilerrors.NewAggregate(refused)
	}
	var errs []error
	if buildErr != nil {
		errs = append(errs, buildErr)
	}
	count := 0
	for _, info := range infos {
		created, err := createOne(cmd, o, fieldManager, info)
		if created {
			count++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && count == 0 && len(refused) == 0 {
		errs = append(errs, errNoObjects)
	}
	if len(refused) == 0 {
		kcmdutil.CheckErr(utilerrors.NewAggregate(errs))
		return nil
	}
	return utilerrors.NewAggregate(append(refused, errs...))
}

// errNoObjects is kubectl's error for an input without objects.
var errNoObjects = errors.New("no objects passed to create")

// createOne is one object of kubectl's create: the last-applied annotation
// with --save-config, the change cause with --record, the POST (unless
// --dry-run=client) and the printed result. It reports whether the object
// counts as created.
func createOne(cmd *cobra.Command, o *kcreate.CreateOptions, fieldManager string, info *resource.Info) (bool, error) {
	if err := util.CreateOrUpdateAnnotation(kcmdutil.GetFlagBool(cmd, kcmdutil.ApplyAnnotationsFlag), info.Object, scheme.DefaultJSONEncoder()); err != nil {
		return false, kcmdutil.AddSourceToErr("creating", info.Source, err)
	}
	// kubectl logs a failed --record and creates anyway.
	_ = o.Recorder.Record(info.Object)
	if o.DryRunStrategy != kcmdutil.DryRunClient {
		obj, err := resource.NewHelper(info.Client, info.Mapping).
			DryRun(o.DryRunStrategy == kcmdutil.DryRunServer).
			WithFieldManager(fieldManager).
			WithFieldValidation(o.ValidationDirective).
			Create(info.Namespace, true, info.Object)
		if err != nil {
			return false, kcmdutil.AddSourceToErr("creating", info.Source, err)
		}
		_ = info.Refresh(obj, true)
	}
	return true, o.PrintObj(info.Object)
}

// raw is --raw: the one input file is checked, then POSTed unchanged by
// kubectl's raw client; from stdin, the bytes checked are the bytes sent.
func raw(cmd *cobra.Command, kf kcmdutil.Factory, o *kcreate.CreateOptions, in cmdutil.CheckedInput) error {
	streams := o.IOStreams
	if readsStdin(o.FilenameOptions) {
		data, err := io.ReadAll(o.In)
		kcmdutil.CheckErr(err)
		in.In, streams.In = bytes.NewReader(data), bytes.NewReader(data)
	}
	if err := allUsable(cmd, nil, in); err != nil {
		return err
	}
	client, err := kf.RESTClient()
	kcmdutil.CheckErr(err)
	kcmdutil.CheckErr(rawhttp.RawPost(client, streams, o.Raw, o.FilenameOptions.Filenames[0]))
	return nil
}

// allUsable checks the whole input for a command that sends it as one
// piece: any refused document refuses all of it. Without a factory (--raw,
// whose objects need not be known types) only the documents are checked,
// not their types.
func allUsable(cmd *cobra.Command, f *cmdutil.Factory, in cmdutil.CheckedInput) error {
	var refused []error
	if f == nil {
		docs, err := cmdutil.ReadManifests(cmd.Context(), in.Files.Filenames, in.Files.Recursive, in.In)
		if err != nil {
			return err
		}
		docs, refused = in.Rules.Check(docs, in.ErrOut)
		for _, doc := range docs {
			if doc.Err != nil {
				refused = append(refused, doc.Err)
			}
		}
	} else {
		var err error
		if _, refused, _, err = in.Objects(cmd.Context(), f); err != nil {
			return err
		}
	}
	return utilerrors.NewAggregate(refused)
}

func readsStdin(fo resource.FilenameOptions) bool {
	for _, s := range fo.Filenames {
		if s == "-" {
			return true
		}
	}
	return false
}
