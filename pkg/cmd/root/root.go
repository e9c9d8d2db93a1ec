// Package root builds ccictl's command tree: global flags, settings, the
// error-to-exit-code rule, and the subcommands.
package root

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/version"
)

// Main runs ccictl with args and returns the process exit code. It is the
// only caller of the error-to-message rule; main() just exits with its result.
func Main(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	// kubectl's verbs end through kcmdutil.CheckErr; make that unwind to here
	// with kubectl's message and exit code instead of exiting the process.
	fatal := cmdutil.NewKubectlFatalHandler()
	kcmdutil.BehaviorOnFatal(fatal.Handle)
	defer kcmdutil.DefaultBehaviorOnFatal()

	cmd := NewCmdRoot(streams)
	cmd.SetArgs(args)
	done := make(chan error, 1)
	go func() {
		fatal.Bind()
		done <- execute(ctx, cmd, args, streams)
	}()
	var err error
	select {
	case err = <-done:
	case other := <-fatal.Other():
		// A kubectl verb's own goroutine failed: kubectl exits there and
		// then with this message, so ccictl returns it now.
		err = other
	}
	msg, code := cmdutil.ErrorMessage(err)
	if msg != "" {
		// As kubectl's CheckErr: one newline, unless the message has it.
		if !strings.HasSuffix(msg, "\n") {
			msg += "\n"
		}
		// Libraries below us should never put a secret in an error, but the
		// last line of defence is here: mask every registered secret.
		fmt.Fprint(streams.ErrOut, redact.String(msg))
	}
	klog.Flush()
	return code
}

// execute runs a plugin when args name no ccictl command, else the command,
// and turns a kubectl verb's fatal exit into an error.
func execute(ctx context.Context, cmd *cobra.Command, args []string, streams genericiooptions.IOStreams) (err error) {
	defer func() {
		if r := recover(); r != nil {
			kf, ok := r.(*cmdutil.KubectlFatal)
			if !ok {
				panic(r)
			}
			err = kf
		}
	}()
	if ran, err := runPlugin(cmd, args, streams); ran || err != nil {
		return err
	}
	return cmd.ExecuteContext(ctx)
}

