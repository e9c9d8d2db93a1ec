package cmdutil

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

	"github.com/openvessel/ccictl/pkg/client"
)

// fakeAPIServer serves legacy discovery for core v1 and the PoolBinding
// group, and lists of a few objects.
func fakeAPIServer(t *testing.T) *httptest.Server {
	t.Helper()
	obj := func(kind, ns, name string) map[string]any {
		md := map[string]any{"name": name}
		if ns != "" {
			md["namespace"] = ns
		}
		return map[string]any{"kind": kind, "metadata": md}
	}
	list := func(apiVersion, kind string, items ...map[string]any) any {
		for _, it := range items {
			it["apiVersion"] = apiVersion
		}
		return map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{}, "items": items}
	}
	const plbGroup = "loadbalancer.networking.openvessel.io"
	routes := map[string]any{
		"/api": map[string]any{"kind": "APIVersions", "versions": []string{"v1"}},
		"/apis": map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{map[string]any{
			"name": plbGroup, "versions": []any{map[string]any{"groupVersion": plbGroup + "/v1", "version": "v1"}},
			"preferredVersion": map[string]any{"groupVersion": plbGroup + "/v1", "version": "v1"},
		}}},
		"/api/v1": map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []any{
			map[string]any{"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace", "verbs": []string{"get", "list"}, "shortNames": []string{"ns"}},
			map[string]any{"name": "services", "singularName": "service", "namespaced": true, "kind": "Service", "verbs": []string{"create", "get", "list"}, "shortNames": []string{"svc"}},
			map[string]any{"name": "services/status", "singularName": "", "namespaced": true, "kind": "Service", "verbs": []string{"get"}},
		}},
		"/apis/" + plbGroup + "/v1": map[string]any{"kind": "APIResourceList", "groupVersion": plbGroup + "/v1", "resources": []any{
			map[string]any{"name": "poolbindings", "singularName": "poolbinding", "namespaced": true, "kind": "PoolBinding", "verbs": []string{"create", "delete", "get", "list"}, "shortNames": []string{"plb"}},
		}},
		"/api/v1/namespaces":                                        list("v1", "NamespaceList", obj("Namespace", "", "default"), obj("Namespace", "", "test-ns")),
		"/api/v1/namespaces/test-ns/services":                       list("v1", "ServiceList", obj("Service", "test-ns", "test-name"), obj("Service", "test-ns", "other")),
		"/api/v1/services":                                          list("v1", "ServiceList", obj("Service", "test-ns", "test-name"), obj("Service", "kube-system", "kube-dns")),
		"/api/v1/namespaces/default/services":                       list("v1", "ServiceList", obj("Service", "default", "kubernetes")),
		"/apis/" + plbGroup + "/v1/namespaces/test-ns/poolbindings": list(plbGroup+"/v1", "PoolBindingList", obj("PoolBinding", "test-ns", "test-c1")),
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
	return srv
}

// completionRoot is a root with the global flags completion reads and one
// command whose arguments are resource types and names.
func completionRoot(t *testing.T, server string) *cobra.Command {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	cfg := filepath.Join(home, "config")
	content := "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster: {server: " + server + "}\n- name: cci\n  cluster: {server: https://cci.example}\nusers:\n- name: admin\n  user: {token: t}\ncontexts:\n- name: local\n  context: {cluster: local, user: admin, namespace: test-ns}\n- name: cci\n  context: {cluster: cci, user: admin}\ncurrent-context: local\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLICONFIG", cfg)
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	conn := &client.ConnectionOptions{}
	f := NewFactory(streams, conn)
	root := &cobra.Command{Use: "ccictl"}
	pf := root.PersistentFlags()
	pf.StringVar(&conn.Context, "context", "", "")
	pf.StringVar(&conn.Cluster, "cluster", "", "")
	pf.StringVar(&conn.User, "user", "", "")
	pf.StringVarP(&conn.Namespace, "namespace", "n", "", "")
	get := &cobra.Command{Use: "get", ValidArgsFunction: ResourceTypeAndNameCompletionFunc(f), Run: func(*cobra.Command, []string) {}}
	get.Flags().BoolP("all-namespaces", "A", false, "")
	root.AddCommand(get)
	RegisterGlobalFlagCompletions(root, f)
	return root
}

// complete runs cobra's hidden __complete command and returns the
// suggestions (without the trailing directive line).
func complete(t *testing.T, root *cobra.Command, args ...string) []string {
	t.Helper()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&strings.Builder{})
	root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("no directive in %q", out.String())
	}
	return lines[:len(lines)-1]
}

func TestResourceTypeAndNameCompletion(t *testing.T) {
	srv := fakeAPIServer(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get", ""}, "namespaces ns plb poolbindings services svc"},
		{[]string{"get", "p"}, "plb poolbindings"},
		{[]string{"get", "svc", ""}, "other test-name"},
		{[]string{"get", "services", "test-name", ""}, "other"},
		{[]string{"get", "plb", "t"}, "test-c1"},
		{[]string{"get", "-n", "default", "svc", ""}, "kubernetes"},
		{[]string{"get", "-A", "svc", ""}, "kube-dns test-name"},
		{[]string{"get", "ns", ""}, "default test-ns"},
		{[]string{"get", "nosuchtype", ""}, ""},
	}
	for _, c := range cases {
		got := strings.Join(complete(t, completionRoot(t, srv.URL), c.args...), " ")
		if got != c.want {
			t.Errorf("%v: got %q want %q", c.args, got, c.want)
		}
	}
}

func TestGlobalFlagCompletion(t *testing.T) {
	srv := fakeAPIServer(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get", "--context", ""}, "cci local"},
		{[]string{"get", "--cluster", "c"}, "cci"},
		{[]string{"get", "--user", ""}, "admin"},
		{[]string{"get", "-n", "t"}, "test-ns"},
	}
	for _, c := range cases {
		got := strings.Join(complete(t, completionRoot(t, srv.URL), c.args...), " ")
		if got != c.want {
			t.Errorf("%v: got %q want %q", c.args, got, c.want)
		}
	}
}

func TestCompletionWithUnreachableServerSuggestsNothing(t *testing.T) {
	srv := fakeAPIServer(t)
	url := srv.URL
	srv.Close()
	if got := complete(t, completionRoot(t, url), "get", "svc", ""); len(got) != 0 {
		t.Errorf("got %q", got)
	}
}
