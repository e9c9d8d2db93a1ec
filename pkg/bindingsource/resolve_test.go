package bindingsource

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// These tests resolve from client-go's own cache indexers (what the
// controller's informers fill), so they need no server; store_test.go
// compares both Stores on the real API server.

var cciServices = schema.GroupVersionResource{Group: "cci", Version: "v2", Resource: "services"}

// mapperFor serves core v1 Services, Pods and Nodes, plus EndpointSlices
// and CCI's cci/v2 Services and Pods where asked: the RESTMapper decides
// which path a binding takes.
func mapperFor(slices, cci bool) meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range []string{"Service", "Pod", "Node"} {
		m.Add(schema.GroupVersionKind{Version: "v1", Kind: k}, meta.RESTScopeNamespace)
	}
	if slices {
		m.Add(schema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"}, meta.RESTScopeNamespace)
	}
	if cci {
		m.Add(schema.GroupVersionKind{Group: "cci", Version: "v2", Kind: "Service"}, meta.RESTScopeNamespace)
		m.Add(schema.GroupVersionKind{Group: "cci", Version: "v2", Kind: "Pod"}, meta.RESTScopeNamespace)
	}
	return m
}

type caches struct {
	services, slices, pods, cciServices cache.Indexer
}

func newCaches() *caches {
	idx := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	return &caches{services: idx(), slices: idx(), pods: idx(), cciServices: idx()}
}

func (c *caches) store() *ListerStore {
	return &ListerStore{
		ServiceLister:  corelisters.NewServiceLister(c.services),
		SliceLister:    SlicesByLabel{discoverylisters.NewEndpointSliceLister(c.slices)},
		PodLister:      corelisters.NewPodLister(c.pods),
		GenericListers: map[schema.GroupVersionResource]cache.GenericLister{cciServices: cache.NewGenericLister(c.cciServices, cciServices.GroupResource())},
		NodesErr:       ErrNodesUnavailable,
	}
}

func service(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: ports}}
}

func port(p int32, target int, proto corev1.Protocol) corev1.ServicePort {
	return corev1.ServicePort{Port: p, TargetPort: intstr.FromInt(target), Protocol: proto}
}

func slice(ns, svc, name string, port int32, proto corev1.Protocol, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: &port, Protocol: &proto}},
		Endpoints:   eps,
	}
}

func ep(addr string, ready, serving, terminating bool, zone string) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating}}
	if zone != "" {
		e.Zone = &zone
	}
	return e
}

func readyPod(ns, name, app, ip string, zone string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	if zone != "" {
		p.Labels[lbv1.ZoneLabel] = zone
	}
	return p
}

func binding(ns, name, group, svc string, port int32) *lbv1.PoolBinding {
	return &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: lbv1.PoolBindingSpec{PoolRef: lbv1.PoolRef{ID: "pool-" + name},
			TargetRef: lbv1.TargetRef{Kind: "Service", Group: group, Name: svc, Port: port}}}
}

