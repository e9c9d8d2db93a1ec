// Package logs implements `ccictl logs`: kubectl's logs command
// (k8s.io/kubectl/pkg/cmd/logs) with its flags, texts, options and
// streaming, run so that it ends on the command's context. kubectl runs the
// streaming under its interrupt handler, which exits the process
// (os.Exit(1)) on SIGINT or SIGTERM; here that handler is disarmed
// (signals.Reclaim) as soon as it is installed, and an interrupted logs
// exits 1 without a message, as kubectl's.
package logs

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	klogs "k8s.io/kubectl/pkg/cmd/logs"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/signals"
)

// NewCmdLogs returns the logs command: kubectl's texts, completion and flags
// over kubectl's options.
func NewCmdLogs(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	k := klogs.NewCmdLogs(kf, streams)
	o := klogs.NewLogsOptions(streams)
	cmd := &cobra.Command{
		Use:                   k.Use,
		DisableFlagsInUseLine: k.DisableFlagsInUseLine,
		Short:                 k.Short,
		Long:                  k.Long,
		Example:               k.Example,
		ValidArgsFunction:     k.ValidArgsFunction,
		RunE: func(c *cobra.Command, args []string) error {
			kcmdutil.CheckErr(o.Complete(kf, c, args))
			kcmdutil.CheckErr(o.Validate())
			return Run(c.Context(), o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

type requests = map[corev1.ObjectReference]rest.ResponseWrapper

// Run is kubectl's RunLogsContext on ctx for completed options. A
// cancelled ctx ends it, from waiting for a pod to streaming, and returns
// cmdutil.SilentError: kubectl's interrupted logs prints nothing and exits 1.
func Run(ctx context.Context, o *klogs.LogsOptions) error {
	forObject, allPods := o.LogsForObject, o.AllPodLogsForObject
	// RunLogsContext calls one of these first thing inside its interrupt
	// handler's critical section: take the signals back there. Finding the
	// pods may wait (--pod-running-timeout) without a context; stop waiting
	// when ctx ends.
	o.LogsForObject = func(g genericclioptions.RESTClientGetter, obj, opts runtime.Object, timeout time.Duration, allContainers bool) (requests, error) {
		signals.Reclaim()
		return signals.UntilDone(ctx, func() (requests, error) { return forObject(g, obj, opts, timeout, allContainers) })
	}
	o.AllPodLogsForObject = func(g genericclioptions.RESTClientGetter, obj, opts runtime.Object, timeout time.Duration, allContainers bool) (requests, error) {
		signals.Reclaim()
		return signals.UntilDone(ctx, func() (requests, error) { return allPods(g, obj, opts, timeout, allContainers) })
	}
	// A stream cut by the end of ctx is not an error to report (kubectl's
	// follow loop would print it and retry).
	consume := o.ConsumeRequestFn
	o.ConsumeRequestFn = func(ctx context.Context, r rest.ResponseWrapper, out io.Writer) error {
		err := consume(ctx, r, out)
		if err != nil && ctx.Err() != nil {
			return nil
		}
		return err
	}
	err := o.RunLogsContext(ctx)
	if ctx.Err() != nil {
		return cmdutil.SilentError
	}
	kcmdutil.CheckErr(err)
	return nil
}
