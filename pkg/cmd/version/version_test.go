package version

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/version"
)

// run executes `version ARGS` against a cliconfig whose cluster is server.
func run(t *testing.T, server string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	cfg := filepath.Join(home, "config")
	content := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: " + server + "}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLICONFIG", cfg)
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	f := cmdutil.NewFactory(streams, &client.ConnectionOptions{})
	root := &cobra.Command{Use: "ccictl", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(NewCmdVersion(f, streams))
	root.SetArgs(append([]string{"version"}, args...))
	err := root.Execute()
	return out.String(), err
}

// closedAddress is a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "https://" + addr
}

// What version prints with a server (text, json, yaml) is checked against
// the real API server in cmd/ccictl (TestCommandsVersion).

func TestVersionClientOnlyNeedsNoServer(t *testing.T) {
	out, err := run(t, "https://127.0.0.1:1", "--client", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "serverVersion") || !strings.Contains(out, "clientVersion") {
		t.Errorf("got %s", out)
	}
}

func TestVersionUnreachableServerPrintsClientThenFails(t *testing.T) {
	out, err := run(t, closedAddress(t))
	if err == nil {
		t.Fatal("no error for an unreachable server")
	}
	if out != "Client Version: "+version.Get().GitVersion+"\n" {
		t.Errorf("out %q", out)
	}
	if msg, code := cmdutil.ErrorMessage(err); code != 1 || !strings.Contains(msg, "refused") {
		t.Errorf("message %q code %d", msg, code)
	}
}

func TestVersionBadOutput(t *testing.T) {
	_, err := run(t, "https://127.0.0.1:1", "-o", "wide")
	if err == nil || err.Error() != "--output must be 'yaml' or 'json'" {
		t.Errorf("err = %v", err)
	}
}
