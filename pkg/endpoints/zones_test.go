package endpoints

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

func zoned(addr, zone, node string, ready bool) discoveryv1.Endpoint {
	ep := endpoint(addr, ptr(ready), ptr(ready), ptr(false))
	if zone != "" {
		ep.Zone = ptr(zone)
	}
	if node != "" {
		ep.NodeName = ptr(node)
	}
	return ep
}

func addrsOf(es []Endpoint) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Address)
	}
	return out
}

func TestScopedSliceEndpoints(t *testing.T) {
	port := []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}}
	eps := []discoveryv1.EndpointSlice{
		slice("web-1", "web", discoveryv1.AddressTypeIPv4, port,
			zoned("10.0.0.1", "cn-north-4a", "n-a", true),
			zoned("10.0.0.2", "cn-north-4b", "n-b", true),
			zoned("10.0.0.3", "", "n-x", true),               // zone unknown
			zoned("10.0.0.4", "", "n-x", false),              // unknown but not ready: not counted
			zoned("10.0.0.5", "cn-north-4a", "n-gone", true), // node not in the list
			// Listed twice during a handover, once with a zone: taken, not skipped.
			zoned("10.0.0.6", "", "", true),
		),
		slice("web-2", "web", discoveryv1.AddressTypeIPv4, port,
			zoned("10.0.0.6", "cn-north-4a", "n-a", true),
			zoned("10.0.0.7", "cn-north-4c", "", true)),
		slice("api-1", "api", discoveryv1.AddressTypeIPv4, port, zoned("10.0.0.9", "", "", true)),
	}
	nodes := Nodes{"n-a": {"pool": "edge"}, "n-b": {"pool": "core"}, "n-x": {"pool": "edge"}}
	edge, _ := labels.Parse("pool=edge")
	svc := service(intstr.FromString("web"))
	for _, tc := range []struct {
		name        string
		scope       Scope
		nodes       Nodes
		want        []string
		wantSkipped int
	}{
		{"unscoped takes all", Scope{}, nil, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6", "10.0.0.7"}, 0},
		{"one zone", Scope{Zones: []string{"cn-north-4a"}}, nil, []string{"10.0.0.1", "10.0.0.5", "10.0.0.6"}, 1},
		{"two zones", Scope{Zones: []string{"cn-north-4b", "cn-north-4c"}}, nil, []string{"10.0.0.2", "10.0.0.7"}, 1},
		// .3 is on an edge node; .5's and .7's nodes are unknown; .6 has a node in one slice.
		{"node pool", Scope{NodeSelector: edge}, nodes, []string{"10.0.0.1", "10.0.0.3", "10.0.0.6"}, 2},
		// .3: zone unknown, node matches → unknown; .2: zone matches, node elsewhere → out.
		{"zone and pool", Scope{Zones: []string{"cn-north-4a", "cn-north-4b"}, NodeSelector: edge}, nodes, []string{"10.0.0.1", "10.0.0.6"}, 2},
		{"pool without nodes", Scope{NodeSelector: edge}, nil, []string{}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, skipped, err := ScopedSliceEndpoints(svc, 80, eps, tc.scope, tc.nodes)
			if err != nil {
				t.Fatal(err)
			}
			if got := addrsOf(set.Ready); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ready = %v, want %v", got, tc.want)
			}
			if skipped != tc.wantSkipped {
				t.Errorf("skipped = %d, want %d", skipped, tc.wantSkipped)
			}
		})
	}
	// The two pools of one Service split its zoned endpoints.
	a, _, _ := ScopedSliceEndpoints(svc, 80, eps, Scope{Zones: []string{"cn-north-4a"}}, nil)
	b, _, _ := ScopedSliceEndpoints(svc, 80, eps, Scope{Zones: []string{"cn-north-4b", "cn-north-4c"}}, nil)
	for _, e := range a.Ready {
		if countNotIn([]Endpoint{e}, b) == 0 {
			t.Errorf("%v taken by both bindings", e)
		}
	}
	if _, _, err := ScopedSliceEndpoints(svc, 81, eps, Scope{Zones: []string{"x"}}, nil); err == nil {
		t.Error("missing port: no error")
	}
}

