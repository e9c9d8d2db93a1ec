package synccmd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/cmdutil"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/reconcile"
)

// clusterInput is everything a pass reads from the API server.
type clusterInput struct {
	targets []reconcile.Target
	objects []*unstructured.Unstructured // the selected bindings, as read
	owners  reconcile.OwnerLookup
	dyn     dynamic.Interface
	// statusDyn writes statuses without client-go's token bucket; the
	// writer bounds requests in flight instead.
	statusDyn dynamic.Interface
	plbGVR    schema.GroupVersionResource
	warnings  []string
	// leases is the client of the pool locks, without client-go's token
	// bucket for the same reason as statusDyn.
	leases kubernetes.Interface
	// rereads re-reads one binding's desired endpoints (by binding uid),
	// for the re-check before removals where pool locks are unavailable.
	// proto is the Service port protocol the pool chose ("" when the
	// port number has one).
	rereads map[string]func(ctx context.Context, proto string) ([]endpoints.Endpoint, error)
	// readOwners lists the PoolBindings again, for a plan that would
	// remove orphans: a binding created since the pass began must not have
	// its members taken for orphans.
	readOwners func(context.Context) (reconcile.OwnerLookup, error)
	// clusterID names this cluster in ownership markers.
	clusterID string
}

// nsLists holds one namespace's (or, with -A, every namespace's) lists,
// read once and shared by every binding there.
type nsLists struct {
	services []corev1.Service
	slices   []discoveryv1.EndpointSlice
	pods     []corev1.Pod
	err      error
}

