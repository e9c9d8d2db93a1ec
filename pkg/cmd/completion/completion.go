// Package completion implements `ccictl completion SHELL`: cobra's generated
// completion scripts. Resource names are completed at run time by the
// binary itself (cmdutil's completion helpers), so the scripts never go stale.
package completion

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

var generators = map[string]func(root *cobra.Command, w io.Writer) error{
	// V2 with descriptions: smaller, and lets bash show them like zsh does.
	"bash":       func(r *cobra.Command, w io.Writer) error { return r.GenBashCompletionV2(w, true) },
	"zsh":        func(r *cobra.Command, w io.Writer) error { return r.GenZshCompletion(w) },
	"fish":       func(r *cobra.Command, w io.Writer) error { return r.GenFishCompletion(w, true) },
	"powershell": func(r *cobra.Command, w io.Writer) error { return r.GenPowerShellCompletionWithDesc(w) },
}

// Shells are the supported shells, in help order.
var Shells = []string{"bash", "zsh", "fish", "powershell"}

// Options are the arguments of `completion`.
type Options struct {
	Shell string

	root *cobra.Command
	genericiooptions.IOStreams
}

// NewCmdCompletion returns `completion`.
func NewCmdCompletion(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "completion SHELL",
		DisableFlagsInUseLine: true,
		Short:                 "Output shell completion code for the specified shell (bash, zsh, fish, or powershell)",
		Long: `Output shell completion code for the specified shell (bash, zsh, fish, or powershell).
The shell code must be evaluated to provide interactive completion of ccictl
commands. This can be done by sourcing it from the .bash_profile.

Resource types and names, namespaces, contexts, clusters and users are
completed from the server and the cliconfig when you press TAB.

Note for bash: the bash-completion package must be installed.`,
		Example: `  # Load completion into the current bash shell
  source <(ccictl completion bash)

  # Install it for every new bash shell
  ccictl completion bash > ~/.ccictl-completion.bash
  echo 'source ~/.ccictl-completion.bash' >> ~/.bashrc

  # zsh
  ccictl completion zsh > "${fpath[1]}/_ccictl"

  # fish
  ccictl completion fish > ~/.config/fish/completions/ccictl.fish

  # PowerShell
  ccictl completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: Shells,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	return cmd
}

// Complete takes the shell name; the script covers the whole command tree.
func (o *Options) Complete(_ *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return cmdutil.UsageErrorf(cmd, "Shell not specified.")
	case len(args) > 1:
		return cmdutil.UsageErrorf(cmd, "Too many arguments. Expected only the shell type.")
	}
	if _, ok := generators[args[0]]; !ok {
		return cmdutil.UsageErrorf(cmd, "Unsupported shell type %q.", args[0])
	}
	o.Shell = args[0]
	o.root = cmd.Root()
	return nil
}

// Validate has nothing more to check.
func (o *Options) Validate() error {
	if o.root == nil {
		return fmt.Errorf("no command tree to complete")
	}
	return nil
}

// Run writes the script to stdout.
func (o *Options) Run(_ context.Context) error {
	return generators[o.Shell](o.root, o.Out)
}
