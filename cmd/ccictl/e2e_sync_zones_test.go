package main_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

const (
	zonePoolA = "a1c2e3f4-0000-4000-8000-00000000000a"
	zonePoolB = "b1c2e3f4-0000-4000-8000-00000000000b"
)

// zonedBinding creates a PoolBinding with annotations and returns its uid.
func (e *syncEnv) zonedBinding(name, poolID, svc string, port int32, annotations map[string]string) string {
	e.t.Helper()
	var ann strings.Builder
	for k, v := range annotations {
		fmt.Fprintf(&ann, "    %s: %q\n", k, v)
	}
	m := fmt.Sprintf(`apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: %s
  namespace: %s
  annotations:
%sspec:
  poolRef:
    id: %s
  targetRef:
    kind: Service
    group: cci/v2
    name: %s
    port: %d
`, name, e.ns, ann.String(), poolID, svc, port)
	mustSucceed(e.t, ccictl(e.t, "create", "-f", writeFile(e.t, name+".yaml", m)))
	return e.jsonpath(name, "{.metadata.uid}")
}

// zonedEndpoint is one endpoint of a hand-written EndpointSlice.
type zonedEndpoint struct{ addr, zone, node string }

// zonedSlice writes a selectorless Service and one EndpointSlice of ready
// endpoints carrying zones and node names as the EndpointSlice controller
// publishes them.
func (e *syncEnv) zonedSlice(svc string, port, target int32, eps ...zonedEndpoint) {
	e.t.Helper()
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: e.ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromInt32(target)}}},
	}
	if _, err := e.kube.CoreV1().Services(e.ns).Create(e.ctx(), s, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	ready, name, proto := true, "http", corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-zoned", Namespace: e.ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "e2e-sync-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &target, Protocol: &proto}},
	}
	for _, ep := range eps {
		d := discoveryv1.Endpoint{Addresses: []string{ep.addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
		if ep.zone != "" {
			d.Zone = &ep.zone
		}
		if ep.node != "" {
			d.NodeName = &ep.node
		}
		slice.Endpoints = append(slice.Endpoints, d)
	}
	if _, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).Create(e.ctx(), slice, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// node creates a Node with labels (no kubelet: only the object matters)
// and deletes it after the test.
func (e *syncEnv) node(name string, labels map[string]string) {
	e.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := e.kube.CoreV1().Nodes().Create(e.ctx(), n, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create node %s: %v", name, err)
	}
	e.t.Cleanup(func() { _ = e.kube.CoreV1().Nodes().Delete(e.ctx(), name, metav1.DeleteOptions{}) })
}

// placedPod creates a ready pod labelled app=app on node (none when "")
// with extra labels.
func (e *syncEnv) placedPod(app, name, ip, node string, labels map[string]string) {
	e.t.Helper()
	l := map[string]string{"app": app}
	for k, v := range labels {
		l[k] = v
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: l},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	if _, err := e.kube.CoreV1().Pods(e.ns).Create(e.ctx(), p, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create pod %s: %v", name, err)
	}
	e.setPodStatus(name, ip, true)
}

// TestSyncZonesSlices: two zone-scoped bindings of one Service to two
// pools split its endpoints by endpoints[].zone; endpoints without a zone
// go to neither and are counted; a node-selector binding takes the
// endpoints on its node pool's nodes.
func TestSyncZonesSlices(t *testing.T) {
	e := newSyncEnv(t, "sync-zones")
	e.pool(zonePoolA)
	e.pool(zonePoolB)
	e.pool(syncPool)
	e.node("zones-edge-1", map[string]string{"pool": "edge", lbv1.ZoneLabel: "cn-north-4a"})
	e.node("zones-core-1", map[string]string{"pool": "core", lbv1.ZoneLabel: "cn-north-4b"})
	e.zonedSlice("web", 80, 8080,
		zonedEndpoint{"10.4.0.1", "cn-north-4a", "zones-edge-1"},
		zonedEndpoint{"10.4.0.2", "cn-north-4a", "zones-edge-1"},
		zonedEndpoint{"10.4.0.3", "cn-north-4b", "zones-core-1"},
		zonedEndpoint{"10.4.0.4", "cn-north-4c", ""},
		zonedEndpoint{"10.4.0.5", "", "zones-edge-1"}, // no zone
		zonedEndpoint{"10.4.0.6", "", ""},             // neither zone nor node
	)
	uidA := e.zonedBinding("a", zonePoolA, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4a"})
	uidB := e.zonedBinding("b", zonePoolB, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4b,cn-north-4c", lbv1.RegionAnnotation: "cn-north-4"})
	uidEdge := e.zonedBinding("edge", syncPool, "web", 80, map[string]string{lbv1.NodeSelectorAnnotation: "pool=edge"})

	// b names the pass's own region: its pool is reached like the others'.
	r := mustSucceed(t, e.sync("--region", "cn-north-4"))
	want := "poolbinding/a: +2 -0 =0 foreign=0 unknown-zone=2\n" +
		"poolbinding/b: +2 -0 =0 foreign=0 unknown-zone=2\n" +
		"poolbinding/edge: +3 -0 =0 foreign=0 unknown-zone=2\n"
	if r.Stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.Stdout, want)
	}
	e.wantPool(zonePoolA, owned(markerOf(e.ns, "a", uidA), "10.4.0.1:8080", "10.4.0.2:8080"))
	e.wantPool(zonePoolB, owned(markerOf(e.ns, "b", uidB), "10.4.0.3:8080", "10.4.0.4:8080"))

	// The status counts each binding's endpoints per zone, and describe
	// (kubectl's, over the CRD's status) shows them.
	for name, want := range map[string]string{"a": "cn-north-4a=2 ", "b": "cn-north-4b=1 cn-north-4c=1 ", "edge": ""} {
		if got := e.jsonpath(name, `{range .status.zones[*]}{.zone}={.endpoints} {end}`); got != want {
			t.Errorf("status.zones of %s = %q, want %q", name, got, want)
		}
	}
	desc := mustSucceed(t, ccictl(t, "describe", "plb", "-n", e.ns, "b")).Stdout
	if !regexp.MustCompile(`(?s)Zones:\s+Endpoints:\s+1\s+Zone:\s+cn-north-4b\s+Endpoints:\s+1\s+Zone:\s+cn-north-4c`).MatchString(desc) {
		t.Errorf("describe plb b does not show the endpoints per zone:\n%s", desc)
	}
	e.wantPool(syncPool, owned(markerOf(e.ns, "edge", uidEdge), "10.4.0.1:8080", "10.4.0.2:8080", "10.4.0.5:8080"))

	// The count is in the machine-readable result too.
	var rep struct {
		Results []struct {
			UnknownZone, Desired int
			State                string
		} `json:"results"`
	}
	js := e.sync("a", "-o", "json")
	if err := json.Unmarshal([]byte(js.Stdout), &rep); err != nil || js.Code != 0 {
		t.Fatalf("-o json: %v\n%s", err, js)
	}
	if len(rep.Results) != 1 || rep.Results[0].UnknownZone != 2 || rep.Results[0].Desired != 2 || rep.Results[0].State != "InSync" {
		t.Errorf("-o json results: %+v", rep.Results)
	}

	// get -o wide shows the region and zones annotations as columns, as
	// kubectl does from the CRD's printer columns.
	wide := mustSucceed(t, ccictl(t, "get", "plb", "-n", e.ns, "b", "-o", "wide")).Stdout
	lines := strings.Split(strings.TrimSpace(wide), "\n")
	if len(lines) != 2 || !strings.HasSuffix(strings.TrimSpace(lines[0]), "REGION       ZONES") ||
		!strings.HasSuffix(strings.TrimSpace(lines[1]), "cn-north-4   cn-north-4b,cn-north-4c") {
		t.Errorf("get plb -o wide:\n%s", wide)
	}
	if k := mustSucceed(t, kubectl(t, "get", "plb", "-n", e.ns, "b", "-o", "wide")).Stdout; k != wide && maskAge(k) != maskAge(wide) {
		t.Errorf("get plb -o wide differs from kubectl's:\n%s\nkubectl:\n%s", wide, k)
	}
}

// TestSyncZonesPodPath: on the Pod path (no EndpointSlices) a pod's zone
// is its node's topology.kubernetes.io/zone label, or the pod's own label
// when it has no node, as on CCI 2.0; pods with neither are counted.
func TestSyncZonesPodPath(t *testing.T) {
	e := newSyncEnv(t, "sync-zones-pods")
	var sliceReads atomic.Int64
	e.config = discoveryHidingConfig(t, &sliceReads)
	e.pool(zonePoolA)
	e.pool(zonePoolB)
	e.node("zones-pods-a", map[string]string{lbv1.ZoneLabel: "cn-north-4a"})
	e.node("zones-pods-b", map[string]string{lbv1.ZoneLabel: "cn-north-4b"})
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.placedPod("web", "on-a", "10.5.0.1", "zones-pods-a", nil)
	e.placedPod("web", "on-b", "10.5.0.2", "zones-pods-b", nil)
	e.placedPod("web", "cci-a", "10.5.0.3", "", map[string]string{lbv1.ZoneLabel: "cn-north-4a"})
	e.placedPod("web", "cci-b", "10.5.0.4", "", map[string]string{lbv1.ZoneLabel: "cn-north-4b"})
	e.placedPod("web", "nowhere", "10.5.0.5", "", nil)
	uidA := e.zonedBinding("a", zonePoolA, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4a"})
	uidB := e.zonedBinding("b", zonePoolB, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4b"})

	r := mustSucceed(t, e.sync())
	want := "poolbinding/a: +2 -0 =0 foreign=0 unknown-zone=1\n" +
		"poolbinding/b: +2 -0 =0 foreign=0 unknown-zone=1\n"
	if r.Stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.Stdout, want)
	}
	e.wantPool(zonePoolA, owned(markerOf(e.ns, "a", uidA), "10.5.0.1:8080", "10.5.0.3:8080"))
	e.wantPool(zonePoolB, owned(markerOf(e.ns, "b", uidB), "10.5.0.2:8080", "10.5.0.4:8080"))
	if n := sliceReads.Load(); n != 0 {
		t.Errorf("%d EndpointSlice requests on the Pod path", n)
	}
}

// TestSyncZonesNodesForbidden: an identity that may not list Nodes (as on
// CCI 2.0) still syncs a zones binding, which needs no Node on the
// EndpointSlice path, while a node-selector binding is Blocked with the RBAC
// reason and costs no ELB call.
func TestSyncZonesNodesForbidden(t *testing.T) {
	const user = "e2e-sync-nonodes"
	e := newSyncEnv(t, "sync-zones-nonodes")
	grantSyncBasics(t, e.kube, user)
	grantEndpointReads(t, e.kube, user, e.ns)
	e.pool(zonePoolA)
	e.pool(zonePoolB)
	e.node("zones-nonodes-edge", map[string]string{"pool": "edge", lbv1.ZoneLabel: "cn-north-4a"})
	e.zonedSlice("web", 80, 8080,
		zonedEndpoint{"10.6.0.1", "cn-north-4a", "zones-nonodes-edge"},
		zonedEndpoint{"10.6.0.2", "cn-north-4b", ""},
	)
	uidA := e.zonedBinding("a", zonePoolA, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4a"})
	e.zonedBinding("edge", zonePoolB, "web", 80, map[string]string{lbv1.NodeSelectorAnnotation: "pool=edge"})
	e.config = impersonatingConfig(t, user)
	e.emu.ResetCounts()
	r := e.sync()
	if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/a: +1 -0 =0 foreign=0\n") ||
		!strings.Contains(r.Stdout, "poolbinding/edge: +0 -0 =0 foreign=0 blocked: EndpointsUnresolved: annotation "+lbv1.NodeSelectorAnnotation+" needs the cluster's Nodes: ") ||
		!strings.Contains(r.Stdout, `nodes is forbidden: User "`+user+`" cannot list resource "nodes"`) {
		t.Errorf("want a synced, edge blocked with the RBAC reason, exit 1; got %s", r)
	}
	e.wantPool(zonePoolA, owned(markerOf(e.ns, "a", uidA), "10.6.0.1:8080"))
	e.wantPool(zonePoolB, map[string]string{})
	// One binding's worth of calls: the blocked one made none.
	e.wantCalls(1, 1, 1, 0)
}

// TestSyncZonesUncovered: when every binding of a Service port is
// zone-scoped, ready endpoints in a zone none of them takes are named in a
// warning (they are in no pool); the pass itself succeeds.
func TestSyncZonesUncovered(t *testing.T) {
	e := newSyncEnv(t, "sync-zones-uncovered")
	e.pool(zonePoolA)
	e.pool(zonePoolB)
	e.zonedSlice("web", 80, 8080,
		zonedEndpoint{"10.7.0.1", "cn-north-4a", ""},
		zonedEndpoint{"10.7.0.2", "cn-north-4b", ""},
		zonedEndpoint{"10.7.0.3", "cn-north-4c", ""},
		zonedEndpoint{"10.7.0.4", "cn-north-4c", ""},
	)
	e.zonedBinding("a", zonePoolA, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4a"})
	e.zonedBinding("b", zonePoolB, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4b"})
	r := e.sync()
	warning := "Warning: service " + e.ns + "/web port 80: ready endpoints in zone(s) cn-north-4c (2) are taken by none of its zone-scoped PoolBindings\n"
	if r.Code != 0 || !strings.Contains(r.Stderr, warning) {
		t.Errorf("want exit 0 and %q on stderr; got %s", warning, r)
	}
	// Syncing one binding alone says nothing: the other is not in the pass.
	if r := e.sync("a"); r.Code != 0 || strings.Contains(r.Stderr, "taken by none") {
		t.Errorf("one binding: %s", r)
	}
}