// readCluster lists the PoolBindings, then the Services and EndpointSlices
// (or Pods) of the namespaces they live in: one request per list, never one
// GET per binding.
func (o *SyncOptions) readCluster(ctx context.Context) (*clusterInput, error) {
	f := o.factory
	mapper, err := f.ToRESTMapper()
	if err != nil {
		return nil, err
	}
	dyn, err := f.DynamicClient()
	if err != nil {
		return nil, err
	}
	plbMapping, err := mapper.RESTMapping(schema.GroupKind{Group: lbv1.GroupName, Kind: lbv1.Kind}, lbv1.SchemeGroupVersion.Version)
	if err != nil {
		return nil, fmt.Errorf("the server does not serve PoolBindings (%s/%s): %w", lbv1.GroupName, lbv1.SchemeGroupVersion.Version, err)
	}
	in := &clusterInput{dyn: dyn, plbGVR: plbMapping.Resource}
	// Core and discovery lists are read typed and protobuf-encoded: decoding
	// thousands of Services and EndpointSlices into generic maps dominated
	// the command's memory (docs/performance.md). CCI's own groups (cci/v2)
	// are only served as JSON and still go through the dynamic client.
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	statusCfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	statusCfg.QPS = -1 // no client-side limiter: see bindingstatus.New
	if in.statusDyn, err = dynamic.NewForConfig(statusCfg); err != nil {
		return nil, err
	}
	if in.leases, err = kubernetes.NewForConfig(statusCfg); err != nil {
		return nil, err
	}
	in.rereads = map[string]func(context.Context, string) ([]endpoints.Endpoint, error){}

	listNS := o.Namespace
	if o.AllNamespaces {
		listNS = metav1.NamespaceAll
	}
	// The full list, not the selection: owner lookups must see every live
	// binding, or members of unselected bindings would look orphaned.
	all, err := dyn.Resource(plbMapping.Resource).Namespace(listNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	sel := labels.Everything()
	if o.LabelSelector != "" {
		if sel, err = labels.Parse(o.LabelSelector); err != nil {
			return nil, fmt.Errorf("invalid selector %q: %w", o.LabelSelector, err)
		}
	}
	want := map[string]bool{}
	for _, n := range o.Names {
		want[n] = true
	}
	var live []reconcile.Owner
	var selected []*unstructured.Unstructured
	for i := range all.Items {
		u := &all.Items[i]
		live = append(live, reconcile.Owner{Namespace: u.GetNamespace(), Name: u.GetName(), UID: string(u.GetUID())})
		if len(want) > 0 && !want[u.GetName()] {
			continue
		}
		if !sel.Matches(labels.Set(u.GetLabels())) {
			continue
		}
		selected = append(selected, u)
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			found := false
			for _, u := range selected {
				found = found || u.GetName() == n
			}
			if !found {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return nil, fmt.Errorf("Error from server (NotFound): poolbindings.%s %q not found", lbv1.GroupName, strings.Join(missing, `", "`))
		}
	}
	var scope []string
	if !o.AllNamespaces {
		scope = []string{o.Namespace}
	}
	in.owners = reconcile.NewOwnerLookup(live, scope)
	in.readOwners = func(ctx context.Context) (reconcile.OwnerLookup, error) {
		all, err := dyn.Resource(plbMapping.Resource).Namespace(listNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		live := make([]reconcile.Owner, 0, len(all.Items))
		for _, u := range all.Items {
			live = append(live, reconcile.Owner{Namespace: u.GetNamespace(), Name: u.GetName(), UID: string(u.GetUID())})
		}
		return reconcile.NewOwnerLookup(live, scope), nil
	}
	in.objects = selected
	if len(selected) == 0 {
		return in, nil
	}
	if in.clusterID, err = o.clusterIdentity(ctx, typed); err != nil {
		return nil, err
	}

	slicesGVR, haveSlices := resourceFor(mapper, schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, "v1")
	lists := map[string]*nsLists{} // key: namespace, or "" for one cross-namespace list, "|" Service resource
	// With -A one cross-namespace list per resource serves every binding.
	// An identity that may list only some namespaces is refused that list
	// (Forbidden): then each namespace is listed on its own, so a forbidden
	// namespace blocks only its own bindings, with the RBAC reason.
	crossForbidden := map[string]bool{}
	scopeOf := func(ns, svc string) string {
		if o.AllNamespaces && !crossForbidden[svc] {
			return ""
		}
		return ns
	}
	// Nodes are read at most once per pass, and only when a binding needs
	// them: one on the Pod path scoped by zone, or one with a node selector.
	var nodesRead bool
	var nodesList endpoints.Nodes
	var nodesErr error
	cov := zoneCoverage{}
	warnedNodes := false
	readNodes := func(ctx context.Context) (endpoints.Nodes, error) {
		if !nodesRead {
			nodesRead = true
			nodesList, nodesErr = listNodes(ctx, f, mapper)
		}
		return nodesList, nodesErr
	}
	for _, u := range selected {
		var b lbv1.PoolBinding
		t := reconcile.Target{Binding: &b}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &b); err != nil {
			t.Binding = &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID()}}
			t.ResolveErr = fmt.Errorf("cannot read PoolBinding: %w", err)
			in.targets = append(in.targets, t)
			continue
		}
		t.SubnetCIDRID = o.SubnetCIDRID
		if t.SubnetCIDRID == "" {
			t.SubnetCIDRID = b.Annotations[lbv1.SubnetAnnotation]
		}
		if b.Spec.TargetRef.Kind != "Service" {
			t.ResolveErr = fmt.Errorf("targetRef.kind %q: sync resolves Service targets only", b.Spec.TargetRef.Kind)
			in.targets = append(in.targets, t)
			continue
		}
		svcGVR, podsGVR, err := serviceResources(mapper, b.Spec.TargetRef.Group)
		if err != nil {
			t.ResolveErr = err
			in.targets = append(in.targets, t)
			continue
		}
		zs, err := zoneScope(&b)
		if err != nil {
			t.ResolveErr = err
			in.targets = append(in.targets, t)
			continue
		}
		var nodes endpoints.Nodes
		if zs.NodeSelector != nil || (zs.Zones != nil && !haveSlices) {
			nodes, err = readNodes(ctx)
			switch {
			case errors.Is(err, errNodesUnavailable) && zs.NodeSelector == nil:
				if !warnedNodes {
					warnedNodes = true
					in.warnings = append(in.warnings, fmt.Sprintf("%v: zone-scoped bindings take the zone from the pods' %s label", err, lbv1.ZoneLabel))
				}
			case errors.Is(err, errNodesUnavailable):
				t.ResolveErr = fmt.Errorf("annotation %s needs the cluster's Nodes: %w; where pods have no nodes (CCI 2.0) scope the binding with %s", lbv1.NodeSelectorAnnotation, err, lbv1.ZonesAnnotation)
			case err != nil:
				t.ResolveErr = fmt.Errorf("zone-scoped binding: %w", err)
			}
			if t.ResolveErr != nil {
				in.targets = append(in.targets, t)
				continue
			}
		}
		svcKey := svcGVR.String()
		scope := scopeOf(b.Namespace, svcKey)
		l := lists[scope+"|"+svcKey]
		if l == nil {
			l = readLists(ctx, dyn, typed, scope, svcGVR, podsGVR, slicesGVR, haveSlices)
			if scope == "" && apierrors.IsForbidden(l.err) {
				crossForbidden[svcKey] = true
				in.warnings = append(in.warnings, fmt.Sprintf("listing across namespaces is forbidden (%v); listing each namespace on its own", l.err))
				scope = b.Namespace
				l = readLists(ctx, dyn, typed, scope, svcGVR, podsGVR, slicesGVR, haveSlices)
			}
			lists[scope+"|"+svcKey] = l
		}
		var set endpoints.Set
		set, t.UnknownZone, t.ServiceELBID, t.ResolveErr = resolve(&b, l, haveSlices, zs, nodes, "")
		if haveSlices && t.ResolveErr == nil {
			t.ZoneEndpoints = cov.add(&b, zs, serviceOf(&b, l), l.slices).zoneEndpoints(zs)
		}
		t.Endpoints, t.Draining = set.Ready, set.Terminating
		t.Lagging, t.LaggingSlices, t.Lingering = set.Lagging, set.LaggingSlices, set.Listed
		if errors.Is(t.ResolveErr, endpoints.ErrPortAmbiguous) {
			// 53/UDP and 53/TCP: the pool's protocol chooses (after its
			// GetPool); resolve each now, from the same lists.
			t.ResolveErr, t.UnknownZone = nil, 0
			t.PortChoices = map[string]reconcile.PortChoice{}
			for _, proto := range endpoints.PortProtocols(serviceOf(&b, l), b.Spec.TargetRef.Port) {
				set, unknown, _, err := resolve(&b, l, haveSlices, zs, nodes, proto)
				t.PortChoices[string(proto)] = reconcile.PortChoice{Endpoints: set.Ready, Draining: set.Terminating, UnknownZone: unknown, ResolveErr: err,
					Lagging: set.Lagging, LaggingSlices: set.LaggingSlices, Lingering: set.Listed}
			}
		}
		// The re-check before removals keeps a member whose endpoint is
		// ready again (terminating endpoints are the planner's to drain or
		// remove, as the pool's settings say).
		in.rereads[string(b.UID)] = func(ctx context.Context, proto string) ([]endpoints.Endpoint, error) {
			l := readLists(ctx, dyn, typed, b.Namespace, svcGVR, podsGVR, slicesGVR, haveSlices)
			set, _, _, err := resolve(&b, l, haveSlices, zs, nodes, corev1.Protocol(proto))
			return set.Ready, err
		}
		in.targets = append(in.targets, t)
	}
	in.warnings = append(in.warnings, cov.uncovered(all.Items)...)
	return in, nil
}

