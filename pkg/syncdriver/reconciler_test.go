package syncdriver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/record"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/poolsync"
	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server of these tests (bindings, finalizers,
// statuses); the package fails, never skips, if it cannot start.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

const (
	token  = "unit-elb-token"
	poolID = "a1b2c3d4-0000-4000-8000-000000000001"
)

var plbGVR = lbv1.SchemeGroupVersion.WithResource(lbv1.Resource)

type tokenTransport struct{ next http.RoundTripper }

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Auth-Token", token)
	return t.next.RoundTrip(r)
}

type env struct {
	t      *testing.T
	ns     string
	kube   kubernetes.Interface
	dyn    dynamic.Interface
	emu    *elbemulator.Emulator
	events *record.FakeRecorder
	rec    *Reconciler
	// requests counts the API requests on PoolBindings by method and
	// response code ("PUT 409"), with "/status" for the subresource.
	requests *requestCounter
}

type requestCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *requestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil && strings.Contains(r.URL.Path, "/"+lbv1.Resource+"/") {
		k := fmt.Sprintf("%s %d", r.Method, resp.StatusCode)
		if strings.HasSuffix(r.URL.Path, "/status") {
			k += " /status"
		}
		c.mu.Lock()
		c.n[k]++
		c.mu.Unlock()
	}
	return resp, err
}

// take returns the counts so far and starts again.
func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// newEnv makes a namespace with Service web (one ready endpoint,
// 10.40.0.1:8080, from an EndpointSlice the test writes) and a Reconciler
// that reads the real server directly, as the controller reads its caches.
func newEnv(t *testing.T, ns string, pool elb.Pool) *env {
	t.Helper()
	cfg := &rest.Config{Host: cluster.Server, BearerToken: cluster.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: cluster.CAFile}}
	kube := kubernetes.NewForConfigOrDie(cfg)
	counted := rest.CopyConfig(cfg)
	requests := &requestCounter{n: map[string]int{}}
	counted.Wrap(func(rt http.RoundTripper) http.RoundTripper { requests.next = rt; return requests })
	dyn := dynamic.NewForConfigOrDie(counted)
	md := metadata.NewForConfigOrDie(cfg)
	dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready, name, port, proto := true, "http", int32(8080), corev1.ProtocolTCP
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1", Labels: map[string]string{
			discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "unit-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.40.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
	if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, sl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	emu := elbemulator.New(elbemulator.Options{ProjectID: project, Token: token, MemberQuota: 1000})
	emu.CreatePool(pool)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := elb.New(elb.Config{Endpoint: srv.URL, ProjectID: project, Transport: tokenTransport{srv.Client().Transport},
		Retry: elb.RetryPolicy{MaxAttempts: 2, Initial: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ns: ns, kube: kube, dyn: dyn, emu: emu, events: record.NewFakeRecorder(100), requests: requests}
	get := func(ns, name string) (*lbv1.PoolBinding, error) {
		u, err := dyn.Resource(plbGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var b lbv1.PoolBinding
		return &b, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &b)
	}
	list := func() ([]*lbv1.PoolBinding, error) {
		list, err := dyn.Resource(plbGVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []*lbv1.PoolBinding
		for i := range list.Items {
			var b lbv1.PoolBinding
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &b); err != nil {
				return nil, err
			}
			out = append(out, &b)
		}
		return out, nil
	}
	e.rec = NewReconciler(ReconcilerConfig{
		Binding: get,
		// The controller answers these from its cache's indexes; here a
		// list of the namespace, filtered.
		PoolBindings: func(id string) ([]*lbv1.PoolBinding, error) {
			all, err := list()
			var out []*lbv1.PoolBinding
			for _, b := range all {
				if b.Spec.PoolRef.ID == id {
					out = append(out, b)
				}
			}
			return out, err
		},
		HasBinding: func(uid string) bool {
			all, err := list()
			if err != nil {
				t.Errorf("HasBinding: %v", err)
			}
			return slices.ContainsFunc(all, func(b *lbv1.PoolBinding) bool { return string(b.UID) == uid })
		},
		Namespaces: []string{ns},
		Store:      &bindingsource.ListStore{Typed: kube, Dynamic: dyn, Metadata: md, Mapper: mapper},
		Mapper:     mapper,
		ELB:        func(context.Context, string) (elb.Client, error) { return c, nil },
		Policy:     poolsync.Policy{ClusterID: "unit-cluster"},
		Dynamic:    dyn,
		GVR:        plbGVR,
		Recorder:   e.events,
	})
	return e
}

// binding creates PoolBinding name of Service web on the pool.
func (e *env) binding(name, pool string) {
	e.t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": lbv1.SchemeGroupVersion.String(), "kind": lbv1.Kind,
		"metadata": map[string]any{"name": name, "namespace": e.ns},
		"spec": map[string]any{"poolRef": map[string]any{"id": pool},
			"targetRef": map[string]any{"kind": "Service", "group": "v1", "name": "web", "port": int64(80)}},
	}}
	if _, err := e.dyn.Resource(plbGVR).Namespace(e.ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) reconcile(name string) reconciled {
	e.t.Helper()
	return e.rec.sync(context.Background(), e.ns, name)
}

