package synccmd

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/bindingcontroller"
	"github.com/openvessel/ccictl/pkg/bindingreconciler"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/fence"
	"github.com/openvessel/ccictl/pkg/reconcile"
	"github.com/openvessel/ccictl/pkg/syncdriver"
)

// WatchOptions are the flags of `sync --watch`.
type WatchOptions struct {
	Watch        bool
	Coalesce     time.Duration
	ResyncPeriod time.Duration
	MaxBackoff   time.Duration

	LeaderElect   bool
	LeaseNS       string
	LeaseName     string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration

	MetricsAddr string
	Profiling   bool
	LogFormat   string
}

func (w *WatchOptions) addFlags(fl *pflag.FlagSet) {
	fl.BoolVarP(&w.Watch, "watch", "w", false, "Keep running: reconcile each selected PoolBinding whenever it, its Service or its endpoints change, and every --resync-period (docs/watch.md).")
	fl.DurationVar(&w.Coalesce, "coalesce", bindingcontroller.DefaultCoalesce, "With --watch, how long a change waits so that a burst of changes to one binding is one reconcile.")
	fl.DurationVar(&w.ResyncPeriod, "resync-period", bindingcontroller.DefaultResyncPeriod, "With --watch, how often each binding is reconciled against the ELB without a Kubernetes change (repairs members changed by hand).")
	fl.DurationVar(&w.MaxBackoff, "max-backoff", bindingcontroller.DefaultMaxBackoff, "With --watch, the longest wait before a failing binding is retried.")
	fl.BoolVar(&w.LeaderElect, "leader-elect", false, "With --watch, reconcile only while holding a coordination.k8s.io Lease, so that one of several replicas writes.")
	fl.StringVar(&w.LeaseNS, "leader-elect-namespace", "", "Namespace of the leader-election Lease (default: the namespace of -n, or of the current context).")
	fl.StringVar(&w.LeaseName, "leader-elect-name", "ccictl-sync", "Name of the leader-election Lease.")
	fl.DurationVar(&w.LeaseDuration, "leader-elect-lease-duration", bindingcontroller.DefaultLeaseDuration, "How long a standby waits after the leader's last renewal before it takes over.")
	fl.DurationVar(&w.RenewDeadline, "leader-elect-renew-deadline", bindingcontroller.DefaultRenewDeadline, "How long the leader tries to renew before it stops reconciling.")
	fl.DurationVar(&w.RetryPeriod, "leader-elect-retry-period", bindingcontroller.DefaultRetryPeriod, "How often candidates try to take the Lease and the leader renews it.")
	fl.StringVar(&w.MetricsAddr, "metrics-bind-address", "", "With --watch, serve Prometheus /metrics, /healthz and /readyz on this address (e.g. :8080; default: not served).")
	fl.BoolVar(&w.Profiling, "profiling", false, "With --metrics-bind-address, also serve Go's runtime profiles under /debug/pprof/ (for go tool pprof).")
	fl.StringVar(&w.LogFormat, "log-format", "text", "With --watch, the format of the controller's log lines on stderr: text or json.")
}

// validate checks the watch flags against the rest of the pass's.
func (o *SyncOptions) validateWatch() error {
	w := &o.WatchOptions
	switch w.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format must be text or json, not %q", w.LogFormat)
	}
	if !w.Watch {
		return nil
	}
	switch {
	case o.DryRun:
		return fmt.Errorf("--watch writes: it cannot be combined with --dry-run")
	case o.Output != "":
		return fmt.Errorf("--watch logs each reconcile on stderr; -o applies to a single pass")
	case len(o.Names) > 0:
		return fmt.Errorf("--watch selects bindings with -n, -A and -l, not by name")
	case o.multiCluster():
		return fmt.Errorf("--watch runs against one cluster; start one controller per context")
	case w.Profiling && w.MetricsAddr == "":
		return fmt.Errorf("--profiling serves its profiles on --metrics-bind-address; give an address")
	case w.Coalesce < 0 || w.ResyncPeriod <= 0 || w.MaxBackoff <= 0:
		return fmt.Errorf("--coalesce must not be negative; --resync-period and --max-backoff must be positive")
	}
	return nil
}