// clusterIdentity is --cluster-id, else the UID of the kube-system namespace
// (one GET): stable for the cluster's life and different in every cluster,
// which is what tells two clusters' members of one pool apart.
func (o *SyncOptions) clusterIdentity(ctx context.Context, kube kubernetes.Interface) (string, error) {
	if o.ClusterID != "" {
		return o.ClusterID, nil
	}
	ns, err := kube.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("cannot determine this cluster's identity for the ownership markers of pool members (reading namespace %s: %v); pass --cluster-id with a stable name for this cluster", metav1.NamespaceSystem, err)
	}
	id := string(ns.UID)
	if err := reconcile.ValidateClusterID(id); err != nil {
		return "", fmt.Errorf("cannot use the UID of namespace %s as this cluster's identity (%v); pass --cluster-id", metav1.NamespaceSystem, err)
	}
	return id, nil
}

// serviceResources maps a targetRef group ("cci/v2", "v1", "") to the
// Service and Pod resources the server serves. A group the server does not
// serve falls back to core v1, so a binding written for CCI 2.0 works on a
// plain Kubernetes cluster too.
func serviceResources(mapper meta.RESTMapper, group string) (svc, pods schema.GroupVersionResource, err error) {
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

func readLists(ctx context.Context, dyn dynamic.Interface, typed kubernetes.Interface, ns string, svcGVR, podsGVR, slicesGVR schema.GroupVersionResource, haveSlices bool) *nsLists {
	l := &nsLists{}
	var err error
	if l.services, err = listServices(ctx, dyn, typed, ns, svcGVR); err != nil {
		l.err = fmt.Errorf("list services: %w", err)
		return l
	}
	if haveSlices {
		list, err := typed.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			l.err = fmt.Errorf("list endpointslices: %w", err)
			return l
		}
		l.slices = list.Items
		return l
	}
	if podsGVR.Resource == "" {
		l.err = errors.New("the server serves neither EndpointSlices nor Pods for this Service's group")
		return l
	}
	if l.pods, err = listPods(ctx, dyn, typed, ns, podsGVR); err != nil {
		l.err = fmt.Errorf("list pods: %w", err)
	}
	return l
}

