package config

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// DeleteOptions are the flags of `config delete-context|delete-cluster|delete-user`.
type DeleteOptions struct {
	Name string

	// kind is "context", "cluster" or "user".
	kind  string
	files configFiles
	genericiooptions.IOStreams
}

// NewCmdConfigDeleteContext returns `config delete-context`.
func NewCmdConfigDeleteContext(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newDeleteCmd(f, streams, "context", cmdutil.ConfigContextCompletionFunc(f))
}

// NewCmdConfigDeleteCluster returns `config delete-cluster`.
func NewCmdConfigDeleteCluster(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newDeleteCmd(f, streams, "cluster", cmdutil.ConfigClusterCompletionFunc(f))
}

// NewCmdConfigDeleteUser returns `config delete-user`.
func NewCmdConfigDeleteUser(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newDeleteCmd(f, streams, "user", cmdutil.ConfigUserCompletionFunc(f))
}

func newDeleteCmd(f *cmdutil.Factory, streams genericiooptions.IOStreams, kind string, complete func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)) *cobra.Command {
	o := &DeleteOptions{kind: kind, IOStreams: streams}
	upper := map[string]string{"context": "CONTEXT_NAME", "cluster": "CLUSTER_NAME", "user": "USER_NAME"}[kind]
	return &cobra.Command{
		Use:                   fmt.Sprintf("delete-%s %s", kind, upper),
		DisableFlagsInUseLine: true,
		Short:                 fmt.Sprintf("Delete the specified %s from the cliconfig", kind),
		Long:                  fmt.Sprintf("Delete the specified %s from the cliconfig.", kind),
		Example:               fmt.Sprintf("  # Delete the %[1]s for the minikube cluster\n  ccictl config delete-%[1]s minikube", kind),
		ValidArgsFunction:     firstArgOnly(complete),
		RunE:                  runE(f, o),
	}
}

// Complete takes the name.
func (o *DeleteOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.files = configFiles{f: f}
	if len(args) != 1 {
		return cmdutil.UsageErrorf(cmd, "%s to delete is required", o.kind)
	}
	o.Name = args[0]
	return nil
}

// Validate has nothing more to check.
func (o *DeleteOptions) Validate() error { return nil }

// Run removes the entry from the file config commands write.
func (o *DeleteOptions) Run(_ context.Context) error {
	cfg, path, err := o.files.forWrite()
	if err != nil {
		return err
	}
	var found bool
	switch o.kind {
	case "context":
		found = remove(cfg.Contexts, o.Name)
	case "cluster":
		found = remove(cfg.Clusters, o.Name)
	case "user":
		found = remove(cfg.AuthInfos, o.Name)
	}
	if !found {
		return fmt.Errorf("cannot delete %s %s, not in %s", o.kind, o.Name, path)
	}
	if o.kind == "context" && cfg.CurrentContext == o.Name {
		fmt.Fprint(o.ErrOut, "warning: this removed your active context, use \"ccictl config use-context\" to select a different one\n")
	}
	if err := write(cfg, path); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "deleted %s %s from %s\n", o.kind, o.Name, path)
	return nil
}

func remove[V any](m map[string]V, name string) bool {
	_, ok := m[name]
	delete(m, name)
	return ok
}
