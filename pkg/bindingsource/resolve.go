package bindingsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/poolsync"
	"github.com/openvessel/ccictl/pkg/readinessgate"
)

// Resolver makes the targets of a pass from bindings. One Resolver serves
// one pass (one-shot) or one reconcile (watch): it keeps the Nodes it read
// and, for the one-shot pass's zone-coverage warnings, what its bindings
// take of each Service port.
type Resolver struct {
	mapper     meta.RESTMapper
	store      Store
	haveSlices bool
	subnet     string

	mu          sync.Mutex
	nodesRead   bool
	nodes       endpoints.Nodes
	nodesErr    error
	warnedNodes bool
	warned      map[string]bool
	warnings    []string
	coverage    zoneCoverage
}

// NewResolver returns a Resolver reading from store. mapper tells which
// resources the server serves (the Service and Pod resources of a
// targetRef group; EndpointSlices or not). subnetOverride is --subnet-id:
// it wins over every binding's lbv1.SubnetAnnotation.
func NewResolver(mapper meta.RESTMapper, store Store, subnetOverride string) *Resolver {
	mapper = RememberMappings(mapper)
	_, haveSlices := resourceFor(mapper, schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, "v1")
	return &Resolver{mapper: mapper, store: store, haveSlices: haveSlices, subnet: subnetOverride, coverage: zoneCoverage{}}
}

// UsesEndpointSlices reports whether endpoints come from EndpointSlices
// (else from Pods): what the controller must watch.
func (r *Resolver) UsesEndpointSlices() bool { return r.haveSlices }

// Warnings are the notices about the pass so far (Nodes unavailable to
// zone-scoped bindings), each once.
func (r *Resolver) Warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.warnings...)
}

// Target resolves one binding. A binding that cannot be resolved is a
// target with ResolveErr (the pass then removes nothing of its pool), never
// an error of the pass.
func (r *Resolver) Target(ctx context.Context, b *lbv1.PoolBinding) poolsync.Target {
	t := poolsync.Target{Binding: b, SubnetCIDRID: r.subnet}
	if t.SubnetCIDRID == "" {
		t.SubnetCIDRID = b.Annotations[lbv1.SubnetAnnotation]
	}
	in, err := r.inputs(ctx, b)
	if err != nil {
		t.ResolveErr = err
		return t
	}
	var set endpoints.Set
	set, t.UnknownZone, t.ServiceELBID, t.ResolveErr = in.resolve(ctx, b, "")
	if r.haveSlices && t.ResolveErr == nil {
		r.mu.Lock()
		t.ZoneEndpoints = r.coverage.add(b, in.scope, in.svc, in.slices).zoneEndpoints(in.scope)
		r.mu.Unlock()
	}
	t.Endpoints, t.Draining = set.Ready, set.Terminating
	t.Lagging, t.LaggingSlices, t.Lingering = set.Lagging, set.LaggingSlices, set.Listed
	if errors.Is(t.ResolveErr, endpoints.ErrPortAmbiguous) {
		// 53/UDP and 53/TCP: the pool's protocol chooses (after its
		// GetPool); resolve each now, from the same reads.
		t.ResolveErr, t.UnknownZone = nil, 0
		t.PortChoices = map[string]poolsync.PortChoice{}
		for _, proto := range endpoints.PortProtocols(in.svc, b.Spec.TargetRef.Port) {
			set, unknown, _, err := in.resolve(ctx, b, proto)
			t.PortChoices[string(proto)] = poolsync.PortChoice{Endpoints: set.Ready, Draining: set.Terminating, UnknownZone: unknown, ResolveErr: err,
				Lagging: set.Lagging, LaggingSlices: set.LaggingSlices, Lingering: set.Listed}
		}
	}
	return t
}

