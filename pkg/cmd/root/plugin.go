package root

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kcmd "k8s.io/kubectl/pkg/cmd"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// PluginPrefix names plugins: an executable ccictl-foo-bar on PATH runs as
// `ccictl foo bar`.
const PluginPrefix = "ccictl"

// pluginHandler finds plugins with kubectl's lookup and runs them as a child
// process with ccictl's streams, so the exit code comes back to Main (kubectl
// replaces its own process with the plugin; the exit code a script sees is
// the same).
type pluginHandler struct {
	*kcmd.DefaultPluginHandler
	streams genericiooptions.IOStreams
	ran     bool
}

func (h *pluginHandler) Execute(path string, args, env []string) error {
	h.ran = true
	c := exec.Command(path, args...)
	c.Stdin, c.Stdout, c.Stderr, c.Env = h.streams.In, h.streams.Out, h.streams.ErrOut, env
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) // as a shell reports a signalled child
		}
		return &cmdutil.ExitCodeError{Code: code}
	}
	return err
}

// runPlugin does what kubectl does before running a command: when args name
// no built-in command (or `create` has no such subcommand), the longest
// matching ccictl-<args...> executable on PATH runs instead. It reports
// whether a plugin ran.
func runPlugin(root *cobra.Command, args []string, streams genericiooptions.IOStreams) (bool, error) {
	if len(args) == 0 {
		return false, nil
	}
	h := &pluginHandler{DefaultPluginHandler: kcmd.NewDefaultPluginHandler([]string{PluginPrefix}), streams: streams}
	found, foundArgs, err := root.Find(args)
	if err != nil {
		switch firstNonFlag(root, args) {
		case "help", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return false, nil
		}
		// No plugin either: the command reports cobra's "unknown command".
		return h.ran, pluginError(kcmd.HandlePluginCommand(h, args, 1))
	}
	if kcmd.IsSubcommandPluginAllowed(found.Name()) && len(foundArgs) >= 1 && !strings.HasPrefix(foundArgs[0], "-") {
		for _, sub := range found.Commands() {
			if sub.Name() == foundArgs[0] {
				return false, nil
			}
		}
		return h.ran, pluginError(kcmd.HandlePluginCommand(h, args, len(args)-len(foundArgs)+1))
	}
	return false, nil
}

// pluginError reports a plugin that could not be run as kubectl does
// ("Error: ..." and exit 1); a plugin's own exit code passes through.
func pluginError(err error) error {
	var ec *cmdutil.ExitCodeError
	if err == nil || errors.As(err, &ec) {
		return err
	}
	return &cmdutil.KubectlFatal{Message: fmt.Sprintf("Error: %v", err), Code: 1}
}

// firstNonFlag is the first argument that is neither a flag nor the value
// of one (--cliconfig FILE __complete ... is a completion request).
func firstNonFlag(root *cobra.Command, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a
		}
		if strings.Contains(a, "=") {
			continue
		}
		name := strings.TrimLeft(a, "-")
		f := root.PersistentFlags().Lookup(name)
		if f == nil && len(name) == 1 {
			f = root.PersistentFlags().ShorthandLookup(name)
		}
		if f != nil && f.NoOptDefVal == "" {
			i++ // the flag's value
		}
	}
	return ""
}

var _ kcmd.PluginHandler = (*pluginHandler)(nil)
