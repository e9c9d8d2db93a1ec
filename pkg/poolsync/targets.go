package poolsync

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/poollock"
)

// Target is one binding together with what the caller resolved about it
// from the cluster (from lists made once per namespace).
type Target struct {
	Binding *lbv1.PoolBinding
	// Endpoints is the desired set (pkg/endpoints). It may be partial when
	// ResolveErr is set.
	Endpoints []Endpoint
	// Draining are the Service's terminating but still serving endpoints
	// (pkg/endpoints Set.Terminating): their members are drained, not cut.
	Draining []Endpoint
	// ResolveErr says the desired set is unknown or partial: the Service is
	// missing (wrap endpoints.ErrServiceNotFound), has no such port
	// (endpoints.ErrPortNotFound), a list failed, … Nothing is then removed,
	// and without any endpoint the pool is not even read.
	ResolveErr error
	// ServiceELBID is the Service's kubernetes.io/elb.id annotation: a pool
	// of that load balancer must not be bound ("" when the Service has none).
	ServiceELBID string
	// SubnetCIDRID is the subnet of members to add ("" = IP-type members).
	SubnetCIDRID string
	// UnknownZone counts the ready endpoints a zone-scoped binding did not
	// take because their zone (or node) is not known.
	UnknownZone int
	// ZoneEndpoints counts the desired endpoints per zone, where the
	// reader knows it (EndpointSlices); nil otherwise.
	ZoneEndpoints map[string]int

	// PortChoices, when the Service has the binding's port number in more
	// than one protocol (53/UDP and 53/TCP), are its endpoints per protocol
	// ("TCP", "UDP", …); the pool's protocol (PortProtocol) picks one
	// after GetPool, which then stands for Endpoints, Draining,
	// UnknownZone and ResolveErr. A pool whose protocol has no choice
	// blocks the binding (ServicePortNotFound).
	PortChoices map[string]PortChoice
	// Lagging are the serving endpoints of the Service's EndpointSlices
	// that name the binding's port otherwise (a port rename the
	// EndpointSlice controller has not finished): their members are not
	// removed (EndpointsInTransition). LaggingSlices counts those slices.
	Lagging       []Endpoint
	LaggingSlices int
	// Lingering are endpoints the Service still lists although they are
	// neither ready nor serving: a staged rollout removes their members
	// after those of endpoints that are gone (Stage).
	Lingering []Endpoint
	// PortProtocol is the protocol chosen from PortChoices ("" without
	// choices); ReadDesired re-reads that protocol's endpoints.
	PortProtocol string

	// claims are the other bindings of the Run on the same pool and the
	// endpoints they want (Run sets them; PlanOptions.Claims).
	claims map[Endpoint]Claim
}

// PortChoice is the desired set of one protocol of a Service port number.
type PortChoice struct {
	Endpoints     []Endpoint
	Draining      []Endpoint
	UnknownZone   int
	ResolveErr    error
	Lagging       []Endpoint
	LaggingSlices int
	Lingering     []Endpoint
}

// PortProtocol is the Service port protocol that serves a pool of the
// given protocol: UDP for UDP and QUIC pools, TCP for TCP, HTTP, HTTPS,
// GRPC, TLS and any other.
func PortProtocol(poolProtocol string) string {
	switch strings.ToUpper(poolProtocol) {
	case "UDP", "QUIC":
		return "UDP"
	}
	return "TCP"
}

// choosePort applies the pool's protocol to t's PortChoices; ok=false with
// the reason when none fits.
func (t Target) choosePort(pool *elb.Pool) (Target, string, bool) {
	if len(t.PortChoices) == 0 {
		return t, "", true
	}
	want := PortProtocol(pool.Protocol)
	ch, ok := t.PortChoices[want]
	if !ok {
		var have []string
		for p := range t.PortChoices {
			have = append(have, p)
		}
		slices.Sort(have)
		return t, fmt.Sprintf("service port %d is served as %s only, and pool %s (protocol %s) takes %s: no Service port to bind",
			t.Binding.Spec.TargetRef.Port, strings.Join(have, " and "), pool.ID, pool.Protocol, want), false
	}
	t.Endpoints, t.Draining, t.UnknownZone, t.ResolveErr = ch.Endpoints, ch.Draining, ch.UnknownZone, ch.ResolveErr
	t.Lagging, t.LaggingSlices, t.Lingering = ch.Lagging, ch.LaggingSlices, ch.Lingering
	t.PortProtocol = want
	return t, "", true
}

// withFreshDesired is t with a newly read ready set. ReadDesired reads
// ready endpoints only, so a terminating endpoint read earlier stays
// draining unless it is ready again now: a ready endpoint is never drained.
func (t Target) withFreshDesired(ready []Endpoint) Target {
	t.Endpoints = ready
	isReady := make(map[memberKey]bool, len(ready))
	for _, e := range ready {
		isReady[keyOf(e.Address, e.Port)] = true
	}
	var draining []Endpoint
	for _, e := range t.Draining {
		if !isReady[keyOf(e.Address, e.Port)] {
			draining = append(draining, e)
		}
	}
	t.Draining = draining
	return t
}

// ValidPoolID: the ID can name the pool in an ELB URL and in its lock's
// Lease name (pool IDs are UUIDs), so a binding that cannot be served is
// refused before any call instead of failing at its Lease.
func ValidPoolID(id string) bool {
	return len(validation.IsDNS1123Subdomain(poollock.LeaseName(id))) == 0
}

func ownerOf(b *lbv1.PoolBinding, cluster string) Owner {
	return Owner{Namespace: b.Namespace, Name: b.Name, UID: string(b.UID), Cluster: cluster}
}