// Reread reads a binding's ready endpoints again from store (a fresh
// ListStore, or the caches), for the re-check before removals and for a
// plan made after waiting for a pool's lock. proto is the Service port
// protocol the pool chose ("" when the port number has one). Terminating
// endpoints are left out: they are the planner's to drain or remove.
func (r *Resolver) Reread(ctx context.Context, store Store, b *lbv1.PoolBinding, proto string) ([]endpoints.Endpoint, error) {
	again := &Resolver{mapper: r.mapper, store: store, haveSlices: r.haveSlices, coverage: zoneCoverage{}}
	// The Nodes of the pass stand: zone labels do not move in a pass.
	r.mu.Lock()
	again.nodesRead, again.nodes, again.nodesErr, again.warnedNodes = r.nodesRead, r.nodes, r.nodesErr, true
	r.mu.Unlock()
	in, err := again.inputs(ctx, b)
	if err != nil {
		return nil, err
	}
	set, _, _, err := in.resolve(ctx, b, corev1.Protocol(proto))
	return set.Ready, err
}

// inputs are what one binding's endpoints are computed from.
type inputs struct {
	r      *Resolver
	scope  endpoints.Scope
	nodes  endpoints.Nodes
	svc    *corev1.Service // nil: not found
	slices []discoveryv1.EndpointSlice
	pods   []corev1.Pod
	err    error // reading the Service's endpoints failed
	// podsRes are the Service's Pods; gated caches them on the slice path.
	podsRes   schema.GroupVersionResource
	gatedRead bool
	gatedPods []corev1.Pod
}

func (r *Resolver) inputs(ctx context.Context, b *lbv1.PoolBinding) (*inputs, error) {
	if b.Spec.TargetRef.Kind != "Service" {
		return nil, fmt.Errorf("targetRef.kind %q: sync resolves Service targets only", b.Spec.TargetRef.Kind)
	}
	svcRes, podsRes, err := ServiceResources(r.mapper, b.Spec.TargetRef.Group)
	if err != nil {
		return nil, err
	}
	zs, err := zoneScope(b)
	if err != nil {
		return nil, err
	}
	in := &inputs{r: r, scope: zs, podsRes: podsRes}
	if zs.NodeSelector != nil || (zs.Zones != nil && !r.haveSlices) {
		if in.nodes, err = r.readNodes(ctx, zs); err != nil {
			return nil, err
		}
	}
	ns := b.Namespace
	if b.Spec.TargetRef.Namespace != "" && b.Spec.TargetRef.Namespace != ns {
		return nil, fmt.Errorf("targetRef.namespace %q differs from the binding's namespace %q", b.Spec.TargetRef.Namespace, ns)
	}
	if in.svc, err = r.store.Service(ctx, svcRes, ns, b.Spec.TargetRef.Name); err != nil {
		in.err = err
		return in, nil
	}
	if in.svc == nil {
		return in, nil
	}
	switch {
	case r.haveSlices:
		in.slices, in.err = r.store.EndpointSlices(ctx, ns, in.svc.Name)
	case podsRes.Resource == "":
		in.err = errors.New("the server serves neither EndpointSlices nor Pods for this Service's group")
	default:
		in.pods, in.err = r.store.Pods(ctx, podsRes, ns, labels.SelectorFromSet(in.svc.Spec.Selector))
	}
	return in, nil
}

// warnOnce adds a notice the first time its key is seen.
func (r *Resolver) warnOnce(key, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.warned == nil {
		r.warned = map[string]bool{}
	}
	if !r.warned[key] {
		r.warned[key] = true
		r.warnings = append(r.warnings, msg)
	}
}

// readNodes reads the Nodes once per Resolver, for bindings scoped by
// zone on the Pod path or by a node selector.
func (r *Resolver) readNodes(ctx context.Context, zs endpoints.Scope) (endpoints.Nodes, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.nodesRead {
		r.nodesRead = true
		r.nodes, r.nodesErr = r.store.Nodes(ctx)
	}
	err := r.nodesErr
	switch {
	case err == nil:
		return r.nodes, nil
	case errors.Is(err, ErrNodesUnavailable) && zs.NodeSelector == nil:
		if !r.warnedNodes {
			r.warnedNodes = true
			r.warnings = append(r.warnings, fmt.Sprintf("%v: zone-scoped bindings take the zone from the pods' %s label", err, lbv1.ZoneLabel))
		}
		return nil, nil
	case errors.Is(err, ErrNodesUnavailable):
		return nil, fmt.Errorf("annotation %s needs the cluster's Nodes: %w; where pods have no nodes (CCI 2.0) scope the binding with %s", lbv1.NodeSelectorAnnotation, err, lbv1.ZonesAnnotation)
	default:
		return nil, fmt.Errorf("zone-scoped binding: %w", err)
	}
}

