package bindingcontroller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// Reconciler syncs one PoolBinding, by key. The caller implements it over
// the sync pipeline (see the package documentation for when it is called).
type Reconciler interface {
	Reconcile(ctx context.Context, key cache.ObjectName) Outcome
}

// ReconcilerFunc adapts a function to Reconciler.
type ReconcilerFunc func(ctx context.Context, key cache.ObjectName) Outcome

// Reconcile calls f.
func (f ReconcilerFunc) Reconcile(ctx context.Context, key cache.ObjectName) Outcome {
	return f(ctx, key)
}

// Outcome is what one Reconcile call asks of the queue.
type Outcome struct {
	// Err: the pass failed; the key comes back after its backoff, or
	// after RequeueAfter when that is longer (the ELB's Retry-After).
	Err error
	// RequeueAfter > 0: come back after this delay instead of the resync
	// period (readiness gates pending, health polling).
	RequeueAfter time.Duration
	// Result labels ccictl_reconciles_total and the duration histogram:
	// the poolsync.Result state (InSync, Synced, Blocked, Failed, ...).
	// Empty means "Error" with Err set and "Unknown" without.
	Result string
}

// Defaults of Config's zero fields.
const (
	DefaultConcurrency   = 4
	DefaultCoalesce      = 200 * time.Millisecond
	DefaultResyncPeriod  = 5 * time.Minute
	DefaultBaseBackoff   = time.Second
	DefaultMaxBackoff    = 60 * time.Second
	DefaultShutdownGrace = 2 * time.Second
	// resyncJitter spreads the resyncs of bindings reconciled together
	// (all of them at start) over a tenth of the period.
	resyncJitter = 0.1
	// shutdownWait bounds the wait for reconciles that ignore their
	// cancelled context, after ShutdownGrace.
	shutdownWait = 5 * time.Second
)

// Config configures a Controller. Kube, Dynamic and Reconciler are
// required; zero durations and counts take the defaults above.
type Config struct {
	Kube kubernetes.Interface
	// Dynamic reads PoolBindings (and Services when ServiceResource is
	// not core/v1).
	Dynamic dynamic.Interface
	// Namespace scopes every informer; "" is all namespaces (-A).
	Namespace string
	// Selector chooses the bindings that are reconciled (-l); nil is all.
	// The binding cache holds every binding of the scope regardless.
	Selector labels.Selector
	// LockNamespace is the value the reconciler writes in each selected
	// binding's lbv1.LockNamespaceAnnotation ("" = none): an edit of the
	// annotation to anything else queues the binding, whose reconcile
	// writes it back, so that one-shot passes keep locking its pool where
	// this controller does.
	LockNamespace string
	// ControllerID names this controller in lbv1.ControllerAnnotation, which
	// the reconciler writes with the finalizer: a binding in deletion that
	// is not selected is reconciled only when it names this controller.
	ControllerID string
	// ServiceResource is where Services are read: zero or core/v1 with the
	// typed client, anything else (CCI's cci/v2 services) through Dynamic.
	ServiceResource schema.GroupVersionResource
	// PodResource is where Pods are read, likewise: zero or core/v1 with
	// the typed client, CCI's cci/v2 pods through Dynamic.
	PodResource schema.GroupVersionResource
	// EventResource is where Events are written: zero or core/v1 with
	// the typed client, CCI's cci/v2 events through Dynamic.
	EventResource schema.GroupVersionResource
	// Pods: the server has no EndpointSlice API; endpoints come from Pods,
	// and Pod changes queue the bindings of the Services selecting them.
	Pods bool
	// WatchPods also caches Pods when endpoints come from EndpointSlices
	// (readiness gates need them); their changes then queue nothing.
	WatchPods bool
	// Nodes caches the labels of the cluster's Nodes (zone and node
	// scoping). Their cache is not waited for and queues nothing: where
	// Nodes may not be listed (CCI, RBAC) NodesSynced stays false and the
	// rest of the controller runs; a node label change reaches bindings at
	// their next reconcile.
	Nodes bool
	// Concurrency is the number of workers (--concurrency).
	Concurrency int
	// Coalesce is how long a change waits before its binding is
	// reconciled; changes within the window are one reconcile. Zero
	// queues each change at once (--coalesce=0); the command's default is
	// DefaultCoalesce.
	Coalesce time.Duration
	// ResyncPeriod: every binding is reconciled again this long (plus up
	// to 10 %) after its last successful reconcile, to repair ELB drift.
	ResyncPeriod time.Duration
	// BaseBackoff is the first retry delay of a failing binding; it
	// doubles per consecutive failure up to MaxBackoff.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// ShutdownGrace is how long in-flight reconciles may finish when Run's
	// context ends, before their context is cancelled.
	ShutdownGrace time.Duration
	Reconciler    Reconciler
	// LeaderElection nil runs workers at once, without a Lease.
	LeaderElection *LeaderElectionConfig
	// Metrics nil records none.
	Metrics *Metrics
}

