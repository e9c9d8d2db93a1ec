package get

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

const group = "loadbalancer.networking.openvessel.io"

// table is a server-side meta.k8s.io Table with a Name column and one more.
func table(rv, col string, rows ...[2]string) map[string]any {
	rs := []any{}
	for _, r := range rows {
		rs = append(rs, map[string]any{
			"cells":  []any{r[0], r[1]},
			"object": map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]any{"name": r[0], "namespace": "ns"}},
		})
	}
	return map[string]any{
		"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]any{"resourceVersion": rv},
		"columnDefinitions": []any{
			map[string]any{"name": "Name", "type": "string", "format": "name"},
			map[string]any{"name": col, "type": "string"},
		},
		"rows": rs,
	}
}

// fakeServer serves discovery for services and poolbindings, their lists as
// Tables, and a poolbindings watch that sends one ADDED event and ends.
func fakeServer(t *testing.T) string {
	t.Helper()
	res := func(name, kind string, short string) map[string]any {
		return map[string]any{"name": name, "namespaced": true, "kind": kind, "verbs": []string{"get", "list", "watch"}, "shortNames": []string{short}}
	}
	routes := map[string]any{
		"/api": map[string]any{"kind": "APIVersions", "versions": []string{"v1"}},
		"/apis": map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{map[string]any{
			"name": group, "versions": []any{map[string]any{"groupVersion": group + "/v1", "version": "v1"}},
			"preferredVersion": map[string]any{"groupVersion": group + "/v1", "version": "v1"},
		}}},
		"/api/v1":                        map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []any{res("services", "Service", "svc")}},
		"/apis/" + group + "/v1":         map[string]any{"kind": "APIResourceList", "groupVersion": group + "/v1", "resources": []any{res("poolbindings", "PoolBinding", "plb")}},
		"/api/v1/namespaces/ns/services": table("7", "Type", [2]string{"a-much-longer-service-name", "ClusterIP"}),
		"/apis/" + group + "/v1/namespaces/ns/poolbindings": table("5", "Pool", [2]string{"existing", "pool-1"}),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("watch") == "true" {
			if r.URL.Query().Get("resourceVersion") != "5" {
				t.Errorf("watch from resourceVersion %q, want the list's 5", r.URL.Query().Get("resourceVersion"))
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "ADDED", "object": table("6", "Pool", [2]string{"added-later", "pool-2"})})
			return
		}
		body, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	cfg := filepath.Join(home, "config")
	content := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: " + fakeServer(t) +
		"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: c\n  context: {cluster: c, user: u, namespace: ns}\ncurrent-context: c\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLICONFIG", cfg)
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	f := cmdutil.NewFactory(streams, &client.ConnectionOptions{})
	root := &cobra.Command{Use: "ccictl", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(NewCmdGet(f, streams))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("%v: %v (stderr %s)", args, err, errOut)
	}
	return out.String()
}

// The watch first prints the rows of the server-side Table it listed (not the
// List wrapping that Table), then each event's rows, under one header.
func TestWatchPrintsListedRowsThenEvents(t *testing.T) {
	got := run(t, "get", "plb", "-w")
	// Widths are remembered, never shrunk: a longer name arriving later
	// widens its own row only, as with kubectl.
	want := "NAME       POOL\n" +
		"existing   pool-1\n" +
		"added-later   pool-2\n"
	if got != want {
		t.Errorf("get -w printed\n%s\nwant\n%s", got, want)
	}
}

// Each type of a multi-type get is its own table with its own column widths.
func TestMultipleTypesHaveTheirOwnColumnWidths(t *testing.T) {
	// The wider table first: its widths must not carry over to the next.
	got := run(t, "get", "plb,svc")
	want := "NAME                                                         POOL\n" +
		"poolbinding." + group + "/existing   pool-1\n" +
		"\n" +
		"NAME                                 TYPE\n" +
		"service/a-much-longer-service-name   ClusterIP\n"
	if got != want {
		t.Errorf("get plb,svc printed\n%s\nwant\n%s", strings.ReplaceAll(got, " ", "·"), strings.ReplaceAll(want, " ", "·"))
	}
}
