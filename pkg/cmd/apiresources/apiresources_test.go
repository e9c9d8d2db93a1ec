package apiresources

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/internal/golden"
	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// discoveryServer serves legacy discovery: core v1 and the PoolBinding group.
func discoveryServer(t *testing.T) string {
	t.Helper()
	const g = "loadbalancer.networking.openvessel.io"
	res := func(name, kind string, namespaced bool, short []string, verbs ...string) map[string]any {
		return map[string]any{"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs, "shortNames": short}
	}
	routes := map[string]any{
		"/api": map[string]any{"kind": "APIVersions", "versions": []string{"v1"}},
		"/apis": map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{map[string]any{
			"name": g, "versions": []any{map[string]any{"groupVersion": g + "/v1", "version": "v1"}},
			"preferredVersion": map[string]any{"groupVersion": g + "/v1", "version": "v1"},
		}}},
		"/api/v1": map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []any{
			res("namespaces", "Namespace", false, []string{"ns"}, "create", "delete", "get", "list"),
			res("services", "Service", true, []string{"svc"}, "create", "delete", "get", "list", "patch"),
			res("services/status", "Service", true, nil, "get"),
			res("bindings", "Binding", true, nil),
		}},
		"/apis/" + g + "/v1": map[string]any{"kind": "APIResourceList", "groupVersion": g + "/v1", "resources": []any{
			func() map[string]any {
				r := res("poolbindings", "PoolBinding", true, []string{"plb"}, "create", "delete", "get", "list")
				r["categories"] = []string{"all"}
				return r
			}(),
		}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
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

func TestAPIResourcesGolden(t *testing.T) {
	server := discoveryServer(t)
	cases := map[string][]string{
		"api-resources.golden":                {"api-resources"},
		"api-resources-wide.golden":           {"api-resources", "-o", "wide"},
		"api-resources-name.golden":           {"api-resources", "-o", "name"},
		"api-resources-no-headers.golden":     {"api-resources", "--no-headers", "--sort-by=kind"},
		"api-resources-cluster-scoped.golden": {"api-resources", "--namespaced=false"},
		"api-resources-group.golden":          {"api-resources", "--api-group=loadbalancer.networking.openvessel.io"},
		"api-resources-verbs.golden":          {"api-resources", "--verbs=patch"},
		"api-resources-core-group.golden":     {"api-resources", "--api-group="},
		"api-versions.golden":                 {"api-versions"},
	}
	for file, args := range cases {
		out, err := run(t, server, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		golden.Assert(t, out, filepath.Join("testdata", file))
	}
}

func TestAPIResourcesBadFlags(t *testing.T) {
	server := discoveryServer(t)
	if _, err := run(t, server, "api-resources", "--sort-by=age"); err == nil || err.Error() != "--sort-by accepts only name or kind" {
		t.Errorf("sort-by: %v", err)
	}
	if _, err := run(t, server, "api-resources", "-o", "yaml"); err == nil {
		t.Error("-o yaml accepted")
	}
}
