package bindingcontroller

import (
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/endpoints"
)

// The informers' TransformFuncs: they run on every listed or watched object
// before it is cached, and keep only what a sync pass reads, so that the
// watch process stays small at 10,000 bindings (memory is dominated by Pods
// and EndpointSlices, which carry far more than endpoint resolution reads).

// lastApplied is kubectl's client-side apply record, often the largest
// annotation of an object; nothing in sync reads it.
const lastApplied = corev1.LastAppliedConfigAnnotation

// trimMeta drops managedFields and the last-applied annotation.
func trimMeta(m *metav1.ObjectMeta) {
	m.ManagedFields = nil
	if _, ok := m.Annotations[lastApplied]; ok {
		a := make(map[string]string, len(m.Annotations)-1)
		for k, v := range m.Annotations {
			if k != lastApplied {
				a[k] = v
			}
		}
		m.Annotations = a
	}
}

// transformBinding converts a PoolBinding read through the dynamic client to
// the typed object (a fraction of the size of its generic map) and trims it.
func transformBinding(obj any) (any, error) {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		b := &lbv1.PoolBinding{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, b); err != nil {
			return nil, fmt.Errorf("poolbinding %s/%s: %w", o.GetNamespace(), o.GetName(), err)
		}
		trimMeta(&b.ObjectMeta)
		return b, nil
	case *lbv1.PoolBinding:
		trimMeta(&o.ObjectMeta)
		return o, nil
	}
	return obj, nil // tombstones and the like pass through
}

// transformService keeps what sync reads of a core/v1 Service, or of one
// read through the dynamic client (CCI's cci/v2 Services have core/v1's
// shape): its identity, annotations (kubernetes.io/elb.id), type, ports and
// selector. Labels, cluster IPs, IP families, session affinity and status
// are dropped, and a change to only those queues nothing.
func transformService(obj any) (any, error) {
	var svc *corev1.Service
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		s, err := endpoints.ServiceFromUnstructured(o)
		if err != nil {
			return nil, err
		}
		svc = s
	case *corev1.Service:
		svc = o
	default:
		return obj, nil
	}
	trimMeta(&svc.ObjectMeta)
	return &corev1.Service{
		TypeMeta: svc.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace, UID: svc.UID, ResourceVersion: svc.ResourceVersion,
			Generation: svc.Generation, Annotations: svc.Annotations, DeletionTimestamp: svc.DeletionTimestamp},
		Spec: corev1.ServiceSpec{Type: svc.Spec.Type, Ports: svc.Spec.Ports, Selector: svc.Spec.Selector},
	}, nil
}

// transformEndpointSlice converts an EndpointSlice to the cache's compact
// form (cachedSlice), which keeps what endpoint resolution reads: the
// slice's identity and Service (its kubernetes.io/service-name label),
// address type and ports, and per endpoint its first address (the one the
// API says consumers use), conditions, zone and node name. Annotations,
// other labels (the endpoint controller copies the Service's onto its
// slices), owner references, hostnames, hints, target references and the
// deprecated topology map are dropped. Slices are most of the cache at
// 10,000 bindings: an endpoint took about 330 bytes as the API type (its
// target reference alone about 200) and takes about 60 here.
func transformEndpointSlice(obj any) (any, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	c := &cachedSlice{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID,
			ResourceVersion: s.ResourceVersion, Generation: s.Generation},
		addressType: s.AddressType,
		endpoints:   make([]cachedEndpoint, len(s.Endpoints)),
	}
	c.service, c.hasService = s.Labels[discoveryv1.LabelServiceName]
	if len(s.Ports) > 0 {
		c.ports = make([]discoveryv1.EndpointPort, len(s.Ports))
		for i, p := range s.Ports {
			c.ports[i] = discoveryv1.EndpointPort{Name: p.Name, Protocol: p.Protocol, Port: p.Port}
		}
	}
	for i := range s.Endpoints {
		ep := &s.Endpoints[i]
		ce := &c.endpoints[i]
		if len(ep.Addresses) > 0 {
			ce.address, ce.hasAddress = ep.Addresses[0], true
		}
		ce.ready, ce.serving, ce.terminating = condition(ep.Conditions.Ready), condition(ep.Conditions.Serving), condition(ep.Conditions.Terminating)
		ce.nodeName = sharedStrings.intern(ep.NodeName)
		ce.zone = sharedStrings.intern(ep.Zone)
	}
	return c, nil
}

// Cached objects are read-only (the informer contract), and so are the
// slices a SliceCache hands out: endpoints share the pointers of equal
// values.
var (
	trueValue, falseValue = true, false
	sharedStrings         = &stringTable{m: map[string]*string{}}
)

// conditionValue is an endpoint condition as the cache keeps it: unset,
// false or true in a byte instead of a pointer.
type conditionValue uint8

