package root

import (
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/cmd/apiresources"
	"github.com/openvessel/ccictl/pkg/cmd/apply"
	"github.com/openvessel/ccictl/pkg/cmd/completion"
	cmdconfig "github.com/openvessel/ccictl/pkg/cmd/config"
	"github.com/openvessel/ccictl/pkg/cmd/create"
	cmddelete "github.com/openvessel/ccictl/pkg/cmd/delete"
	"github.com/openvessel/ccictl/pkg/cmd/describe"
	"github.com/openvessel/ccictl/pkg/cmd/docs"
	"github.com/openvessel/ccictl/pkg/cmd/get"
	"github.com/openvessel/ccictl/pkg/cmd/synccmd"
	cmdvalidate "github.com/openvessel/ccictl/pkg/cmd/validate"
	cmdversion "github.com/openvessel/ccictl/pkg/cmd/version"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// addCommands attaches every subcommand. Each lives in pkg/cmd/<verb> as
// NewCmd<Verb>(f, streams) with an Options struct (Complete/Validate/Run);
// sync lives in pkg/cmd/synccmd so that no package shadows the standard
// library's sync.
func addCommands(root *cobra.Command, f *cmdutil.Factory, streams genericiooptions.IOStreams) {
	root.AddCommand(create.NewCmdCreate(f, streams))
	root.AddCommand(apply.NewCmdApply(f, streams))
	root.AddCommand(get.NewCmdGet(f, streams))
	root.AddCommand(describe.NewCmdDescribe(f, streams))
	root.AddCommand(cmddelete.NewCmdDelete(f, streams))
	root.AddCommand(apiresources.NewCmdAPIResources(f, streams))
	root.AddCommand(apiresources.NewCmdAPIVersions(f, streams))
	root.AddCommand(cmdconfig.NewCmdConfig(f, streams))
	root.AddCommand(cmdversion.NewCmdVersion(f, streams))
	root.AddCommand(completion.NewCmdCompletion(f, streams))
	root.AddCommand(docs.NewCmdDocs(f, streams))
	root.AddCommand(cmdvalidate.NewCmdValidate(f, streams))
	root.AddCommand(synccmd.NewCmdSync(f, streams, nil))
	cmdutil.RegisterGlobalFlagCompletions(root, f)
}

// addHelpTopics adds `ccictl help TOPIC` pages: commands without Run, whose
// Long text is the page (cobra lists them under "Additional help topics").
func addHelpTopics(root *cobra.Command) {
	root.AddCommand(&cobra.Command{
		Use:   "environment",
		Short: "Environment variables that ccictl reads",
		Long: `Environment variables that ccictl reads.

CLICONFIG
    The cliconfig file to use, as the vendor's ccictl reads it. Same as
    --cliconfig; ignored when --cliconfig or --kubeconfig is given.

KUBECONFIG
    A list of kubeconfig files (separated by ':' on Linux and macOS, ';' on
    Windows), merged as kubectl merges them. Read only when neither
    --cliconfig, --kubeconfig nor CLICONFIG is set. Without any of them
    ccictl reads $HOME/.kubev2/config; it never reads ~/.kube/config.

CCICTL_SETTINGS
    ccictl's own settings file (YAML, keys are flag names). Default
    $XDG_CONFIG_HOME/ccictl/config.yaml, which may be missing; a file named
    here must exist.

CCICTL_<FLAG>
    The value of an allowed flag not given on the command line: the flag
    name in upper case with '-' as '_', e.g. CCICTL_NAMESPACE=test-ns or
    CCICTL_REQUEST_TIMEOUT=30s. Order: flag, environment, settings file,
    default. Allowed (from the environment and the settings file):
` + settingKeysHelp() + `
    Every other flag is taken from the command line only: the guards of
    sync (--allow-empty, --prune-orphans), --dry-run, --force, selectors,
    --server, TLS verification, the choice of config file and credentials
    (--token, --password). Such a variable or settings key is ignored with
    a warning on stderr. -v=2 logs each setting taken from outside the
    command line and where it came from.

CCICTL_ELB_TOKEN
    An IAM token for the ELB API (sync), used when neither the iam
    auth-provider nor HW_ACCESS_KEY/HW_SECRET_KEY give credentials. Read
    from the environment only, never from the settings file.

HW_ACCESS_KEY, HW_SECRET_KEY
    Huawei Cloud access key and secret key, used to sign requests (AK/SK)
    or to obtain an IAM token when the cliconfig names no credentials.

HW_REGION_NAME, HW_PROJECT_ID
    The region (e.g. ap-southeast-1) and project of those credentials.

NO_COLOR
    When set (to anything), output has no colour.
`,
	})
	root.AddCommand(&cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes of ccictl",
		Long: `Exit codes of ccictl, for scripts.

0   Success. Also a get that finds nothing ("No resources found ..." is
    printed on stderr) and a delete with --ignore-not-found.
1   Any error: bad flags or input, an error from the server (NotFound,
    AlreadyExists, Forbidden, ...), a server that cannot be reached. When
    several objects are processed, the good ones are handled, each failure is
    reported, and the exit code is 1.
2   sync --dry-run --exit-code found changes to make.

diff exits 0 when the live objects equal the input, 1 when they differ and
more than 1 on an error. wait exits 1 on a timeout; wait, a delete still
waiting for its objects, rollout status, logs and events --watch exit 1
without a message when interrupted (SIGINT, SIGTERM), as kubectl's.
--warnings-as-errors exits 1 when the server sent warnings. A plugin (ccictl-NAME on PATH) exits
with its own code.
`,
	})
}

// settingKeysHelp lists the allowed settings, wrapped and indented for the
// environment help page, from the allow-list itself so they cannot drift.
func settingKeysHelp() string {
	keys, _ := cmdutil.SettingKeys()
	var b strings.Builder
	line := "       "
	for i, k := range keys {
		word := " " + k
		if i < len(keys)-1 {
			word += ","
		}
		if len(line)+len(word) > 76 {
			b.WriteString(line + "\n")
			line = "       "
		}
		line += word
	}
	b.WriteString(line)
	return b.String()
}
