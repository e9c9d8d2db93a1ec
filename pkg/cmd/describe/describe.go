// Package describe implements `ccictl describe`: kubectl's describe
// (k8s.io/kubectl/pkg/cmd/describe) on kubectl's Factory over ccictl's
// config loading, so flags, output, messages and exit codes are kubectl's.
// Built-in kinds get kubectl's typed describers; PoolBindings and CCI's
// cci/v2 kinds get kubectl's generic one (ccictl never had a describer of
// its own). ccictl adds completion of types and names through its own
// discovery and PoolBinding examples.
package describe

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kdescribe "k8s.io/kubectl/pkg/cmd/describe"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

var example = `  # Describe a PoolBinding
  ccictl describe plb test-c1 -n test-ns

  # Describe every Service whose name starts with "web"
  ccictl describe svc web -n test-ns

  # Describe the PoolBindings of a file, and those labelled app=web
  ccictl describe -f poolbinding.yaml
  ccictl describe plb -l app=web -n test-ns`

// NewCmdDescribe returns the describe command.
func NewCmdDescribe(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := kdescribe.NewCmdDescribe("ccictl", f.Kubectl(), streams)
	cmdutil.RenameKubectlExamples(cmd)
	cmd.Example = example
	cmd.ValidArgsFunction = cmdutil.ResourceTypeAndNameCompletionFunc(f)
	_ = cmd.MarkFlagFilename("filename", "json", "yaml", "yml")
	return cmd
}