// resolve computes the binding's ready and terminating-but-serving
// endpoints within its zone scope, and how many ready endpoints it skipped
// because their zone is unknown. proto picks the Service port of that
// protocol where the port number has several ("" = the one there is;
// several is endpoints.ErrPortAmbiguous).
func (in *inputs) resolve(ctx context.Context, b *lbv1.PoolBinding, proto corev1.Protocol) (endpoints.Set, int, string, error) {
	if in.err != nil {
		return endpoints.Set{}, 0, "", in.err
	}
	svc := in.svc
	if svc == nil {
		return endpoints.Set{}, 0, "", fmt.Errorf("service %s/%s: %w", b.Namespace, b.Spec.TargetRef.Name, endpoints.ErrServiceNotFound)
	}
	if proto != "" {
		svc = endpoints.WithPortProtocol(svc, b.Spec.TargetRef.Port, proto)
	}
	var set endpoints.Set
	var unknownZone int
	var err error
	if in.r.haveSlices {
		set, unknownZone, err = endpoints.ScopedSliceEndpoints(svc, b.Spec.TargetRef.Port, in.slices, in.scope, in.nodes)
	} else {
		set, unknownZone, err = endpoints.ScopedPodEndpoints(svc, b.Spec.TargetRef.Port, in.pods, in.scope, in.nodes)
	}
	if err == nil && len(set.Listed) > 0 {
		set = in.registerGated(ctx, b, svc, set)
	}
	return set, unknownZone, endpoints.ELBID(svc), err
}

// registerGated moves into the desired set the listed, not-ready endpoints
// of pods that are not Ready only because they wait for this binding's
// readiness gate (readinessgate.Registrable): the gate opens once their
// member is ONLINE, so a pass that waited for them to be Ready would never
// register them. The Pods are read only when some endpoint is listed but
// not ready; where they cannot be read, the pass goes on without (nothing
// is removed that it would otherwise keep) and says so once.
func (in *inputs) registerGated(ctx context.Context, b *lbv1.PoolBinding, svc *corev1.Service, set endpoints.Set) endpoints.Set {
	pods := in.pods
	if in.r.haveSlices {
		if !in.gatedRead {
			in.gatedRead = true
			var err error
			if in.podsRes.Resource == "" {
				err = errors.New("the server serves no Pods for this Service's group")
			} else {
				in.gatedPods, err = in.r.store.Pods(ctx, in.podsRes, b.Namespace, labels.SelectorFromSet(svc.Spec.Selector))
			}
			if err != nil {
				in.r.warnOnce("gates", fmt.Sprintf("cannot read the Pods of not-ready endpoints (%v): pods waiting for a PoolBinding readiness gate are not registered", err))
			}
		}
		pods = in.gatedPods
	}
	targets, err := readinessgate.Targets(b.Name, svc, b.Spec.TargetRef.Port, pods)
	if err != nil || len(targets) == 0 {
		return set
	}
	gated := map[endpoints.Endpoint]bool{}
	for _, t := range targets {
		if t.Endpoint.Address != "" && readinessgate.Registrable(t.Pod, b.Name) {
			gated[t.Endpoint] = true
		}
	}
	var listed []endpoints.Endpoint
	for _, e := range set.Listed {
		// Listed is already within the binding's zone scope.
		if gated[e] {
			set.Ready = append(set.Ready, e)
			continue
		}
		listed = append(listed, e)
	}
	if len(listed) == len(set.Listed) {
		return set
	}
	set.Listed = listed
	slices.SortFunc(set.Ready, endpoints.Compare)
	return set
}

