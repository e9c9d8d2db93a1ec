package docs

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

func tree() *cobra.Command {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	f := cmdutil.NewFactory(streams, &client.ConnectionOptions{})
	root := &cobra.Command{Use: "ccictl", Short: "ccictl", SilenceErrors: true, SilenceUsage: true}
	// The real root has its own completion command; keep cobra's out.
	root.CompletionOptions.DisableDefaultCmd = true
	get := &cobra.Command{Use: "get", Short: "Display resources", Run: func(*cobra.Command, []string) {}}
	cfg := &cobra.Command{Use: "config", Short: "Modify cliconfig files"}
	cfg.AddCommand(&cobra.Command{Use: "view", Short: "Display cliconfig", Run: func(*cobra.Command, []string) {}})
	root.AddCommand(get, cfg, NewCmdDocs(f, streams))
	return root
}

func generate(t *testing.T, typ string) (string, map[string]string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	root := tree()
	root.SetArgs([]string{"docs", "--dir", dir, "--type", typ})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return dir, files
}

func names(m map[string]string) string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, " ")
}

func TestMarkdownTreeIsReproducibleAndSkipsHidden(t *testing.T) {
	_, a := generate(t, "markdown")
	if got := names(a); got != "ccictl.md ccictl_config.md ccictl_config_view.md ccictl_get.md" {
		t.Fatalf("files: %s", got)
	}
	if strings.Contains(a["ccictl.md"], "Auto generated") {
		t.Error("auto-gen tag present; output would change every day")
	}
	_, b := generate(t, "markdown")
	for k := range a {
		if a[k] != b[k] {
			t.Errorf("%s differs between runs", k)
		}
	}
}

func TestManTree(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	_, a := generate(t, "man")
	page, ok := a["ccictl-config-view.1"]
	if !ok {
		t.Fatalf("files: %s", names(a))
	}
	if !strings.Contains(page, `.TH "CCICTL" "1" "Jan 1970" "ccictl" "ccictl Manual"`) {
		t.Errorf("header:\n%s", strings.SplitN(page, "\n", 3)[1])
	}
	_, b := generate(t, "man")
	if a["ccictl.1"] != b["ccictl.1"] {
		t.Error("man page differs between runs")
	}
}

func TestValidation(t *testing.T) {
	root := tree()
	root.SetArgs([]string{"docs", "--type", "man"})
	if err := root.Execute(); err == nil || err.Error() != "--dir is required" {
		t.Errorf("missing --dir: %v", err)
	}
	root = tree()
	root.SetArgs([]string{"docs", "--dir", t.TempDir(), "--type", "html"})
	if err := root.Execute(); err == nil {
		t.Error("--type html accepted")
	}
}