func (e *env) get(name string) (*unstructured.Unstructured, error) {
	return e.dyn.Resource(plbGVR).Namespace(e.ns).Get(context.Background(), name, metav1.GetOptions{})
}

func (e *env) delete(name string) {
	e.t.Helper()
	if err := e.dyn.Resource(plbGVR).Namespace(e.ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// event returns the next recorded Event ("Type Reason message"), or "".
func (e *env) event() string {
	select {
	case ev := <-e.events.Events:
		return ev
	default:
		return ""
	}
}

func (e *env) addresses() []string {
	var out []string
	for _, m := range e.emu.Members(poolID) {
		out = append(out, fmt.Sprintf("%s:%d %s", m.Address, m.ProtocolPort, m.Name))
	}
	return out
}

func TestReconcileAddsFinalizerThenSyncs(t *testing.T) {
	e := newEnv(t, "rec-sync", elb.Pool{ID: poolID})
	e.binding("b", poolID)
	e.requests.take()
	out := e.reconcile("b")
	if out.Err != nil || out.Result == nil || out.Result.State != poolsync.StateSynced || out.Result.Added != 1 {
		t.Fatalf("outcome %+v %v", out.Result, out.Err)
	}
	// The status goes onto the binding as the finalizer patch returned it:
	// one write, no conflict with the cached (older) version and re-read.
	// The GET is the test's Binding func reading the server.
	if got, want := e.requests.take(), map[string]int{"GET 200": 1, "PATCH 200": 1, "PUT 200 /status": 1}; !maps.Equal(got, want) {
		t.Errorf("first reconcile: binding requests %v, want %v", got, want)
	}
	u, err := e.get("b")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.GetFinalizers(); len(got) != 1 || got[0] != lbv1.MembersFinalizer {
		t.Errorf("finalizers %v, want [%s]", got, lbv1.MembersFinalizer)
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	if len(conds) == 0 || conds[0].(map[string]any)["status"] != "True" {
		t.Errorf("status conditions %v, want Synced=True", conds)
	}
	if ev := e.event(); !strings.HasPrefix(ev, "Normal Synced ") {
		t.Errorf("event %q, want Normal Synced", ev)
	}
	// Nothing to change: no Event (a resync must not flood them).
	if out := e.reconcile("b"); out.Err != nil || out.Result.State != poolsync.StateInSync {
		t.Errorf("second reconcile %+v %v", out.Result, out.Err)
	}
	if ev := e.event(); ev != "" {
		t.Errorf("event %q for a pass that changed nothing", ev)
	}
	if got := e.addresses(); len(got) != 1 || !strings.HasPrefix(got[0], "10.40.0.1:8080 ccictl:unit-cluster:rec-sync/b:") {
		t.Errorf("pool %v", got)
	}
}

// A deleted binding's own members go, foreign ones stay, then the
// finalizer goes and with it the binding.
func TestReconcileDeletedBindingRemovesItsMembers(t *testing.T) {
	e := newEnv(t, "rec-delete", elb.Pool{ID: poolID})
	e.binding("b", poolID)
	if out := e.reconcile("b"); out.Err != nil {
		t.Fatal(out.Err)
	}
	if _, err := e.emu.AddMemberDirect(poolID, elb.Member{Name: "hand-made", Address: "10.40.9.9", ProtocolPort: 8080}); err != nil {
		t.Fatal(err)
	}
	e.delete("b")
	out := e.reconcile("b")
	if out.Err != nil || out.Result == nil || out.Result.Removed != 1 {
		t.Fatalf("cleanup %+v %v", out.Result, out.Err)
	}
	if got := e.addresses(); len(got) != 1 || got[0] != "10.40.9.9:8080 hand-made" {
		t.Errorf("pool after cleanup %v, want only the foreign member", got)
	}
	if _, err := e.get("b"); !apierrors.IsNotFound(err) {
		t.Errorf("binding still there after its finalizer should have gone: %v", err)
	}
	_ = e.event() // the Synced event of the first pass
	if ev := e.event(); !strings.HasPrefix(ev, "Normal MembersRemoved removed 1 member(s)") {
		t.Errorf("event %q, want Normal MembersRemoved", ev)
	}
	// Gone from the cache: nothing to do.
	if out := e.reconcile("b"); out.Err != nil || out.Result != nil {
		t.Errorf("reconcile of a gone binding: %+v %v", out.Result, out.Err)
	}
}

// A pool that is gone, or refuses removals, cannot be cleaned: the
// finalizer goes anyway, with a Warning saying why, so the binding is not
// stuck in deletion forever.
func TestReconcileDeletedBindingNotCleanable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pool   elb.Pool
		bindTo string
		reason string
		left   int
	}{
		{"pool gone", elb.Pool{ID: poolID}, "a1b2c3d4-0000-4000-8000-00000000dead", poolsync.ReasonPoolNotFound, 0},
		{"deletion protected", elb.Pool{ID: poolID, MemberDeletionProtectionEnable: true}, poolID, poolsync.ReasonDeletionProtected, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "rec-"+strings.ReplaceAll(tc.name, " ", "-"), tc.pool)
			e.binding("b", tc.bindTo)
			e.reconcile("b")
			e.delete("b")
			out := e.reconcile("b")
			if out.Err != nil {
				t.Fatalf("cleanup error %v; the finalizer must go", out.Err)
			}
			if _, err := e.get("b"); !apierrors.IsNotFound(err) {
				t.Errorf("binding not released: %v", err)
			}
			if got := e.addresses(); len(got) != tc.left {
				t.Errorf("pool %v, want %d member(s) left", got, tc.left)
			}
			var warned bool
			for ev := e.event(); ev != ""; ev = e.event() {
				warned = warned || strings.HasPrefix(ev, "Warning "+tc.reason+" finalizer removed without removing members")
			}
			if !warned {
				t.Errorf("no Warning %s saying the finalizer went without cleanup", tc.reason)
			}
		})
	}
}

