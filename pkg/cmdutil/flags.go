package cmdutil

import (
	"fmt"
	"regexp"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// DryRunStrategy is what --dry-run asked for.
type DryRunStrategy int

const (
	DryRunNone DryRunStrategy = iota
	DryRunClient
	DryRunServer
)

// AddDryRunFlag adds --dry-run=none|client|server.
func AddDryRunFlag(cmd *cobra.Command) {
	cmd.Flags().String("dry-run", "none", `Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "unchanged"
}

// GetDryRunStrategy reads --dry-run. A bare --dry-run means client, as kubectl
// still accepts it.
func GetDryRunStrategy(cmd *cobra.Command) (DryRunStrategy, error) {
	v, err := cmd.Flags().GetString("dry-run")
	if err != nil {
		return DryRunNone, err
	}
	switch v {
	case "", "none", "false":
		return DryRunNone, nil
	case "client", "unchanged", "true":
		return DryRunClient, nil
	case "server":
		return DryRunServer, nil
	}
	return DryRunNone, fmt.Errorf(`invalid dry-run value (%v). Must be "none", "server", or "client"`, v)
}

// PrintFlagsWithDryRun makes the success verb say "(dry run)" or "(server dry run)".
func PrintFlagsWithDryRun(pf *genericclioptions.PrintFlags, s DryRunStrategy) *genericclioptions.PrintFlags {
	switch s {
	case DryRunClient:
		pf.Complete("%s (dry run)")
	case DryRunServer:
		pf.Complete("%s (server dry run)")
	}
	return pf
}

// kubectlInvocation matches "kubectl " where a command line is shown, not in
// names such as kubectl.kubernetes.io/last-applied-configuration.
var kubectlInvocation = regexp.MustCompile(`\bkubectl `)

// RenameKubectlExamples makes the examples and long help of a command taken
// from kubectl's packages (and of its subcommands) show the command a ccictl
// user types.
func RenameKubectlExamples(c *cobra.Command) {
	c.Example = kubectlInvocation.ReplaceAllString(c.Example, "ccictl ")
	c.Long = kubectlInvocation.ReplaceAllString(c.Long, "ccictl ")
	for _, sub := range c.Commands() {
		RenameKubectlExamples(sub)
	}
}
