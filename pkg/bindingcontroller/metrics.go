package bindingcontroller

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/elb/elbmetrics"
)

// MetricsNamespace prefixes every metric name.
const MetricsNamespace = "ccictl"

// Metrics is the controller's Prometheus metrics, in a registry of their
// own (with the Go runtime and process collectors), so that nothing
// registered globally by a library leaks into them. All methods are safe on
// a nil *Metrics, which records nothing.
type Metrics struct {
	reg        *prometheus.Registry
	reconciles *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	leader     prometheus.Gauge
	members    *memberGauges
	gate       prometheus.Histogram
	queue      *queueMetrics
	// ELB counts the ELB API calls of clients wrapped with ELB.Client and
	// ELB.Transport.
	ELB *elbmetrics.Metrics
}

// NewMetrics builds and registers the metrics.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "reconciles_total",
			Help: "Reconciles of PoolBindings by result (the pass's state: InSync, Synced, Blocked, Failed, ...).",
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "reconcile_duration_seconds",
			Help:    "Duration of one PoolBinding reconcile, by result.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"result"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: MetricsNamespace, Name: "leader",
			Help: "1 while this replica holds the leader Lease and runs reconciles (always 1 without leader election once running), else 0.",
		}),
		members: &memberGauges{
			desc: prometheus.NewDesc(prometheus.BuildFQName(MetricsNamespace, "", "members"),
				"Pool members of a PoolBinding (namespace/name) by state, as its last reconcile saw them.",
				[]string{"poolbinding", "state"}, nil),
			counts: map[string][]stateCount{},
		},
		gate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "readiness_gate_latency_seconds",
			Help:    "Time from a pool member being ONLINE to its pod's readiness gate condition set True.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30},
		}),
		queue: newQueueMetrics(),
		ELB:   elbmetrics.New(MetricsNamespace),
	}
	reg.MustRegister(m.reconciles, m.duration, m.leader, m.members, m.gate,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.queue.register(reg)
	m.ELB.MustRegister(reg)
	return m
}

// Registry is where the metrics are registered; the caller may add its own.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// ObserveMembers sets the number of members of binding (namespace/name) in
// state (e.g. desired, registered, foreign, draining, healthy, unhealthy).
func (m *Metrics) ObserveMembers(binding, state string, n int) {
	if m == nil {
		return
	}
	m.members.set(binding, state, float64(n))
}

// ForgetBinding drops the member gauges of a binding that is gone; the
// controller calls it when a reconciled key is no longer a selected binding.
func (m *Metrics) ForgetBinding(binding string) {
	if m == nil {
		return
	}
	m.members.forget(binding)
}

// memberGauges serves ccictl_members from a map of counts, turned into
// samples only when scraped: a GaugeVec keeps a child of about 380 bytes
// per binding and state, 11 MB of a 10,000-binding controller's heap.
type memberGauges struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	counts map[string][]stateCount // by binding
}

type stateCount struct {
	state string
	n     float64
}

func (g *memberGauges) set(binding, state string, n float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cs := g.counts[binding]
	for i := range cs {
		if cs[i].state == state {
			cs[i].n = n
			return
		}
	}
	g.counts[binding] = append(cs, stateCount{state, n})
}

func (g *memberGauges) forget(binding string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.counts, binding)
}

func (g *memberGauges) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *memberGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for binding, cs := range g.counts {
		for _, c := range cs {
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, c.n, binding, c.state)
		}
	}
}

// ObserveGateLatency records the time from a member ONLINE to its pod's
// readiness gate condition True.
func (m *Metrics) ObserveGateLatency(d time.Duration) {
	if m == nil {
		return
	}
	m.gate.Observe(d.Seconds())
}

func (m *Metrics) observeReconcile(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.reconciles.WithLabelValues(result).Inc()
	m.duration.WithLabelValues(result).Observe(d.Seconds())
}

func (m *Metrics) setLeader(on bool) {
	if m == nil {
		return
	}
	if on {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

func (m *Metrics) queueProvider() workqueue.MetricsProvider {
	if m == nil {
		return nil // the workqueue's global provider: no-op unless set
	}
	return m.queue
}

// queueMetrics is the workqueue.MetricsProvider over Prometheus vectors
// labelled by queue name. A queue created again under the same name (one
// per leadership term) continues the same series.
type queueMetrics struct {
	depth, unfinished, longest *prometheus.GaugeVec
	adds, retries              *prometheus.CounterVec
	latency, work              *prometheus.HistogramVec
}

func newQueueMetrics() *queueMetrics {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: MetricsNamespace, Subsystem: "workqueue", Name: name, Help: help}
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts(opts(name, help)), []string{"name"})
	}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts(opts(name, help)), []string{"name"})
	}
	hist := func(name, help string) *prometheus.HistogramVec {
		o := opts(name, help)
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: o.Namespace, Subsystem: o.Subsystem, Name: o.Name, Help: o.Help,
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"name"})
	}
	return &queueMetrics{
		depth:      gauge("depth", "Keys waiting in the work queue (due, not yet taken by a worker)."),
		adds:       counter("adds_total", "Keys added to the work queue once due."),
		latency:    hist("queue_duration_seconds", "Time a due key waits in the queue before a worker takes it."),
		work:       hist("work_duration_seconds", "Time a worker spends on one key."),
		unfinished: gauge("unfinished_work_seconds", "Seconds of work in progress not yet done."),
		longest:    gauge("longest_running_processor_seconds", "Seconds the longest-running worker has been on its key."),
		// client-go calls this one "retries" but counts every delayed add.
		retries: counter("delayed_adds_total", "Delayed adds to the work queue: coalesced changes, resyncs, requeues and backoffs."),
	}
}

func (q *queueMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(q.depth, q.adds, q.latency, q.work, q.unfinished, q.longest, q.retries)
}

func (q *queueMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return q.depth.WithLabelValues(name)
}
func (q *queueMetrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return q.adds.WithLabelValues(name)
}
func (q *queueMetrics) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return q.latency.WithLabelValues(name)
}
func (q *queueMetrics) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return q.work.WithLabelValues(name)
}
func (q *queueMetrics) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return q.unfinished.WithLabelValues(name)
}
func (q *queueMetrics) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return q.longest.WithLabelValues(name)
}
func (q *queueMetrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return q.retries.WithLabelValues(name)
}

// Handler serves /metrics (the controller's Metrics; 404 without them),
// /healthz (200 while the process is alive and, when it leads, renewing its
// Lease) and /readyz (200 once the caches are synced, 503 before).
func (c *Controller) Handler() http.Handler {
	mux := http.NewServeMux()
	if m := c.cfg.Metrics; m != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if h := c.leaderHealth; h != nil {
			if err := h.Check(r); err != nil {
				http.Error(w, "leader election: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !c.Synced() {
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// WithProfiling adds Go's runtime profiles under /debug/pprof/ (heap,
// goroutine, profile, trace, ...) to h, for `go tool pprof` against a
// running controller. They reveal nothing of the ELB or its credentials,
// but they cost CPU while taken, hence opt-in (--profiling).
func WithProfiling(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// ListenAndServe serves h on addr (e.g. ":8080"; ":0" picks a port) until
// ctx ends, and returns the address it listens on once it does, or why it
// cannot.
func ListenAndServe(ctx context.Context, addr string, h http.Handler) (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "Metrics server stopped", "address", ln.Addr().String())
		}
	}()
	context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return ln.Addr(), nil
}

func metaFor(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}
