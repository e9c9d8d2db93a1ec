package bindingcontroller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/fence"
)

// queueName names the work queue in the workqueue metrics.
const queueName = "poolbindings"

// term is one period of running workers (one leadership term, or the whole
// Run without leader election), with its own queue: a standby queues
// nothing, and a new leader starts from every selected binding.
type term struct {
	q        workqueue.TypedRateLimitingInterface[cache.ObjectName]
	stopping atomic.Bool
}

// backoffLimiter is the per-key failure backoff: base·2^(failures-1),
// capped at max, reset by Forget (the next success). It deliberately has no
// overall token bucket (client-go's default controller limiter adds one of
// 10 qps), since that delays every binding behind the failing ones.
type backoffLimiter = workqueue.TypedItemExponentialFailureRateLimiter[cache.ObjectName]

func newBackoffLimiter(base, max time.Duration) *backoffLimiter {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](base, max).(*backoffLimiter)
}

// enqueue queues key after the coalescing window. The delaying queue keeps
// one pending entry per key at its earliest due time, so further changes
// within the window join the pending reconcile instead of adding one.
func (c *Controller) enqueue(key cache.ObjectName) {
	if t := c.queue.Load(); t != nil {
		t.q.AddAfter(key, c.cfg.Coalesce)
	}
}

// lead runs workers until outer ends (shutdown: in-flight reconciles get
// ShutdownGrace, then are cancelled) or leadCtx ends first (leadership
// lost: they are cancelled at once, since another replica may be leading
// already). It returns once the workers returned, or after shutdownWait
// more if a reconcile ignores its cancelled context.
func (c *Controller) lead(outer, leadCtx context.Context) {
	logger := klog.FromContext(outer)
	t := &term{q: workqueue.NewTypedRateLimitingQueueWithConfig[cache.ObjectName](c.limiter, workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{
		Name:            queueName,
		MetricsProvider: c.cfg.Metrics.queueProvider(),
	})}
	c.queue.Store(t)
	c.cfg.Metrics.setLeader(true)
	defer c.cfg.Metrics.setLeader(false)

	// Every wanted binding once: nothing queued on a standby carries over.
	if bs, err := c.bindingLst.List(labels.Everything()); err == nil {
		n := 0
		for _, b := range bs {
			if c.wanted(b) {
				t.q.Add(cache.MetaObjectToName(b))
				n++
			}
		}
		logger.Info("Reconciling", "poolbindings", n, "workers", c.cfg.Concurrency)
	}

	// Workers carry the term's guard (fence): their writes check it.
	workCtx, cancelWork := context.WithCancel(fence.Inherit(context.WithoutCancel(outer), leadCtx))
	defer cancelWork()
	var wg sync.WaitGroup
	for range c.cfg.Concurrency {
		wg.Add(1)
		go func() { defer wg.Done(); c.worker(workCtx, t) }()
	}

	lost := false
	select {
	case <-outer.Done():
	case <-leadCtx.Done():
		lost = outer.Err() == nil
	}
	c.queue.CompareAndSwap(t, nil)
	t.stopping.Store(true)
	t.q.ShutDown()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if lost {
		logger.Info("Lost the leader Lease: cancelling reconciles in flight")
		cancelWork()
	} else {
		select {
		case <-done:
		case <-time.After(c.cfg.ShutdownGrace):
			logger.Info("Cancelling reconciles still in flight", "grace", c.cfg.ShutdownGrace)
			cancelWork()
		}
	}
	select {
	case <-done:
	case <-time.After(shutdownWait):
		logger.Error(nil, "Reconciles did not return after their context was cancelled; stopping anyway", "waited", shutdownWait)
	}
}

func (c *Controller) worker(ctx context.Context, t *term) {
	for {
		key, shutdown := t.q.Get()
		if shutdown {
			return
		}
		if t.stopping.Load() {
			t.q.Done(key) // drain without reconciling
			continue
		}
		c.process(ctx, t, key)
		t.q.Done(key)
	}
}

// process reconciles one key and schedules its next turn.
func (c *Controller) process(ctx context.Context, t *term, key cache.ObjectName) {
	logger := klog.FromContext(ctx).WithValues("poolbinding", key.String())
	if b, err := c.bindingLst.Get(key); err == nil && !c.wanted(b) {
		// Left the selection: no pass any more (a deletion would be).
		t.q.Forget(key)
		c.cfg.Metrics.ForgetBinding(key.String())
		return
	}
	start := time.Now()
	out := c.call(klog.NewContext(ctx, logger), key)
	result := out.Result
	if result == "" {
		result = "Unknown"
		if out.Err != nil {
			result = "Error"
		}
	}
	c.cfg.Metrics.observeReconcile(result, time.Since(start))
	if t.stopping.Load() && ctx.Err() != nil {
		return // interrupted by the end of the term: the queue is gone
	}
	if out.Err != nil {
		logger.Error(out.Err, "Reconcile failed", "result", result, "failures", t.q.NumRequeues(key)+1)
		// Back to the queue after its backoff, or later if the outcome
		// asks (the ELB's Retry-After): a failing binding waits there,
		// never in a worker, and the others take their turns meanwhile.
		next := c.limiter.When(key)
		if out.RequeueAfter > next {
			next = out.RequeueAfter
		}
		t.q.AddAfter(key, next)
		return
	}
	t.q.Forget(key)
	if !c.stillSelected(key) {
		c.cfg.Metrics.ForgetBinding(key.String())
		return // deleted, or no longer selected: nothing to resync
	}
	next := c.resyncDelay()
	if out.RequeueAfter > 0 && out.RequeueAfter < next {
		next = out.RequeueAfter
	}
	t.q.AddAfter(key, next)
}

// call runs the Reconciler; a panic is a failure of this key, not the end
// of the controller.
func (c *Controller) call(ctx context.Context, key cache.ObjectName) (out Outcome) {
	defer func() {
		if r := recover(); r != nil {
			out = Outcome{Err: fmt.Errorf("reconcile of %s panicked: %v", key, r), Result: "Panic"}
		}
	}()
	return c.cfg.Reconciler.Reconcile(ctx, key)
}

func (c *Controller) stillSelected(key cache.ObjectName) bool {
	b, err := c.bindingLst.Get(key)
	if apierrors.IsNotFound(err) || err != nil {
		return false
	}
	return c.wanted(b)
}

// resyncDelay is the resync period plus up to resyncJitter of it, never
// less, so that bindings reconciled together do not all come back in the
// same instant.
func (c *Controller) resyncDelay() time.Duration {
	p := c.cfg.ResyncPeriod
	if j := time.Duration(float64(p) * resyncJitter); j > 0 {
		return p + rand.N(j)
	}
	return p
}
