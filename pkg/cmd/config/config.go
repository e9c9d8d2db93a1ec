// Package config implements `ccictl config …`: reading and editing the
// kubeconfig-shaped cliconfig the way `kubectl config` does, with the same
// flags, messages and output. set, unset, rename-context and get-users are
// kubectl's own commands (kubectl.go); the others read and write files with
// client-go's clientcmd directly.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// NewCmdConfig returns `config` and its subcommands.
func NewCmdConfig(f *cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config SUBCOMMAND",
		Short: "Modify cliconfig files",
		Long: `Modify cliconfig files using subcommands like "ccictl config set current-context my-context".

The file read is, in order: --cliconfig, --kubeconfig, $CLICONFIG, $KUBECONFIG
(a list of files, merged), $HOME/.kubev2/config. Changes are written to the
explicit file, else the first file of $KUBECONFIG, else $HOME/.kubev2/config,
which is created (mode 0600, directory 0700) if missing.`,
		DisableFlagsInUseLine: true,
		// As kubectl: without a subcommand the help goes to stderr and the
		// exit code is 1; an unknown subcommand is a usage error.
		Run: kcmdutil.DefaultSubCommandRun(streams.ErrOut),
	}
	cmd.AddCommand(kubectlConfigCommands(f, streams)...)
	cmd.AddCommand(
		NewCmdConfigView(f, streams),
		NewCmdConfigGetContexts(f, streams),
		NewCmdConfigGetClusters(f, streams),
		NewCmdConfigCurrentContext(f, streams),
		NewCmdConfigUseContext(f, streams),
		NewCmdConfigSetCluster(f, streams),
		NewCmdConfigSetCredentials(f, streams),
		NewCmdConfigSetContext(f, streams),
		NewCmdConfigDeleteContext(f, streams),
		NewCmdConfigDeleteCluster(f, streams),
		NewCmdConfigDeleteUser(f, streams),
	)
	return cmd
}

// configFiles reads and writes the cliconfig for one command.
type configFiles struct {
	f *cmdutil.Factory
}

// merged is the configuration as ccictl sees it: every file of the loading
// rules merged. A missing file reads as an empty config, as in kubectl.
func (c configFiles) merged() (*clientcmdapi.Config, error) {
	cfg, err := c.f.Connection.LoadingRules().Load()
	if errors.Is(err, fs.ErrNotExist) {
		return clientcmdapi.NewConfig(), nil
	}
	return cfg, err
}

// explicitFile is the file named by --cliconfig, --kubeconfig or $CLICONFIG.
func (c configFiles) explicitFile() string {
	return c.f.Connection.LoadingRules().ExplicitPath
}

// writePath is the one file set-* and delete-* change.
func (c configFiles) writePath() string { return c.f.Connection.ConfigFileForWrite() }

// forWrite reads the file to change, unmerged and with paths as written, so
// writing it back changes only what the command meant to change.
func (c configFiles) forWrite() (*clientcmdapi.Config, string, error) {
	path := c.writePath()
	if path == "" {
		return nil, "", errors.New("cannot determine the config file: set --cliconfig or $HOME")
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return clientcmdapi.NewConfig(), path, nil
	}
	if err != nil {
		return nil, "", err
	}
	return cfg, path, nil
}

// write saves cfg to path. A new file gets mode 0600 and any missing
// directories 0700: the file holds credentials.
func write(cfg *clientcmdapi.Config, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, path)
}

// exactlyOneArg is kubectl's "Unexpected args" check for NAME commands.
func exactlyOneArg(cmd *cobra.Command, args []string) (string, error) {
	if len(args) != 1 {
		return "", cmdutil.UsageErrorf(cmd, "Unexpected args: %v", args)
	}
	return args[0], nil
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return cmdutil.UsageErrorf(cmd, "unexpected arguments: %v", args)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parsePairs splits key=value arguments; with removal, "key-" names a key to
// remove. Order is kept so results (exec env) follow the command line.
func parsePairs(args []string, flagName string) (set [][2]string, remove []string, err error) {
	var invalid []string
	for _, a := range args {
		switch {
		case strings.HasSuffix(a, "-") && !strings.Contains(a, "="):
			remove = append(remove, strings.TrimSuffix(a, "-"))
		case strings.Contains(a, "="):
			k, v, _ := strings.Cut(a, "=")
			if k == "" {
				invalid = append(invalid, a)
				continue
			}
			set = append(set, [2]string{k, v})
		default:
			invalid = append(invalid, a)
		}
	}
	if len(invalid) > 0 {
		return nil, nil, fmt.Errorf("invalid %s: %v", flagName, invalid)
	}
	return set, remove, nil
}