func addrs(eps []endpoints.Endpoint) string {
	var s []string
	for _, e := range eps {
		s = append(s, e.Address+":"+itoa(e.Port))
	}
	return strings.Join(s, ",")
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestTargetFromEndpointSlices(t *testing.T) {
	c := newCaches()
	must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
	must(t, c.slices.Add(slice("ns", "web", "web-1", 8080, corev1.ProtocolTCP,
		ep("10.0.0.2", true, true, false, "z1"), ep("10.0.0.1", true, true, false, "z2"),
		ep("10.0.0.3", false, true, true, "z1"),   // terminating but serving: drained
		ep("10.0.0.4", false, false, false, "z1"), // listed, not ready: lingering
	)))
	// Another Service's slice in the same namespace is not this binding's.
	must(t, c.slices.Add(slice("ns", "other", "other-1", 8080, corev1.ProtocolTCP, ep("10.9.9.9", true, true, false, ""))))
	r := NewResolver(mapperFor(true, false), c.store(), "")
	tg := r.Target(context.Background(), binding("ns", "b", "cci/v2", "web", 80))
	if tg.ResolveErr != nil {
		t.Fatal(tg.ResolveErr)
	}
	if got, want := addrs(tg.Endpoints), "10.0.0.1:8080,10.0.0.2:8080"; got != want {
		t.Errorf("endpoints %s, want %s", got, want)
	}
	if got, want := addrs(tg.Draining), "10.0.0.3:8080"; got != want {
		t.Errorf("draining %s, want %s", got, want)
	}
	if got := addrs(tg.Lingering); !strings.Contains(got, "10.0.0.4:8080") {
		t.Errorf("lingering %s, want 10.0.0.4:8080 among them", got)
	}
	if tg.ZoneEndpoints["z1"] != 1 || tg.ZoneEndpoints["z2"] != 1 || len(tg.ZoneEndpoints) != 2 {
		t.Errorf("zone endpoints %v, want z1=1 z2=1", tg.ZoneEndpoints)
	}
	if tg.SubnetCIDRID != "" {
		t.Errorf("subnet %q without annotation or override", tg.SubnetCIDRID)
	}
}

func TestTargetSubnetPrecedence(t *testing.T) {
	c := newCaches()
	must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
	b := binding("ns", "b", "v1", "web", 80)
	b.Annotations = map[string]string{lbv1.SubnetAnnotation: "subnet-annotated"}
	if got := NewResolver(mapperFor(true, false), c.store(), "").Target(context.Background(), b).SubnetCIDRID; got != "subnet-annotated" {
		t.Errorf("subnet %q, want the annotation's", got)
	}
	if got := NewResolver(mapperFor(true, false), c.store(), "subnet-flag").Target(context.Background(), b).SubnetCIDRID; got != "subnet-flag" {
		t.Errorf("subnet %q, want --subnet-id's over the annotation", got)
	}
}

func TestTargetUnresolvable(t *testing.T) {
	c := newCaches()
	must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
	wrongKind := binding("ns", "k", "v1", "web", 80)
	wrongKind.Spec.TargetRef.Kind = "Deployment"
	otherNS := binding("ns", "o", "v1", "web", 80)
	otherNS.Spec.TargetRef.Namespace = "elsewhere"
	badGroup := binding("ns", "g", "a/b/c", "web", 80)
	cases := []struct {
		name string
		b    *lbv1.PoolBinding
		is   error
		text string
	}{
		{"missing service", binding("ns", "m", "v1", "absent", 80), endpoints.ErrServiceNotFound, "service ns/absent"},
		{"missing port", binding("ns", "p", "v1", "web", 81), endpoints.ErrPortNotFound, ""},
		{"kind", wrongKind, nil, `targetRef.kind "Deployment"`},
		{"namespace", otherNS, nil, `targetRef.namespace "elsewhere" differs`},
		{"group", badGroup, nil, `targetRef.group "a/b/c"`},
	}
	r := NewResolver(mapperFor(true, false), c.store(), "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg := r.Target(context.Background(), tc.b)
			if tg.ResolveErr == nil {
				t.Fatal("resolved; want an error")
			}
			if tc.is != nil && !errors.Is(tg.ResolveErr, tc.is) {
				t.Errorf("error %v, want one wrapping %v", tg.ResolveErr, tc.is)
			}
			if !strings.Contains(tg.ResolveErr.Error(), tc.text) {
				t.Errorf("error %q, want it to contain %q", tg.ResolveErr, tc.text)
			}
			if len(tg.Endpoints) != 0 {
				t.Errorf("endpoints %v with an error", tg.Endpoints)
			}
		})
	}
}

// A server without EndpointSlices: Running, Ready pods the Service selects.
func TestTargetFromPods(t *testing.T) {
	c := newCaches()
	must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
	must(t, c.pods.Add(readyPod("ns", "web-1", "web", "10.1.0.1", "")))
	must(t, c.pods.Add(readyPod("ns", "db-1", "db", "10.1.0.9", "")))
	must(t, c.pods.Add(readyPod("other", "web-x", "web", "10.1.0.8", "")))
	r := NewResolver(mapperFor(false, false), c.store(), "")
	if r.UsesEndpointSlices() {
		t.Fatal("the mapper serves no EndpointSlices, yet the resolver would read them")
	}
	tg := r.Target(context.Background(), binding("ns", "b", "v1", "web", 80))
	if tg.ResolveErr != nil {
		t.Fatal(tg.ResolveErr)
	}
	if got, want := addrs(tg.Endpoints), "10.1.0.1:8080"; got != want {
		t.Errorf("endpoints %s, want %s (only ns's pods the selector takes)", got, want)
	}
	if tg.ZoneEndpoints != nil {
		t.Errorf("zone endpoints %v on the Pod path", tg.ZoneEndpoints)
	}
}

