package endpoints

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// Scope is what a zone-scoped binding takes: endpoints in one of Zones
// (nil: any zone) and on a node NodeSelector matches (nil: any node). Both
// must hold when both are set.
type Scope struct {
	Zones        []string
	NodeSelector labels.Selector
}

// Scoped reports whether the scope restricts anything.
func (s Scope) Scoped() bool { return s.Zones != nil || s.NodeSelector != nil }

// Nodes holds the labels of the cluster's Nodes by name, as one pass read
// them. A nil Nodes means they were not read (or may not be, as on CCI).
type Nodes map[string]labels.Set

// placement is where an endpoint sits relative to a scope.
type placement int

const (
	inScope  placement = iota
	outScope           // known to be elsewhere
	unknown            // zone or node not known: not taken, but counted
)

// place decides from an endpoint's zone ("" = unknown) and node labels
// (nil = unknown). A known mismatch wins over an unknown part.
func (s Scope) place(zone string, node labels.Set) placement {
	out, unk := false, false
	if s.Zones != nil {
		switch {
		case zone == "":
			unk = true
		case !slices.Contains(s.Zones, zone):
			out = true
		}
	}
	if s.NodeSelector != nil {
		switch {
		case node == nil:
			unk = true
		case !s.NodeSelector.Matches(node):
			out = true
		}
	}
	switch {
	case out:
		return outScope
	case unk:
		return unknown
	}
	return inScope
}

// ScopedSliceEndpoints is SliceEndpoints restricted to scope: an endpoint's
// zone is its endpoints[].zone, its node endpoints[].nodeName looked up in
// nodes. It also returns how many ready endpoints were not taken because
// their zone or node is unknown. Without a scope it is SliceEndpoints.
func ScopedSliceEndpoints(svc *corev1.Service, port int32, eps []discoveryv1.EndpointSlice, scope Scope, nodes Nodes) (Set, int, error) {
	if !scope.Scoped() {
		set, err := SliceEndpoints(svc, port, eps)
		return set, 0, err
	}
	at := func(ep *discoveryv1.Endpoint) placement {
		var node labels.Set
		if ep.NodeName != nil {
			node = nodes[*ep.NodeName]
		}
		zone := ""
		if ep.Zone != nil {
			zone = *ep.Zone
		}
		return scope.place(zone, node)
	}
	taken, err := SliceEndpoints(svc, port, filterSlices(eps, func(ep *discoveryv1.Endpoint) bool { return at(ep) == inScope }))
	if err != nil {
		return Set{}, 0, err
	}
	skipped, _ := SliceEndpoints(svc, port, filterSlices(eps, func(ep *discoveryv1.Endpoint) bool { return at(ep) == unknown }))
	elsewhere, _ := SliceEndpoints(svc, port, filterSlices(eps, func(ep *discoveryv1.Endpoint) bool { return at(ep) == outScope }))
	return taken, countNotIn(skipped.Ready, taken, elsewhere), nil
}

// ScopedPodEndpoints is PodEndpoints restricted to scope. A pod's zone is
// the ZoneLabel of its node when nodes knows the node and the node has the
// label, else the pod's own ZoneLabel (CCI's pods have no node); its node
// labels are its node's in nodes. It also returns how many ready endpoints
// were not taken because their zone or node is unknown.
func ScopedPodEndpoints(svc *corev1.Service, port int32, pods []corev1.Pod, scope Scope, nodes Nodes) (Set, int, error) {
	if !scope.Scoped() {
		set, err := PodEndpoints(svc, port, pods)
		return set, 0, err
	}
	var in, unk []corev1.Pod
	for i := range pods {
		p := &pods[i]
		var node labels.Set
		if p.Spec.NodeName != "" {
			node = nodes[p.Spec.NodeName]
		}
		zone := node[lbv1.ZoneLabel]
		if zone == "" {
			zone = p.Labels[lbv1.ZoneLabel]
		}
		switch scope.place(zone, node) {
		case inScope:
			in = append(in, *p)
		case unknown:
			unk = append(unk, *p)
		}
	}
	taken, err := PodEndpoints(svc, port, in)
	if err != nil {
		return Set{}, 0, err
	}
	skipped, _ := PodEndpoints(svc, port, unk)
	return taken, countNotIn(skipped.Ready, taken), nil
}

// SliceZoneCounts counts svc's ready endpoints of port `port` per zone from
// EndpointSlices (endpoints[].zone; "" for endpoints without one).
func SliceZoneCounts(svc *corev1.Service, port int32, eps []discoveryv1.EndpointSlice) (map[string]int, error) {
	zones := map[string]bool{}
	for i := range eps {
		for _, ep := range eps[i].Endpoints {
			z := ""
			if ep.Zone != nil {
				z = *ep.Zone
			}
			zones[z] = true
		}
	}
	out := map[string]int{}
	for z := range zones {
		set, err := SliceEndpoints(svc, port, filterSlices(eps, func(ep *discoveryv1.Endpoint) bool {
			return (ep.Zone == nil && z == "") || (ep.Zone != nil && *ep.Zone == z)
		}))
		if err != nil {
			return nil, err
		}
		if len(set.Ready) > 0 {
			out[z] = len(set.Ready)
		}
	}
	return out, nil
}

// filterSlices returns shallow copies of eps holding only the endpoints
// keep accepts, so that SliceEndpoints' rules (ports, readiness, address
// family) apply unchanged to the selection.
func filterSlices(eps []discoveryv1.EndpointSlice, keep func(*discoveryv1.Endpoint) bool) []discoveryv1.EndpointSlice {
	out := make([]discoveryv1.EndpointSlice, 0, len(eps))
	for i := range eps {
		s := eps[i]
		s.Endpoints = nil
		for j := range eps[i].Endpoints {
			if keep(&eps[i].Endpoints[j]) {
				s.Endpoints = append(s.Endpoints, eps[i].Endpoints[j])
			}
		}
		if len(s.Endpoints) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// countNotIn counts the endpoints of es that none of sets holds: an
// endpoint listed twice during a handover, once with a known zone, is not
// unknown.
func countNotIn(es []Endpoint, sets ...Set) int {
	n := 0
outer:
	for _, e := range es {
		for _, set := range sets {
			_, r := slices.BinarySearchFunc(set.Ready, e, Compare)
			_, t := slices.BinarySearchFunc(set.Terminating, e, Compare)
			if r || t {
				continue outer
			}
		}
		n++
	}
	return n
}
