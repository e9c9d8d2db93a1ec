package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// runE is the Complete/Validate/Run sequence every config command shares.
type options interface {
	Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

func runE(f *cmdutil.Factory, o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(f, cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// UseContextOptions are the flags of `config use-context`.
type UseContextOptions struct {
	Name  string
	files configFiles
	genericiooptions.IOStreams
}

// NewCmdConfigUseContext returns `config use-context`.
func NewCmdConfigUseContext(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &UseContextOptions{IOStreams: streams}
	return &cobra.Command{
		Use:                   "use-context CONTEXT_NAME",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"use"},
		Short:                 "Set the current-context in a cliconfig file",
		Long:                  "Set the current-context in a cliconfig file.",
		Example:               "  # Use the context for the cci cluster\n  ccictl config use-context cci",
		ValidArgsFunction:     firstArgOnly(cmdutil.ConfigContextCompletionFunc(f)),
		RunE:                  runE(f, o),
	}
}

// Complete takes the context name.
func (o *UseContextOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.files = configFiles{f: f}
	name, err := exactlyOneArg(cmd, args)
	o.Name = name
	return err
}

// Validate rejects an empty name.
func (o *UseContextOptions) Validate() error {
	if o.Name == "" {
		return errors.New("empty context names are not allowed")
	}
	return nil
}

// Run switches the current context; it must exist in the merged config.
func (o *UseContextOptions) Run(_ context.Context) error {
	merged, err := o.files.merged()
	if err != nil {
		return err
	}
	if _, ok := merged.Contexts[o.Name]; !ok {
		return fmt.Errorf("no context exists with the name: %q", o.Name)
	}
	cfg, path, err := o.files.forWrite()
	if err != nil {
		return err
	}
	cfg.CurrentContext = o.Name
	if err := write(cfg, path); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "Switched to context %q.\n", o.Name)
	return nil
}

// SetClusterOptions are the flags of `config set-cluster`. Only flags given
// on the command line change the entry.
type SetClusterOptions struct {
	Name                  string
	Server                string
	TLSServerName         string
	CertificateAuthority  string
	EmbedCerts            bool
	InsecureSkipTLSVerify bool
	ProxyURL              string

	changed func(string) bool
	files   configFiles
	genericiooptions.IOStreams
}

// NewCmdConfigSetCluster returns `config set-cluster`.
func NewCmdConfigSetCluster(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SetClusterOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "set-cluster NAME [--server=server] [--certificate-authority=path/to/certificate/authority] [--insecure-skip-tls-verify=true] [--tls-server-name=example.com]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a cluster entry in cliconfig",
		Long: `Set a cluster entry in cliconfig.

Specifying a name that already exists will merge new fields on top of existing values for those fields.`,
		Example: `  # Point the cci cluster at the CCI 2.0 endpoint of a region
  ccictl config set-cluster cci --server=https://cci.ap-southeast-1.myhuaweicloud.com

  # Embed certificate authority data for the e2e cluster entry
  ccictl config set-cluster e2e --embed-certs --certificate-authority=~/.kube/e2e/ca.crt

  # Disable cert checking for the e2e cluster entry
  ccictl config set-cluster e2e --insecure-skip-tls-verify=true`,
		ValidArgsFunction: firstArgOnly(cmdutil.ConfigClusterCompletionFunc(f)),
		RunE:              runE(f, o),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Server, "server", "", "server for the cluster entry in cliconfig")
	fs.StringVar(&o.TLSServerName, "tls-server-name", "", "tls-server-name for the cluster entry in cliconfig")
	fs.BoolVar(&o.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "insecure-skip-tls-verify for the cluster entry in cliconfig")
	fs.StringVar(&o.CertificateAuthority, "certificate-authority", "", "Path to certificate-authority file for the cluster entry in cliconfig")
	_ = cmd.MarkFlagFilename("certificate-authority")
	fs.BoolVar(&o.EmbedCerts, "embed-certs", false, "embed-certs for the cluster entry in cliconfig")
	fs.StringVar(&o.ProxyURL, "proxy-url", "", "proxy-url for the cluster entry in cliconfig")
	return cmd
}

// Complete takes the name. Flags count only when given on the command line
// (Changed), never from CCICTL_* settings, which are not cliconfig data.
func (o *SetClusterOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.files = configFiles{f: f}
	o.changed = cmd.Flags().Changed
	name, err := exactlyOneArg(cmd, args)
	o.Name = name
	return err
}

func (o *SetClusterOptions) given(name string) bool { return o.changed != nil && o.changed(name) }

// Validate applies kubectl's rules for the flags.
func (o *SetClusterOptions) Validate() error {
	if o.Name == "" {
		return errors.New("you must specify a non-empty cluster name")
	}
	insecure := o.given("insecure-skip-tls-verify") && o.InsecureSkipTLSVerify
	ca := ""
	if o.given("certificate-authority") {
		ca = o.CertificateAuthority
	}
	if insecure && ca != "" {
		return errors.New("you cannot specify a certificate authority and insecure mode at the same time")
	}
	if o.given("embed-certs") && o.EmbedCerts {
		if ca == "" {
			return errors.New("you must specify a --certificate-authority to embed")
		}
		if _, err := os.Stat(ca); err != nil {
			return fmt.Errorf("could not stat certificate-authority file %s: %v", ca, err)
		}
	}
	return nil
}

