package config

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// GetContextsOptions are the flags of `config get-contexts`.
type GetContextsOptions struct {
	Output    string
	NoHeaders bool

	names   []string
	cmdPath string
	files   configFiles
	genericiooptions.IOStreams
}

// NewCmdConfigGetContexts returns `config get-contexts`.
func NewCmdConfigGetContexts(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GetContextsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "get-contexts [(-o|--output=)name)]",
		DisableFlagsInUseLine: true,
		Short:                 "Describe one or many contexts",
		Long:                  "Display one or many contexts from the cliconfig file.",
		Example: `  # List all the contexts in your cliconfig file
  ccictl config get-contexts

  # Describe one context in your cliconfig file
  ccictl config get-contexts my-context`,
		ValidArgsFunction: cmdutil.ConfigContextCompletionFunc(f),
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
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", o.NoHeaders, "When using the default or custom-column output format, don't print headers (default print headers).")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "Output format. One of: (name).")
	return cmd
}

// Complete records the context names asked for.
func (o *GetContextsOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.names = args
	o.cmdPath = cmd.CommandPath()
	o.files = configFiles{f: f}
	return nil
}

// Validate accepts only the default and name output.
func (o *GetContextsOptions) Validate() error {
	if o.Output != "" && o.Output != "name" {
		return fmt.Errorf("--output %v is not available in %s; resetting to default output format", o.Output, o.cmdPath)
	}
	return nil
}

// Run prints kubectl's context table (or names); contexts asked for but
// missing are reported after the ones found.
func (o *GetContextsOptions) Run(_ context.Context) error {
	cfg, err := o.files.merged()
	if err != nil {
		return err
	}
	var errs []error
	toPrint := sortedKeys(cfg.Contexts)
	if len(o.names) > 0 {
		toPrint = nil
		for _, n := range o.names {
			if _, ok := cfg.Contexts[n]; ok {
				toPrint = append(toPrint, n)
			} else {
				errs = append(errs, fmt.Errorf("context %v not found", n))
			}
		}
		sort.Strings(toPrint)
	}
	if o.Output == "name" {
		for _, n := range toPrint {
			fmt.Fprintln(o.Out, n)
		}
		return utilerrors.NewAggregate(errs)
	}
	var t *cmdutil.Table
	if o.NoHeaders {
		t = cmdutil.NewTable(o.Out)
	} else {
		t = cmdutil.NewTable(o.Out, "CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE")
	}
	for _, n := range toPrint {
		c := cfg.Contexts[n]
		mark := ""
		if n == cfg.CurrentContext {
			mark = "*"
		}
		t.Append(mark, n, c.Cluster, c.AuthInfo, c.Namespace)
	}
	if err := t.Render(); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.NewAggregate(errs)
}

// GetClustersOptions are the flags of `config get-clusters`.
type GetClustersOptions struct {
	files configFiles
	genericiooptions.IOStreams
}

// NewCmdConfigGetClusters returns `config get-clusters`.
func NewCmdConfigGetClusters(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GetClustersOptions{IOStreams: streams}
	return &cobra.Command{
		Use:     "get-clusters",
		Short:   "Display clusters defined in the cliconfig",
		Long:    "Display clusters defined in the cliconfig.",
		Example: "  # List the clusters that ccictl knows about\n  ccictl config get-clusters",
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
}

// Complete takes no arguments.
func (o *GetClustersOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.files = configFiles{f: f}
	return noArgs(cmd, args)
}

// Validate has nothing to check.
func (o *GetClustersOptions) Validate() error { return nil }

// Run prints NAME and one cluster a line, as kubectl does (sorted here, so
// the output is stable).
func (o *GetClustersOptions) Run(_ context.Context) error {
	cfg, err := o.files.merged()
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "NAME")
	for _, n := range sortedKeys(cfg.Clusters) {
		fmt.Fprintln(o.Out, n)
	}
	return nil
}

// CurrentContextOptions are the flags of `config current-context`.
type CurrentContextOptions struct {
	files configFiles
	genericiooptions.IOStreams
}

// NewCmdConfigCurrentContext returns `config current-context`.
func NewCmdConfigCurrentContext(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CurrentContextOptions{IOStreams: streams}
	return &cobra.Command{
		Use:     "current-context",
		Short:   "Display the current-context",
		Long:    "Display the current-context.",
		Example: "  # Display the current-context\n  ccictl config current-context",
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
}

// Complete takes no arguments.
func (o *CurrentContextOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.files = configFiles{f: f}
	return noArgs(cmd, args)
}

// Validate has nothing to check.
func (o *CurrentContextOptions) Validate() error { return nil }

// Run prints the current context or fails when none is set.
func (o *CurrentContextOptions) Run(_ context.Context) error {
	cfg, err := o.files.merged()
	if err != nil {
		return err
	}
	if cfg.CurrentContext == "" {
		return errors.New("current-context is not set")
	}
	fmt.Fprintln(o.Out, cfg.CurrentContext)
	return nil
}
