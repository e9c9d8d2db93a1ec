package config

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/clientcmd/api/latest"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// redactedAuthProviderKeys are auth-provider config entries that hold
// secrets. kubectl shows auth-provider config as is; the vendor's iam
// provider keeps the secret key there, so ccictl hides these too.
var redactedAuthProviderKeys = map[string]bool{
	"sk": true, "password": true, "token": true,
	"secret-key": true, "client-secret": true,
	"id-token": true, "refresh-token": true, "access-token": true,
}

// ViewOptions are the flags of `config view`.
type ViewOptions struct {
	PrintFlags *genericclioptions.PrintFlags
	Minify     bool
	Raw        bool
	Flatten    bool
	Merge      bool

	mergeSet bool
	context  string
	files    configFiles
	printer  printers.ResourcePrinter
	genericiooptions.IOStreams
}

// NewCmdConfigView returns `config view`.
func NewCmdConfigView(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ViewOptions{
		PrintFlags: genericclioptions.NewPrintFlags("").WithTypeSetter(latest.Scheme).WithDefaultOutput("yaml"),
		Merge:      true,
		IOStreams:  streams,
	}
	cmd := &cobra.Command{
		Use:   "view",
		Short: "Display merged cliconfig settings or a specified cliconfig file",
		Long: `Display merged cliconfig settings or a specified cliconfig file.

Certificate data is shown as DATA+OMITTED and tokens, passwords and the iam
auth-provider's secret key as REDACTED unless --raw is given. You can use
--output jsonpath={...} to extract specific values using a jsonpath expression.`,
		Example: `  # Show merged cliconfig settings
  ccictl config view

  # Show only what the current context uses
  ccictl config view --minify

  # Get the password for the e2e user
  ccictl config view --raw -o jsonpath='{.users[?(@.name == "e2e")].user.password}'`,
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
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().BoolVar(&o.Merge, "merge", o.Merge, "Merge the full hierarchy of cliconfig files")
	cmd.Flags().BoolVar(&o.Raw, "raw", o.Raw, "Display raw byte data and sensitive data")
	cmd.Flags().BoolVar(&o.Flatten, "flatten", o.Flatten, "Flatten the resulting cliconfig file into self-contained output (useful for creating portable cliconfig files)")
	cmd.Flags().BoolVar(&o.Minify, "minify", o.Minify, "Remove all information not used by current-context from the output")
	return cmd
}

// Complete reads the flags.
func (o *ViewOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	if err := noArgs(cmd, args); err != nil {
		return err
	}
	o.files = configFiles{f: f}
	o.mergeSet = cmd.Flags().Changed("merge")
	// As kubectl: an explicitly named file is shown on its own unless
	// --merge is asked for.
	if o.files.explicitFile() != "" && !o.mergeSet {
		o.Merge = false
	}
	o.context = f.Connection.Context
	p, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	o.printer = p
	return nil
}

// Validate checks flag combinations.
func (o *ViewOptions) Validate() error {
	if !o.Merge && o.files.explicitFile() == "" {
		return errors.New("if merge==false a precise file must be specified")
	}
	return nil
}

// Run prints the configuration.
func (o *ViewOptions) Run(_ context.Context) error {
	var cfg *clientcmdapi.Config
	var err error
	if o.Merge {
		cfg, err = o.files.merged()
	} else {
		cfg, err = clientcmd.LoadFromFile(o.files.explicitFile())
	}
	if err != nil {
		return err
	}
	if o.Minify {
		if o.context != "" {
			cfg.CurrentContext = o.context
		}
		if err := clientcmdapi.MinifyConfig(cfg); err != nil {
			return err
		}
	}
	switch {
	case o.Flatten:
		if err := clientcmdapi.FlattenConfig(cfg); err != nil {
			return err
		}
	case !o.Raw:
		if err := clientcmdapi.RedactSecrets(cfg); err != nil {
			return err
		}
		clientcmdapi.ShortenConfig(cfg)
		redactAuthProviders(cfg)
	}
	obj, err := latest.Scheme.ConvertToVersion(cfg, latest.ExternalVersion)
	if err != nil {
		return err
	}
	return o.printer.PrintObj(obj, o.Out)
}

func redactAuthProviders(cfg *clientcmdapi.Config) {
	for _, ai := range cfg.AuthInfos {
		if ai.AuthProvider == nil {
			continue
		}
		for k, v := range ai.AuthProvider.Config {
			if v != "" && redactedAuthProviderKeys[k] {
				ai.AuthProvider.Config[k] = "REDACTED"
			}
		}
	}
}
