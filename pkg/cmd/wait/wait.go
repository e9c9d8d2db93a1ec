// Package wait implements `ccictl wait`: kubectl's wait
// (k8s.io/kubectl/pkg/cmd/wait) — its flags, help, conditions, output,
// messages and exit codes — waiting through pkg/waitfor, so that an
// interruption ends the command's context instead of the process.
package wait

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"
	kwait "k8s.io/kubectl/pkg/cmd/wait"

	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/waitfor"
)

// NewCmdWait returns the wait command.
func NewCmdWait(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	kf := f.Kubectl()
	flags := kwait.NewWaitFlags(kf, streams)
	// kubectl's command, for its usage, help and examples.
	kubectl := kwait.NewCmdWait(kf, streams)
	cmd := &cobra.Command{
		Use:                   kubectl.Use,
		DisableFlagsInUseLine: true,
		Short:                 kubectl.Short,
		Long:                  kubectl.Long,
		Example:               kubectl.Example,
		ValidArgsFunction:     kubectl.ValidArgsFunction,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := flags.ToOptions(args)
			kcmdutil.CheckErr(err)
			return Run(cmd, o)
		},
	}
	flags.AddFlags(cmd)
	return cmd
}

// Run waits as kubectl's wait does. kubectl's errors end through
// kcmdutil.CheckErr with kubectl's words and exit codes; an interrupted
// wait (SIGINT, SIGTERM: the command's context cancelled) exits 1 without a
// message, as kubectl's does.
func Run(cmd *cobra.Command, o *kwait.WaitOptions) error {
	waitfor.Conditions(o)
	err := o.RunWaitContext(cmd.Context())
	if err != nil && errors.Is(cmd.Context().Err(), context.Canceled) {
		return cmdutil.SilentError
	}
	kcmdutil.CheckErr(err)
	return nil
}
