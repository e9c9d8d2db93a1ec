// Package events implements `ccictl events`: kubectl's events command
// (k8s.io/kubectl/pkg/cmd/events) with its flags, texts, options, printer
// and listing. Only --watch differs in how it runs: kubectl watches on a
// context nothing cancels, under its interrupt handler that exits the
// process (os.Exit(1)) on SIGINT or SIGTERM. Here the same watch (same
// namespace, --for selector and --types filter, kubectl's printer) runs on
// the command's context, and an interrupted watch exits 1 without a
// message, as kubectl's.
package events

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	watchtools "k8s.io/client-go/tools/watch"
	kevents "k8s.io/kubectl/pkg/cmd/events"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// NewCmdEvents returns the events command: kubectl's texts and flags over
// kubectl's options.
func NewCmdEvents(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	k := kevents.NewCmdEvents(kf, streams)
	flags := kevents.NewEventsFlags(kf, streams)
	cmd := &cobra.Command{
		Use:                   k.Use,
		DisableFlagsInUseLine: k.DisableFlagsInUseLine,
		Short:                 k.Short,
		Long:                  k.Long,
		Example:               k.Example,
		ValidArgsFunction:     k.ValidArgsFunction,
		RunE: func(c *cobra.Command, args []string) error {
			o, err := flags.ToOptions()
			kcmdutil.CheckErr(err)
			kcmdutil.CheckErr(o.Validate())
			if !o.Watch {
				kcmdutil.CheckErr(o.Run())
				return nil
			}
			return Watch(c.Context(), flags, o)
		},
	}
	flags.AddFlags(cmd)
	flags.PrintFlags.AddFlags(cmd)
	return cmd
}

// Watch is kubectl's `events --watch` on ctx for options made by
// flags.ToOptions: every event of the namespace (or all of them), or of the
// --for object, printed by kubectl's printer as the watch reports it, but
// deletions and types --types leaves out. It ends when the server closes the
// watch (nil, as kubectl) or ctx ends (cmdutil.SilentError: kubectl's
// interrupted watch prints nothing and exits 1).
func Watch(ctx context.Context, flags *kevents.EventsFlags, o *kevents.EventsOptions) error {
	namespace := o.Namespace
	if o.AllNamespaces {
		namespace = ""
	}
	listOptions := metav1.ListOptions{Limit: kcmdutil.DefaultChunkSize}
	if flags.ForObject != "" {
		mapper, err := flags.RESTClientGetter.ToRESTMapper()
		kcmdutil.CheckErr(err)
		gvk, name, err := forObject(mapper, flags.ForObject)
		kcmdutil.CheckErr(err)
		listOptions.FieldSelector = fields.AndSelectors(
			fields.OneTermEqualSelector("involvedObject.kind", gvk.Kind),
			fields.OneTermEqualSelector("involvedObject.apiVersion", gvk.GroupVersion().String()),
			fields.OneTermEqualSelector("involvedObject.name", name)).String()
	}
	config, err := flags.RESTClientGetter.ToRESTConfig()
	kcmdutil.CheckErr(err)
	client, err := kubernetes.NewForConfig(config)
	kcmdutil.CheckErr(err)

	w, err := client.CoreV1().Events(namespace).Watch(ctx, listOptions)
	if ctx.Err() != nil {
		return cmdutil.SilentError
	}
	kcmdutil.CheckErr(err)
	out := printers.GetNewTabWriter(o.Out)
	_, _ = watchtools.UntilWithoutRetry(ctx, w, func(e watch.Event) (bool, error) {
		if e.Type == watch.Deleted { // an event expires; that is not news
			return false, nil
		}
		ev, ok := e.Object.(*corev1.Event)
		if !ok || !wanted(o.FilterTypes, ev.Type) {
			return false, nil
		}
		if ev.GetObjectKind().GroupVersionKind().Empty() {
			ev.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Event"))
		}
		_ = o.PrintObj(ev, out)
		out.Flush()
		return false, nil
	})
	// kubectl ignores how the watch ended.
	if ctx.Err() != nil {
		return cmdutil.SilentError
	}
	return nil
}

// wanted reports whether --types (empty: every type) lets an event of type
// through; kubectl compares them without regard to case.
func wanted(types []string, eventType string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if strings.EqualFold(t, eventType) {
			return true
		}
	}
	return false
}

// forObject reads --for (TYPE/NAME, TYPE possibly resource.version.group)
// into the kind and name the events' involvedObject carries. kubectl's
// ToOptions has accepted the same value already, so its mistakes were
// reported there in kubectl's words.
func forObject(mapper meta.RESTMapper, s string) (schema.GroupVersionKind, string, error) {
	resource, name, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(name, "/") {
		return schema.GroupVersionKind{}, "", fmt.Errorf("--for must be in resource/name form")
	}
	full, partial := schema.ParseResourceArg(strings.ToLower(resource))
	var gvr schema.GroupVersionResource
	if full != nil {
		gvr, _ = mapper.ResourceFor(*full)
	}
	if gvr.Empty() {
		var err error
		if gvr, err = mapper.ResourceFor(partial.WithVersion("")); err != nil {
			return schema.GroupVersionKind{}, "", err
		}
	}
	gvk, err := mapper.KindFor(gvr)
	return gvk, name, err
}