// Zones on the Pod path need Nodes; where they cannot be read (CCI 2.0)
// the pods' zone label decides, with one warning per pass. A node selector
// cannot do without them.
func TestTargetZonesWithoutNodes(t *testing.T) {
	c := newCaches()
	must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
	must(t, c.pods.Add(readyPod("ns", "web-1", "web", "10.1.0.1", "z1")))
	must(t, c.pods.Add(readyPod("ns", "web-2", "web", "10.1.0.2", "z2")))
	r := NewResolver(mapperFor(false, false), c.store(), "")
	for _, name := range []string{"a", "b"} {
		b := binding("ns", name, "v1", "web", 80)
		b.Annotations = map[string]string{lbv1.ZonesAnnotation: "z1"}
		tg := r.Target(context.Background(), b)
		if tg.ResolveErr != nil {
			t.Fatal(tg.ResolveErr)
		}
		if got := addrs(tg.Endpoints); got != "10.1.0.1:8080" {
			t.Errorf("%s: endpoints %s, want z1's only", name, got)
		}
	}
	if w := r.Warnings(); len(w) != 1 || !strings.Contains(w[0], lbv1.ZoneLabel) {
		t.Errorf("warnings %q, want one naming %s", w, lbv1.ZoneLabel)
	}
	sel := binding("ns", "s", "v1", "web", 80)
	sel.Annotations = map[string]string{lbv1.NodeSelectorAnnotation: "pool=a"}
	tg := r.Target(context.Background(), sel)
	if tg.ResolveErr == nil || !strings.Contains(tg.ResolveErr.Error(), lbv1.NodeSelectorAnnotation) || !errors.Is(tg.ResolveErr, ErrNodesUnavailable) {
		t.Errorf("node-selector binding without Nodes: %v", tg.ResolveErr)
	}
}

// 53/TCP and 53/UDP: both are resolved; the pool's protocol picks later.
func TestTargetPortChoices(t *testing.T) {
	c := newCaches()
	must(t, c.services.Add(service("ns", "dns", port(53, 5353, corev1.ProtocolTCP), port(53, 5354, corev1.ProtocolUDP))))
	must(t, c.slices.Add(slice("ns", "dns", "dns-tcp", 5353, corev1.ProtocolTCP, ep("10.0.0.1", true, true, false, ""))))
	must(t, c.slices.Add(slice("ns", "dns", "dns-udp", 5354, corev1.ProtocolUDP, ep("10.0.0.1", true, true, false, ""))))
	tg := NewResolver(mapperFor(true, false), c.store(), "").Target(context.Background(), binding("ns", "b", "v1", "dns", 53))
	if tg.ResolveErr != nil {
		t.Fatal(tg.ResolveErr)
	}
	if len(tg.PortChoices) != 2 {
		t.Fatalf("port choices %v, want TCP and UDP", tg.PortChoices)
	}
	if got := addrs(tg.PortChoices["TCP"].Endpoints); got != "10.0.0.1:5353" {
		t.Errorf("TCP endpoints %s", got)
	}
	if got := addrs(tg.PortChoices["UDP"].Endpoints); got != "10.0.0.1:5354" {
		t.Errorf("UDP endpoints %s", got)
	}
}

// targetRef.group cci/v2 reads CCI's Services where the server serves
// them, and core v1's where it does not.
func TestTargetServiceGroup(t *testing.T) {
	c := newCaches()
	core := service("ns", "web", port(80, 8080, corev1.ProtocolTCP))
	core.Annotations = map[string]string{endpoints.ELBIDAnnotation: "lb-of-core-v1"}
	must(t, c.services.Add(core))
	cci := service("ns", "web", port(80, 8080, corev1.ProtocolTCP))
	cci.Annotations = map[string]string{endpoints.ELBIDAnnotation: "lb-of-cci-v2"}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cci)
	must(t, err)
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("cci/v2")
	u.SetKind("Service")
	must(t, c.cciServices.Add(u))
	must(t, c.slices.Add(slice("ns", "web", "web-1", 8080, corev1.ProtocolTCP, ep("10.0.0.1", true, true, false, ""))))
	b := binding("ns", "b", "cci/v2", "web", 80)
	if got := NewResolver(mapperFor(true, true), c.store(), "").Target(context.Background(), b).ServiceELBID; got != "lb-of-cci-v2" {
		t.Errorf("served cci/v2: the Service read has elb.id %q, want the cci/v2 one's", got)
	}
	if got := NewResolver(mapperFor(true, false), c.store(), "").Target(context.Background(), b).ServiceELBID; got != "lb-of-core-v1" {
		t.Errorf("cci/v2 not served: the Service read has elb.id %q, want core v1's", got)
	}
}

