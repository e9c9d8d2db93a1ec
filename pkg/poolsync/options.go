package poolsync

import (
	"context"
	"time"

	"github.com/openvessel/ccictl/pkg/poollock"
)

// Options are what a pass runs with: its Policy, a value made from the
// sync flags once, and its Hooks, the collaborators each mode supplies per
// pass (what it read, its lock, where its results go). A mode builds its
// Hooks anew for every pass instead of resetting fields of a shared value.
type Options struct {
	Policy
	Hooks

	// quota is shared by the bindings of one Run.
	quota *quotaCache
}

// Policy is how a pass decides and writes: the sync flags.
type Policy struct {
	// DryRun reads and plans but writes nothing.
	DryRun bool
	// AllowEmpty permits removing every owned member when nothing is desired.
	AllowEmpty bool
	// PruneOrphans removes members of bindings that no longer exist.
	PruneOrphans bool
	// ClusterID is this cluster's identity in the ownership markers
	// (ValidateClusterID; required): members marked by another cluster are
	// foreign, never orphans.
	ClusterID string
	// Weight of members of bindings without the weight annotation
	// (lbv1.WeightAnnotation); nil means the API default, 1.
	Weight *int32
	// Concurrency bounds how many bindings Run syncs at once (default
	// DefaultConcurrency).
	Concurrency int
	// MemberQuota is the members_per_pool to stage against when the quota
	// API cannot be read (0 = DefaultMemberQuota, -1 = unlimited).
	MemberQuota int
	// WaitHealthy makes each round wait until its new members are ONLINE
	// before removing stale ones (pools with a health monitor only).
	WaitHealthy bool
	// HealthTimeout bounds one round's wait (0 = DefaultHealthTimeout);
	// HealthInterval is the time between polls (0 = DefaultHealthInterval).
	HealthTimeout  time.Duration
	HealthInterval time.Duration
}

// Hooks are what a pass reads from and reports to, supplied by its mode
// (the one-shot pass from its lists, the controller from its caches).
type Hooks struct {
	// Owners tells which other bindings exist (see NewOwnerLookup).
	Owners OwnerLookup
	// ReadOwners, if set, reads Owners again. With PruneOrphans, a plan
	// that finds orphans is made again from its answer, under the pool's
	// lock: a binding created after Owners was read (and synced by another
	// pass meanwhile) would otherwise have its members removed as orphans.
	ReadOwners func(ctx context.Context) (OwnerLookup, error)
	// Locker, if set, makes the writers of each pool take turns
	// (pkg/poollock): a binding's pool read, plan and writes happen under
	// its pool's lock, so no pass acts on a plan another pass's writes made
	// stale. Not taken on a dry run.
	Locker poollock.Locker
	// ReadDesired re-reads a target's desired (ready) endpoints. After a
	// lock that another writer held first (poollock.Contended), the plan is
	// made from its answer instead of the pass's earlier read. Where the
	// Locker reports locks unavailable, it is called, with a fresh member
	// list, right before the removals, and a removal whose endpoint is
	// desired again (or whose member changed) is dropped.
	ReadDesired func(ctx context.Context, t Target) ([]Endpoint, error)
	// Warn receives notices about the whole pass (e.g. the quota fallback),
	// at most once each; nil drops them.
	Warn func(string)
	// Record, if set, is called once per binding with its final result,
	// while the binding's pool lock (if taken) is still held, so that what
	// it writes (the binding's status) cannot land after a later writer's
	// of the same pool. It may change the result (e.g. to SpecChanged).
	// Calls for different bindings run concurrently. ctx is the one the
	// writes were made under (the lock's): its fence guards apply to what
	// Record writes too.
	Record func(ctx context.Context, t Target, r *Result)
}

// ShareQuota returns opts with a member-quota cache that every Sync and
// Run given these options (or copies of them) shares: the quota is read
// once, by the first pass with something to add. The watch-mode
// controller keeps such options for a resync period, so a reconcile costs
// no quota read of its own.
func ShareQuota(opts Options) Options {
	opts.quota = newQuotaCache(opts)
	return opts
}

// DefaultConcurrency is Run's concurrency when Options.Concurrency <= 0.
// One binding's calls are sequential (get, list, adds, deletes), so a pass
// over many bindings takes about calls × latency ÷ concurrency: 16 brings
// 1,000 bindings × 50 endpoints from empty (3,000 calls) to ~3.75 s at
// 20 ms per call, where 4 needed 15 s (docs/performance.md), while keeping
// the number of requests in flight modest for the API's throttling
// (APIG.0308 answers are retried with backoff; lower --concurrency if a
// project's limits are tighter).
const DefaultConcurrency = 16

func (o Options) healthTimeout() time.Duration {
	if o.HealthTimeout > 0 {
		return o.HealthTimeout
	}
	return DefaultHealthTimeout
}

func (o Options) healthInterval() time.Duration {
	if o.HealthInterval > 0 {
		return o.HealthInterval
	}
	return DefaultHealthInterval
}
