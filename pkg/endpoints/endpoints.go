// Package endpoints computes the desired backends of a Service: the ready,
// non-terminating IPv4 endpoints of one Service port, each with the member
// port that port's targetPort resolves to, and, separately, the endpoints
// that are terminating but still serving (to be drained, not cut off).
//
// The functions work on objects the caller has already listed (one list per
// namespace for a whole sync pass), never on API clients, so that a pass over
// many bindings costs a few list calls instead of one GET per binding. They
// filter the listed objects themselves (namespace, service-name label,
// selector), so the caller may hand over a whole namespace's list.
package endpoints

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ELBIDAnnotation names the load balancer a Service itself uses (CCE/CCI). A
// pool of that load balancer must not be bound to the Service.
const ELBIDAnnotation = "kubernetes.io/elb.id"

// Errors callers can test with errors.Is. ErrServiceNotFound is not returned
// here (the caller finds out a Service is missing from its list) but is
// defined here so every layer classifies that case the same way.
var (
	ErrServiceNotFound = errors.New("service not found")
	ErrPortNotFound    = errors.New("service has no such port")
	ErrNoSelector      = errors.New("service has no selector, so its pods cannot be found")
	// ErrPortAmbiguous: the Service has the port number in more than one
	// protocol (53/UDP and 53/TCP); the pool's protocol must choose
	// (WithPortProtocol). It is an ErrPortNotFound.
	ErrPortAmbiguous = fmt.Errorf("%w: the port number is served in more than one protocol", ErrPortNotFound)
)

// Endpoint is one desired backend: a pod IPv4 address and the member port.
type Endpoint struct {
	Address string `json:"address"`
	Port    int32  `json:"port"`
}

func (e Endpoint) String() string {
	return net.JoinHostPort(e.Address, strconv.Itoa(int(e.Port)))
}

// Compare orders endpoints by numeric address, then port; unparsable
// addresses sort first, by their text, so the order is total.
func Compare(a, b Endpoint) int {
	aa, aerr := netip.ParseAddr(a.Address)
	ba, berr := netip.ParseAddr(b.Address)
	switch {
	case aerr != nil && berr != nil:
		if c := cmp.Compare(a.Address, b.Address); c != 0 {
			return c
		}
	case aerr != nil:
		return -1
	case berr != nil:
		return 1
	default:
		if c := aa.Compare(ba); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.Port, b.Port)
}

// ServiceFromUnstructured converts a Service read through the dynamic client.
// CCI serves Services in group cci/v2, but their shape is core/v1's, so the
// conversion ignores apiVersion.
func ServiceFromUnstructured(u *unstructured.Unstructured) (*corev1.Service, error) {
	if u == nil {
		return nil, errors.New("nil service object")
	}
	svc := &corev1.Service{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, svc); err != nil {
		return nil, fmt.Errorf("service %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	return svc, nil
}

// ELBID returns the Service's kubernetes.io/elb.id annotation, or "".
func ELBID(svc *corev1.Service) string {
	if svc == nil {
		return ""
	}
	return svc.Annotations[ELBIDAnnotation]
}

// ServicePort returns the port entry whose `port` equals port. When
// several entries have that number (one per protocol), it is
// ErrPortAmbiguous: see PortProtocols and WithPortProtocol.
func ServicePort(svc *corev1.Service, port int32) (*corev1.ServicePort, error) {
	if svc == nil {
		return nil, ErrServiceNotFound
	}
	var found *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			if found != nil {
				return nil, fmt.Errorf("%w: service %s/%s has port %d as %s", ErrPortAmbiguous, svc.Namespace, svc.Name, port, joinProtocols(PortProtocols(svc, port)))
			}
			found = &svc.Spec.Ports[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: service %s/%s has no port %d", ErrPortNotFound, svc.Namespace, svc.Name, port)
	}
	return found, nil
}

// PortProtocols lists the protocols (TCP when unset) of svc's entries with
// port number port, in the Service's order.
func PortProtocols(svc *corev1.Service, port int32) []corev1.Protocol {
	var out []corev1.Protocol
	for _, sp := range svc.Spec.Ports {
		if sp.Port == port && !slices.Contains(out, protocolOf(sp.Protocol)) {
			out = append(out, protocolOf(sp.Protocol))
		}
	}
	return out
}

// WithPortProtocol returns svc with the entries of port number port that
// have another protocol than proto left out (a copy; svc is unchanged), so
// that ServicePort picks the entry of that protocol.
func WithPortProtocol(svc *corev1.Service, port int32, proto corev1.Protocol) *corev1.Service {
	out := *svc
	out.Spec.Ports = slices.DeleteFunc(slices.Clone(svc.Spec.Ports), func(sp corev1.ServicePort) bool {
		return sp.Port == port && protocolOf(sp.Protocol) != proto
	})
	return &out
}

func joinProtocols(ps []corev1.Protocol) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += " and "
		}
		s += string(p)
	}
	return s
}

