package version

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

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

func versionServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"36","gitVersion":"v1.36.3","platform":"linux/amd64"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVersionText(t *testing.T) {
	out, err := run(t, versionServer(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	want := "Client Version: " + version.Get().GitVersion + "\nServer Version: v1.36.3\n"
	if out != want {
		t.Errorf("got %q want %q", out, want)
	}
}

func TestVersionJSONAndYAMLShape(t *testing.T) {
	srv := versionServer(t)
	for _, format := range []string{"json", "yaml"} {
		out, err := run(t, srv.URL, "-o", format)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			ClientVersion map[string]string `json:"clientVersion"`
			ServerVersion map[string]string `json:"serverVersion"`
		}
		if err := yaml.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: %v\n%s", format, err, out)
		}
		if got.ClientVersion["gitVersion"] != version.Get().GitVersion || got.ServerVersion["gitVersion"] != "v1.36.3" {
			t.Errorf("%s: %+v", format, got)
		}
	}
	out, _ := run(t, srv.URL, "-o", "json")
	if !strings.HasPrefix(out, "{\n  \"clientVersion\": {\n") || !json.Valid([]byte(out)) {
		t.Errorf("json not indented like kubectl's:\n%s", out)
	}
}

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
	srv := versionServer(t)
	url := srv.URL
	srv.Close()
	out, err := run(t, url)
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