// Any other failure keeps the finalizer and asks for a retry.
func TestReconcileDeletedBindingRetriesOnELBErrors(t *testing.T) {
	e := newEnv(t, "rec-retry", elb.Pool{ID: poolID})
	e.binding("b", poolID)
	if out := e.reconcile("b"); out.Err != nil {
		t.Fatal(out.Err)
	}
	e.delete("b")
	e.emu.SetFaults(elbemulator.Faults{FailEvery: 1})
	if out := e.reconcile("b"); out.Err == nil {
		t.Fatalf("cleanup against a failing ELB: no error (%+v)", out.Result)
	}
	u, err := e.get("b")
	if err != nil || len(u.GetFinalizers()) != 1 {
		t.Fatalf("binding %v, err %v: the finalizer must stay until the members are removed", u, err)
	}
	e.emu.SetFaults(elbemulator.Faults{})
	if out := e.reconcile("b"); out.Err != nil {
		t.Fatalf("retry: %v", out.Err)
	}
	if got := e.addresses(); len(got) != 0 {
		t.Errorf("pool after the retry %v", got)
	}
}

// API Gateway's 404 APIGW.0101 (a wrong endpoint or region) says nothing
// about the pool: the deleted binding keeps its finalizer and its members
// stay listed for removal, which happens once the ELB answers again.
func TestReconcileDeletedBindingGatewayNotFoundKeepsFinalizer(t *testing.T) {
	e := newEnv(t, "rec-gateway-404", elb.Pool{ID: poolID})
	e.binding("b", poolID)
	if out := e.reconcile("b"); out.Err != nil {
		t.Fatal(out.Err)
	}
	e.delete("b")
	e.emu.SetFaults(elbemulator.Faults{NoAPIFirst: 1000})
	out := e.reconcile("b")
	if out.Err == nil || out.Result == nil || out.Result.Reason != poolsync.ReasonELBError || !strings.Contains(out.Result.Message, "APIGW.0101") {
		t.Fatalf("cleanup against a gateway 404: %+v %v; want an ELBError to retry", out.Result, out.Err)
	}
	if u, err := e.get("b"); err != nil || len(u.GetFinalizers()) != 1 {
		t.Fatalf("binding %v, err %v: the finalizer must stay", u, err)
	}
	if got := e.addresses(); len(got) != 1 {
		t.Fatalf("pool %v: the member must stay until it is removed", got)
	}
	e.emu.SetFaults(elbemulator.Faults{})
	if out := e.reconcile("b"); out.Err != nil || out.Result.Removed != 1 {
		t.Fatalf("retry: %+v %v", out.Result, out.Err)
	}
	if _, err := e.get("b"); !apierrors.IsNotFound(err) {
		t.Errorf("binding not released after its members were removed: %v", err)
	}
}

