package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// isolate points HOME at a temp dir and clears the variables that choose
// the config file, so no test reads or writes a real config.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLICONFIG", "")
	t.Setenv("KUBECONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	return home
}

type result struct {
	out, errOut string
	err         error
}

// msg is what ccictl prints for the error, as root.Main does.
func (r result) msg() string {
	m, _ := cmdutil.ErrorMessage(r.err)
	return m
}

// run executes `ccictl ARGS` on a root that has the global connection flags
// the config commands interact with (the shadowed ones included), without
// the rest of the command tree.
func run(t *testing.T, args ...string) result {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	conn := &client.ConnectionOptions{}
	f := cmdutil.NewFactory(streams, conn)
	root := &cobra.Command{Use: "ccictl", SilenceErrors: true, SilenceUsage: true}
	pf := root.PersistentFlags()
	pf.StringVar(&conn.CLIConfig, "cliconfig", "", "")
	pf.StringVar(&conn.Kubeconfig, "kubeconfig", "", "")
	pf.StringVar(&conn.Context, "context", "", "")
	pf.StringVar(&conn.Cluster, "cluster", "", "")
	pf.StringVar(&conn.User, "user", "", "")
	pf.StringVarP(&conn.Namespace, "namespace", "n", "", "")
	pf.StringVarP(&conn.Server, "server", "s", "", "")
	pf.StringVar(&conn.Token, "token", "", "")
	pf.StringVar(&conn.Password, "password", "", "")
	root.AddCommand(NewCmdConfig(f, streams))
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errOut)
	err := executeLikeMain(root)
	return result{out: out.String(), errOut: errOut.String(), err: err}
}

// executeLikeMain runs root as root.Main does for kubectl's commands: their
// kcmdutil.CheckErr unwinds as a *cmdutil.KubectlFatal instead of exiting.
func executeLikeMain(root *cobra.Command) (err error) {
	fatal := cmdutil.NewKubectlFatalHandler()
	kcmdutil.BehaviorOnFatal(fatal.Handle)
	defer kcmdutil.DefaultBehaviorOnFatal()
	fatal.Bind()
	defer func() {
		if r := recover(); r != nil {
			kf, ok := r.(*cmdutil.KubectlFatal)
			if !ok {
				panic(r)
			}
			err = kf
		}
	}()
	return root.Execute()
}

// mustRun runs and fails the test on error.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, args...)
	if r.err != nil {
		t.Fatalf("ccictl %v: %v (stderr %q)", args, r.err, r.errOut)
	}
	return r
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
