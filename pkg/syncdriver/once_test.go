package syncdriver

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// These tests drive the one-shot pass without an API server: the
// PoolBindings come from a list in memory and the Services and
// EndpointSlices from client-go's cache indexers (bindingsource's
// ListerStore, as the controller reads them); the ELB is the emulator.

const project = "0123456789abcdef0123456789abcdef"

// world is one cluster in memory and the ELB emulators of its regions.
type world struct {
	t        *testing.T
	bindings []*lbv1.PoolBinding
	services cache.Indexer
	slices   cache.Indexer
	elbs     map[string]*elbemulator.Emulator // by region, "" = the pass's own
	// asked counts the ELB clients built, by region.
	mu    sync.Mutex
	asked map[string]int
	// identities counts the reads of the cluster identity.
	identities int
	warnings   []string
}

func newWorld(t *testing.T, regions ...string) *world {
	idx := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	w := &world{t: t, services: idx(), slices: idx(), elbs: map[string]*elbemulator.Emulator{}, asked: map[string]int{}}
	for _, r := range append([]string{""}, regions...) {
		w.elbs[r] = elbemulator.New(elbemulator.Options{ProjectID: project, MemberQuota: 1000})
	}
	return w
}

// service adds Service ns/name (port 80 → 8080) and its EndpointSlice
// with ready endpoints at addrs.
func (w *world) service(ns, name string, addrs ...string) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080), Protocol: corev1.ProtocolTCP}}}}
	port, proto, ready := int32(8080), corev1.ProtocolTCP, true
	sl := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Port: &port, Protocol: &proto}}}
	for _, a := range addrs {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	if err := w.services.Add(svc); err != nil {
		w.t.Fatal(err)
	}
	if err := w.slices.Add(sl); err != nil {
		w.t.Fatal(err)
	}
}

// binding adds PoolBinding ns/name of Service svc port 80 to a new pool in
// region's ELB, with annotations.
func (w *world) binding(ns, name, svc, region string, annotations map[string]string) string {
	pool := fmt.Sprintf("%08x-0000-4000-8000-000000000000", len(w.bindings)+1)
	w.elbs[region].CreatePool(elb.Pool{ID: pool, Listeners: []elb.Ref{{ID: "l"}}})
	w.bindings = append(w.bindings, &lbv1.PoolBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", len(w.bindings)+1)),
			Labels: map[string]string{"team": name}, Annotations: annotations},
		Spec: lbv1.PoolBindingSpec{PoolRef: lbv1.PoolRef{ID: pool}, TargetRef: lbv1.TargetRef{Kind: "Service", Name: svc, Port: 80}}})
	return pool
}

