// Package delete implements `ccictl delete`: kubectl's delete
// (k8s.io/kubectl/pkg/cmd/delete) on kubectl's Factory over ccictl's config
// loading, so flags, output, messages and exit codes are kubectl's (--now,
// --force, --grace-period, --cascade, --interactive, --raw, -k, --wait).
// ccictl adds two things: completion of types and names through ccictl's
// discovery, and -f read by ccictl's manifest reader, so a broken document
// is reported with its file and line (exit 1) while the objects of the
// other documents are still deleted.
package delete

import (
	"bytes"
	"context"
	"errors"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	kdelete "k8s.io/kubectl/pkg/cmd/delete"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/manifest"
	"github.com/openvessel/ccictl/pkg/waitfor"
)

var long = `Delete resources by file names, stdin, resources and names, or by resources
and label selector, as kubectl deletes them.

By default delete waits until each object is gone (finalizers included);
--wait=false returns as soon as the server accepted the deletion. Some
resources, such as pods, support graceful deletion: --grace-period
overrides their grace period, --now is --grace-period=1 and --force
removes the object at once (--grace-period=0 without --force is 1, as in
kubectl). --interactive asks before deleting; --raw deletes an API path.

-f reads files, directories, URLs and stdin as create and apply read them:
a document that cannot be read is reported with its file and line and the
exit code is 1; the objects of the other documents are still deleted.`

var example = `  # Delete one PoolBinding
  ccictl delete poolbindings -n test-ns test-c1

  # Delete the objects a file describes, ignoring those already gone
  ccictl delete -f poolbinding.yaml --ignore-not-found

  # Delete every PoolBinding with a label, without waiting for finalizers
  ccictl delete plb -n test-ns -l app=web --wait=false

  # Delete the bindings of a namespace only if the user confirms
  ccictl delete plb -n test-ns --all --interactive`

// NewCmdDelete returns the delete command.
func NewCmdDelete(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	flags := kdelete.NewDeleteCommandFlags("containing the resource to delete.")
	cmd := &cobra.Command{
		Use:                   "delete ([-f FILENAME] | [-k DIRECTORY] | TYPE [(NAME | -l label | --all)])",
		DisableFlagsInUseLine: true,
		Short:                 "Delete resources by file names, stdin, resources and names, or by resources and label selector",
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     cmdutil.ResourceTypeAndNameCompletionFunc(f),
		SuggestFor:            []string{"rm", "remove"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, args, f, flags, streams)
		},
	}
	flags.AddFlags(cmd)
	kcmdutil.AddDryRunFlag(cmd)
	return cmd
}

// run is kubectl's delete, with -f read by ccictl's reader. kubectl's own
// errors end through kcmdutil.CheckErr with kubectl's words and exit codes;
// unreadable documents are returned after the rest was deleted.
func run(cmd *cobra.Command, args []string, f *cmdutil.Factory, flags *kdelete.DeleteFlags, streams genericiooptions.IOStreams) error {
	kf := f.Kubectl()
	o, err := flags.ToOptions(nil, streams)
	kcmdutil.CheckErr(err)
	kcmdutil.CheckErr(o.Complete(kf, args, cmd))
	var unreadable []error
	if len(o.Filenames) > 0 && len(o.Raw) == 0 {
		// kubectl's Complete only planned to read the files (nothing is read
		// before a visit); the objects come from ccictl's reader instead.
		docs, err := cmdutil.ReadManifests(cmd.Context(), o.Filenames, o.Recursive, o.In)
		if err != nil {
			return err
		}
		var usable []manifest.Document
		for _, doc := range docs {
			if doc.Err != nil {
				unreadable = append(unreadable, doc.Err)
				continue
			}
			usable = append(usable, doc)
		}
		if len(usable) == 0 {
			return utilerrors.NewAggregate(unreadable)
		}
		o.Result, err = result(kf, o, usable, args)
		kcmdutil.CheckErr(err)
		if o.Interactive {
			// kubectl lists the objects once to ask, then deletes from a
			// second listing of the same input.
			o.PreviewResult, err = result(kf, o, usable, args)
			kcmdutil.CheckErr(err)
		}
	}
	kcmdutil.CheckErr(o.Validate())
	if o.DynamicClient != nil {
		// kubectl's wait for the deleted objects, through a client whose
		// GET waits out a deletion on the command's context: kubectl's own
		// waiting loop would exit the process on SIGINT.
		o.DynamicClient = waitfor.UntilGone(cmd.Context(), o.DynamicClient, o.Timeout)
	}
	err = o.RunDelete(kf)
	if err != nil && errors.Is(cmd.Context().Err(), context.Canceled) {
		// Interrupted while waiting: exit 1 without a message, as kubectl.
		return cmdutil.SilentError
	}
	if len(unreadable) == 0 {
		kcmdutil.CheckErr(err)
		return nil
	}
	if err != nil {
		unreadable = append(unreadable, err)
	}
	return utilerrors.NewAggregate(unreadable)
}

// result is the builder kubectl's Complete makes, with each document of -f
// as one stream named by its file.
func result(kf kcmdutil.Factory, o *kdelete.DeleteOptions, docs []manifest.Document, args []string) (*resource.Result, error) {
	namespace, enforceNamespace, err := kf.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	b := kf.NewBuilder().
		Unstructured().
		ContinueOnError().
		NamespaceParam(namespace).DefaultNamespace()
	if enforceNamespace {
		b = b.RequireNamespace()
	}
	for _, doc := range docs {
		b = b.Stream(bytes.NewReader(doc.Raw), doc.Source)
	}
	r := b.LabelSelectorParam(o.LabelSelector).
		FieldSelectorParam(o.FieldSelector).
		SelectAllParam(o.DeleteAll).
		AllNamespaces(o.DeleteAllNamespaces).
		ResourceTypeOrNameArgs(false, args...).RequireObject(false).
		Flatten().
		Do()
	return r, r.Err()
}
