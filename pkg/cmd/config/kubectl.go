package config

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	kconfig "k8s.io/kubectl/pkg/cmd/config"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// kubectlConfigCommands are `config set|unset|rename-context|get-users`
// taken unchanged from kubectl, so property paths, messages and exit codes
// are kubectl's. They end through kcmdutil.CheckErr, which root.Main turns
// into ccictl's error path. Reads and writes go through configAccess: the
// same single file ccictl's other config commands change, and the merged
// configuration for get-users.
func kubectlConfigCommands(f *cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command {
	files := configFiles{f: f}
	write := &configAccess{files: files}
	read := &configAccess{files: files, merged: true}
	cmds := []*cobra.Command{
		kconfig.NewCmdConfigSet(streams.Out, write),
		kconfig.NewCmdConfigUnset(streams.Out, write),
		kconfig.NewCmdConfigRenameContext(streams.Out, write),
		kconfig.NewCmdConfigGetUsers(streams, read),
	}
	for _, c := range cmds {
		c.Example = strings.ReplaceAll(c.Example, "kubectl ", "ccictl ")
		c.Long = strings.ReplaceAll(strings.ReplaceAll(c.Long, "kubectl ", "ccictl "), "kubeconfig", "cliconfig")
		c.Short = strings.ReplaceAll(c.Short, "kubeconfig", "cliconfig")
	}
	return cmds
}

// configAccess is clientcmd.ConfigAccess over ccictl's config files. For
// writing it names one file, the one configFiles.writePath chooses, so
// clientcmd.ModifyConfig changes exactly that file (creating it 0600 in a
// 0700 directory, as the other set-* commands do).
type configAccess struct {
	files  configFiles
	merged bool
}

func (a *configAccess) GetLoadingPrecedence() []string {
	if a.merged {
		return a.files.f.Connection.LoadingRules().GetLoadingPrecedence()
	}
	return []string{a.files.writePath()}
}

func (a *configAccess) GetStartingConfig() (*clientcmdapi.Config, error) {
	if a.merged {
		return a.files.merged()
	}
	cfg, path, err := a.files.forWrite()
	if err != nil {
		return nil, err
	}
	// ModifyConfig writes with client-go's directory mode; make the
	// directory first, owner-only, because the file holds credentials.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (a *configAccess) GetDefaultFilename() string { return a.files.writePath() }
func (a *configAccess) IsExplicitFile() bool       { return !a.merged }
func (a *configAccess) GetExplicitFile() string {
	if a.merged {
		return a.files.explicitFile()
	}
	return a.files.writePath()
}

var _ clientcmd.ConfigAccess = &configAccess{}