const (
	conditionUnset conditionValue = iota
	conditionFalse
	conditionTrue
)

func condition(b *bool) conditionValue {
	switch {
	case b == nil:
		return conditionUnset
	case *b:
		return conditionTrue
	default:
		return conditionFalse
	}
}

// pointer is the API's form of v: nil, or a shared true or false.
func (v conditionValue) pointer() *bool {
	switch v {
	case conditionTrue:
		return &trueValue
	case conditionFalse:
		return &falseValue
	}
	return nil
}

// stringTable hands out one pointer per distinct value: zones and node
// names, a few per cluster, each repeated by thousands of endpoints.
type stringTable struct {
	mu sync.Mutex
	m  map[string]*string
}

// maxSharedStrings bounds the table (a cluster has far fewer zones and
// nodes); past it, values are kept as they came.
const maxSharedStrings = 1 << 16

// value is intern for a string value ("" stays "").
func (t *stringTable) value(s string) string {
	if s == "" {
		return ""
	}
	return *t.intern(&s)
}

func (t *stringTable) intern(p *string) *string {
	if p == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if q, ok := t.m[*p]; ok {
		return q
	}
	if len(t.m) >= maxSharedStrings {
		return p
	}
	t.m[*p] = p
	return p
}

// transformPod converts a Pod, typed or read through the dynamic client
// (CCI's cci/v2 pods have core/v1's shape), to the cache's compact form
// (cachedPod), which keeps what PodEndpoints, zone scoping and readiness
// gates read: identity, labels, deletionTimestamp, node name, readiness
// gates, the ports of containers and restartable init containers (named
// targetPorts), the phase, the Ready and ContainersReady statuses, the
// readiness-gate conditions and the pod IPs. Images, commands,
// environment, volumes, resources, container statuses, other conditions
// and every condition's times and messages but the gates' are dropped;
// labels and the kept spec are shared by the pods of one template. On the
// Pod path (CCI 2.0) pods are most of the cache: a trimmed Pod as the API
// type took about 2.6 KB, this form takes about 0.5 KB.
func transformPod(obj any) (any, error) {
	var p *corev1.Pod
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		p = &corev1.Pod{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, p); err != nil {
			return nil, fmt.Errorf("cannot read pod %s/%s: %w", o.GetNamespace(), o.GetName(), err)
		}
	case *corev1.Pod:
		p = o
	default:
		return obj, nil
	}
	c := &cachedPod{
		name:              p.Name,
		namespace:         sharedStrings.value(p.Namespace),
		uid:               p.UID,
		resourceVersion:   p.ResourceVersion,
		generation:        p.Generation,
		labels:            sharedLabels.get(p.Labels),
		deletionTimestamp: p.DeletionTimestamp,
		nodeName:          sharedStrings.value(p.Spec.NodeName),
		spec: sharedSpecs.get(&podSpecPart{
			readinessGates: p.Spec.ReadinessGates,
			containers:     trimContainers(p.Spec.Containers, false),
			initContainers: trimContainers(p.Spec.InitContainers, true),
		}),
		phase: corev1.PodPhase(sharedStrings.value(string(p.Status.Phase))),
		podIP: p.Status.PodIP,
	}
	if !(len(p.Status.PodIPs) == 1 && p.Status.PodIPs[0].IP == p.Status.PodIP) {
		c.podIPs = p.Status.PodIPs
	}
	for _, cond := range p.Status.Conditions {
		switch {
		case cond.Type == corev1.PodReady:
			c.ready = corev1.ConditionStatus(sharedStrings.value(string(cond.Status)))
		case cond.Type == corev1.ContainersReady:
			c.containersReady = corev1.ConditionStatus(sharedStrings.value(string(cond.Status)))
		case strings.HasPrefix(string(cond.Type), lbv1.ReadinessGatePrefix):
			c.gates = append(c.gates, cond)
		}
	}
	return c, nil
}

// transformNode keeps a Node's name and labels (zone and node-selector
// scoping read nothing else); status, with its images and conditions, is
// most of a Node.
func transformNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{TypeMeta: n.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion, Labels: n.Labels,
	}}, nil
}

// trimContainers keeps name, ports and restart policy; init containers
// count only when restartable (sidecars) and with ports.
func trimContainers(cs []corev1.Container, sidecarsOnly bool) []corev1.Container {
	var out []corev1.Container
	for _, c := range cs {
		if len(c.Ports) == 0 {
			continue
		}
		if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
			continue
		}
		out = append(out, corev1.Container{Name: c.Name, Ports: c.Ports, RestartPolicy: c.RestartPolicy})
	}
	return out
}

var (
	_ cache.TransformFunc = transformBinding
	_ cache.TransformFunc = transformService
	_ cache.TransformFunc = transformEndpointSlice
	_ cache.TransformFunc = transformPod
	_ cache.TransformFunc = transformNode
)
