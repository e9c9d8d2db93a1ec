package root

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// PluginPrefix names plugins: an executable ccictl-foo-bar on PATH runs as
// `ccictl foo bar`.
const PluginPrefix = "ccictl"

// pluginHandler finds and runs plugins by kubectl's rules (the longest
// ccictl-a-b-c on PATH for `a b c`, dashes in arguments read as
// underscores, no flag before the plugin name). It is written here rather
// than imported: kubectl's handler lives in k8s.io/kubectl/pkg/cmd, which
// initialises every kubectl command and costs each ccictl start-up tens of
// milliseconds and megabytes (docs/performance.md). A plugin runs as a
// child with ccictl's streams, so its exit code comes back to Main (kubectl
// replaces its own process with the plugin; the exit code a script sees is
// the same).
type pluginHandler struct {
	streams  genericiooptions.IOStreams
	lookPath func(string) (string, error)
	ran      bool
}

// handle runs the plugin named by args, if there is one with at least
// minWords words of args in its name. It reports whether one ran.
func (h *pluginHandler) handle(args []string, minWords int) (bool, error) {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		words = append(words, strings.ReplaceAll(a, "-", "_"))
	}
	if len(words) == 0 {
		return false, fmt.Errorf("flags cannot be placed before plugin name: %s", args[0])
	}
	for n := len(words); n >= minWords && n > 0; n-- {
		path, err := h.lookPath(PluginPrefix + "-" + strings.Join(words[:n], "-"))
		if err != nil || path == "" {
			continue
		}
		return true, h.execute(path, args[n:])
	}
	return false, nil
}

func (h *pluginHandler) execute(path string, args []string) error {
	h.ran = true
	c := exec.Command(path, args...)
	c.Stdin, c.Stdout, c.Stderr, c.Env = h.streams.In, h.streams.Out, h.streams.ErrOut, os.Environ()
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
	h := &pluginHandler{streams: streams, lookPath: exec.LookPath}
	found, foundArgs, err := root.Find(args)
	if err != nil {
		switch firstNonFlag(root, args) {
		case "help", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return false, nil
		}
		// No plugin either: the command reports cobra's "unknown command".
		ran, err := h.handle(args, 1)
		return ran, pluginError(err)
	}
	// As kubectl: only `create` extends to plugins (ccictl create foo runs
	// ccictl-create-foo when create has no subcommand foo).
	if found.Name() == "create" && found.Parent() == root && len(foundArgs) >= 1 && !strings.HasPrefix(foundArgs[0], "-") {
		for _, sub := range found.Commands() {
			if sub.Name() == foundArgs[0] {
				return false, nil
			}
		}
		ran, err := h.handle(args, len(args)-len(foundArgs)+1)
		return ran, pluginError(err)
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
