package apiresources

// What these commands print is compared byte for byte with kubectl's against
// the real API server in cmd/ccictl (TestCommandsDiscovery). Here: the flag
// checks, which refuse before anything is sent.

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
)

// closedAddress is a loopback address nothing listens on: a request sent
// there fails with a connection error, never with a flag error.
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
	root.AddCommand(NewCmdAPIResources(f, streams), NewCmdAPIVersions(f, streams))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestAPIResourcesBadFlags(t *testing.T) {
	server := closedAddress(t)
	if _, err := run(t, server, "api-resources", "--sort-by=age"); err == nil || err.Error() != "--sort-by accepts only name or kind" {
		t.Errorf("sort-by: %v", err)
	}
	want := `unable to match a printer suitable for the output format "yaml", allowed formats are: name,wide`
	if _, err := run(t, server, "api-resources", "-o", "yaml"); err == nil || err.Error() != want {
		t.Errorf("-o yaml: %v", err)
	}
	// Control: good flags get past the checks to the (absent) server.
	if out, err := run(t, server, "api-resources", "--sort-by=kind", "-o", "wide"); err == nil || strings.Contains(err.Error(), "sort-by") || out != "" {
		t.Errorf("good flags: %q, %v", out, err)
	}
}