// driver is the one-shot driver over the world, built as New builds it
// but from the memory: cfg stands for the context's config (its host and
// iam auth-provider block).
func (w *world) driver(o Options, cfg *rest.Config) *Driver {
	w.t.Helper()
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range []string{"Service", "Pod", "Node"} {
		m.Add(schema.GroupVersionKind{Version: "v1", Kind: k}, meta.RESTScopeNamespace)
	}
	m.Add(schema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"}, meta.RESTScopeNamespace)
	if o.Policy.Concurrency == 0 {
		o.Policy.Concurrency = 4
	}
	o.Warn = func(s string) { w.warnings = append(w.warnings, s) }
	o.NewELBClient = func(ctx context.Context, eo elbconfig.Options, region string) (elb.Client, error) {
		w.mu.Lock()
		w.asked[region]++
		w.mu.Unlock()
		emu := w.elbs[region]
		if emu == nil {
			return nil, fmt.Errorf("no ELB in region %s", region)
		}
		srv := httptest.NewServer(emu)
		w.t.Cleanup(srv.Close)
		return elb.New(elb.Config{Endpoint: srv.URL, ProjectID: project})
	}
	sel, err := parseSelector(o.LabelSelector)
	if err != nil {
		w.t.Fatal(err)
	}
	d := &Driver{opts: o, cfg: cfg, Mapper: m, PoolBindings: lbv1.SchemeGroupVersion.WithResource("poolbindings"), Selector: sel}
	d.identity = func(ctx context.Context) (string, error) {
		w.identities++
		return bindingsource.ClusterIdentity(ctx, nil, o.ClusterID, cfg) // o.ClusterID is set: no read
	}
	d.setELB(elbOptionsFor(o.ELB, cfg))
	store := &bindingsource.ListerStore{
		ServiceLister: corelisters.NewServiceLister(w.services),
		SliceLister:   bindingsource.SlicesByLabel{Lister: discoverylisters.NewEndpointSliceLister(w.slices)},
		NodesErr:      bindingsource.ErrNodesUnavailable,
	}
	d.reads = &Reads{
		Bindings: func(context.Context) ([]unstructured.Unstructured, error) {
			var all []unstructured.Unstructured
			for _, b := range w.bindings {
				if ns := d.listNamespace(); ns != "" && b.Namespace != ns {
					continue // a list of the pass's namespace
				}
				m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(b)
				if err != nil {
					return nil, err
				}
				u := unstructured.Unstructured{Object: m}
				u.SetAPIVersion(lbv1.SchemeGroupVersion.String())
				u.SetKind(lbv1.Kind)
				all = append(all, u)
			}
			return all, nil
		},
		Store: store,
		Fresh: func() bindingsource.Store { return store },
	}
	return d
}

var local = &rest.Config{Host: "https://127.0.0.1:6443"}

// members are pool's members in region as "address:port marker", sorted.
func (w *world) members(region, pool string) []string {
	var out []string
	for _, m := range w.elbs[region].Members(pool) {
		out = append(out, fmt.Sprintf("%s:%d %s", m.Address, m.ProtocolPort, m.Name))
	}
	slices.Sort(out)
	return out
}

func lines(results []poolsync.Result) string {
	var s []string
	for _, r := range results {
		s = append(s, r.Line())
	}
	return strings.Join(s, "\n")
}

// Bindings in, members out: each selected binding's pool gets its
// Service's ready endpoints, marked with this cluster and binding, at the
// documented minimum of calls; a second pass changes nothing.
func TestRunOnceBindingsInMembersOut(t *testing.T) {
	w := newWorld(t)
	w.service("shop", "web", "10.0.0.1", "10.0.0.2")
	w.service("shop", "api", "10.0.1.1")
	poolWeb := w.binding("shop", "web", "web", "", nil)
	poolAPI := w.binding("shop", "api", "api", "", nil)
	w.binding("other", "elsewhere", "web", "", nil) // another namespace: not this pass's
	d := w.driver(Options{Namespace: "shop", ClusterID: "unit", NoStatus: true}, local)

	p, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lines(p.Results), "poolbinding/web: +2 -0 =0 foreign=0\npoolbinding/api: +1 -0 =0 foreign=0"; got != want {
		t.Errorf("results\n%s\nwant\n%s", got, want)
	}
	marker := func(name string, i int) string {
		return poolsync.Marker(poolsync.Owner{Cluster: "unit", Namespace: "shop", Name: name, UID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i)})
	}
	if got, want := w.members("", poolWeb), []string{"10.0.0.1:8080 " + marker("web", 1), "10.0.0.2:8080 " + marker("web", 1)}; !slices.Equal(got, want) {
		t.Errorf("pool of web: %q, want %q", got, want)
	}
	if got, want := w.members("", poolAPI), []string{"10.0.1.1:8080 " + marker("api", 2)}; !slices.Equal(got, want) {
		t.Errorf("pool of api: %q, want %q", got, want)
	}
	c := w.elbs[""].Counts()
	if c[elbemulator.OpGetPool] != 2 || c[elbemulator.OpListMembers] != 2 || c[elbemulator.OpBatchAddMembers] != 2 || c[elbemulator.OpGetQuota] != 1 {
		t.Errorf("calls %v, want per binding one GetPool, ListMembers, batch-add, and one quota read", c)
	}
	if w.asked[""] != 1 || len(w.asked) != 1 || w.identities != 1 {
		t.Errorf("ELB clients built %v, identity read %d times; want one client, one read", w.asked, w.identities)
	}

	w.elbs[""].ResetCounts()
	p, err = w.driver(Options{Namespace: "shop", ClusterID: "unit", NoStatus: true}, local).RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lines(p.Results), "poolbinding/web: +0 -0 =2 foreign=0\npoolbinding/api: +0 -0 =1 foreign=0"; got != want {
		t.Errorf("second pass\n%s\nwant\n%s", got, want)
	}
	if c := w.elbs[""].Counts(); c[elbemulator.OpBatchAddMembers]+c[elbemulator.OpBatchDeleteMembers]+c[elbemulator.OpBatchUpdateMembers] != 0 {
		t.Errorf("second pass wrote: %v", c)
	}
}

// -l and names select; the other bindings still own their members (no
// orphans); a dry run plans without writing; nothing selected reads
// neither the cluster identity nor the ELB.
func TestRunOnceSelection(t *testing.T) {
	w := newWorld(t)
	w.service("shop", "web", "10.0.0.1")
	poolA := w.binding("shop", "a", "web", "", nil)
	poolB := w.binding("shop", "b", "web", "", nil)

	p, err := w.driver(Options{Namespace: "shop", LabelSelector: "team=a", ClusterID: "unit", Policy: poolsync.Policy{DryRun: true}}, local).RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Results) != 1 || p.Results[0].Name != "a" || p.Results[0].State != poolsync.StatePending {
		t.Errorf("dry run of -l team=a: %s", lines(p.Results))
	}
	if n := len(w.members("", poolA)); n != 0 {
		t.Errorf("a dry run wrote %d members", n)
	}

	p, err = w.driver(Options{Namespace: "shop", Names: []string{"b"}, ClusterID: "unit", NoStatus: true}, local).RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if lines(p.Results) != "poolbinding/b: +1 -0 =0 foreign=0" || len(w.members("", poolB)) != 1 || len(w.members("", poolA)) != 0 {
		t.Errorf("sync b: %s; pools a %q b %q", lines(p.Results), w.members("", poolA), w.members("", poolB))
	}

	w.identities, w.asked = 0, map[string]int{}
	p, err = w.driver(Options{Namespace: "shop", LabelSelector: "team=nobody", ClusterID: "unit"}, local).RunOnce(context.Background())
	if err != nil || p.Results != nil {
		t.Fatalf("nothing selected: %v %v", p, err)
	}
	if w.identities != 0 || len(w.asked) != 0 {
		t.Errorf("nothing selected, yet identity read %d times and ELB clients %v", w.identities, w.asked)
	}
}

