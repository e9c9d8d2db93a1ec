package completion

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	f := cmdutil.NewFactory(streams, &client.ConnectionOptions{})
	root := &cobra.Command{Use: "ccictl", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(NewCmdCompletion(f, streams), &cobra.Command{Use: "get", Run: func(*cobra.Command, []string) {}})
	root.SetArgs(append([]string{"completion"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestScripts(t *testing.T) {
	// A marker of each shell's script, as cobra generates it.
	markers := map[string]string{
		"bash":       "__ccictl_get_completion_results", // V2 only
		"zsh":        "#compdef ccictl",
		"fish":       "complete -c ccictl",
		"powershell": "Register-ArgumentCompleter",
	}
	for shell, marker := range markers {
		out, err := run(t, shell)
		if err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		if !strings.Contains(out, marker) {
			t.Errorf("%s script lacks %q", shell, marker)
		}
	}
}

func TestErrors(t *testing.T) {
	cases := map[string][]string{
		"error: Shell not specified.\nSee 'ccictl completion -h' for help and examples":                              nil,
		"error: Too many arguments. Expected only the shell type.\nSee 'ccictl completion -h' for help and examples": {"bash", "zsh"},
		"error: Unsupported shell type \"tcsh\".\nSee 'ccictl completion -h' for help and examples":                  {"tcsh"},
	}
	for want, args := range cases {
		_, err := run(t, args...)
		if msg, _ := cmdutil.ErrorMessage(err); msg != want {
			t.Errorf("%v: %q, want %q", args, msg, want)
		}
	}
}