// targetPort resolves the numeric part of a targetPort. It returns
// (port, "") for a number, an empty value or 0 (meaning "same as port"), and
// (0, name) for a named port that must be looked up per pod. A numeric string
// is accepted as a number: Kubernetes rejects it, but a lax server might not.
func targetPort(sp *corev1.ServicePort) (int32, string) {
	tp := sp.TargetPort
	switch tp.Type {
	case intstr.Int:
		if tp.IntVal == 0 {
			return sp.Port, ""
		}
		return tp.IntVal, ""
	default:
		if tp.StrVal == "" {
			return sp.Port, ""
		}
		if n, err := strconv.ParseInt(tp.StrVal, 10, 32); err == nil {
			if n == 0 {
				return sp.Port, ""
			}
			return int32(n), ""
		}
		return 0, tp.StrVal
	}
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func validPort(p int32) bool { return p > 0 && p <= 65535 }

// ipv4 returns the canonical form of s when it is a usable IPv4 address.
func ipv4(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || a.IsUnspecified() {
		return "", false
	}
	return a.String(), true
}

// Set is the endpoints of one Service port by state. The two lists are
// sorted, free of duplicates and disjoint: an endpoint that is ready
// anywhere (e.g. in one of two slices during a handover) counts as Ready.
type Set struct {
	// Ready endpoints are ready, serving and not terminating: the members
	// the pool should hold.
	Ready []Endpoint
	// Terminating endpoints are terminating but still serving: their
	// members should take no new connections but keep the ones they have.
	Terminating []Endpoint
	// Lagging are the serving endpoints of slices that disagree with the
	// Service on the port's name (a rename the EndpointSlice controller
	// has not finished rewriting): they name the binding's port otherwise
	// — same protocol, and a member port number the Service port resolves
	// to or a name the Service no longer has. They are not taken, and
	// their members are not to be removed while the slices disagree.
	// LaggingSlices counts those slices.
	Lagging       []Endpoint
	LaggingSlices int
	// Listed endpoints are listed but neither ready nor serving (a pod not
	// ready yet, or no longer): their members are stale like those of
	// endpoints that are gone, but a rollout removes them last, since
	// they may be ready again soon.
	Listed []Endpoint
}

func newSet(ready, terminating []Endpoint, listed ...Endpoint) Set {
	ready = normalize(ready)
	in := func(list []Endpoint) func(Endpoint) bool {
		return func(e Endpoint) bool {
			_, found := slices.BinarySearchFunc(list, e, Compare)
			return found
		}
	}
	terminating = slices.DeleteFunc(normalize(terminating), in(ready))
	listed = slices.DeleteFunc(slices.DeleteFunc(normalize(listed), in(ready)), in(terminating))
	return Set{Ready: ready, Terminating: terminating, Listed: listed}
}

// FromEndpointSlices returns the desired (ready) endpoints of svc's port
// `port` from EndpointSlices; see SliceEndpoints.
func FromEndpointSlices(svc *corev1.Service, port int32, eps []discoveryv1.EndpointSlice) ([]Endpoint, error) {
	set, err := SliceEndpoints(svc, port, eps)
	return set.Ready, err
}

// SliceEndpoints returns the endpoints of svc's port `port` from
// EndpointSlices (discovery.k8s.io/v1). Slices of other Services or
// namespaces in the list are ignored. Only IPv4 slices count; the member port
// is the slice port carrying the Service port's name and protocol, which is
// how the EndpointSlice controller publishes a resolved (also named)
// targetPort. An endpoint is Ready when it is not terminating and is ready
// and serving (nil counts as true, as the API documents for unknown state);
// requiring serving keeps publishNotReadyAddresses from adding pods that are
// not ready, matching FromPods. It is Terminating when terminating is true
// and it is still serving (a nil serving defers to ready, as the API says).
func SliceEndpoints(svc *corev1.Service, port int32, eps []discoveryv1.EndpointSlice) (Set, error) {
	sp, err := ServicePort(svc, port)
	if err != nil {
		return Set{}, err
	}
	proto := protocolOf(sp.Protocol)
	var out, terminating, listed []Endpoint
	// Slices without the Service port's name, the member port numbers
	// the slices that have it use (plus a numeric targetPort), and the
	// names the Service's ports of this protocol have now: a slice that
	// has a port of the same protocol under another name lags behind a
	// rename when that port has one of those numbers, or a name the
	// Service no longer has (a named targetPort resolves per pod, so the
	// lagging slice's number may differ from the updated slices').
	var others []*discoveryv1.EndpointSlice
	known := map[int32]bool{}
	if num, name := targetPort(sp); name == "" {
		known[num] = true
	}
	current := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		if protocolOf(p.Protocol) == proto {
			current[p.Name] = true
		}
	}
	for i := range eps {
		s := &eps[i]
		if s.Labels[discoveryv1.LabelServiceName] != svc.Name {
			continue
		}
		if s.Namespace != "" && svc.Namespace != "" && s.Namespace != svc.Namespace {
			continue
		}
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		memberPort, ok := slicePort(s, sp.Name, proto)
		if !ok {
			others = append(others, s)
			continue
		}
		known[memberPort] = true
		for _, ep := range s.Endpoints {
			// All addresses of one endpoint are the same backend;
			// the API says consumers use the first.
			if len(ep.Addresses) == 0 {
				continue
			}
			a, ok := ipv4(ep.Addresses[0])
			if !ok {
				continue
			}
			switch {
			case sliceEndpointReady(ep.Conditions):
				out = append(out, Endpoint{Address: a, Port: memberPort})
			case sliceEndpointDraining(ep.Conditions):
				terminating = append(terminating, Endpoint{Address: a, Port: memberPort})
			default:
				listed = append(listed, Endpoint{Address: a, Port: memberPort})
			}
		}
	}
	set := newSet(out, terminating, listed...)
	var lagging []Endpoint
	for _, s := range others {
		port, ok := laggingPort(s, sp.Name, proto, known, current)
		if !ok {
			continue
		}
		set.LaggingSlices++
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) == 0 {
				continue
			}
			a, ok := ipv4(ep.Addresses[0])
			if ok && (sliceEndpointReady(ep.Conditions) || sliceEndpointDraining(ep.Conditions)) {
				lagging = append(lagging, Endpoint{Address: a, Port: port})
			}
		}
	}
	set.Lagging = normalize(lagging)
	return set, nil
}

