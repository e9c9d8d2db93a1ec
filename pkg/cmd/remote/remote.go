// Package remote implements `ccictl exec`, `ccictl cp` and `ccictl
// port-forward`: kubectl's commands (k8s.io/kubectl/pkg/cmd/exec, .../cp and
// .../portforward) with
// their flags, texts and options, run so that they end on the command's
// context. kubectl's exec streams without a context and, on a terminal,
// under kubectl's terminal handler, whose os.Exit(1) on SIGTERM is
// disarmed here (signals.Reclaim) from inside it; cp streams through exec;
// kubectl's port-forward
// stops on its own SIGINT only and here stops on the context as well.
// Waiting for a pod (--pod-running-timeout) stops when the context ends.
package remote

import (
	"context"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/kubectl/pkg/cmd/cp"
	kexec "k8s.io/kubectl/pkg/cmd/exec"
	"k8s.io/kubectl/pkg/cmd/portforward"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/completion"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/signals"
)

// Kubectl's defaults for --pod-running-timeout.
const (
	execPodTimeout        = 60 * time.Second
	portForwardPodTimeout = 60 * time.Second
)

// like returns a command with k's texts and completion and no flags.
func like(k *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:                   k.Use,
		DisableFlagsInUseLine: k.DisableFlagsInUseLine,
		Short:                 k.Short,
		Long:                  k.Long,
		Example:               k.Example,
		ValidArgsFunction:     k.ValidArgsFunction,
	}
}

// NewCmdExec returns the exec command: kubectl's texts, flags and options.
func NewCmdExec(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	k := kexec.NewCmdExec(kf, streams)
	o := &kexec.ExecOptions{StreamOptions: kexec.StreamOptions{IOStreams: streams}}
	cmd := like(k)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		kcmdutil.CheckErr(o.Complete(kf, c, args, c.ArgsLenAtDash()))
		kcmdutil.CheckErr(o.Validate())
		return RunExec(c.Context(), o)
	}
	kcmdutil.AddPodRunningTimeoutFlag(cmd, execPodTimeout)
	kcmdutil.AddJsonFilenameFlag(cmd.Flags(), &o.FilenameOptions.Filenames, "to use to exec into the resource")
	kcmdutil.AddContainerVarFlags(cmd, &o.ContainerName, o.ContainerName)
	kcmdutil.CheckErr(cmd.RegisterFlagCompletionFunc("container", completion.ContainerCompletionFunc(kf)))
	for name, p := range map[string]*bool{"stdin": &o.Stdin, "tty": &o.TTY, "quiet": &o.Quiet} {
		kf := k.Flags().Lookup(name)
		cmd.Flags().BoolVarP(p, name, kf.Shorthand, false, kf.Usage)
	}
	return cmd
}

// RunExec is kubectl's exec Run on ctx for completed options: ctx ends the
// wait for a pod and the stream. An interrupted exec exits 1 without a
// message (kubectl is killed by the signal, or exits 1 on a terminal).
func RunExec(ctx context.Context, o *kexec.ExecOptions) error {
	o.Executor = &executor{ctx: ctx, inner: &kexec.DefaultRemoteExecutor{}}
	podFn := o.ExecutablePodFn
	o.ExecutablePodFn = func(g genericclioptions.RESTClientGetter, obj runtime.Object, timeout time.Duration) (*corev1.Pod, error) {
		return signals.UntilDone(ctx, func() (*corev1.Pod, error) { return podFn(g, obj, timeout) })
	}
	err := o.Run()
	if ctx.Err() != nil {
		return cmdutil.SilentError
	}
	kcmdutil.CheckErr(err)
	return nil
}

// executor streams on ctx. kubectl calls Execute inside its terminal
// handler's critical section (with -t on a terminal), so it first takes the
// signals back from that handler; the terminal is restored by kubectl's
// deferred cleanup when the stream ends.
type executor struct {
	ctx   context.Context
	inner kexec.RemoteExecutor
}

func (e *executor) Execute(u *url.URL, config *restclient.Config, stdin io.Reader, stdout, stderr io.Writer, tty bool, sizes remotecommand.TerminalSizeQueue) error {
	return e.ExecuteWithContext(e.ctx, u, config, stdin, stdout, stderr, tty, sizes)
}

func (e *executor) ExecuteWithContext(ctx context.Context, u *url.URL, config *restclient.Config, stdin io.Reader, stdout, stderr io.Writer, tty bool, sizes remotecommand.TerminalSizeQueue) error {
	signals.Reclaim()
	return e.inner.ExecuteWithContext(ctx, u, config, stdin, stdout, stderr, tty, sizes)
}

// NewCmdPortForward returns the port-forward command: kubectl's texts,
// flags and options.
func NewCmdPortForward(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	k := portforward.NewCmdPortForward(kf, streams)
	o := portforward.NewDefaultPortForwardOptions(streams)
	cmd := like(k)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		ctx := c.Context()
		// Complete waits for the pod to run, without a context.
		_, err := signals.UntilDone(ctx, func() (struct{}, error) { return struct{}{}, o.Complete(kf, c, args) })
		if ctx.Err() != nil {
			return cmdutil.SilentError
		}
		kcmdutil.CheckErr(err)
		kcmdutil.CheckErr(o.Validate())
		return RunPortForward(ctx, o)
	}
	kcmdutil.AddPodRunningTimeoutFlag(cmd, portForwardPodTimeout)
	addr := k.Flags().Lookup("address")
	cmd.Flags().StringSliceVar(&o.Address, addr.Name, []string{"localhost"}, addr.Usage)
	return cmd
}

// RunPortForward is kubectl's port-forward on ctx for completed options.
// Interrupted while forwarding, it ends as kubectl's on SIGINT: the
// forwarder stops and the command exits 0. Interrupted before (looking up
// the pod), it exits 1 without a message.
func RunPortForward(ctx context.Context, o *portforward.PortForwardOptions) error {
	err := o.RunPortForwardContext(ctx)
	if err != nil && ctx.Err() != nil {
		return cmdutil.SilentError
	}
	kcmdutil.CheckErr(err)
	return nil
}

// NewCmdCp returns the cp command: kubectl's texts, flags and options, its
// exec streams on the command's context. An interrupted cp exits 1 without
// a message (kubectl is killed by the signal).
func NewCmdCp(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	k := cp.NewCmdCp(kf, streams)
	o := cp.NewCopyOptions(streams)
	cmd := like(k)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		ctx := c.Context()
		kcmdutil.CheckErr(o.Complete(kf, c, args))
		kcmdutil.CheckErr(o.Validate())
		o.Executor = &executor{ctx: ctx, inner: o.Executor}
		err := o.Run()
		if ctx.Err() != nil {
			return cmdutil.SilentError
		}
		kcmdutil.CheckErr(err)
		return nil
	}
	kcmdutil.AddContainerVarFlags(cmd, &o.Container, o.Container)
	preserve, retries := k.Flags().Lookup("no-preserve"), k.Flags().Lookup("retries")
	cmd.Flags().BoolVar(&o.NoPreserve, preserve.Name, false, preserve.Usage)
	cmd.Flags().IntVar(&o.MaxTries, retries.Name, 0, retries.Usage)
	return cmd
}