// runWatch runs the controller until ctx ends (SIGTERM, SIGINT): the same
// resolution and pass as one-shot sync, from informer caches, driven by
// pkg/bindingcontroller.
func (o *SyncOptions) runWatch(ctx context.Context) error {
	w := &o.WatchOptions
	var handler slog.Handler = slog.NewTextHandler(o.ErrOut, nil)
	if w.LogFormat == "json" {
		handler = slog.NewJSONHandler(o.ErrOut, nil)
	}
	logger := logr.FromSlogHandler(handler)
	ctx = klog.NewContext(ctx, logger)
	// client-go's own lines (reflector retries, leader election) in the
	// same format.
	klog.SetLogger(logger)

	metrics := bindingcontroller.NewMetrics()
	retryAfter := newPoolRetryAfter()
	// Every ELB write first checks the fence guards of its context (the
	// leadership term, the pool lock) and is abandoned at their deadline.
	o.elbTransport = func(rt http.RoundTripper) http.RoundTripper {
		return fence.Transport(metrics.ELB.Transport(retryAfter.Transport(rt)))
	}
	do := o.driverOptions()
	do.WrapELBClient = metrics.ELB.Client
	// A worker waits briefly for a pool another writer holds (a one-shot
	// pass, a replica handing over), then the binding is Busy and asks
	// again through the queue: a long pass of another writer never holds
	// the controller's workers.
	do.Locks = syncdriver.LockOptions{Namespace: o.LockNamespace, MaxWait: watchLockWait}
	if w.LeaderElect {
		// Pool locks bound to the leadership term.
		do.Locks.Term = w.leaseNamespace(o.Namespace) + "/" + w.LeaseName
	}
	do.Notices = syncdriver.Notices{
		Warn: func(s string) { logger.Info("Warning: " + redact.String(s)) },
		LocksUnavailable: func(err error) {
			logger.Info("Pool locks unavailable; removals are re-checked right before they are made", "error", redact.Error(err).Error())
		},
		WaitingForLock: func(lease, holder string) {
			logger.Info("Waiting for pool lock", "lease", lease, "holder", holder)
		},
		Log: o.ErrOut,
	}
	d, err := syncdriver.New(o.factory, do)
	if err != nil {
		return err
	}
	// The caches' clients wait for an API server that went away instead of
	// backing off (bindingcontroller.ReconnectingTransport); the
	// start-up reads below fail at once instead.
	cacheCfg := d.ProtobufConfig()
	cacheCfg.Wrap(bindingcontroller.ReconnectingTransport)
	cacheKube, err := kubernetes.NewForConfig(cacheCfg)
	if err != nil {
		return err
	}
	jsonCfg := d.RESTConfig()
	jsonCfg.Wrap(bindingcontroller.ReconnectingTransport)
	dyn, err := dynamic.NewForConfig(jsonCfg)
	if err != nil {
		return err
	}
	clusterID, err := d.ClusterIdentity(ctx)
	if err != nil {
		return err
	}
	ns := o.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	// The platform's Service group: cci/v2 where it is served, else core.
	svcRes, podRes, err := bindingsource.ServiceResources(d.Mapper, "cci/v2")
	if err != nil {
		return err
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
		Kube: cacheKube, Dynamic: dyn, Namespace: ns, Selector: d.Selector, LockNamespace: o.LockNamespace, ControllerID: d.ControllerID(),
		ServiceResource: svcRes, PodResource: podRes, EventResource: eventRes, Pods: !probe.UsesEndpointSlices(),
		// Pods are cached on the EndpointSlice path too: readiness gates
		// are set on them, and a pod waiting for its gate is registered.
		WatchPods:   true,
		Nodes:       nodesErr == nil,
		Concurrency: o.Concurrency, Coalesce: w.Coalesce, ResyncPeriod: w.ResyncPeriod, MaxBackoff: w.MaxBackoff,
		Metrics: metrics,
	}
	if w.LeaderElect {
		ccfg.LeaderElection = &bindingcontroller.LeaderElectionConfig{Namespace: w.leaseNamespace(o.Namespace), Name: w.LeaseName,
			LeaseDuration: w.LeaseDuration, RenewDeadline: w.RenewDeadline, RetryPeriod: w.RetryPeriod}
	}
	// The controller needs the Reconciler and the Reconciler the
	// controller's caches: the closure reads rec once both exist.
	var rec *bindingreconciler.Reconciler
	ccfg.Reconciler = bindingcontroller.ReconcilerFunc(func(ctx context.Context, key cache.ObjectName) bindingcontroller.Outcome {
		// --timeout bounds each reconcile, so that no binding keeps a
		// worker for long (lock waits, health rounds, a slow ELB).
		if o.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, o.Timeout)
			defer cancel()
		}
		out := rec.Reconcile(ctx, key.Namespace, key.Name)
		res := o.logOutcome(ctx, key, out, metrics)
		if res.Err != nil && out.Result != nil {
			// The ELB asked to wait (Retry-After): the binding comes back
			// then, through the queue, not sooner (capped like a backoff).
			if wait := min(retryAfter.wait(out.Result.PoolID), w.MaxBackoff); wait > res.RequeueAfter {
				res.RequeueAfter = wait
			}
		}
		return res
	})
	c, err := bindingcontroller.New(ccfg)
	if err != nil {
		return err
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
	rec = bindingreconciler.New(d.ReconcilerConfig(clusterID, syncdriver.ControllerInputs{
		Controller: c, Store: store, PodResource: podRes, ResyncPeriod: w.ResyncPeriod, GateLatency: metrics.ObserveGateLatency,
	}))

	if w.MetricsAddr != "" {
		h := c.Handler()
		if w.Profiling {
			h = bindingcontroller.WithProfiling(h)
		}
		addr, err := bindingcontroller.ListenAndServe(ctx, w.MetricsAddr, h)
		if err != nil {
			return fmt.Errorf("--metrics-bind-address %s: %w", w.MetricsAddr, err)
		}
		logger.Info("Serving metrics and probes", "address", addr.String())
	}
	logger.Info("Watching PoolBindings", "namespace", nsLabel(ns), "selector", d.Selector.String(), "clusterID", clusterID,
		"endpoints", map[bool]string{true: "EndpointSlices", false: "Pods"}[!ccfg.Pods], "leaderElection", w.LeaderElect)
	if err := c.Run(ctx); err != nil {
		return err
	}
	logger.Info("Stopped")
	return nil
}