// isCore reports whether gvr is the core group's v1, which the typed
// clientset serves.
func isCore(gvr schema.GroupVersionResource) bool { return gvr.Group == "" && gvr.Version == "v1" }

func listServices(ctx context.Context, dyn dynamic.Interface, typed kubernetes.Interface, ns string, gvr schema.GroupVersionResource) ([]corev1.Service, error) {
	if isCore(gvr) {
		list, err := typed.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
	list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]corev1.Service, 0, len(list.Items))
	for i := range list.Items {
		svc, err := endpoints.ServiceFromUnstructured(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *svc)
	}
	return out, nil
}

func listPods(ctx context.Context, dyn dynamic.Interface, typed kubernetes.Interface, ns string, gvr schema.GroupVersionResource) ([]corev1.Pod, error) {
	if isCore(gvr) {
		list, err := typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
	list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]corev1.Pod, 0, len(list.Items))
	for i := range list.Items {
		var p corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &p); err != nil {
			return nil, fmt.Errorf("decode pod %s: %w", list.Items[i].GetName(), err)
		}
		out = append(out, p)
	}
	return out, nil
}

// errNodesUnavailable: the server does not serve Nodes or does not let this
// identity list them (as on CCI 2.0).
var errNodesUnavailable = errors.New("nodes cannot be listed")

// listNodes reads the labels of every Node, metadata only: a zone-scoped
// pass needs nothing else of them.
func listNodes(ctx context.Context, f *cmdutil.Factory, mapper meta.RESTMapper) (endpoints.Nodes, error) {
	gvr, ok := resourceFor(mapper, schema.GroupKind{Kind: "Node"}, "v1")
	if !ok {
		return nil, fmt.Errorf("%w: the server does not serve them", errNodesUnavailable)
	}
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	list, err := md.Resource(gvr).List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
		return nil, fmt.Errorf("%w: %v", errNodesUnavailable, err)
	case err != nil:
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	nodes := make(endpoints.Nodes, len(list.Items))
	for i := range list.Items {
		nodes[list.Items[i].Name] = labels.Set(list.Items[i].Labels)
	}
	return nodes, nil
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

// serviceOf finds a binding's Service in the lists (nil when absent).
func serviceOf(b *lbv1.PoolBinding, l *nsLists) *corev1.Service {
	for i := range l.services {
		if s := &l.services[i]; s.Namespace == b.Namespace && s.Name == b.Spec.TargetRef.Name {
			return s
		}
	}
	return nil
}

// resolve finds a binding's Service in the lists and its ready and
// terminating-but-serving endpoints within the binding's zone scope, and
// how many ready endpoints it skipped because their zone is unknown. proto
// picks the Service port of that protocol where the port number has
// several ("" = the one there is; several is endpoints.ErrPortAmbiguous).
func resolve(b *lbv1.PoolBinding, l *nsLists, haveSlices bool, zs endpoints.Scope, nodes endpoints.Nodes, proto corev1.Protocol) (endpoints.Set, int, string, error) {
	if l.err != nil {
		return endpoints.Set{}, 0, "", l.err
	}
	ns := b.Namespace
	if b.Spec.TargetRef.Namespace != "" && b.Spec.TargetRef.Namespace != ns {
		return endpoints.Set{}, 0, "", fmt.Errorf("targetRef.namespace %q differs from the binding's namespace %q", b.Spec.TargetRef.Namespace, ns)
	}
	svc := serviceOf(b, l)
	if svc == nil {
		return endpoints.Set{}, 0, "", fmt.Errorf("service %s/%s: %w", ns, b.Spec.TargetRef.Name, endpoints.ErrServiceNotFound)
	}
	if proto != "" {
		svc = endpoints.WithPortProtocol(svc, b.Spec.TargetRef.Port, proto)
	}
	var set endpoints.Set
	var unknownZone int
	var err error
	if haveSlices {
		set, unknownZone, err = endpoints.ScopedSliceEndpoints(svc, b.Spec.TargetRef.Port, l.slices, zs, nodes)
	} else {
		set, unknownZone, err = endpoints.ScopedPodEndpoints(svc, b.Spec.TargetRef.Port, l.pods, zs, nodes)
	}
	return set, unknownZone, endpoints.ELBID(svc), err
}
