package bindingsource

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poolsync"
	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server (etcd, kube-apiserver) of the Store tests,
// one for the package; the package fails, never skips, if it cannot start.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

// requests counts the list requests that reach the server by path.
type requests struct {
	mu     sync.Mutex
	byPath map[string]int
}

func (r *requests) count() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.byPath {
		out[k] = v
	}
	return out
}

func (r *requests) reset() {
	r.mu.Lock()
	r.byPath = map[string]int{}
	r.mu.Unlock()
}

// proxied returns a config whose requests pass a counting proxy in front
// of the real server; forbidCluster answers lists across namespaces with
// the server's own 403 shape, as an identity bound per namespace gets.
func proxied(t *testing.T, forbidCluster bool) (*rest.Config, *requests) {
	t.Helper()
	reqs := &requests{byPath: map[string]int{}}
	srv, err := cluster.Proxy(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Query().Get("watch") != "" {
			return false
		}
		reqs.mu.Lock()
		reqs.byPath[r.URL.Path]++
		reqs.mu.Unlock()
		if forbidCluster && !strings.Contains(r.URL.Path, "/namespaces/") && !strings.HasSuffix(r.URL.Path, "/nodes") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"%s is forbidden: User \"ci\" cannot list resource at the cluster scope","reason":"Forbidden","code":403}`, r.URL.Path)
			return true
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}, reqs
}

func direct() *rest.Config {
	return &rest.Config{Host: cluster.Server, BearerToken: cluster.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: cluster.CAFile}}
}

// fixtures creates, in each namespace, Services web and api (without
// selectors, so the test's EndpointSlices are the only ones) with one
// EndpointSlice each, and returns three bindings per namespace (one on a
// missing Service).
func fixtures(t *testing.T, kube kubernetes.Interface, namespaces ...string) []*lbv1.PoolBinding {
	t.Helper()
	ctx := context.Background()
	var out []*lbv1.PoolBinding
	for _, ns := range namespaces {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"web", "api"} {
			svc := service(ns, name, port(80, 8080+i, corev1.ProtocolTCP))
			svc.Spec.Selector = nil
			if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			sl := slice(ns, name, name+"-1", int32(8080+i), corev1.ProtocolTCP,
				ep(fmt.Sprintf("10.%d.0.1", i), true, true, false, "z1"), ep(fmt.Sprintf("10.%d.0.2", i), false, true, true, "z2"))
			if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, sl, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, binding(ns, "b-web", "cci/v2", "web", 80), binding(ns, "b-api", "v1", "api", 80), binding(ns, "b-gone", "v1", "absent", 80))
	}
	return out
}

func listStore(t *testing.T, cfg *rest.Config, all bool) *ListStore {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &ListStore{Typed: kube, Dynamic: dyn, Metadata: md, Mapper: serverMapper(t), AllNamespaces: all}
}

func serverMapper(t *testing.T) *restmapper.DeferredDiscoveryRESTMapper {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(direct())
	if err != nil {
		t.Fatal(err)
	}
	return restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
}

func resolveAll(r *Resolver, bs []*lbv1.PoolBinding) []poolsync.Target {
	out := make([]poolsync.Target, len(bs))
	for i, b := range bs {
		out[i] = r.Target(context.Background(), b)
	}
	return out
}

// One list per namespace and resource for a whole pass, however many
// bindings; one across namespaces with -A; per namespace again where the
// identity may not list across them.
func TestListStoreReadsOncePerNamespace(t *testing.T) {
	kube, err := kubernetes.NewForConfig(direct())
	if err != nil {
		t.Fatal(err)
	}
	bs := fixtures(t, kube, "once-a", "once-b")
	mapper := serverMapper(t)

	cfg, reqs := proxied(t, false)
	targets := resolveAll(NewResolver(mapper, listStore(t, cfg, false), ""), bs)
	want := map[string]int{
		"/api/v1/namespaces/once-a/services": 1, "/apis/discovery.k8s.io/v1/namespaces/once-a/endpointslices": 1,
		"/api/v1/namespaces/once-b/services": 1, "/apis/discovery.k8s.io/v1/namespaces/once-b/endpointslices": 1,
	}
	if got := reqs.count(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests per namespace: %v, want %v", got, want)
	}
	for _, tg := range targets {
		if tg.Binding.Name == "b-gone" {
			if tg.ResolveErr == nil {
				t.Errorf("%s resolved without its Service", tg.Binding.Name)
			}
			continue
		}
		if tg.ResolveErr != nil || len(tg.Endpoints) != 1 || len(tg.Draining) != 1 {
			t.Errorf("%s/%s: endpoints %v draining %v err %v", tg.Binding.Namespace, tg.Binding.Name, tg.Endpoints, tg.Draining, tg.ResolveErr)
		}
	}

	cfg, reqs = proxied(t, false)
	resolveAll(NewResolver(mapper, listStore(t, cfg, true), ""), bs)
	want = map[string]int{"/api/v1/services": 1, "/apis/discovery.k8s.io/v1/endpointslices": 1}
	if got := reqs.count(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests with -A: %v, want %v", got, want)
	}

	cfg, reqs = proxied(t, true)
	store := listStore(t, cfg, true)
	forbidden := resolveAll(NewResolver(mapper, store, ""), bs)
	want = map[string]int{
		"/api/v1/services": 1, "/apis/discovery.k8s.io/v1/endpointslices": 1,
		"/api/v1/namespaces/once-a/services": 1, "/apis/discovery.k8s.io/v1/namespaces/once-a/endpointslices": 1,
		"/api/v1/namespaces/once-b/services": 1, "/apis/discovery.k8s.io/v1/namespaces/once-b/endpointslices": 1,
	}
	if got := reqs.count(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests with -A, cross-namespace lists forbidden: %v, want %v", got, want)
	}
	if w := store.Warnings(); len(w) != 2 || !strings.Contains(w[0], "listing each namespace on its own") {
		t.Errorf("warnings %q, want one per refused resource", w)
	}
	if !reflect.DeepEqual(forbidden, targets) {
		t.Error("the per-namespace fallback resolved the bindings otherwise than per-namespace lists")
	}
}

// The controller's caches and the one-shot pass's lists resolve the same
// state to the same targets.
func TestListerStoreMatchesListStore(t *testing.T) {
	kube, err := kubernetes.NewForConfig(direct())
	if err != nil {
		t.Fatal(err)
	}
	bs := fixtures(t, kube, "same-a", "same-b")
	mapper := serverMapper(t)
	fromLists := resolveAll(NewResolver(mapper, listStore(t, direct(), true), ""), bs)

	factory := informers.NewSharedInformerFactory(kube, 0)
	ls := &ListerStore{
		ServiceLister: factory.Core().V1().Services().Lister(),
		SliceLister:   SlicesByLabel{factory.Discovery().V1().EndpointSlices().Lister()},
		NodesErr:      ErrNodesUnavailable,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("cache of %v did not sync", typ)
		}
	}
	fromCaches := resolveAll(NewResolver(mapper, ls, ""), bs)
	for i := range bs {
		if !reflect.DeepEqual(fromLists[i], fromCaches[i]) {
			t.Errorf("%s/%s:\n lists  %+v\n caches %+v", bs[i].Namespace, bs[i].Name, fromLists[i], fromCaches[i])
		}
	}
}