func nsLabel(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}

// logOutcome logs a reconcile that changed something or did not converge
// (a quiet resync logs nothing) and turns it into the queue's outcome.
func (o *SyncOptions) logOutcome(ctx context.Context, key cache.ObjectName, out bindingreconciler.Outcome, m *bindingcontroller.Metrics) bindingcontroller.Outcome {
	logger := klog.FromContext(ctx)
	res := bindingcontroller.Outcome{Err: out.Err, RequeueAfter: out.RequeueAfter}
	if out.Result == nil {
		if out.Err != nil {
			logger.Info("Reconcile failed", "error", redact.Error(out.Err).Error())
		}
		return res
	}
	r := out.Result
	res.Result = r.State
	m.ObserveMembers(key.String(), "registered", r.Registered)
	m.ObserveMembers(key.String(), "desired", r.Desired)
	m.ObserveMembers(key.String(), "foreign", r.Foreign)
	if r.State != reconcile.StateInSync || out.Err != nil || out.Gates > 0 {
		// The controller's logger already names the binding (poolbinding=).
		kv := []any{"state", r.State, "reason", r.Reason, "added", r.Added, "removed", r.Removed}
		if out.Gates > 0 {
			kv = append(kv, "gatesSet", out.Gates)
		}
		if out.Err != nil {
			kv = append(kv, "error", redact.Error(out.Err).Error())
		}
		logger.Info(r.Line(), kv...)
		// The pass's warnings, as the one-shot pass prints them on stderr
		// (e.g. a weight-0 drain on a pool without connection_drain).
		for _, w := range r.Warnings {
			logger.Info("Warning: " + redact.String(w))
		}
	}
	if out.GateErr != nil {
		logger.Info("Readiness gates not served", "error", redact.Error(out.GateErr).Error())
	}
	return res
}

// leaseNamespace is the namespace of the leader-election Lease: the flag's,
// else the pass's.
func (w *WatchOptions) leaseNamespace(passNamespace string) string {
	if w.LeaseNS != "" {
		return w.LeaseNS
	}
	return passNamespace
}
