package cmdutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openvessel/ccictl/pkg/client"
)

// seedOnce creates, on the real server, what the completion cases expect:
// namespace test-ns with Services test-name and other and PoolBinding
// test-c1 (besides default/kubernetes, which the server makes itself).
var seedOnce struct {
	sync.Once
	err error
}

func seed(t *testing.T) {
	t.Helper()
	seedOnce.Do(func() { seedOnce.err = createObjects() })
	if seedOnce.err != nil {
		t.Fatal(seedOnce.err)
	}
}

func createObjects() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		return err
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ns := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	svc := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	plb := schema.GroupVersionResource{Group: "loadbalancer.networking.openvessel.io", Version: "v1", Resource: "poolbindings"}
	objs := []struct {
		gvr schema.GroupVersionResource
		obj map[string]any
	}{
		{ns, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "test-ns"}}},
		{svc, service("test-name")},
		{svc, service("other")},
		{plb, map[string]any{"apiVersion": "loadbalancer.networking.openvessel.io/v1", "kind": "PoolBinding",
			"metadata": map[string]any{"name": "test-c1", "namespace": "test-ns"},
			"spec": map[string]any{
				"poolRef":   map[string]any{"id": "e08f4a6b-1c2d-4e5f-8a9b-0c1d2e3f29c1"},
				"targetRef": map[string]any{"kind": "Service", "group": "cci/v2", "name": "test-name", "port": int64(123)},
			}}},
	}
	ctx := context.Background()
	// The server makes its system namespaces and default/kubernetes itself,
	// some shortly after it is ready: wait for them, so the lists are complete.
	for _, own := range []struct {
		r          dynamic.ResourceInterface
		what, name string
	}{
		{dc.Resource(ns), "namespace", "kube-node-lease"},
		{dc.Resource(svc).Namespace("default"), "service default", "kubernetes"},
	} {
		for end := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			_, err := own.r.Get(ctx, own.name, metav1.GetOptions{})
			if err == nil {
				break
			}
			if time.Now().After(end) {
				return fmt.Errorf("%s %s: %w", own.what, own.name, err)
			}
		}
	}
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: o.obj}
		var err error
		if u.GetNamespace() == "" {
			_, err = dc.Resource(o.gvr).Create(ctx, u, metav1.CreateOptions{})
		} else {
			_, err = dc.Resource(o.gvr).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{})
		}
		if err != nil {
			return fmt.Errorf("create %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}

func service(name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "namespace": "test-ns"},
		"spec":     map[string]any{"ports": []any{map[string]any{"port": int64(123)}}}}
}

// completionRoot is a root with the global flags completion reads and one
// command whose arguments are resource types and names.
func completionRoot(t *testing.T, server string) *cobra.Command {
	t.Helper()
	seed(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	cfg := filepath.Join(home, "config")
	content := "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster: {server: " + server + ", certificate-authority: " + cluster.CAFile + "}\n- name: cci\n  cluster: {server: https://cci.example}\nusers:\n- name: admin\n  user: {token: " + cluster.Token + "}\ncontexts:\n- name: local\n  context: {cluster: local, user: admin, namespace: test-ns}\n- name: cci\n  context: {cluster: cci, user: admin}\ncurrent-context: local\n"
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
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get", "pl"}, "plb"},
		{[]string{"get", "poo"}, "poolbindings"},
		{[]string{"get", "sv"}, "svc"},
		{[]string{"get", "svc", ""}, "other test-name"},
		{[]string{"get", "services", "test-name", ""}, "other"},
		{[]string{"get", "plb", "t"}, "test-c1"},
		{[]string{"get", "-n", "default", "svc", ""}, "kubernetes"},
		{[]string{"get", "-A", "svc", ""}, "kubernetes other test-name"},
		{[]string{"get", "ns", ""}, "default kube-node-lease kube-public kube-system test-ns"},
		{[]string{"get", "nosuchtype", ""}, ""},
	}
	for _, c := range cases {
		got := strings.Join(complete(t, completionRoot(t, cluster.Server), c.args...), " ")
		if got != c.want {
			t.Errorf("%v: got %q want %q", c.args, got, c.want)
		}
	}
	// Every type is offered by its name and short names, subresources never.
	all := complete(t, completionRoot(t, cluster.Server), "get", "")
	for _, want := range []string{"namespaces", "ns", "plb", "poolbindings", "services", "svc"} {
		if !slices.Contains(all, want) {
			t.Errorf("get <TAB> lacks %q: %v", want, all)
		}
	}
	for _, got := range all {
		if strings.Contains(got, "/") {
			t.Errorf("get <TAB> offers a subresource %q", got)
		}
	}
}

func TestGlobalFlagCompletion(t *testing.T) {
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
		got := strings.Join(complete(t, completionRoot(t, cluster.Server), c.args...), " ")
		if got != c.want {
			t.Errorf("%v: got %q want %q", c.args, got, c.want)
		}
	}
}

func TestCompletionWithUnreachableServerSuggestsNothing(t *testing.T) {
	// A proxy to the real server: names come through it, then it goes away.
	proxy, err := cluster.Proxy(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := complete(t, completionRoot(t, proxy.URL), "get", "svc", ""); strings.Join(got, " ") != "other test-name" {
		t.Fatalf("through the proxy: got %q", got)
	}
	proxy.Close()
	if got := complete(t, completionRoot(t, proxy.URL), "get", "svc", ""); len(got) != 0 {
		t.Errorf("got %q", got)
	}
}