// Controller watches PoolBindings and their inputs and runs the Reconciler
// for the bindings that changed. Build it with New, start it with Run.
type Controller struct {
	cfg Config

	bindings   cache.SharedIndexInformer
	services   cache.SharedIndexInformer
	slices     cache.SharedIndexInformer // nil with cfg.Pods
	pods       cache.SharedIndexInformer // nil without cfg.Pods or cfg.WatchPods
	factory    informers.SharedInformerFactory
	own        []cache.SharedIndexInformer // informers not started by factory
	serviceLst corelisters.ServiceLister
	sliceLst   *SliceCache
	// handlersSynced: each event handler has seen its informer's initial
	// list (cache.ResourceEventHandlerRegistration.HasSynced).
	handlersSynced []cache.InformerSynced
	podLst         corelisters.PodLister
	nodes          cache.SharedIndexInformer // nil without cfg.Nodes
	nodeLst        corelisters.NodeLister
	bindingLst     *BindingLister
	podsToQueue    bool
	limiter        *backoffLimiter
	broadcaster    record.EventBroadcaster
	recorder       record.EventRecorder
	synced         atomic.Bool
	queue          atomic.Pointer[term] // the current leadership term; nil on a standby
	running        atomic.Bool
	leaderHealth   *leaderelection.HealthzAdaptor // nil without leader election
}