// Deleting one of two bindings of a pool that want the same endpoint hands
// its member over to the other (a rename), never removes it: the endpoint
// keeps its traffic through the deletion.
func TestReconcileDeletedBindingHandsOverSharedMembers(t *testing.T) {
	e := newEnv(t, "rec-handover", elb.Pool{ID: poolID})
	e.binding("first", poolID)
	if out := e.reconcile("first"); out.Err != nil || out.Result.Added != 1 {
		t.Fatalf("first pass %+v %v", out.Result, out.Err)
	}
	e.binding("second", poolID)
	if out := e.reconcile("second"); out.Err != nil || out.Result.Added != 0 {
		t.Fatalf("second binding's pass %+v %v: the endpoint is first's member", out.Result, out.Err)
	}
	e.delete("first")
	e.emu.ResetCounts()
	if out := e.reconcile("first"); out.Err != nil {
		t.Fatalf("cleanup: %v", out.Err)
	}
	got := e.addresses()
	if len(got) != 1 || !strings.HasPrefix(got[0], "10.40.0.1:8080 ccictl:unit-cluster:rec-handover/second:") {
		t.Errorf("pool after deleting first: %v, want its member handed over to second", got)
	}
	if n := e.emu.Counts()[elbemulator.OpBatchDeleteMembers]; n != 0 {
		t.Errorf("%d batch-delete(s): the shared endpoint's member must be renamed, not removed", n)
	}
	if _, err := e.get("first"); !apierrors.IsNotFound(err) {
		t.Errorf("first not released: %v", err)
	}
}

// The first pass continues with the object its finalizer patch returned.
// That is only the object the pass read because the patch carries the
// read's resourceVersion: a second writer that changed the binding after
// the cache read (here its weight annotation) makes the patch a conflict,
// and the pass writes no member and no status from the stale read.
func TestReconcileStaleReadIsAConflict(t *testing.T) {
	e := newEnv(t, "rec-stale", elb.Pool{ID: poolID})
	e.binding("b", poolID)
	u, err := e.get("b")
	if err != nil {
		t.Fatal(err)
	}
	var stale lbv1.PoolBinding
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &stale); err != nil {
		t.Fatal(err)
	}
	fresh := e.rec.cfg.Binding
	e.rec.cfg.Binding = func(string, string) (*lbv1.PoolBinding, error) { return stale.DeepCopy(), nil }
	u.SetAnnotations(map[string]string{lbv1.WeightAnnotation: "0"})
	if _, err := e.dyn.Resource(plbGVR).Namespace(e.ns).Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.requests.take()
	out := e.reconcile("b")
	if out.Err == nil || !apierrors.IsConflict(errors.Unwrap(out.Err)) {
		t.Fatalf("reconcile from a stale read: %v, want a conflict on the finalizer patch", out.Err)
	}
	if got := e.addresses(); len(got) != 0 {
		t.Errorf("pool %v after a stale read, want empty", got)
	}
	if got := e.requests.take(); got["PUT 200 /status"] != 0 || got["PATCH 409"] != 1 {
		t.Errorf("binding requests %v, want one refused patch and no status write", got)
	}
	e.rec.cfg.Binding = fresh
	if out := e.reconcile("b"); out.Err != nil || out.Result.State != poolsync.StateSynced {
		t.Fatalf("reconcile from a fresh read: %+v %v", out.Result, out.Err)
	}
	if got := e.addresses(); len(got) != 1 {
		t.Errorf("pool %v, want the one endpoint", got)
	}
}

// A binding whose pool ID cannot name a backend server group got the
// finalizer on its first reconcile (InvalidBinding, no ELB call, so it owns
// no member): deleting it releases it instead of retrying forever.
func TestReconcileDeletedInvalidPoolIDIsReleased(t *testing.T) {
	e := newEnv(t, "rec-invalid-pool", elb.Pool{ID: poolID})
	e.binding("b", "Pool_1")
	if out := e.reconcile("b"); out.Result == nil || out.Result.Reason != poolsync.ReasonInvalidBinding {
		t.Fatalf("first pass %+v %v, want InvalidBinding", out.Result, out.Err)
	}
	if u, err := e.get("b"); err != nil || len(u.GetFinalizers()) != 1 {
		t.Fatalf("binding %v, err %v: want the finalizer after its first reconcile", u, err)
	}
	e.delete("b")
	out := e.reconcile("b")
	if _, err := e.get("b"); !apierrors.IsNotFound(err) {
		t.Fatalf("deleted binding with an invalid pool ID not released (%+v, %v): %v", out.Result, out.Err, err)
	}
}
