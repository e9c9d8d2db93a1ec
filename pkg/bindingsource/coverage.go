package bindingsource

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/endpoints"
)

// servicePort names the Service port several bindings may split by zone.
type servicePort struct {
	namespace, name string
	port            int32
}

// zoneCoverage collects, per Service port, the zones its selected
// zone-scoped bindings take, to warn about ready endpoints in a zone none
// of them takes (a zone split that leaves endpoints out of every pool).
type zoneCoverage map[servicePort]*coverageEntry

type coverageEntry struct {
	bindings int
	// whole: a binding takes every zone, or scopes by node pool; no zone
	// split to check.
	whole  bool
	zones  map[string]bool
	svc    *corev1.Service
	port   int32
	slices []discoveryv1.EndpointSlice
	// counts: the Service port's ready endpoints per zone, read once for
	// all its bindings (nil: no endpoint has a zone).
	counts  map[string]int
	counted bool
}

// add records a selected binding of a Service port and returns the port's
// entry (nil when the Service is missing).
func (c zoneCoverage) add(b *lbv1.PoolBinding, zs endpoints.Scope, svc *corev1.Service, slices []discoveryv1.EndpointSlice) *coverageEntry {
	if svc == nil {
		return nil
	}
	k := servicePort{b.Namespace, b.Spec.TargetRef.Name, b.Spec.TargetRef.Port}
	e := c[k]
	if e == nil {
		e = &coverageEntry{zones: map[string]bool{}, svc: svc, port: k.port, slices: slices}
		c[k] = e
	}
	e.bindings++
	if zs.Zones == nil || zs.NodeSelector != nil {
		e.whole = true
	}
	for _, z := range zs.Zones {
		e.zones[z] = true
	}
	return e
}

// zoneCounts counts the Service port's ready endpoints per named zone,
// once per pass however many bindings share the port.
func (e *coverageEntry) zoneCounts() map[string]int {
	if e.counted {
		return e.counts
	}
	e.counted = true
	if !anyZone(e.slices) {
		return nil
	}
	counts, err := endpoints.SliceZoneCounts(e.svc, e.port, e.slices)
	if err != nil {
		return nil
	}
	delete(counts, "")
	e.counts = counts
	return counts
}

// UncoveredZones returns a warning per Service port whose bindings are all
// zone-scoped and resolved by r (all: every PoolBinding listed) while some
// of its ready endpoints are in a zone none of them takes.
func (r *Resolver) UncoveredZones(all []unstructured.Unstructured) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.coverage.uncovered(all)
}

func (c zoneCoverage) uncovered(all []unstructured.Unstructured) []string {
	total := map[servicePort]int{}
	for _, u := range all {
		name, _, _ := unstructured.NestedString(u.Object, "spec", "targetRef", "name")
		port, _, _ := unstructured.NestedInt64(u.Object, "spec", "targetRef", "port")
		total[servicePort{u.GetNamespace(), name, int32(port)}]++
	}
	var out []string
	for k, e := range c {
		if e.whole || e.bindings != total[k] {
			continue // another binding takes every zone, or is not in this pass
		}
		var left []string
		for z, n := range e.zoneCounts() {
			if !e.zones[z] {
				left = append(left, fmt.Sprintf("%s (%d)", z, n))
			}
		}
		if len(left) == 0 {
			continue
		}
		sort.Strings(left)
		out = append(out, fmt.Sprintf("service %s/%s port %d: ready endpoints in zone(s) %s are taken by none of its zone-scoped PoolBindings",
			k.namespace, k.name, k.port, strings.Join(left, ", ")))
	}
	sort.Strings(out)
	return out
}

// zoneEndpoints counts a binding's desired endpoints per zone, for its
// status (and so for describe): the Service port's counts by the slices'
// endpoints[].zone, limited to the binding's zones when it has them. nil
// where no endpoint has a zone, or for a node-selector binding (its
// endpoints are chosen by node, not zone).
func (e *coverageEntry) zoneEndpoints(zs endpoints.Scope) map[string]int {
	if e == nil || zs.NodeSelector != nil {
		return nil
	}
	out := map[string]int{}
	for z, n := range e.zoneCounts() {
		if zs.Zones == nil || slices.Contains(zs.Zones, z) {
			out[z] = n
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func anyZone(slices []discoveryv1.EndpointSlice) bool {
	for i := range slices {
		for _, ep := range slices[i].Endpoints {
			if ep.Zone != nil && *ep.Zone != "" {
				return true
			}
		}
	}
	return false
}