// New checks cfg and builds the informers; nothing runs until Run.
func New(cfg Config) (*Controller, error) {
	switch {
	case cfg.Kube == nil:
		return nil, errors.New("bindingcontroller: Config.Kube is required")
	case cfg.Dynamic == nil:
		return nil, errors.New("bindingcontroller: Config.Dynamic is required")
	case cfg.Reconciler == nil:
		return nil, errors.New("bindingcontroller: Config.Reconciler is required")
	}
	if cfg.Selector == nil {
		cfg.Selector = labels.Everything()
	}
	setDefault(&cfg.Concurrency, DefaultConcurrency)
	setDefault(&cfg.ResyncPeriod, DefaultResyncPeriod)
	setDefault(&cfg.BaseBackoff, DefaultBaseBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	setDefault(&cfg.ShutdownGrace, DefaultShutdownGrace)
	if cfg.Concurrency < 0 || cfg.Coalesce < 0 || cfg.ResyncPeriod < 0 || cfg.BaseBackoff < 0 || cfg.MaxBackoff < 0 || cfg.ShutdownGrace < 0 {
		return nil, errors.New("bindingcontroller: concurrency and durations must not be negative")
	}
	if cfg.MaxBackoff < cfg.BaseBackoff {
		return nil, fmt.Errorf("bindingcontroller: max backoff %v is shorter than the base backoff %v", cfg.MaxBackoff, cfg.BaseBackoff)
	}
	if cfg.LeaderElection != nil {
		le, err := cfg.LeaderElection.withDefaults()
		if err != nil {
			return nil, err
		}
		cfg.LeaderElection = &le
	}
	c := &Controller{cfg: cfg, limiter: newBackoffLimiter(cfg.BaseBackoff, cfg.MaxBackoff)}
	if cfg.LeaderElection != nil {
		// /healthz fails when this replica leads but has not renewed for
		// longer than the renew deadline (a stuck leader is restarted).
		c.leaderHealth = leaderelection.NewLeaderHealthzAdaptor(cfg.LeaderElection.RenewDeadline)
	}

	// PoolBindings: a dynamic list/watch, cached typed (transformBinding).
	plb := lbv1.SchemeGroupVersion.WithResource(lbv1.Resource)
	c.bindings = newDynamicInformer(cfg.Dynamic, plb, cfg.Namespace, transformBinding, cache.Indexers{
		cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
		serviceIndex:         bindingServiceIndex,
		poolIndex:            bindingPoolIndex,
		uidIndex:             bindingUIDIndex,
	})
	c.bindingLst = &BindingLister{indexer: c.bindings.GetIndexer()}
	c.own = append(c.own, c.bindings)

	c.factory = informers.NewSharedInformerFactoryWithOptions(cfg.Kube, 0, informers.WithNamespace(cfg.Namespace))
	core := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	if cfg.ServiceResource.Empty() || cfg.ServiceResource == core {
		c.services = c.factory.Core().V1().Services().Informer()
		if err := c.services.SetTransform(transformService); err != nil {
			return nil, err
		}
	} else {
		c.services = newDynamicInformer(cfg.Dynamic, cfg.ServiceResource, cfg.Namespace, transformService, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		c.own = append(c.own, c.services)
	}
	c.serviceLst = corelisters.NewServiceLister(c.services.GetIndexer())

	if !cfg.Pods {
		c.slices = c.factory.Discovery().V1().EndpointSlices().Informer()
		if err := c.slices.SetTransform(transformEndpointSlice); err != nil {
			return nil, err
		}
		if err := c.slices.AddIndexers(cache.Indexers{sliceServiceIndex: sliceService}); err != nil {
			return nil, err
		}
		c.sliceLst = &SliceCache{indexer: c.slices.GetIndexer()}
	}
	corePods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	switch {
	case !cfg.Pods && !cfg.WatchPods:
	case cfg.PodResource.Empty() || cfg.PodResource == corePods:
		c.pods = c.factory.Core().V1().Pods().Informer()
		if err := c.pods.SetTransform(transformPod); err != nil {
			return nil, err
		}
	default:
		c.pods = newDynamicInformer(cfg.Dynamic, cfg.PodResource, cfg.Namespace, transformPod, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		c.own = append(c.own, c.pods)
	}
	if c.pods != nil {
		c.podLst = &PodCache{indexer: c.pods.GetIndexer()}
		c.podsToQueue = cfg.Pods
	}
	if cfg.Nodes {
		c.nodes = c.factory.Core().V1().Nodes().Informer()
		if err := c.nodes.SetTransform(transformNode); err != nil {
			return nil, err
		}
		c.nodeLst = corelisters.NewNodeLister(c.nodes.GetIndexer())
	}
	if err := c.addHandlers(); err != nil {
		return nil, err
	}
	c.broadcaster, c.recorder = newEventRecorder(eventSink(cfg.Kube, cfg.Dynamic, cfg.EventResource))
	return c, nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// newDynamicInformer lists and watches one resource through the dynamic
// client, never resyncing on its own, caching what transform returns.
func newDynamicInformer(dyn dynamic.Interface, gvr schema.GroupVersionResource, ns string, transform cache.TransformFunc, idx cache.Indexers) cache.SharedIndexInformer {
	ri := dyn.Resource(gvr).Namespace(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return ri.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(lw, &unstructured.Unstructured{}, cache.SharedIndexInformerOptions{
		ResyncPeriod: 0,
		Indexers:     idx,
	})
	_ = inf.SetTransform(transform) // cannot fail before the informer starts
	return inf
}

// Bindings is the cache of the scope's PoolBindings (all of them, selected
// or not; trimmed).
func (c *Controller) Bindings() *BindingLister { return c.bindingLst }

// Services is the cache of the scope's Services (trimmed, status dropped).
func (c *Controller) Services() corelisters.ServiceLister { return c.serviceLst }

// EndpointSlices is the cache of the scope's EndpointSlices (trimmed); nil
// with Config.Pods.
func (c *Controller) EndpointSlices() *SliceCache { return c.sliceLst }

// Pods is the cache of the scope's Pods (compact, read back as trimmed API
// objects: PodCache); nil unless Config.Pods or Config.WatchPods.
func (c *Controller) Pods() corelisters.PodLister { return c.podLst }

// Nodes is the cache of the cluster's Nodes, names and labels only; nil
// without Config.Nodes. Read it only once NodesSynced.
func (c *Controller) Nodes() corelisters.NodeLister { return c.nodeLst }

// NodesSynced reports whether the Node cache has been filled once (false
// without Config.Nodes, and while Nodes cannot be listed).
func (c *Controller) NodesSynced() bool { return c.nodes != nil && c.nodes.HasSynced() }

// Recorder records Events on PoolBindings (source component "ccictl") to
// the core/v1 Events API of Config.Kube. Events recorded after Run returns
// are dropped.
func (c *Controller) Recorder() record.EventRecorder { return c.recorder }

// Selected reports whether a binding with these labels is reconciled.
func (c *Controller) Selected(l map[string]string) bool {
	return c.cfg.Selector.Matches(labels.Set(l))
}

// Synced reports whether every cache has been filled once.
func (c *Controller) Synced() bool { return c.synced.Load() }

// ErrAlreadyRunning is returned by a second Run of one Controller.
var ErrAlreadyRunning = errors.New("bindingcontroller: Run was already called")

// Run starts the informers, waits for their caches, then runs workers: at
// once without leader election, or while this replica holds the Lease. It
// blocks until ctx ends and returns after in-flight reconciles ended and the
// Lease is released; the error is nil then, or why the caches could not
// be filled.
func (c *Controller) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	logger := klog.FromContext(ctx)
	defer c.broadcaster.Shutdown()

	infCtx, stopInformers := context.WithCancel(context.WithoutCancel(ctx))
	var infWG sync.WaitGroup
	defer func() { stopInformers(); c.factory.Shutdown(); infWG.Wait() }()
	for _, inf := range c.own {
		infWG.Add(1)
		go func() { defer infWG.Done(); inf.RunWithContext(infCtx) }()
	}
	c.factory.StartWithContext(infCtx)

	syncs := []cache.InformerSynced{c.bindings.HasSynced, c.services.HasSynced}
	if c.slices != nil {
		syncs = append(syncs, c.slices.HasSynced)
	}
	if c.pods != nil {
		syncs = append(syncs, c.pods.HasSynced)
	}
	syncs = append(syncs, c.handlersSynced...)
	if !cache.WaitForCacheSync(ctx.Done(), syncs...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("bindingcontroller: caches did not sync")
	}
	c.synced.Store(true)
	logger.Info("Caches synced", "bindings", len(c.bindings.GetStore().ListKeys()))

	if c.cfg.LeaderElection == nil {
		c.lead(ctx, ctx)
		return nil
	}
	return c.campaign(ctx)
}