// Run merges the given fields into the cluster entry.
func (o *SetClusterOptions) Run(_ context.Context) error {
	cfg, path, err := o.files.forWrite()
	if err != nil {
		return err
	}
	c, ok := cfg.Clusters[o.Name]
	if !ok {
		c = clientcmdapi.NewCluster()
	}
	if o.given("server") {
		c.Server = o.Server
		// A new server invalidates a TLS name chosen for the old one.
		c.TLSServerName = ""
	}
	if o.given("tls-server-name") {
		c.TLSServerName = o.TLSServerName
	}
	if o.given("insecure-skip-tls-verify") {
		c.InsecureSkipTLSVerify = o.InsecureSkipTLSVerify
		if c.InsecureSkipTLSVerify {
			c.CertificateAuthority, c.CertificateAuthorityData = "", nil
		}
	}
	if o.given("certificate-authority") {
		if o.given("embed-certs") && o.EmbedCerts {
			data, err := os.ReadFile(o.CertificateAuthority)
			if err != nil {
				return err
			}
			c.CertificateAuthorityData, c.CertificateAuthority, c.InsecureSkipTLSVerify = data, "", false
		} else if o.CertificateAuthority != "" {
			abs, err := filepath.Abs(o.CertificateAuthority)
			if err != nil {
				return err
			}
			c.CertificateAuthority, c.CertificateAuthorityData, c.InsecureSkipTLSVerify = abs, nil, false
		} else {
			c.CertificateAuthority = ""
		}
	}
	if o.given("proxy-url") {
		c.ProxyURL = o.ProxyURL
	}
	cfg.Clusters[o.Name] = c
	if err := write(cfg, path); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "Cluster %q set.\n", o.Name)
	return nil
}

// SetContextOptions are the flags of `config set-context`.
type SetContextOptions struct {
	Name      string
	Current   bool
	Cluster   string
	User      string
	Namespace string

	changed func(string) bool
	files   configFiles
	genericiooptions.IOStreams
}

// NewCmdConfigSetContext returns `config set-context`.
func NewCmdConfigSetContext(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SetContextOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "set-context [NAME | --current] [--cluster=cluster_nickname] [--user=user_nickname] [--namespace=namespace]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a context entry in cliconfig",
		Long: `Set a context entry in cliconfig.

Specifying a name that already exists will merge new fields on top of existing values for those fields.`,
		Example: `  # Set the user field on the cci context entry without touching other values
  ccictl config set-context cci --user=cci-admin

  # Use namespace test-ns in the current context
  ccictl config set-context --current --namespace=test-ns`,
		ValidArgsFunction: firstArgOnly(cmdutil.ConfigContextCompletionFunc(f)),
		RunE:              runE(f, o),
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.Current, "current", false, "Modify the current context")
	fs.StringVar(&o.Cluster, "cluster", "", "cluster for the context entry in cliconfig")
	fs.StringVar(&o.User, "user", "", "user for the context entry in cliconfig")
	fs.StringVar(&o.Namespace, "namespace", "", "namespace for the context entry in cliconfig")
	// These flags shadow the global ones, so they need their own completion.
	_ = cmd.RegisterFlagCompletionFunc("cluster", cmdutil.ConfigClusterCompletionFunc(f))
	_ = cmd.RegisterFlagCompletionFunc("user", cmdutil.ConfigUserCompletionFunc(f))
	_ = cmd.RegisterFlagCompletionFunc("namespace", cmdutil.ResourceNameCompletionFunc(f, "namespaces"))
	return cmd
}

// Complete takes NAME unless --current is given.
func (o *SetContextOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.files = configFiles{f: f}
	o.changed = cmd.Flags().Changed
	if len(args) > 1 {
		return cmdutil.UsageErrorf(cmd, "Unexpected args: %v", args)
	}
	if len(args) == 1 {
		o.Name = args[0]
	}
	o.Current = o.Current && o.changed("current")
	return nil
}

func (o *SetContextOptions) given(name string) bool { return o.changed != nil && o.changed(name) }

// Validate needs exactly one of NAME and --current.
func (o *SetContextOptions) Validate() error {
	if o.Name == "" && !o.Current {
		return errors.New("you must specify a non-empty context name or --current")
	}
	if o.Name != "" && o.Current {
		return errors.New("you cannot specify both a context name and --current")
	}
	return nil
}

// Run creates or modifies the context entry.
func (o *SetContextOptions) Run(_ context.Context) error {
	name := o.Name
	if o.Current {
		merged, err := o.files.merged()
		if err != nil {
			return err
		}
		if merged.CurrentContext == "" {
			return errors.New("no current context is set")
		}
		name = merged.CurrentContext
	}
	cfg, path, err := o.files.forWrite()
	if err != nil {
		return err
	}
	c, exists := cfg.Contexts[name]
	if !exists {
		c = clientcmdapi.NewContext()
	}
	if o.given("cluster") {
		c.Cluster = o.Cluster
	}
	if o.given("user") {
		c.AuthInfo = o.User
	}
	if o.given("namespace") {
		c.Namespace = o.Namespace
	}
	cfg.Contexts[name] = c
	if err := write(cfg, path); err != nil {
		return err
	}
	if exists {
		fmt.Fprintf(o.Out, "Context %q modified.\n", name)
	} else {
		fmt.Fprintf(o.Out, "Context %q created.\n", name)
	}
	return nil
}

// firstArgOnly completes the first argument and nothing after it.
func firstArgOnly(fn func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, toComplete)
	}
}