// The pass's own region named only by the iam auth-provider's
// project-name: a binding annotated with that region uses the pass's own
// client (one client, one quota read); a binding of another region uses
// that region's; results keep the bindings' order.
func TestRunOnceRegions(t *testing.T) {
	w := newWorld(t, "cn-south-1")
	w.service("shop", "web", "10.0.0.1")
	own := w.binding("shop", "plain", "web", "", nil)
	same := w.binding("shop", "same", "web", "", map[string]string{lbv1.RegionAnnotation: "cn-north-4"})
	south := w.binding("shop", "south", "web", "cn-south-1", map[string]string{lbv1.RegionAnnotation: "cn-south-1"})
	cfg := &rest.Config{Host: "https://127.0.0.1:6443", AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "iam",
		Config: map[string]string{"project-name": "cn-north-4", "ak": "UNITTESTAK00000000AK", "sk": "unit-test-secret-key"}}}
	t.Setenv("HW_REGION_NAME", "")
	d := w.driver(Options{Namespace: "shop", ClusterID: "unit", NoStatus: true}, cfg)
	if d.OwnRegion != "cn-north-4" {
		t.Fatalf("own region %q, want the project-name's", d.OwnRegion)
	}
	p, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Results {
		got = append(got, r.Name+"@"+r.Region+" "+r.State)
	}
	if want := []string{"plain@ Synced", "same@cn-north-4 Synced", "south@cn-south-1 Synced"}; !slices.Equal(got, want) || p.OwnRegion != "cn-north-4" {
		t.Errorf("results %q (own region %q), want %q", got, p.OwnRegion, want)
	}
	if len(w.asked) != 2 || w.asked[""] != 1 || w.asked["cn-south-1"] != 1 {
		t.Errorf("ELB clients built %v, want one of the pass's own region and one of cn-south-1", w.asked)
	}
	for _, pool := range []string{own, same} {
		if len(w.members("", pool)) != 1 {
			t.Errorf("own region's pool %s: %q", pool, w.members("", pool))
		}
	}
	if len(w.members("cn-south-1", south)) != 1 {
		t.Errorf("cn-south-1's pool: %q", w.members("cn-south-1", south))
	}
	if n := w.elbs[""].Counts()[elbemulator.OpGetQuota]; n != 1 {
		t.Errorf("own region's quota read %d times, want once", n)
	}
}

// A region whose client cannot be built fails the pass before any write,
// naming the region and its bindings.
func TestRunOnceRegionClientFails(t *testing.T) {
	w := newWorld(t)
	w.service("shop", "web", "10.0.0.1")
	own := w.binding("shop", "plain", "web", "", nil)
	w.bindings = append(w.bindings, &lbv1.PoolBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "far", UID: "00000000-0000-4000-8000-000000000009",
			Annotations: map[string]string{lbv1.RegionAnnotation: "ap-southeast-1"}},
		Spec: lbv1.PoolBindingSpec{PoolRef: lbv1.PoolRef{ID: "09090909-0000-4000-8000-000000000000"}, TargetRef: lbv1.TargetRef{Kind: "Service", Name: "web", Port: 80}}})
	_, err := w.driver(Options{Namespace: "shop", ClusterID: "unit", NoStatus: true}, local).RunOnce(context.Background())
	if err == nil || err.Error() != "ELB client of region ap-southeast-1 (bindings shop/far): no ELB in region ap-southeast-1" {
		t.Errorf("error %v", err)
	}
	if n := len(w.members("", own)); n != 0 {
		t.Errorf("the pass wrote %d members before failing", n)
	}
}

// The flags' ELB options get the cluster's address and the current user's
// iam auth-provider block (a copy); a user without one has none.
func TestELBOptionsFromConfig(t *testing.T) {
	block := map[string]string{"ak": "UNITTESTAK00000000AK", "sk": "unit-test-secret-key", "project-name": "cn-north-4"}
	eo := elbOptionsFor(elbconfig.Options{Region: "cn-south-1"}, &rest.Config{Host: "https://cci.cn-north-4.myhuaweicloud.com",
		AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "iam", Config: block}})
	if eo.Region != "cn-south-1" || eo.ClusterAddress != "https://cci.cn-north-4.myhuaweicloud.com" || !maps.Equal(eo.IAMProvider, block) {
		t.Errorf("options %+v", eo)
	}
	eo.IAMProvider["ak"] = "changed"
	if block["ak"] == "changed" {
		t.Error("the options share the config's map")
	}
	if eo := elbOptionsFor(elbconfig.Options{}, &rest.Config{Host: "https://h", BearerToken: "t"}); eo.IAMProvider != nil {
		t.Errorf("IAMProvider %v for a user without an iam block", eo.IAMProvider)
	}
}