// A lister the controller does not keep is an error for the binding that
// needs it, never an empty (pool-emptying) answer.
func TestTargetUnwatchedIsAnError(t *testing.T) {
	c := newCaches()
	must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
	s := c.store()
	s.SliceLister = nil
	tg := NewResolver(mapperFor(true, false), s, "").Target(context.Background(), binding("ns", "b", "v1", "web", 80))
	if tg.ResolveErr == nil || !strings.Contains(tg.ResolveErr.Error(), "not watched") {
		t.Errorf("resolve error %v, want endpointslices not watched", tg.ResolveErr)
	}
}

// Reread reads the store it is given (the fresh read), not the pass's.
func TestReread(t *testing.T) {
	first, fresh := newCaches(), newCaches()
	for _, c := range []*caches{first, fresh} {
		must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
	}
	must(t, first.slices.Add(slice("ns", "web", "web-1", 8080, corev1.ProtocolTCP, ep("10.0.0.1", true, true, false, ""))))
	must(t, fresh.slices.Add(slice("ns", "web", "web-1", 8080, corev1.ProtocolTCP,
		ep("10.0.0.1", false, true, true, ""), ep("10.0.0.2", true, true, false, ""))))
	r := NewResolver(mapperFor(true, false), first.store(), "")
	b := binding("ns", "b", "v1", "web", 80)
	if got := addrs(r.Target(context.Background(), b).Endpoints); got != "10.0.0.1:8080" {
		t.Fatalf("first read %s", got)
	}
	again, err := r.Reread(context.Background(), fresh.store(), b, "")
	must(t, err)
	if got := addrs(again); got != "10.0.0.2:8080" {
		t.Errorf("reread %s, want the fresh ready set 10.0.0.2:8080 (terminating ones left to the planner)", got)
	}
}

func TestSelect(t *testing.T) {
	var all []unstructured.Unstructured
	for _, n := range []string{"a", "b", "c"} {
		u := unstructured.Unstructured{}
		u.SetNamespace("ns")
		u.SetName(n)
		u.SetLabels(map[string]string{"tier": map[string]string{"a": "web", "b": "web", "c": "db"}[n]})
		all = append(all, u)
	}
	names := func(us []*unstructured.Unstructured) string {
		var s []string
		for _, u := range us {
			s = append(s, u.GetName())
		}
		return strings.Join(s, ",")
	}
	got, err := Selection{}.Select(all)
	must(t, err)
	if names(got) != "a,b,c" {
		t.Errorf("no selection: %s", names(got))
	}
	got, err = Selection{Selector: labels.SelectorFromSet(labels.Set{"tier": "web"})}.Select(all)
	must(t, err)
	if names(got) != "a,b" {
		t.Errorf("tier=web: %s", names(got))
	}
	got, err = Selection{Names: []string{"c", "a"}}.Select(all)
	must(t, err)
	if names(got) != "a,c" {
		t.Errorf("names c,a: %s (want the list's order)", names(got))
	}
	_, err = Selection{Names: []string{"a", "zz", "yy"}}.Select(all)
	if err == nil || err.Error() != `Error from server (NotFound): poolbindings.`+lbv1.GroupName+` "yy", "zz" not found` {
		t.Errorf("missing names: %v", err)
	}
	// A name the selector excludes is missing too.
	if _, err = (Selection{Names: []string{"c"}, Selector: labels.SelectorFromSet(labels.Set{"tier": "web"})}).Select(all); err == nil {
		t.Error("name outside the selector: no error")
	}
}

