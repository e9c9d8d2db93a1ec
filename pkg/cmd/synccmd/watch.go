package synccmd

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/bindingcontroller"
	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/fence"
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
	co := syncdriver.ControllerOptions{
		Concurrency: o.Concurrency, Coalesce: w.Coalesce, ResyncPeriod: w.ResyncPeriod, MaxBackoff: w.MaxBackoff,
		Timeout: o.Timeout, Metrics: metrics, RetryAfter: retryAfter.wait,
	}
	if w.LeaderElect {
		co.LeaderElection = &bindingcontroller.LeaderElectionConfig{Namespace: w.leaseNamespace(o.Namespace), Name: w.LeaseName,
			LeaseDuration: w.LeaseDuration, RenewDeadline: w.RenewDeadline, RetryPeriod: w.RetryPeriod}
	}
	c, err := d.NewController(ctx, co)
	if err != nil {
		return err
	}
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
	logger.Info("Watching PoolBindings", "namespace", nsLabel(c.Namespace), "selector", d.Selector.String(), "clusterID", c.ClusterID,
		"endpoints", c.Endpoints, "leaderElection", w.LeaderElect)
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

// leaseNamespace is the namespace of the leader-election Lease: the flag's,
// else the pass's.
func (w *WatchOptions) leaseNamespace(passNamespace string) string {
	if w.LeaseNS != "" {
		return w.LeaseNS
	}
	return passNamespace
}
