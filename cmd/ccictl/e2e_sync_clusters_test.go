package main_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/testenv"
)

// secondCluster starts another real control plane for the test and
// returns it with a client; it is stopped when the test ends.
func secondCluster(t *testing.T) (*testenv.Cluster, kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := testenv.StartWithCRDs(ctx, filepath.Join(t.TempDir(), "cluster-b"))
	if err != nil {
		t.Fatalf("second control plane: %v", err)
	}
	t.Cleanup(c.Stop)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, kube
}

// twoContexts writes a cliconfig whose contexts "a" and "b" are the test
// cluster and the second one.
func twoContexts(t *testing.T, b *testenv.Cluster) string {
	t.Helper()
	merged := clientcmdapi.NewConfig()
	for name, path := range map[string]string{"a": cluster.Kubeconfig, "b": b.Kubeconfig} {
		cfg, err := clientcmd.LoadFromFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cur := cfg.Contexts[cfg.CurrentContext]
		merged.Clusters[name] = cfg.Clusters[cur.Cluster]
		merged.AuthInfos[name] = cfg.AuthInfos[cur.AuthInfo]
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	merged.CurrentContext = "a"
	p := filepath.Join(t.TempDir(), "cliconfig-ab")
	if err := clientcmd.WriteToFile(*merged, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func clusterIDOf(t *testing.T, kube kubernetes.Interface) string {
	t.Helper()
	ns, err := kube.CoreV1().Namespaces().Get(context.Background(), metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(ns.UID)
}

// TestSyncSeveralClusters: one pool fed by a binding in each of two
// clusters (two real API servers). One pass over both contexts leaves the
// pool with the union of their endpoints, each member under its own
// cluster's marker; output and -o json are grouped by context. Passes over
// one cluster at a time, with --prune-orphans, remove nothing of the
// other's; when one cluster's endpoints change, its pass changes only its
// own members.
func TestSyncSeveralClusters(t *testing.T) {
	a := newSyncEnv(t, "sync-clusters")
	bc, kubeB := secondCluster(t)
	b := *a
	b.kube = kubeB
	if _, err := kubeB.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: a.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a.pool(syncPool)
	a.manualSlice("web", 80, 8080, addrs("10.49", 0, 2))
	b.manualSlice("web", 80, 8080, addrs("10.50", 0, 3))
	uidA := a.binding("web", syncPool, "web", 80)
	manifest := "apiVersion: loadbalancer.networking.openvessel.io/v1\nkind: PoolBinding\nmetadata:\n  name: web\n  namespace: " + a.ns +
		"\nspec:\n  poolRef:\n    id: " + syncPool + "\n  targetRef:\n    kind: Service\n    group: cci/v2\n    name: web\n    port: 80\n"
	mustSucceed(t, runIn(t, manifest, nil, ccictlBin, "--kubeconfig", bc.Kubeconfig, "create", "-f", "-"))
	uidB := mustSucceed(t, runIn(t, "", nil, ccictlBin, "--kubeconfig", bc.Kubeconfig, "get", "plb", "-n", a.ns, "web", "-o", "jsonpath={.metadata.uid}")).Stdout

	idA, idB := clusterIDOf(t, a.kube), clusterIDOf(t, kubeB)
	if idA == idB {
		t.Fatalf("two clusters share the identity %s", idA)
	}
	marker := func(id, uid string) string { return "ccictl:" + id + ":" + a.ns + "/web:" + uid }
	union := merge(owned(marker(idA, uidA), withPort(addrs("10.49", 0, 2), 8080)...),
		owned(marker(idB, uidB), withPort(addrs("10.50", 0, 3), 8080)...))

	a.config = twoContexts(t, bc)
	r := a.sync("--context", "a", "--context", "b")
	want := "a: poolbinding/web: +2 -0 =0 foreign=0\nb: poolbinding/web: +3 -0 =0 foreign=2\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("want exit 0 and\n%sgot %s", want, r)
	}
	a.wantPool(syncPool, union)

	// In sync, as JSON grouped by context; a later pass with --prune-orphans
	// in either cluster alone sees the other's members as foreign.
	r = a.sync("--all-contexts", "-o", "json")
	var rep struct {
		Results []struct {
			Context, State string
			Foreign        int
		} `json:"results"`
		Contexts []struct {
			Context  string
			Bindings int
			InSync   int `json:"inSync"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 0 {
		t.Fatalf("--all-contexts -o json: %v\n%s", err, r)
	}
	if len(rep.Contexts) != 2 || rep.Contexts[0].Context != "a" || rep.Contexts[0].InSync != 1 || rep.Contexts[1].Context != "b" || rep.Contexts[1].InSync != 1 ||
		len(rep.Results) != 2 || rep.Results[0].Context != "a" || rep.Results[0].Foreign != 3 || rep.Results[1].Context != "b" || rep.Results[1].Foreign != 2 {
		t.Errorf("report: %+v", rep)
	}
	for _, c := range []string{"a", "b"} {
		r = a.sync("--context", c, "--prune-orphans")
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, "poolbinding/web: +0 -0 =") || strings.Contains(r.Stdout, "orphans=") {
			t.Errorf("--context %s --prune-orphans: %s", c, r)
		}
	}
	a.wantPool(syncPool, union)

	// Cluster b scales down: its pass removes its own member only.
	b.manualSlice("web", 80, 8080, addrs("10.50", 0, 2))
	wantLine(t, a.sync("--context", "b"), 0, "poolbinding/web: +0 -1 =2 foreign=2")
	a.wantPool(syncPool, merge(owned(marker(idA, uidA), withPort(addrs("10.49", 0, 2), 8080)...),
		owned(marker(idB, uidB), withPort(addrs("10.50", 0, 2), 8080)...)))

	// One --cluster-id for several clusters would merge their identities.
	r = a.sync("--context", "a", "--context", "b", "--cluster-id", "x")
	if r.Code != 1 || !strings.Contains(r.Stderr, "--cluster-id names one cluster") {
		t.Errorf("--cluster-id with two contexts: %s", r)
	}
}
