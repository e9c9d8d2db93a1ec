package bindingcontroller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/fence"
)

// LeaderElectionConfig names the coordination.k8s.io Lease the replicas
// compete for (--leader-elect-namespace, --leader-elect-name) and its
// timing; zero durations take client-go's customary 15s / 10s / 2s.
type LeaderElectionConfig struct {
	Namespace string
	Name      string
	// Identity of this replica in the Lease; "" is the hostname (the pod
	// name in a Deployment) plus a random suffix.
	Identity string
	// LeaseDuration is how long a standby waits after the last renewal
	// before it takes a Lease over (a leader that died without releasing).
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps trying to renew before it
	// stops its workers.
	RenewDeadline time.Duration
	// RetryPeriod is how often candidates try to acquire, and the leader
	// to renew; a released Lease is taken within about one RetryPeriod.
	RetryPeriod time.Duration
}

// Leader election defaults.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

func (le LeaderElectionConfig) withDefaults() (LeaderElectionConfig, error) {
	if le.Namespace == "" || le.Name == "" {
		return le, errors.New("bindingcontroller: leader election needs the Lease's namespace and name")
	}
	if le.Identity == "" {
		host, err := os.Hostname()
		if err != nil {
			return le, fmt.Errorf("bindingcontroller: leader election identity: %w", err)
		}
		le.Identity = host + "_" + string(uuid.NewUUID())
	}
	setDefault(&le.LeaseDuration, DefaultLeaseDuration)
	setDefault(&le.RenewDeadline, DefaultRenewDeadline)
	setDefault(&le.RetryPeriod, DefaultRetryPeriod)
	if le.LeaseDuration <= le.RenewDeadline {
		return le, fmt.Errorf("bindingcontroller: lease duration %v must be longer than the renew deadline %v", le.LeaseDuration, le.RenewDeadline)
	}
	if float64(le.RenewDeadline) <= leaderelection.JitterFactor*float64(le.RetryPeriod) {
		return le, fmt.Errorf("bindingcontroller: renew deadline %v must be longer than %.1f × the retry period %v", le.RenewDeadline, leaderelection.JitterFactor, le.RetryPeriod)
	}
	return le, nil
}

// campaign competes for the Lease until ctx ends, running a term of
// workers each time it is acquired. The elector gets its own context,
// cancelled only once the term's workers are done, so that ReleaseOnCancel
// releases the Lease after the last reconcile and never during one.
func (c *Controller) campaign(ctx context.Context) error {
	lec := c.cfg.LeaderElection
	logger := klog.FromContext(ctx).WithValues("lease", lec.Namespace+"/"+lec.Name, "identity", lec.Identity)
	health := c.leaderHealth
	for ctx.Err() == nil {
		// Each campaign has its own term validity: a term that ended is
		// never valid again, whatever its elector still does.
		term := fence.NewValidity(TermName(lec.Namespace, lec.Name), lec.RenewDeadline, nil)
		lock := &termLock{
			Interface: &resourcelock.LeaseLock{
				LeaseMeta:  metaFor(lec.Namespace, lec.Name),
				Client:     c.cfg.Kube.CoordinationV1(),
				LockConfig: resourcelock.ResourceLockConfig{Identity: lec.Identity},
			},
			timeout: lec.requestTimeout(),
			term:    term,
		}
		electCtx, cancelElect := context.WithCancel(context.WithoutCancel(ctx))
		var mu sync.Mutex
		leading := false         // OnStartedLeading got to run a term
		stoppedCampaign := false // ctx ended before that: the elector was told to stop
		termDone := make(chan struct{})
		watchCtx, stopWatching := context.WithCancel(electCtx)
		el, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   lec.LeaseDuration,
			RenewDeadline:   lec.RenewDeadline,
			RetryPeriod:     lec.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            lec.Name,
			WatchDog:        health,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(leadCtx context.Context) {
					defer close(termDone)
					defer cancelElect() // renew stops, then the Lease is released
					mu.Lock()
					if ctx.Err() != nil || stoppedCampaign {
						mu.Unlock()
						return
					}
					leading = true
					mu.Unlock()
					stopWatching()
					// The term ends at the renew deadline counted on this
					// process's clock from the last successful renewal,
					// whatever client-go's elector is doing by then (it
					// may still be trying to renew, or to release the Lease
					// against a server it cannot reach).
					termCtx, endTerm := term.Bound(leadCtx)
					defer endTerm()
					stopTerm := context.AfterFunc(leadCtx, func() { term.End(errors.New("the leader Lease was not renewed")) })
					defer stopTerm()
					if err := term.Check(); err != nil || leadCtx.Err() != nil {
						return // lost before the term began
					}
					logger.Info("Acquired the leader Lease")
					c.lead(ctx, termCtx)
					if cause := context.Cause(termCtx); cause != nil && leadCtx.Err() == nil && ctx.Err() == nil {
						logger.Info("Leadership term ended before the elector noticed", "reason", cause.Error())
					}
				},
				OnStoppedLeading: func() {},
				OnNewLeader: func(id string) {
					if id != lec.Identity {
						logger.Info("Standing by", "leader", id)
					}
				},
			},
		})
		if err != nil {
			stopWatching()
			cancelElect()
			return fmt.Errorf("bindingcontroller: leader election: %w", err)
		}
		// stopCampaign ends a campaign that has not acquired the Lease:
		// at shutdown, or to try again at once when the leader released it.
		stopCampaign := func() {
			mu.Lock()
			defer mu.Unlock()
			if !leading {
				stoppedCampaign = true
				cancelElect()
			}
		}
		stopAtShutdown := context.AfterFunc(ctx, stopCampaign)
		go c.watchRelease(watchCtx, stopCampaign)
		el.Run(electCtx)
		stopAtShutdown()
		stopWatching()
		// Run returns once renewing stopped (and the Lease was released).
		// Unless the campaign was stopped before acquiring, the term's
		// callback was started: wait for its workers before campaigning
		// again, so that two terms never overlap. (A callback started as
		// the campaign was stopped returns at once without working.)
		mu.Lock()
		acquired := !stoppedCampaign
		mu.Unlock()
		if acquired {
			<-termDone
			logger.Info("Left the leader Lease", "shutdown", ctx.Err() != nil)
		}
		term.End(errors.New("the campaign ended"))
		cancelElect()
	}
	return nil
}