// laggingPort: the slice has a port of protocol proto, named otherwise than
// name, whose number is one the Service port resolves to or whose name no
// port of the Service (current, this protocol) has any more.
func laggingPort(s *discoveryv1.EndpointSlice, name string, proto corev1.Protocol, known map[int32]bool, current map[string]bool) (int32, bool) {
	return findSlicePort(s, func(pn string, pp corev1.Protocol, port int32) bool {
		return pn != name && pp == proto && validPort(port) && (known[port] || !current[pn])
	})
}

// slicePort: the slice's port of that name and protocol, with a valid number.
func slicePort(s *discoveryv1.EndpointSlice, name string, proto corev1.Protocol) (int32, bool) {
	return findSlicePort(s, func(pn string, pp corev1.Protocol, port int32) bool {
		return pn == name && pp == proto && validPort(port)
	})
}

// findSlicePort returns the first numbered port of s that match accepts;
// an unset name is "" and an unset protocol TCP, as the API defaults them.
func findSlicePort(s *discoveryv1.EndpointSlice, match func(name string, proto corev1.Protocol, port int32) bool) (int32, bool) {
	for _, p := range s.Ports {
		if p.Port == nil {
			continue
		}
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = protocolOf(*p.Protocol)
		}
		if match(pn, pp, *p.Port) {
			return *p.Port, true
		}
	}
	return 0, false
}

