package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// SetCredentialsOptions are the flags of `config set-credentials`. Only
// flags given on the command line change the entry.
type SetCredentialsOptions struct {
	Name                   string
	Token                  string
	Username               string
	Password               string
	ClientCertificate      string
	ClientKey              string
	EmbedCerts             bool
	AuthProvider           string
	AuthProviderArgs       []string
	ExecCommand            string
	ExecAPIVersion         string
	ExecArgs               []string
	ExecEnv                []string
	ExecInteractiveMode    string
	ExecProvideClusterInfo bool

	providerSet    [][2]string
	providerRemove []string
	envSet         [][2]string
	envRemove      []string

	changed func(string) bool
	files   configFiles
	genericiooptions.IOStreams
}

// NewCmdConfigSetCredentials returns `config set-credentials`.
func NewCmdConfigSetCredentials(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SetCredentialsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "set-credentials NAME [--client-certificate=path/to/certfile] [--client-key=path/to/keyfile] [--token=bearer_token] [--username=basic_user] [--password=basic_password] [--auth-provider=provider_name] [--auth-provider-arg=key=value] [--exec-command=exec_command] [--exec-api-version=exec_api_version] [--exec-arg=arg] [--exec-env=key=value]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a user entry in cliconfig",
		Long: `Set a user entry in cliconfig.

Specifying a name that already exists will merge new fields on top of existing values.

  Client-certificate flags:
  --client-certificate=certfile --client-key=keyfile

  Bearer token flags:
  --token=bearer_token

  Basic auth flags:
  --username=basic_user --password=basic_password

  CCI IAM flags (the iam auth-provider of the vendor's ccictl):
  --auth-provider=iam --auth-provider-arg=ak=AK --auth-provider-arg=sk=SK ...

Bearer token and basic auth are mutually exclusive.`,
		Example: `  # Use AK/SK through the iam auth-provider, as the vendor's ccictl does
  ccictl config set-credentials cci-user --auth-provider=iam \
    --auth-provider-arg=iam-endpoint=https://iam.ap-southeast-1.myhuaweicloud.com \
    --auth-provider-arg=project-name=ap-southeast-1 \
    --auth-provider-arg=ak=$HW_ACCESS_KEY --auth-provider-arg=sk=$HW_SECRET_KEY \
    --auth-provider-arg=cache=true

  # Remove the cache argument of the iam auth-provider
  ccictl config set-credentials cci-user --auth-provider=iam --auth-provider-arg=cache-

  # Set only the client-key field on the cluster-admin entry
  ccictl config set-credentials cluster-admin --client-key=~/.kube/admin.key

  # Embed client certificate data in the cluster-admin entry
  ccictl config set-credentials cluster-admin --client-certificate=~/.kube/admin.crt --embed-certs=true

  # Define an exec credential plugin
  ccictl config set-credentials cluster-admin --exec-command=/path/to/the/executable --exec-api-version=client.authentication.k8s.io/v1 --exec-arg=arg1 --exec-env=key1=val1`,
		ValidArgsFunction: firstArgOnly(cmdutil.ConfigUserCompletionFunc(f)),
		RunE:              runE(f, o),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.ClientCertificate, "client-certificate", "", "Path to client-certificate file for the user entry in cliconfig")
	_ = cmd.MarkFlagFilename("client-certificate")
	fs.StringVar(&o.ClientKey, "client-key", "", "Path to client-key file for the user entry in cliconfig")
	_ = cmd.MarkFlagFilename("client-key")
	fs.StringVar(&o.Token, "token", "", "token for the user entry in cliconfig")
	fs.StringVar(&o.Username, "username", "", "username for the user entry in cliconfig")
	fs.StringVar(&o.Password, "password", "", "password for the user entry in cliconfig")
	fs.StringVar(&o.AuthProvider, "auth-provider", "", "Auth provider for the user entry in cliconfig")
	fs.StringSliceVar(&o.AuthProviderArgs, "auth-provider-arg", nil, "'key=value' arguments for the auth provider ('key-' removes key)")
	fs.StringVar(&o.ExecCommand, "exec-command", "", "Command for the exec credential plugin for the user entry in cliconfig")
	fs.StringVar(&o.ExecAPIVersion, "exec-api-version", "", "API version of the exec credential plugin for the user entry in cliconfig")
	fs.StringVar(&o.ExecInteractiveMode, "exec-interactive-mode", "", "InteractiveMode of the exec credentials plugin for the user entry in cliconfig")
	fs.BoolVar(&o.ExecProvideClusterInfo, "exec-provide-cluster-info", false, "ProvideClusterInfo of the exec credentials plugin for the user entry in cliconfig")
	fs.StringSliceVar(&o.ExecArgs, "exec-arg", nil, "New arguments for the exec credential plugin command for the user entry in cliconfig")
	fs.StringArrayVar(&o.ExecEnv, "exec-env", nil, "'key=value' environment values for the exec credential plugin ('key-' removes key)")
	fs.BoolVar(&o.EmbedCerts, "embed-certs", false, "Embed client cert/key for the user entry in cliconfig")
	_ = cmd.RegisterFlagCompletionFunc("auth-provider", cobra.FixedCompletions([]string{"iam"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete takes the name and parses the key=value flags. Flags count only
// when given on the command line, never from CCICTL_* settings.
func (o *SetCredentialsOptions) Complete(f *cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.files = configFiles{f: f}
	o.changed = cmd.Flags().Changed
	if len(args) != 1 {
		return fmt.Errorf("unexpected args: %v", args)
	}
	o.Name = args[0]
	var err error
	if o.given("auth-provider-arg") {
		if o.providerSet, o.providerRemove, err = parsePairs(o.AuthProviderArgs, "auth-provider-arg"); err != nil {
			return err
		}
	}
	if o.given("exec-env") {
		if o.envSet, o.envRemove, err = parsePairs(o.ExecEnv, "exec-env"); err != nil {
			return err
		}
	}
	return nil
}

func (o *SetCredentialsOptions) given(name string) bool { return o.changed != nil && o.changed(name) }

func (o *SetCredentialsOptions) value(name, v string) string {
	if o.given(name) {
		return v
	}
	return ""
}

// Validate applies kubectl's rules for the flags.
func (o *SetCredentialsOptions) Validate() error {
	if o.Name == "" {
		return errors.New("you must specify a non-empty user name")
	}
	var methods []string
	if o.value("token", o.Token) != "" {
		methods = append(methods, "--token")
	}
	if o.value("username", o.Username) != "" || o.value("password", o.Password) != "" {
		methods = append(methods, "--username/--password")
	}
	if len(methods) > 1 {
		return fmt.Errorf("you cannot specify more than one authentication method at the same time: %v", strings.Join(methods, ", "))
	}
	if o.given("embed-certs") && o.EmbedCerts {
		cert, key := o.value("client-certificate", o.ClientCertificate), o.value("client-key", o.ClientKey)
		if cert == "" && key == "" {
			return errors.New("you must specify a --client-certificate or --client-key to embed")
		}
		if cert != "" {
			if _, err := os.Stat(cert); err != nil {
				return fmt.Errorf("could not stat client-certificate file %s: %v", cert, err)
			}
		}
		if key != "" {
			if _, err := os.Stat(key); err != nil {
				return fmt.Errorf("could not stat client-key file %s: %v", key, err)
			}
		}
	}
	if o.given("exec-interactive-mode") {
		switch clientcmdapi.ExecInteractiveMode(o.ExecInteractiveMode) {
		case clientcmdapi.IfAvailableExecInteractiveMode, clientcmdapi.AlwaysExecInteractiveMode, clientcmdapi.NeverExecInteractiveMode:
		default:
			return errors.New("invalid interactive mode type, can be only IfAvailable, Never, Always")
		}
	}
	return nil
}

// Run merges the given fields into the user entry.
func (o *SetCredentialsOptions) Run(_ context.Context) error {
	cfg, path, err := o.files.forWrite()
	if err != nil {
		return err
	}
	ai, ok := cfg.AuthInfos[o.Name]
	if !ok {
		ai = clientcmdapi.NewAuthInfo()
	}
	if err := o.modify(ai); err != nil {
		return err
	}
	cfg.AuthInfos[o.Name] = ai
	if err := write(cfg, path); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "User %q set.\n", o.Name)
	return nil
}

func (o *SetCredentialsOptions) modify(ai *clientcmdapi.AuthInfo) error {
	embed := o.given("embed-certs") && o.EmbedCerts
	setFile := func(flag, path string, file *string, data *[]byte) error {
		if !o.given(flag) {
			return nil
		}
		if embed {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			*data, *file = b, ""
			return nil
		}
		if path == "" {
			*file = ""
			return nil
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		*file, *data = abs, nil
		return nil
	}
	if err := setFile("client-certificate", o.ClientCertificate, &ai.ClientCertificate, &ai.ClientCertificateData); err != nil {
		return err
	}
	if err := setFile("client-key", o.ClientKey, &ai.ClientKey, &ai.ClientKeyData); err != nil {
		return err
	}

	var setToken, setBasic bool
	if o.given("token") {
		ai.Token = o.Token
		setToken = ai.Token != ""
	}
	if o.given("username") {
		ai.Username = o.Username
		setBasic = ai.Username != ""
	}
	if o.given("password") {
		ai.Password = o.Password
		setBasic = setBasic || ai.Password != ""
	}
	// Setting one of token and basic auth clears the other, as kubectl does.
	if setToken && !setBasic {
		ai.Username, ai.Password = "", ""
	}
	if setBasic && !setToken {
		ai.Token = ""
	}

	if o.given("auth-provider") && (ai.AuthProvider == nil || ai.AuthProvider.Name != o.AuthProvider) {
		// A different provider starts with a fresh config.
		ai.AuthProvider = &clientcmdapi.AuthProviderConfig{Name: o.AuthProvider}
	}
	if ai.AuthProvider != nil {
		if ai.AuthProvider.Config == nil {
			ai.AuthProvider.Config = map[string]string{}
		}
		for _, k := range o.providerRemove {
			delete(ai.AuthProvider.Config, k)
		}
		for _, kv := range o.providerSet {
			ai.AuthProvider.Config[kv[0]] = kv[1]
		}
	}

	if o.given("exec-command") {
		if ai.Exec == nil {
			ai.Exec = &clientcmdapi.ExecConfig{}
		} else {
			// A new command does not inherit the old command's arguments.
			ai.Exec.Args = nil
		}
		ai.Exec.Command = o.ExecCommand
	}
	if ai.Exec == nil {
		return nil
	}
	if o.given("exec-api-version") {
		ai.Exec.APIVersion = o.ExecAPIVersion
	}
	if o.given("exec-arg") {
		ai.Exec.Args = o.ExecArgs
	}
	if o.given("exec-interactive-mode") {
		ai.Exec.InteractiveMode = clientcmdapi.ExecInteractiveMode(o.ExecInteractiveMode)
	}
	if o.given("exec-provide-cluster-info") {
		ai.Exec.ProvideClusterInfo = o.ExecProvideClusterInfo
	}
	if len(o.envRemove) > 0 {
		kept := []clientcmdapi.ExecEnvVar{}
		for _, e := range ai.Exec.Env {
			if !contains(o.envRemove, e.Name) {
				kept = append(kept, e)
			}
		}
		ai.Exec.Env = kept
	}
	for _, kv := range o.envSet {
		found := false
		for i := range ai.Exec.Env {
			if ai.Exec.Env[i].Name == kv[0] {
				ai.Exec.Env[i].Value, found = kv[1], true
				break
			}
		}
		if !found {
			ai.Exec.Env = append(ai.Exec.Env, clientcmdapi.ExecEnvVar{Name: kv[0], Value: kv[1]})
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