// TermName names the fence guard of a leadership term of the Lease
// namespace/name (fence.Holds): what pool locks bound to the term check.
func TermName(namespace, name string) string {
	return fence.LeaderTerm(namespace + "/" + name)
}

// requestTimeout bounds each request on the leader Lease, well below the
// renew deadline, so that a request the server never answers leaves time
// to try again before the term ends, and giving the Lease up (which
// client-go allows a whole renew deadline) does not wait on a server that
// cannot be reached.
func (le LeaderElectionConfig) requestTimeout() time.Duration {
	return min(max(le.RetryPeriod, le.RenewDeadline/4), le.RenewDeadline/2)
}

// termLock is the leader Lease as the elector uses it, with a timeout on
// each request, and every successful acquisition or renewal recorded in
// the term's validity, counted from the instant before it was sent: by
// then no standby can have seen the renewal, so none counts its lease
// duration from an earlier instant than the leader counts its deadline.
//
// It also refuses to give up a Lease that another replica holds now:
// client-go releases by overwriting whatever it last read, and a leader
// resumed after a freeze still believes it holds the Lease, so without
// this it would clear the holder of the new leader's Lease.
type termLock struct {
	resourcelock.Interface
	timeout time.Duration
	term    *fence.Validity

	mu         sync.Mutex
	lastHolder string // holder in the last record read
}

func (l *termLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	r, raw, err := l.Interface.Get(ctx)
	l.mu.Lock()
	l.lastHolder = ""
	if err == nil && r != nil {
		l.lastHolder = r.HolderIdentity
	}
	l.mu.Unlock()
	return r, raw, err
}

func (l *termLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.write(ctx, r, l.Interface.Create)
}

func (l *termLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	if r.HolderIdentity == "" {
		l.mu.Lock()
		holder := l.lastHolder
		l.mu.Unlock()
		if holder != l.Identity() {
			return fmt.Errorf("not releasing the leader Lease: %q holds it now", holder)
		}
	}
	return l.write(ctx, r, l.Interface.Update)
}

func (l *termLock) write(ctx context.Context, r resourcelock.LeaderElectionRecord, do func(context.Context, resourcelock.LeaderElectionRecord) error) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	sent := time.Now()
	err := do(ctx, r)
	if err == nil && r.HolderIdentity == l.Identity() {
		l.term.Renewed(sent)
	}
	return err
}

// watchRelease calls released when the Lease is updated to have no holder
// (its leader shut down and released it), or when the API server is back
// after the watch had to wait for it. A candidate retries acquiring
// only every RetryPeriod (plus up to 120 % jitter); a fresh campaign
// tries at once, so a handover takes a round trip, not up to 4.4 s.
// Only updates count: a Lease found without a holder when the watch
// (re)starts is the elector's business already.
func (c *Controller) watchRelease(ctx context.Context, released func()) {
	lec := c.cfg.LeaderElection
	leases := c.cfg.Kube.CoordinationV1().Leases(lec.Namespace)
	sel := fields.OneTermEqualSelector("metadata.name", lec.Name).String()
	for ctx.Err() == nil {
		began := time.Now()
		w, err := leases.Watch(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(lec.RetryPeriod):
			}
			continue
		}
		if time.Since(began) > lec.RetryPeriod/2 {
			// The watch waited for an API server that was away (see
			// ReconnectingTransport): campaign at once rather than at
			// the next retry, up to 2.2 retry periods away.
			w.Stop()
			released()
			return
		}
		for ev := range w.ResultChan() {
			l, ok := ev.Object.(*coordinationv1.Lease)
			if ok && ev.Type == watch.Modified && (l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "") {
				w.Stop()
				released()
				return
			}
		}
		w.Stop()
	}
}
