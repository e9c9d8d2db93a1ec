// Package rollout implements `ccictl rollout`: kubectl's rollout command
// (k8s.io/kubectl/pkg/cmd/rollout: history, pause, restart, resume, status,
// undo) unchanged but for the wait of `rollout status`, which kubectl runs
// under a signal handler that exits the process (os.Exit(1)) on SIGINT or
// SIGTERM. ccictl's status waits on the command's context, with kubectl's
// options, status texts and errors, and an interrupted wait exits 1 without
// a message, as kubectl's.
package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	krollout "k8s.io/kubectl/pkg/cmd/rollout"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// NewCmdRollout returns the rollout command.
func NewCmdRollout(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	cmd := krollout.NewCmdRollout("ccictl", kf, streams)
	for _, sub := range cmd.Commands() {
		if sub.Name() == "status" {
			sub.Run = nil
			sub.RunE = func(c *cobra.Command, args []string) error {
				o, err := StatusOptions(c, streams)
				kcmdutil.CheckErr(err)
				kcmdutil.CheckErr(o.Complete(kf, args))
				kcmdutil.CheckErr(o.Validate())
				return Status(c.Context(), o)
			}
		}
	}
	return cmd
}

// StatusOptions reads kubectl's `rollout status` flags, as kubectl's
// command declared and parsed them, into kubectl's options.
func StatusOptions(cmd *cobra.Command, streams genericiooptions.IOStreams) (*krollout.RolloutStatusOptions, error) {
	fl := cmd.Flags()
	o := krollout.NewRolloutStatusOptions(streams)
	var errs []error
	var err error
	o.FilenameOptions.Filenames, err = fl.GetStringSlice("filename")
	errs = append(errs, err)
	o.FilenameOptions.Kustomize, err = fl.GetString("kustomize")
	errs = append(errs, err)
	o.FilenameOptions.Recursive, err = fl.GetBool("recursive")
	errs = append(errs, err)
	o.Watch, err = fl.GetBool("watch")
	errs = append(errs, err)
	o.Revision, err = fl.GetInt64("revision")
	errs = append(errs, err)
	o.Timeout, err = fl.GetDuration("timeout")
	errs = append(errs, err)
	o.LabelSelector, err = fl.GetString("selector")
	errs = append(errs, err)
	return o, errors.Join(errs...)
}

// Status is kubectl's `rollout status` on ctx: each object's status as
// kubectl's status viewer words it, watched until the rollout is done
// (unless --watch=false) or --timeout passes. A cancelled ctx exits 1
// without a message.
func Status(ctx context.Context, o *krollout.RolloutStatusOptions) error {
	r := o.Builder().
		// Unstructured: CCI 2.0's cci/v2 Deployments are no kind of the
		// typed scheme, and only the mapping and name are read here.
		Unstructured().
		NamespaceParam(o.Namespace).DefaultNamespace().
		LabelSelectorParam(o.LabelSelector).
		FilenameParam(o.EnforceNamespace, o.FilenameOptions).
		ResourceTypeOrNameArgs(true, o.BuilderArgs...).
		ContinueOnError().
		Latest().
		Flatten().
		Do()
	kcmdutil.CheckErr(r.Err())

	found := false
	err := r.Visit(func(info *resource.Info, _ error) error {
		found = true
		viewer, err := o.StatusViewerFn(statusMapping(info.ResourceMapping()))
		if err != nil {
			return err
		}
		client := o.DynamicClient.Resource(info.Mapping.Resource).Namespace(info.Namespace)
		byName := fields.OneTermEqualSelector("metadata.name", info.Name).String()
		lw := &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
				options.FieldSelector = byName
				return client.List(ctx, options)
			},
			WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
				options.FieldSelector = byName
				return client.Watch(ctx, options)
			},
		}
		wctx, cancel := watchtools.ContextWithOptionalTimeout(ctx, o.Timeout)
		defer cancel()
		_, err = watchtools.UntilWithSync(wctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
			switch e.Type {
			case watch.Added, watch.Modified:
				status, done, err := viewer.Status(e.Object.(runtime.Unstructured), o.Revision)
				if err != nil {
					return false, err
				}
				fmt.Fprint(o.Out, status)
				return done || !o.Watch, nil
			case watch.Deleted:
				// kubectl stops rather than follow an object created again.
				return true, fmt.Errorf("object has been deleted")
			}
			return true, fmt.Errorf("internal error: unexpected event %#v", e)
		})
		return err
	})
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return cmdutil.SilentError
	}
	kcmdutil.CheckErr(err)
	if !found {
		fmt.Fprintf(o.ErrOut, "No resources found in %s namespace.\n", o.Namespace)
	}
	return nil
}

// statusMapping is the mapping whose status viewer reads m's objects:
// CCI 2.0 serves Deployments as cci/v2 with apps/v1's fields, so a cci
// Deployment is read by the apps Deployment viewer (which converts the
// object by its fields, whatever its apiVersion).
func statusMapping(m *meta.RESTMapping) *meta.RESTMapping {
	if m.GroupVersionKind.Group != "cci" || m.GroupVersionKind.Kind != "Deployment" {
		return m
	}
	c := *m
	c.GroupVersionKind = appsv1.SchemeGroupVersion.WithKind("Deployment")
	c.Resource = appsv1.SchemeGroupVersion.WithResource("deployments")
	return &c
}