func TestOwners(t *testing.T) {
	u := unstructured.Unstructured{}
	u.SetNamespace("ns")
	u.SetName("live")
	u.SetUID("uid-1")
	lookup := Owners([]unstructured.Unstructured{u}, []string{"ns"})
	if exists, known := lookup(ownerOf("ns", "live", "uid-1")); !exists || !known {
		t.Errorf("live binding: exists=%v known=%v", exists, known)
	}
	if exists, known := lookup(ownerOf("ns", "gone", "uid-2")); exists || !known {
		t.Errorf("deleted binding of a listed namespace: exists=%v known=%v, want an orphan", exists, known)
	}
	if _, known := lookup(ownerOf("elsewhere", "x", "uid-3")); known {
		t.Error("a binding of a namespace not listed is known; it must never be taken for an orphan")
	}
}

func ownerOf(ns, name, uid string) poolsync.Owner {
	return poolsync.Owner{Namespace: ns, Name: name, UID: uid}
}

// gatedPod is a Running pod whose containers are ready but which is not
// Ready: it declares the readiness gate of binding gateOf, not yet True.
func gatedPod(ns, name, ip, gateOf string, containersReady bool) *corev1.Pod {
	p := readyPod(ns, name, "web", ip, "")
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(lbv1.ReadinessGateConditionType(gateOf))}}
	cr := corev1.ConditionFalse
	if containersReady {
		cr = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}, {Type: corev1.ContainersReady, Status: cr}}
	return p
}

// A pod not Ready only because it waits for this binding's gate is
// registered (its gate opens once its member is ONLINE); pods waiting for
// another binding's gate, or whose containers are not ready, are not.
func TestTargetRegistersGatedPods(t *testing.T) {
	for _, slicesPath := range []bool{true, false} {
		t.Run(map[bool]string{true: "EndpointSlices", false: "Pods"}[slicesPath], func(t *testing.T) {
			c := newCaches()
			must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
			must(t, c.pods.Add(readyPod("ns", "web-1", "web", "10.0.0.1", "")))
			must(t, c.pods.Add(gatedPod("ns", "web-2", "10.0.0.2", "b", true)))
			must(t, c.pods.Add(gatedPod("ns", "web-3", "10.0.0.3", "other", true)))
			must(t, c.pods.Add(gatedPod("ns", "web-4", "10.0.0.4", "b", false)))
			must(t, c.slices.Add(slice("ns", "web", "web-1", 8080, corev1.ProtocolTCP,
				ep("10.0.0.1", true, true, false, ""), ep("10.0.0.2", false, false, false, ""),
				ep("10.0.0.3", false, false, false, ""), ep("10.0.0.4", false, false, false, ""))))
			r := NewResolver(mapperFor(slicesPath, false), c.store(), "")
			tg := r.Target(context.Background(), binding("ns", "b", "v1", "web", 80))
			if tg.ResolveErr != nil {
				t.Fatal(tg.ResolveErr)
			}
			if got, want := addrs(tg.Endpoints), "10.0.0.1:8080,10.0.0.2:8080"; got != want {
				t.Errorf("endpoints %s, want %s (the ready pod and the one waiting for this binding's gate)", got, want)
			}
			again, err := r.Reread(context.Background(), c.store(), binding("ns", "b", "v1", "web", 80), "")
			must(t, err)
			if got := addrs(again); got != "10.0.0.1:8080,10.0.0.2:8080" {
				t.Errorf("reread %s: the re-check must keep gated pods too", got)
			}
		})
	}
}

// Where the Pods cannot be read, gated pods are not registered, the pass
// goes on and says so once.
func TestTargetGatedPodsUnreadable(t *testing.T) {
	c := newCaches()
	must(t, c.services.Add(service("ns", "web", port(80, 8080, corev1.ProtocolTCP))))
	must(t, c.slices.Add(slice("ns", "web", "web-1", 8080, corev1.ProtocolTCP,
		ep("10.0.0.1", true, true, false, ""), ep("10.0.0.2", false, false, false, ""))))
	s := c.store()
	s.PodLister = nil
	r := NewResolver(mapperFor(true, false), s, "")
	for _, name := range []string{"a", "b"} {
		tg := r.Target(context.Background(), binding("ns", name, "v1", "web", 80))
		if tg.ResolveErr != nil || addrs(tg.Endpoints) != "10.0.0.1:8080" {
			t.Errorf("%s: endpoints %v err %v", name, tg.Endpoints, tg.ResolveErr)
		}
	}
	if w := r.Warnings(); len(w) != 1 || !strings.Contains(w[0], "readiness gate") {
		t.Errorf("warnings %q, want one about readiness gates", w)
	}
}