func TestScopedSliceEndpointsTerminating(t *testing.T) {
	port := []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}}
	leaving := endpoint("10.0.0.2", ptr(false), ptr(true), ptr(true))
	leaving.Zone = ptr("cn-north-4a")
	elsewhere := endpoint("10.0.0.3", ptr(false), ptr(true), ptr(true))
	elsewhere.Zone = ptr("cn-north-4b")
	eps := []discoveryv1.EndpointSlice{slice("web-1", "web", discoveryv1.AddressTypeIPv4, port,
		zoned("10.0.0.1", "cn-north-4a", "", true), leaving, elsewhere)}
	set, _, err := ScopedSliceEndpoints(service(intstr.FromString("web")), 80, eps, Scope{Zones: []string{"cn-north-4a"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrsOf(set.Terminating); !reflect.DeepEqual(got, []string{"10.0.0.2"}) {
		t.Errorf("terminating = %v, want only the scoped zone's", got)
	}
}

func TestScopedPodEndpoints(t *testing.T) {
	onNode := func(n string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
	zoneLabel := func(z string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Labels[lbv1.ZoneLabel] = z } }
	pods := []corev1.Pod{
		readyPod("a", "10.1.0.1", onNode("n-a")),
		readyPod("b", "10.1.0.2", onNode("n-b")),
		readyPod("nolabel", "10.1.0.3", onNode("n-plain")),                            // node has no zone label
		readyPod("cci", "10.1.0.4", zoneLabel("cn-north-4a")),                         // no node: the pod's label
		readyPod("override", "10.1.0.5", onNode("n-b"), zoneLabel("cn-north-4a")),     // the node's label wins
		readyPod("fallback", "10.1.0.6", onNode("n-plain"), zoneLabel("cn-north-4a")), // node without label: the pod's
		readyPod("bare", "10.1.0.7"),                                                  // no node, no label
	}
	nodes := Nodes{
		"n-a":     {lbv1.ZoneLabel: "cn-north-4a", "pool": "edge"},
		"n-b":     {lbv1.ZoneLabel: "cn-north-4b", "pool": "core"},
		"n-plain": {"pool": "edge"},
	}
	edge, _ := labels.Parse("pool=edge")
	svc := service(intstr.FromInt32(8080))
	for _, tc := range []struct {
		name        string
		scope       Scope
		nodes       Nodes
		want        []string
		wantSkipped int
	}{
		{"zone from nodes", Scope{Zones: []string{"cn-north-4a"}}, nodes, []string{"10.1.0.1", "10.1.0.4", "10.1.0.6"}, 2},
		{"zone b", Scope{Zones: []string{"cn-north-4b"}}, nodes, []string{"10.1.0.2", "10.1.0.5"}, 2},
		// Nodes not readable (CCI): only the pods' labels count.
		{"zone from pod labels", Scope{Zones: []string{"cn-north-4a"}}, nil, []string{"10.1.0.4", "10.1.0.5", "10.1.0.6"}, 4},
		{"node pool", Scope{NodeSelector: edge}, nodes, []string{"10.1.0.1", "10.1.0.3", "10.1.0.6"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, skipped, err := ScopedPodEndpoints(svc, 80, pods, tc.scope, tc.nodes)
			if err != nil {
				t.Fatal(err)
			}
			if got := addrsOf(set.Ready); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ready = %v, want %v", got, tc.want)
			}
			if skipped != tc.wantSkipped {
				t.Errorf("skipped = %d, want %d", skipped, tc.wantSkipped)
			}
		})
	}
	noSel := service(intstr.FromInt32(8080))
	noSel.Spec.Selector = nil
	if _, _, err := ScopedPodEndpoints(noSel, 80, pods, Scope{Zones: []string{"cn-north-4a"}}, nodes); err == nil {
		t.Error("service without selector: no error")
	}
}

func TestSliceZoneCounts(t *testing.T) {
	port := []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}}
	eps := []discoveryv1.EndpointSlice{slice("web-1", "web", discoveryv1.AddressTypeIPv4, port,
		zoned("10.0.0.1", "cn-north-4a", "", true),
		zoned("10.0.0.2", "cn-north-4a", "", true),
		zoned("10.0.0.3", "cn-north-4b", "", true),
		zoned("10.0.0.4", "cn-north-4c", "", false),
		zoned("10.0.0.5", "", "", true))}
	got, err := SliceZoneCounts(service(intstr.FromString("web")), 80, eps)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"cn-north-4a": 2, "cn-north-4b": 1, "": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
