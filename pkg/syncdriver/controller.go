package syncdriver

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingcontroller"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/poollock"
	"github.com/openvessel/ccictl/pkg/readinessgate"
)

// ControllerOptions are how `sync --watch` runs its controller, beside
// the driver's Options.
type ControllerOptions struct {
	// Concurrency, Coalesce, ResyncPeriod and MaxBackoff are the work
	// queue's (bindingcontroller.Config); Timeout bounds each reconcile.
	Concurrency  int
	Coalesce     time.Duration
	ResyncPeriod time.Duration
	MaxBackoff   time.Duration
	Timeout      time.Duration
	// LeaderElection, if set, makes only the holder of its Lease reconcile.
	LeaderElection *bindingcontroller.LeaderElectionConfig
	// Metrics receives the controller's and the reconciles' metrics.
	Metrics *bindingcontroller.Metrics
	// RetryAfter, if set, is how long the ELB last asked not to call a pool
	// again (ReconcilerConfig.RetryAfter).
	RetryAfter func(poolID string) time.Duration
}

// Controller is the controller of `sync --watch`, and what it watches, for
// its start-up log.
type Controller struct {
	*bindingcontroller.Controller
	ClusterID string
	// Namespace is the watched namespace ("" = all of them); Endpoints
	// says where endpoints come from: "EndpointSlices" or "Pods".
	Namespace string
	Endpoints string
}

// NewController builds the controller of `sync --watch`: its caches of
// the platform's resources (cci/v2 where served, else core), and a
// Reconciler over them with the same policy, locks, ELB clients and status
// writes as the one-shot pass. It reads the cluster identity, and probes
// whether this identity may list Nodes.
func (d *Driver) NewController(ctx context.Context, o ControllerOptions) (*Controller, error) {
	clusterID, err := d.ClusterIdentity(ctx)
	if err != nil {
		return nil, err
	}
	// The caches' clients wait for an API server that went away instead of
	// backing off (bindingcontroller.ReconnectingTransport); the start-up
	// reads here fail at once instead.
	cacheCfg := d.ProtobufConfig()
	cacheCfg.Wrap(bindingcontroller.ReconnectingTransport)
	cacheKube, err := kubernetes.NewForConfig(cacheCfg)
	if err != nil {
		return nil, err
	}
	jsonCfg := d.RESTConfig()
	jsonCfg.Wrap(bindingcontroller.ReconnectingTransport)
	dyn, err := dynamic.NewForConfig(jsonCfg)
	if err != nil {
		return nil, err
	}
	// The platform's Service group: cci/v2 where it is served, else core.
	svcRes, podRes, err := bindingsource.ServiceResources(d.Mapper, "cci/v2")
	if err != nil {
		return nil, err
	}
	// Events go where the platform serves them: CCI 2.0 serves them as
	// cci/v2 beside its Services (a tenant has no core v1), else core.
	var eventRes schema.GroupVersionResource
	if svcRes.Group != "" {
		if m, err := d.Mapper.RESTMapping(schema.GroupKind{Group: svcRes.Group, Kind: "Event"}, svcRes.Version); err == nil {
			eventRes = m.Resource
		}
	}
	probe := bindingsource.NewResolver(d.Mapper, &bindingsource.ListerStore{}, "")
	// Nodes are cached where this identity may list them (zone-scoped
	// bindings on the Pod path, node-selector bindings); on CCI 2.0 it may
	// not, and they are not watched at all rather than retried forever.
	_, nodesErr := d.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1})

	ccfg := bindingcontroller.Config{
		Kube: cacheKube, Dynamic: dyn, Namespace: d.listNamespace(), Selector: d.Selector, LockNamespace: d.opts.Locks.Namespace, ControllerID: d.ControllerID(),
		ServiceResource: svcRes, PodResource: podRes, EventResource: eventRes, Pods: !probe.UsesEndpointSlices(),
		// Pods are cached on the EndpointSlice path too: readiness gates
		// are set on them, and a pod waiting for its gate is registered.
		WatchPods:   true,
		Nodes:       nodesErr == nil,
		Concurrency: o.Concurrency, Coalesce: o.Coalesce, ResyncPeriod: o.ResyncPeriod, MaxBackoff: o.MaxBackoff,
		Metrics:        o.Metrics,
		LeaderElection: o.LeaderElection,
	}
	// The controller needs the Reconciler and the Reconciler the
	// controller's caches: the queue's calls read rec once both exist.
	var rec *Reconciler
	ccfg.Reconciler = bindingcontroller.ReconcilerFunc(func(ctx context.Context, key cache.ObjectName) bindingcontroller.Outcome {
		return rec.Reconcile(ctx, key)
	})
	c, err := bindingcontroller.New(ccfg)
	if err != nil {
		return nil, err
	}
	store := &bindingsource.ListerStore{ServiceLister: c.Services(), ServiceResource: svcRes, PodLister: c.Pods(), PodResource: podRes}
	if sl := c.EndpointSlices(); sl != nil { // nil where endpoints come from Pods
		store.SliceLister = sl
	}
	if nodesErr == nil {
		store.NodeLister, store.NodesSynced = c.Nodes(), c.NodesSynced
	} else {
		store.NodesErr = fmt.Errorf("%w: %v", bindingsource.ErrNodesUnavailable, nodesErr)
	}
	rec = NewReconciler(d.reconcilerConfig(clusterID, c, store, podRes, o))
	endpoints := "EndpointSlices"
	if ccfg.Pods {
		endpoints = "Pods"
	}
	return &Controller{Controller: c, ClusterID: clusterID, Namespace: ccfg.Namespace, Endpoints: endpoints}, nil
}