// ServiceResources maps a targetRef group ("cci/v2", "v1", "") to the
// Service and Pod resources the server serves. A group the server does not
// serve falls back to core v1, so a binding written for CCI 2.0 works on a
// plain Kubernetes cluster too.
func ServiceResources(mapper meta.RESTMapper, group string) (svc, pods schema.GroupVersionResource, err error) {
	gv, err := schema.ParseGroupVersion(group)
	if err != nil {
		return svc, pods, fmt.Errorf("targetRef.group %q is not a group/version: %w", group, err)
	}
	if s, ok := resourceFor(mapper, schema.GroupKind{Group: gv.Group, Kind: "Service"}, gv.Version); ok {
		p, _ := resourceFor(mapper, schema.GroupKind{Group: gv.Group, Kind: "Pod"}, gv.Version)
		return s, p, nil
	}
	s, ok := resourceFor(mapper, schema.GroupKind{Kind: "Service"}, "v1")
	if !ok {
		return svc, pods, fmt.Errorf("the server serves no Service resource for targetRef.group %q", group)
	}
	p, _ := resourceFor(mapper, schema.GroupKind{Kind: "Pod"}, "v1")
	return s, p, nil
}

func resourceFor(mapper meta.RESTMapper, gk schema.GroupKind, version string) (schema.GroupVersionResource, bool) {
	m, err := mapper.RESTMapping(gk, version)
	if err != nil {
		return schema.GroupVersionResource{}, false
	}
	return m.Resource, true
}

// zoneScope reads a binding's zone and node-selector annotations.
func zoneScope(b *lbv1.PoolBinding) (endpoints.Scope, error) {
	zones, err := b.Zones()
	if err != nil {
		return endpoints.Scope{}, err
	}
	sel, err := b.NodeSelector()
	if err != nil {
		return endpoints.Scope{}, err
	}
	return endpoints.Scope{Zones: zones, NodeSelector: sel}, nil
}

// GateTargets are the pods of b's Service that declare b's readiness gate,
// each with its member endpoint (readinessgate.Targets), read from the
// Resolver's Store: none when the Service is missing or no pod declares
// the gate. proto is the Service port protocol the pool chose, as the
// pass chooses it (poolsync.PortProtocol of the pool's protocol), where
// the port number is served in several ("" = the one there is).
func (r *Resolver) GateTargets(ctx context.Context, b *lbv1.PoolBinding, proto string) ([]readinessgate.Target, error) {
	svc, pods, err := r.servicePods(ctx, b)
	if err != nil || svc == nil {
		return nil, err
	}
	if proto != "" {
		svc = endpoints.WithPortProtocol(svc, b.Spec.TargetRef.Port, corev1.Protocol(proto))
	}
	return readinessgate.Targets(b.Name, svc, b.Spec.TargetRef.Port, pods)
}

// GatedPods are the pods of b's Service that declare b's readiness gate
// (readinessgate.GatedPods): what opening the gates of a deleted binding
// patches, whatever its port.
func (r *Resolver) GatedPods(ctx context.Context, b *lbv1.PoolBinding) ([]corev1.Pod, error) {
	_, pods, err := r.servicePods(ctx, b)
	if err != nil {
		return nil, err
	}
	return readinessgate.GatedPods(b.Name, pods), nil
}

// servicePods reads b's Service and the pods it selects (nil Service when
// it is missing or selects nothing).
func (r *Resolver) servicePods(ctx context.Context, b *lbv1.PoolBinding) (*corev1.Service, []corev1.Pod, error) {
	svcRes, podsRes, err := ServiceResources(r.mapper, b.Spec.TargetRef.Group)
	if err != nil {
		return nil, nil, err
	}
	svc, err := r.store.Service(ctx, svcRes, b.Namespace, b.Spec.TargetRef.Name)
	if err != nil || svc == nil || len(svc.Spec.Selector) == 0 || podsRes.Resource == "" {
		return nil, nil, err
	}
	pods, err := r.store.Pods(ctx, podsRes, b.Namespace, labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return nil, nil, err
	}
	return svc, pods, nil
}
