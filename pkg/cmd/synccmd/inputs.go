package synccmd

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/fence"
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
	// reread re-reads one target's desired endpoints, for the re-check
	// before removals and for a plan made after waiting for a lock.
	reread func(ctx context.Context, t reconcile.Target) ([]endpoints.Endpoint, error)
	// readOwners lists the PoolBindings again, for a plan that would
	// remove orphans: a binding created since the pass began must not have
	// its members taken for orphans.
	readOwners func(context.Context) (reconcile.OwnerLookup, error)
	// clusterID names this cluster in ownership markers.
	clusterID string
}

// readCluster lists the PoolBindings, then resolves the selected ones
// (pkg/bindingsource) from one list of Services and EndpointSlices (or
// Pods) per namespace they live in, never one GET per binding.
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
	// Status and pool-lock writes check the pool lock they are made under
	// (pkg/fence), as the controller's do: a pass that lost its lock (its
	// renewals did not get through) writes nothing more.
	statusCfg.Wrap(fence.Transport)
	if in.statusDyn, err = dynamic.NewForConfig(statusCfg); err != nil {
		return nil, err
	}
	if in.leases, err = kubernetes.NewForConfig(statusCfg); err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}

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
	selection := bindingsource.Selection{Names: o.Names}
	if o.LabelSelector != "" {
		if selection.Selector, err = labels.Parse(o.LabelSelector); err != nil {
			return nil, fmt.Errorf("invalid selector %q: %w", o.LabelSelector, err)
		}
	}
	selected, err := selection.Select(all.Items)
	if err != nil {
		return nil, err
	}
	var scope []string
	if !o.AllNamespaces {
		scope = []string{o.Namespace}
	}
	in.owners = bindingsource.Owners(all.Items, scope)
	in.readOwners = func(ctx context.Context) (reconcile.OwnerLookup, error) {
		all, err := dyn.Resource(plbMapping.Resource).Namespace(listNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return bindingsource.Owners(all.Items, scope), nil
	}
	in.objects = selected
	if len(selected) == 0 {
		return in, nil
	}
	if in.clusterID, err = bindingsource.ClusterIdentity(ctx, typed, o.ClusterID, cfg); err != nil {
		return nil, err
	}

	store := &bindingsource.ListStore{Typed: typed, Dynamic: dyn, Metadata: md, Mapper: mapper, AllNamespaces: o.AllNamespaces}
	res := bindingsource.NewResolver(mapper, store, o.SubnetCIDRID)
	for _, u := range selected {
		b, err := bindingsource.Binding(u)
		if err != nil {
			in.targets = append(in.targets, reconcile.Target{Binding: b, ResolveErr: err})
			continue
		}
		in.targets = append(in.targets, res.Target(ctx, b))
	}
	// The re-check before removals reads the binding's namespace anew.
	in.reread = func(ctx context.Context, t reconcile.Target) ([]endpoints.Endpoint, error) {
		return res.Reread(ctx, store.Fresh(), t.Binding, t.PortProtocol)
	}
	in.warnings = append(in.warnings, store.Warnings()...)
	in.warnings = append(in.warnings, res.Warnings()...)
	in.warnings = append(in.warnings, res.UncoveredZones(all.Items)...)
	return in, nil
}