func sliceEndpointReady(c discoveryv1.EndpointConditions) bool {
	isTrue := func(b *bool) bool { return b == nil || *b }
	if c.Terminating != nil && *c.Terminating {
		return false
	}
	return isTrue(c.Ready) && isTrue(c.Serving)
}

// sliceEndpointDraining: terminating, and serving (nil serving defers to
// ready, nil ready counts as true).
func sliceEndpointDraining(c discoveryv1.EndpointConditions) bool {
	if c.Terminating == nil || !*c.Terminating {
		return false
	}
	if c.Serving != nil {
		return *c.Serving
	}
	return c.Ready == nil || *c.Ready
}

// FromPods returns the desired (ready) endpoints of svc's port `port` from
// pods; see PodEndpoints.
func FromPods(svc *corev1.Service, port int32, pods []corev1.Pod) ([]Endpoint, error) {
	set, err := PodEndpoints(svc, port, pods)
	return set.Ready, err
}

// PodEndpoints returns the endpoints of svc's port `port` from pods selected
// by svc's spec.selector that are Running, have condition Ready=True and an
// IPv4 pod IP: Ready without a deletionTimestamp, Terminating with one (a
// pod being deleted that still passes its readiness probe is still
// serving). A named targetPort is looked up in each pod's container ports
// (name and protocol); pods without it are skipped, as the EndpointSlice
// controller does. A Service without a selector has no pods to find, which
// is an error rather than "zero endpoints", so that sync does not empty the
// pool because of it.
func PodEndpoints(svc *corev1.Service, port int32, pods []corev1.Pod) (Set, error) {
	sp, err := ServicePort(svc, port)
	if err != nil {
		return Set{}, err
	}
	if len(svc.Spec.Selector) == 0 {
		return Set{}, fmt.Errorf("%w: %s/%s", ErrNoSelector, svc.Namespace, svc.Name)
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	num, name := targetPort(sp)
	proto := protocolOf(sp.Protocol)
	var out, terminating, listed []Endpoint
	for i := range pods {
		p := &pods[i]
		if p.Namespace != "" && svc.Namespace != "" && p.Namespace != svc.Namespace {
			continue
		}
		if !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		addr, ok := podIPv4(p)
		if !ok {
			continue
		}
		mp := num
		if name != "" {
			if mp, ok = findContainerPort(p, name, proto); !ok {
				continue
			}
		}
		if !validPort(mp) {
			continue
		}
		switch {
		case !podServing(p):
			listed = append(listed, Endpoint{Address: addr, Port: mp})
		case p.DeletionTimestamp != nil:
			terminating = append(terminating, Endpoint{Address: addr, Port: mp})
		default:
			out = append(out, Endpoint{Address: addr, Port: mp})
		}
	}
	return newSet(out, terminating, listed...), nil
}

// podServing: Running with condition Ready=True, deleted or not.
func podServing(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podIPv4 picks the pod's IPv4 address; dual-stack pods list it in podIPs.
func podIPv4(p *corev1.Pod) (string, bool) {
	for _, ip := range p.Status.PodIPs {
		if a, ok := ipv4(ip.IP); ok {
			return a, true
		}
	}
	return ipv4(p.Status.PodIP)
}

// findContainerPort resolves a named port; restartable init containers
// (sidecars) can serve ports too.
func findContainerPort(p *corev1.Pod, name string, proto corev1.Protocol) (int32, bool) {
	look := func(cs []corev1.Container, sidecarsOnly bool) (int32, bool) {
		for _, c := range cs {
			if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, cp := range c.Ports {
				if cp.Name == name && protocolOf(cp.Protocol) == proto {
					return cp.ContainerPort, true
				}
			}
		}
		return 0, false
	}
	if n, ok := look(p.Spec.Containers, false); ok {
		return n, true
	}
	return look(p.Spec.InitContainers, true)
}

// normalize sorts and de-duplicates.
func normalize(in []Endpoint) []Endpoint {
	slices.SortFunc(in, Compare)
	return slices.Compact(in)
}