// NewCmdRoot returns the root command with every subcommand attached.
func NewCmdRoot(streams genericiooptions.IOStreams) *cobra.Command {
	conn := &client.ConnectionOptions{}
	f := cmdutil.NewFactory(streams, conn)
	var settingsFile string
	var warningsAsErrors bool
	warnings := rest.NewWarningWriter(streams.ErrOut, rest.WarningWriterOptions{
		Deduplicate: true,
		Color:       printers.AllowsColorOutput(streams.ErrOut),
	})

	cmd := &cobra.Command{
		Use:   "ccictl",
		Short: "ccictl manages CCI 2.0 workloads and their ELB pool bindings",
		Long: `ccictl is a kubectl-style command-line tool for Huawei Cloud CCI 2.0 and any
Kubernetes API server that serves the PoolBinding API
(loadbalancer.networking.openvessel.io/v1). It creates, reads and deletes
PoolBindings and Services, checks manifests against the platform's rules, and
reconciles ELB backend server groups with a Service's ready endpoints.

Configuration is read from the first of --cliconfig, --kubeconfig,
$CLICONFIG, $KUBECONFIG and $HOME/.kubev2/config that is set. See 'ccictl help environment' and
'ccictl help exit-codes'.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			// Server warnings print as kubectl prints them ("Warning: ..." on
			// stderr, each once), and are counted for --warnings-as-errors.
			rest.SetDefaultWarningHandler(redactedWarnings{warnings})
			if err := f.Settings.Load(settingsFile); err != nil {
				return err
			}
			// `config set-*` write what the user typed into the config file;
			// filling their --server or --namespace from CCICTL_* would
			// write the environment into it, so only global flags apply there.
			flags := c.Flags()
			if isConfigCommand(c) {
				flags = c.InheritedFlags()
			}
			// Only the allow-list of cmdutil.SettingKeys is taken from CCICTL_*
			// and the settings file; guards and credentials are flags only.
			if err := f.Settings.ApplyToFlags(flags, streams.ErrOut); err != nil {
				return err
			}
			// Secrets given on the command line are masked in every log line;
			// the iam auth-provider registers the ones it reads itself.
			redact.Register(conn.Token)
			redact.Register(conn.Password)
			return auth.Register(auth.Options{CacheDir: conn.CacheDir})
		},
		PersistentPostRunE: func(*cobra.Command, []string) error {
			if !warningsAsErrors {
				return nil
			}
			// kubectl's words, so scripts see the same failure.
			switch n := warnings.WarningCount(); n {
			case 0:
				return nil
			case 1:
				return fmt.Errorf("%d warning received", n)
			default:
				return fmt.Errorf("%d warnings received", n)
			}
		},
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: err, Cmd: c.CommandPath()}
	})
	cmd.SetGlobalNormalizationFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		return pflag.NormalizedName(strings.ReplaceAll(name, "_", "-"))
	})

	addConnectionFlags(cmd.PersistentFlags(), conn)
	cmd.PersistentFlags().BoolVar(&warningsAsErrors, "warnings-as-errors", false, "Treat warnings received from the server as errors and exit with a non-zero exit code")
	cmd.PersistentFlags().StringVar(&settingsFile, "settings", "", "ccictl settings file (default $XDG_CONFIG_HOME/ccictl/config.yaml; env "+cmdutil.EnvSettingsFile+")")
	addKlogFlags(cmd.PersistentFlags())

	conn.WrapConfig = func(cfg *rest.Config) *rest.Config {
		cfg.UserAgent = "ccictl/" + version.Get().GitVersion
		return cfg
	}

	addGroups(cmd)
	addCommands(cmd, f, streams)
	addKubectlVerbs(cmd, f, streams)
	addHelpTopics(cmd)
	return cmd
}

// redactedWarnings masks registered secrets in server warnings, as every
// other line ccictl prints is masked.
type redactedWarnings struct{ rest.WarningHandler }

func (w redactedWarnings) HandleWarningHeader(code int, agent, text string) {
	w.WarningHandler.HandleWarningHeader(code, agent, redact.String(text))
}

func addConnectionFlags(fs *pflag.FlagSet, o *client.ConnectionOptions) {
	fs.StringVar(&o.CLIConfig, "cliconfig", "", "Path to the ccictl config file (default $HOME/.kubev2/config; env "+client.EnvCLIConfig+")")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig file, for plain Kubernetes clusters (env "+client.EnvKubeconfig+")")
	fs.StringVar(&o.Context, "context", "", "The name of the config context to use")
	fs.StringVar(&o.Cluster, "cluster", "", "The name of the config cluster to use")
	fs.StringVar(&o.User, "user", "", "The name of the config user to use")
	fs.StringVarP(&o.Namespace, "namespace", "n", "", "If present, the namespace scope for this CLI request")
	fs.StringVarP(&o.Server, "server", "s", "", "The address and port of the API server")
	fs.StringVar(&o.Token, "token", "", "Bearer token for authentication to the API server")
	fs.StringVar(&o.Username, "username", "", "Username for basic authentication to the API server")
	fs.StringVar(&o.Password, "password", "", "Password for basic authentication to the API server")
	fs.StringVar(&o.CertificateAuthority, "certificate-authority", "", "Path to a cert file for the certificate authority")
	fs.StringVar(&o.ClientCertificate, "client-certificate", "", "Path to a client certificate file for TLS")
	fs.StringVar(&o.ClientKey, "client-key", "", "Path to a client key file for TLS")
	fs.BoolVar(&o.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure")
	fs.StringVar(&o.RequestTimeout, "request-timeout", "0", "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.")
	fs.StringVar(&o.Impersonate, "as", "", "Username to impersonate for the operation. User could be a regular user or a service account in a namespace.")
	fs.StringArrayVar(&o.ImpersonateGroups, "as-group", nil, "Group to impersonate for the operation, this flag can be repeated to specify multiple groups.")
	fs.StringVar(&o.ImpersonateUID, "as-uid", "", "UID to impersonate for the operation.")
	fs.StringVar(&o.TLSServerName, "tls-server-name", "", "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used")
	fs.BoolVar(&o.DisableCompression, "disable-compression", false, "If true, opt-out of response compression for all requests to the server")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "Default cache directory: IAM tokens, discovery and HTTP caches (default $HOME/.kubev2/cache)")
}

// addKlogFlags exposes klog's -v and --vmodule, as kubectl does.
func addKlogFlags(fs *pflag.FlagSet) {
	gfs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gfs)
	for _, name := range []string{"v", "vmodule"} {
		if gf := gfs.Lookup(name); gf != nil {
			pf := pflag.PFlagFromGoFlag(gf)
			if name == "v" {
				pf.Shorthand = "v"
				pf.Usage = "number for the log level verbosity"
			}
			fs.AddFlag(pf)
		}
	}
	// Logs go to stderr, never stdout, so -o json stays parseable at any -v.
	_ = gfs.Set("logtostderr", "true")
	klog.SetOutput(os.Stderr)
}

func isConfigCommand(c *cobra.Command) bool {
	for ; c != nil; c = c.Parent() {
		if c.Name() == "config" && c.HasParent() && !c.Parent().HasParent() {
			return true
		}
	}
	return false
}