// reconcilerConfig is what the controller's per-binding reconcile works
// with: the pass's policy, pool locks, ELB clients per region, status and
// Lease clients, as the one-shot pass's, read from the controller's caches
// (store resolves targets; pods is the platform's pod resource).
func (d *Driver) reconcilerConfig(clusterID string, c *bindingcontroller.Controller, store bindingsource.Store, pods schema.GroupVersionResource, o ControllerOptions) ReconcilerConfig {
	return ReconcilerConfig{
		Binding: func(ns, name string) (*lbv1.PoolBinding, error) {
			b, err := c.Bindings().Get(cache.ObjectName{Namespace: ns, Name: name})
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return b, err
		},
		PoolBindings:   c.Bindings().ForPool,
		HasBinding:     c.Bindings().HasUID,
		Namespaces:     d.namespaces(),
		Store:          store,
		Mapper:         bindingsource.RememberMappings(d.Mapper), // for the process, not per reconcile
		SubnetOverride: d.opts.SubnetCIDRID,
		ELB:            d.elb.forBinding,
		OwnRegion:      d.OwnRegion,
		Policy:         d.policy(clusterID),
		Locker:         d.controllerLocks(c.Bindings().ForPool),
		Warn:           d.opts.warn,
		Dynamic:        d.StatusDynamic,
		GVR:            d.PoolBindings,
		Kube:           d.Leases,
		PodStatus:      podStatusPatcher(d.StatusDynamic, d.Leases, pods),
		ResyncPeriod:   o.ResyncPeriod,
		GateLatency:    o.Metrics.ObserveGateLatency,
		NoStatus:       d.opts.NoStatus,
		LockNamespace:  d.opts.Locks.Namespace,
		ControllerID:   d.ControllerID(),
		Recorder:       c.Recorder(),
		Log:            d.opts.log(),
		Timeout:        o.Timeout,
		RetryAfter:     o.RetryAfter,
		MaxBackoff:     o.MaxBackoff,
		Metrics:        o.Metrics,
	}
}

// ControllerID names the controller on the bindings it finalizes
// (lbv1.ControllerAnnotation) by what it reconciles: its scope and
// selection, as its flags give them ("-A -l team=a", "-n shop"). Replicas
// of one deployment, and the same controller restarted, share it.
func (d *Driver) ControllerID() string {
	id := "-n " + d.opts.Namespace
	if d.opts.AllNamespaces {
		id = "-A"
	}
	if !d.Selector.Empty() {
		id += " -l " + d.Selector.String() // canonical: "a=1, b" and "b,a=1" are one
	}
	return id
}

// podStatusPatcher patches readiness gates on the platform's pods: core v1,
// or CCI 2.0's cci/v2 pods through the dynamic client.
func podStatusPatcher(dyn dynamic.Interface, kube kubernetes.Interface, pods schema.GroupVersionResource) readinessgate.StatusPatcher {
	if pods.Group == "" {
		return readinessgate.CorePods(kube)
	}
	return readinessgate.ResourcePods(dyn, pods)
}

// controllerLocks is the controller's pool Locker. With a lock namespace
// it also waits for one-shot passes that read a binding before the
// controller advertised that namespace on it, and so took the pool's lock
// in the namespace of a binding of the pool (poollock.AdvertisedLocker;
// poolBindings lists the cached bindings of a pool).
func (d *Driver) controllerLocks(poolBindings func(poolID string) ([]*lbv1.PoolBinding, error)) poollock.Locker {
	l := d.locker()
	ns := d.opts.Locks.Namespace
	if ns == "" {
		return l
	}
	return &poollock.AdvertisedLocker{
		Locker: l, Namespace: ns, Leases: d.Leases.CoordinationV1(),
		PoolNamespaces: func(poolID string) []string {
			bs, _ := poolBindings(poolID) // an index read: it does not fail on a synced cache
			out := make([]string, 0, len(bs))
			for _, b := range bs {
				out = append(out, b.Namespace)
			}
			return out
		},
		OnUnreadable: func(err error) {
			d.opts.warn(fmt.Sprintf("one-shot passes' pool locks in binding namespaces cannot be read (%v): a pass that took one before its binding advertised this controller's lock namespace may write the pool at the same time", err))
		},
	}
}
