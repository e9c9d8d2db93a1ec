package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/poollock"
)

// Target is one binding together with what the caller resolved about it
// from the cluster (from lists made once per namespace).
type Target struct {
	Binding *lbv1.PoolBinding
	// Endpoints is the desired set (pkg/endpoints). It may be partial when
	// ResolveErr is set.
	Endpoints []Endpoint
	// Draining are the Service's terminating but still serving endpoints
	// (pkg/endpoints Set.Terminating): their members are drained, not cut.
	Draining []Endpoint
	// ResolveErr says the desired set is unknown or partial: the Service is
	// missing (wrap endpoints.ErrServiceNotFound), has no such port
	// (endpoints.ErrPortNotFound), a list failed, … Nothing is then removed,
	// and without any endpoint the pool is not even read.
	ResolveErr error
	// ServiceELBID is the Service's kubernetes.io/elb.id annotation: a pool
	// of that load balancer must not be bound ("" when the Service has none).
	ServiceELBID string
	// SubnetCIDRID is the subnet of members to add ("" = IP-type members).
	SubnetCIDRID string
	// UnknownZone counts the ready endpoints a zone-scoped binding did not
	// take because their zone (or node) is not known.
	UnknownZone int
	// ZoneEndpoints counts the desired endpoints per zone, where the
	// reader knows it (EndpointSlices); nil otherwise.
	ZoneEndpoints map[string]int

	// PortChoices, when the Service has the binding's port number in more
	// than one protocol (53/UDP and 53/TCP), are its endpoints per protocol
	// ("TCP", "UDP", …); the pool's protocol (PortProtocol) picks one
	// after GetPool, which then stands for Endpoints, Draining,
	// UnknownZone and ResolveErr. A pool whose protocol has no choice
	// blocks the binding (ServicePortNotFound).
	PortChoices map[string]PortChoice
	// Lagging are the serving endpoints of the Service's EndpointSlices
	// that name the binding's port otherwise (a port rename the
	// EndpointSlice controller has not finished): their members are not
	// removed (EndpointsInTransition). LaggingSlices counts those slices.
	Lagging       []Endpoint
	LaggingSlices int
	// Lingering are endpoints the Service still lists although they are
	// neither ready nor serving: a staged rollout removes their members
	// after those of endpoints that are gone (Stage).
	Lingering []Endpoint
	// PortProtocol is the protocol chosen from PortChoices ("" without
	// choices); ReadDesired re-reads that protocol's endpoints.
	PortProtocol string

	// claims are the other bindings of the Run on the same pool and the
	// endpoints they want (Run sets them; PlanOptions.Claims).
	claims map[Endpoint]Claim
}

// PortChoice is the desired set of one protocol of a Service port number.
type PortChoice struct {
	Endpoints     []Endpoint
	Draining      []Endpoint
	UnknownZone   int
	ResolveErr    error
	Lagging       []Endpoint
	LaggingSlices int
	Lingering     []Endpoint
}

// PortProtocol is the Service port protocol that serves a pool of the
// given protocol: UDP for UDP and QUIC pools, TCP for TCP, HTTP, HTTPS,
// GRPC, TLS and any other.
func PortProtocol(poolProtocol string) string {
	switch strings.ToUpper(poolProtocol) {
	case "UDP", "QUIC":
		return "UDP"
	}
	return "TCP"
}

// choosePort applies the pool's protocol to t's PortChoices; ok=false with
// the reason when none fits.
func (t Target) choosePort(pool *elb.Pool) (Target, string, bool) {
	if len(t.PortChoices) == 0 {
		return t, "", true
	}
	want := PortProtocol(pool.Protocol)
	ch, ok := t.PortChoices[want]
	if !ok {
		var have []string
		for p := range t.PortChoices {
			have = append(have, p)
		}
		slices.Sort(have)
		return t, fmt.Sprintf("service port %d is served as %s only, and pool %s (protocol %s) takes %s: no Service port to bind",
			t.Binding.Spec.TargetRef.Port, strings.Join(have, " and "), pool.ID, pool.Protocol, want), false
	}
	t.Endpoints, t.Draining, t.UnknownZone, t.ResolveErr = ch.Endpoints, ch.Draining, ch.UnknownZone, ch.ResolveErr
	t.Lagging, t.LaggingSlices, t.Lingering = ch.Lagging, ch.LaggingSlices, ch.Lingering
	t.PortProtocol = want
	return t, "", true
}

// Options are the policy of a pass.
type Options struct {
	// DryRun reads and plans but writes nothing.
	DryRun bool
	// AllowEmpty permits removing every owned member when nothing is desired.
	AllowEmpty bool
	// PruneOrphans removes members of bindings that no longer exist.
	PruneOrphans bool
	// Owners tells which other bindings exist (see NewOwnerLookup).
	Owners OwnerLookup
	// ReadOwners, if set, reads Owners again. With PruneOrphans, a plan
	// that finds orphans is made again from its answer, under the pool's
	// lock: a binding created after Owners was read (and synced by another
	// pass meanwhile) would otherwise have its members removed as orphans.
	ReadOwners func(ctx context.Context) (OwnerLookup, error)
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

	// quota is shared by the bindings of one Run.
	quota *quotaCache
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

// withFreshDesired is t with a newly read ready set. ReadDesired reads
// ready endpoints only, so a terminating endpoint read earlier stays
// draining unless it is ready again now: a ready endpoint is never drained.
func (t Target) withFreshDesired(ready []Endpoint) Target {
	t.Endpoints = ready
	isReady := make(map[memberKey]bool, len(ready))
	for _, e := range ready {
		isReady[keyOf(e.Address, e.Port)] = true
	}
	var draining []Endpoint
	for _, e := range t.Draining {
		if !isReady[keyOf(e.Address, e.Port)] {
			draining = append(draining, e)
		}
	}
	t.Draining = draining
	return t
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

// Result states. A binding is in sync after the pass when its state is
// StateInSync or StateSynced.
const (
	StateInSync   = "InSync"   // nothing to change
	StateSynced   = "Synced"   // changes applied, pool now as desired
	StatePending  = "Pending"  // dry run found changes
	StateBlocked  = "Blocked"  // a safety rule or constraint held changes back
	StateDegraded = "Degraded" // new members did not become healthy; stale ones kept
	StateFailed   = "Failed"   // an error; the pool may be partly changed
)

// Condition reasons (Result.Reason and the Synced/Degraded conditions).
const (
	ReasonInSync                 = "InSync"
	ReasonSynced                 = "Synced"
	ReasonChangesPending         = "ChangesPending"
	ReasonInvalidBinding         = "InvalidBinding"
	ReasonServiceNotFound        = "ServiceNotFound"
	ReasonServicePortNotFound    = "ServicePortNotFound"
	ReasonEndpointsUnresolved    = "EndpointsUnresolved"
	ReasonPoolNotFound           = "PoolNotFound"
	ReasonPoolConstraintViolated = "PoolConstraintViolated"
	ReasonEmptyRefused           = "EmptyRefused"
	ReasonInconsistentRead       = "InconsistentRead"
	ReasonInvalidWeight          = "InvalidWeight"
	ReasonELBError               = "ELBError"
	ReasonCanceled               = "Canceled"
	ReasonTimeout                = "Timeout"
	ReasonBusy                   = "Busy"       // another writer holds the pool's lock (no waiting asked)
	ReasonLockLost               = "LockLost"   // the pool's lock was lost while writing
	ReasonLockFailed             = "LockFailed" // the pool's lock could not be taken (the Lease API failed)
	// ReasonQuotaExhausted: members sync must keep fill the pool's quota,
	// so desired endpoints cannot be added.
	ReasonQuotaExhausted = "QuotaExhausted"
	// ReasonMembersUnhealthy: with --wait-healthy, new members were not
	// ONLINE within --health-timeout; the stale members they replace stay.
	ReasonMembersUnhealthy = "MembersUnhealthy"
	// ReasonDeletionProtected: the pool has member deletion protection on;
	// additions happened, removals were withheld.
	ReasonDeletionProtected = "DeletionProtected"
	// ReasonPoolTypeUnsupported: the pool's type or ip_version cannot take
	// the members sync would add; nothing was written.
	ReasonPoolTypeUnsupported = "PoolTypeUnsupported"
	// ReasonEndpointsInTransition: the Service's EndpointSlices disagree on
	// the name of the binding's port (a rename in progress); removals at
	// the endpoints of the lagging slices were withheld.
	ReasonEndpointsInTransition = "EndpointsInTransition"
)

// Result is what one binding's pass planned and did. It is the
// machine-readable output of `ccictl sync -o json|yaml`: field order is
// fixed, counts are always present, lists are sorted.
type Result struct {
	// Binding is "namespace/name".
	Binding   string `json:"binding"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
	PoolID    string `json:"poolId"`
	// Region of the pool (the binding's region annotation); "" is the
	// pass's own region.
	Region string `json:"region,omitempty"`
	// Context is the cliconfig context the binding was read from, in a
	// pass over several clusters.
	Context string `json:"context,omitempty"`
	// State is one of the State* values; Reason the condition reason.
	State   string `json:"state"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
	DryRun  bool   `json:"dryRun"`
	// Blocked is the planner's guard reason (Blocked*), if any.
	Blocked string `json:"blocked,omitempty"`

	// Plan is what the pass intended from what it read.
	Plan PlanSummary `json:"plan"`

	// What the pass did (zero on a dry run). Added counts members now
	// present because of this pass, including answers "existed"; Removed
	// includes "not found".
	Added   int `json:"added"`
	Removed int `json:"removed"`
	// Existed and NotFound are the parts of Added and Removed the API
	// reported as already done (e.g. by a concurrent pass).
	Existed  int `json:"existed"`
	NotFound int `json:"notFound"`
	// Updated counts member weights this pass changed (drained to 0, or
	// restored to the binding's weight).
	Updated int `json:"updated"`
	// Renamed counts members this pass re-marked (legacy markers migrated,
	// members handed over to another binding).
	Renamed int `json:"renamed"`

	// The pool after the pass, as far as this pass knows.
	Desired    int `json:"desired"`
	Registered int `json:"registered"`
	Kept       int `json:"kept"`
	Foreign    int `json:"foreign"`
	Orphans    int `json:"orphans"`
	// Draining counts owned members of terminating endpoints kept at weight 0.
	Draining int `json:"draining"`
	// UnknownZone counts ready endpoints a zone-scoped binding skipped
	// because their zone (or node) is not known.
	UnknownZone int `json:"unknownZone"`
	// Zones counts the desired endpoints per zone (Target.ZoneEndpoints).
	Zones map[string]int `json:"zones,omitempty"`

	// Notes say what the pool's settings changed about the pass, e.g. that
	// its lb_algorithm ignores weights so terminating endpoints were removed.
	Notes []string `json:"notes,omitempty"`

	// Rounds is the number of rounds the pass ran (staging, see Stage).
	Rounds int `json:"rounds"`
	// RoundLog says what each round did, when there was more than one.
	RoundLog []RoundReport `json:"roundLog,omitempty"`
	// Health of the members at desired endpoints, when the pool has a
	// health monitor.
	Health *HealthSummary `json:"health,omitempty"`

	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"`

	// poolRead: the member counts come from a read of the pool.
	poolRead bool
	// dropped: planned removals a re-check before removing dropped.
	dropped int
	// port and laggingSlices describe an EndpointSlice transition.
	port          int32
	laggingSlices int
	// updated are the members whose batch-update was answered;
	// handoverNote is 1 + the index in Notes of the handover note (0 =
	// none), which settleUpdates corrects to what was done.
	updated      map[string]bool
	handoverNote int
}

// RoundReport is one round of a staged pass: the members it added and
// removed, how long it waited for the new ones to be healthy, and the
// pool's member count after it.
type RoundReport struct {
	Round   int     `json:"round"`
	Added   int     `json:"added"`
	Removed int     `json:"removed"`
	Waited  float64 `json:"waitedSeconds"`
	Members int     `json:"members"`
}

// PlanSummary is the plan part of a Result.
type PlanSummary struct {
	Desired   int `json:"desired"`
	Current   int `json:"current"`
	Add       int `json:"add"`
	Remove    int `json:"remove"`
	Keep      int `json:"keep"`
	Foreign   int `json:"foreign"`
	Orphans   int `json:"orphans"`
	Conflicts int `json:"conflicts"`
	Withheld  int `json:"withheld"`
	// Transition is the number of removals withheld at endpoints of
	// lagging EndpointSlices.
	Transition int `json:"transition"`
	// Prune is the number of orphans among Remove.
	Prune int `json:"prune"`
	// Update is the number of weight changes; Draining the owned members
	// of terminating endpoints kept at weight 0.
	Update   int `json:"update"`
	Draining int `json:"draining"`
	// Quota is the pool's member quota staged against (-1 = unlimited)
	// and QuotaSource where it came from (QuotaFrom*); Rounds the rounds
	// planned and Short the additions that cannot fit.
	Quota       int         `json:"quota"`
	QuotaSource string      `json:"quotaSource,omitempty"`
	Rounds      int         `json:"rounds"`
	Short       int         `json:"short"`
	ToAdd       []MemberRef `json:"toAdd"`
	ToRemove    []MemberRef `json:"toRemove"`
	ToUpdate    []WeightRef `json:"toUpdate"`
	// Rename is the number of members to re-mark; ToRename lists them.
	Rename   int         `json:"rename"`
	ToRename []RenameRef `json:"toRename"`
	Conflict []MemberRef `json:"conflicting"`
}

// RenameRef is a planned re-mark in output: the member, its new name and
// why (Migrate, Handover).
type RenameRef struct {
	MemberRef
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// WeightRef is a planned weight change in output.
type WeightRef struct {
	MemberRef
	From   int32  `json:"from"`
	To     int32  `json:"to"`
	Reason string `json:"reason"`
}

// MemberRef names a pool member in output.
type MemberRef struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
	Port    int32  `json:"port"`
}

// Quiet is r as a pass that found nothing to change would report it: the
// counts of the pool as r left it, without what r did (the watch-mode
// gate polls, which read health only, report their binding this way).
func (r Result) Quiet() Result {
	q := r
	q.State, q.Reason, q.Message = StateInSync, ReasonInSync, ""
	q.Added, q.Removed, q.Existed, q.NotFound, q.Updated, q.Renamed = 0, 0, 0, 0, 0, 0
	q.RoundLog, q.Warnings, q.Errors = nil, nil, nil
	return q
}

// InSync reports whether the pool matched the binding after the pass.
func (r Result) InSync() bool { return r.State == StateInSync || r.State == StateSynced }

// Line is the default one-line output, e.g.
// "poolbinding/test-c1: +3 -1 =10 foreign=1". A dry run shows the plan.
func (r Result) Line() string {
	add, rm := r.Added, r.Removed
	if r.DryRun {
		add, rm = r.Plan.Add, r.Plan.Remove
	}
	s := fmt.Sprintf("poolbinding/%s: +%d -%d =%d foreign=%d", r.Name, add, rm, r.Kept, r.Foreign)
	if r.Orphans > 0 {
		s += fmt.Sprintf(" orphans=%d", r.Orphans)
	}
	if r.Draining > 0 {
		s += fmt.Sprintf(" draining=%d", r.Draining)
	}
	if r.UnknownZone > 0 {
		s += fmt.Sprintf(" unknown-zone=%d", r.UnknownZone)
	}
	if rn := r.Renamed; r.DryRun && r.Plan.Rename > 0 || rn > 0 {
		if r.DryRun {
			rn = r.Plan.Rename
		}
		s += fmt.Sprintf(" remarked=%d", rn)
	}
	if up := r.Updated; r.DryRun && r.Plan.Update > 0 || up > 0 {
		if r.DryRun {
			up = r.Plan.Update
		}
		s += fmt.Sprintf(" weights=%d", up)
	}
	if r.Health != nil && r.Health.Monitored {
		s += fmt.Sprintf(" healthy=%d/%d", r.Health.Healthy, r.Health.Healthy+r.Health.Unhealthy)
	}
	if rounds := max(r.Rounds, r.Plan.Rounds*btoi(r.DryRun)); rounds > 1 {
		s += fmt.Sprintf(" rounds=%d", rounds)
	}
	for _, n := range r.Notes {
		s += " (" + n + ")"
	}
	switch r.State {
	case StateInSync, StateSynced:
	case StatePending:
		s += " (dry run)"
	default:
		s += " " + strings.ToLower(r.State) + ": " + r.Reason
		if r.Message != "" {
			s += ": " + r.Message
		}
	}
	return s
}

// Run syncs every target, at most opts.Concurrency at a time. A failing
// binding does not stop the others; after ctx is cancelled, bindings not yet
// started fail with ReasonCanceled without any call. Results are in the
// order of targets.
func Run(ctx context.Context, c elb.Client, targets []Target, opts Options) []Result {
	if opts.quota == nil {
		opts.quota = newQuotaCache(opts)
	}
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	targets = withClaims(targets, opts)
	results := make([]Result, len(targets))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			results[i] = Sync(ctx, c, targets[i], opts)
		}()
	}
	wg.Wait()
	return results
}

// SyncAmong syncs t as Run would among peers, the other bindings of its
// pool as the caller knows them (the watch-mode controller, from its
// caches): a member t no longer wants but a peer does is handed over, not
// removed. Only t's pool is read and written.
func SyncAmong(ctx context.Context, c elb.Client, t Target, peers []Target, opts Options) Result {
	all := make([]Target, 0, 1+len(peers))
	all = append(all, t)
	for _, p := range peers {
		if p.Binding != nil && p.Binding.UID != t.Binding.UID && p.Binding.Spec.PoolRef.ID == t.Binding.Spec.PoolRef.ID {
			all = append(all, p)
		}
	}
	return Sync(ctx, c, withClaims(all, opts)[0], opts)
}

// withClaims gives each target the desired endpoints of the other bindings
// of the Run on its pool, so that a member one binding no longer wants but
// another one does is handed over, not removed (PlanOptions.Claims). Every
// binding of a pool plans from the same read of the endpoints, the one the
// Run was given. Where several others want one endpoint, the first by
// namespace/name claims it.
func withClaims(targets []Target, opts Options) []Target {
	byPool := map[string][]int{}
	for i, t := range targets {
		if b := t.Binding; b != nil && b.Spec.PoolRef.ID != "" && ValidateOwner(ownerOf(b, opts.ClusterID)) == nil {
			byPool[b.Spec.PoolRef.ID] = append(byPool[b.Spec.PoolRef.ID], i)
		}
	}
	out := slices.Clone(targets)
	for _, idx := range byPool {
		if len(idx) < 2 {
			continue
		}
		slices.SortFunc(idx, func(a, b int) int {
			return strings.Compare(out[a].Binding.Namespace+"/"+out[a].Binding.Name, out[b].Binding.Namespace+"/"+out[b].Binding.Name)
		})
		for _, i := range idx {
			claims := map[Endpoint]Claim{}
			for _, j := range idx {
				if j == i {
					continue
				}
				o := out[j]
				w := opts.Weight
				if _, set := o.Binding.Annotations[lbv1.WeightAnnotation]; set {
					v, err := o.Binding.Weight()
					if err != nil {
						continue // blocked before any ELB call; claims nothing
					}
					w = &v
				}
				c := Claim{Owner: ownerOf(o.Binding, opts.ClusterID), Weight: w}
				for _, e := range validDesired(o.Endpoints) {
					if _, taken := claims[e]; !taken {
						claims[e] = c
					}
				}
			}
			out[i].claims = claims
		}
	}
	return out
}

// Sync runs one binding's pass: read the pool (GetPool, for the constraint
// and pre-flight checks and how it drains), read its members (ListMembers),
// plan, read the member quota when there is something to add (once per
// Run), then apply the plan in rounds that fit the quota (Stage): each
// round batch-adds, waits for the new members to be ONLINE with
// WaitHealthy, and only then batch-deletes stale owned members; the first
// round also batch-updates weights (drain to 0, restore) after its adds;
// ≤elb.MaxBatch per call. Calls: 1 + ⌈max(M,1)/2000⌉ (+1 quota read per
// Run) + Σ_r ⌈a_r/200⌉ + ⌈U/200⌉ + Σ_r ⌈d_r/200⌉ (+ health polls); with one
// round that is the unstaged ⌈A/200⌉ + ⌈U/200⌉ + ⌈D/200⌉, and a pass with
// nothing to change writes nothing. With opts.Locker all of it happens
// under the pool's lock.
func Sync(ctx context.Context, c elb.Client, t Target, opts Options) (res Result) {
	recorded := false
	defer func() {
		if !recorded && opts.Record != nil {
			opts.Record(ctx, t, &res)
		}
	}()
	r := newResult(t, opts)
	if r.State != "" {
		return r
	}
	if err := ctx.Err(); err != nil {
		return r.fail(fmt.Errorf("the pass was interrupted before this binding started: %w", err))
	}
	b := t.Binding
	poolID := b.Spec.PoolRef.ID
	weight := opts.Weight
	if _, set := b.Annotations[lbv1.WeightAnnotation]; set {
		w, err := b.Weight()
		if err != nil {
			r.State, r.Reason, r.Message = StateBlocked, ReasonInvalidWeight, err.Error()+"; nothing changed"
			return r
		}
		weight = &w
	}

	// Service missing or unresolvable with nothing to add: no write could
	// happen (removals are withheld), so spare the ELB calls.
	if t.ResolveErr != nil && len(t.Endpoints) == 0 && len(t.PortChoices) == 0 {
		r.State, r.Reason = StateBlocked, resolveReason(t.ResolveErr)
		r.Blocked = BlockedIncomplete
		r.Message = t.ResolveErr.Error()
		return r
	}

	var recheck func(context.Context, []elb.Member) ([]elb.Member, error)
	reread := false
	if opts.Locker != nil && !opts.DryRun {
		held, release, err := opts.Locker.Lock(ctx, b.Namespace, poolID)
		switch {
		case err == nil:
			ctx = held
			defer func() {
				res = lockLost(held, res)
				if opts.Record != nil {
					opts.Record(held, t, &res)
					recorded = true
				}
				release()
			}()
			// Another writer went first and time passed while waiting:
			// endpoints read before the wait may be gone (a rollout) or
			// back, and planning from them would undo that writer's work.
			// Plan from what is desired now (re-read below; after the
			// GetPool when the pool's protocol must choose the port).
			reread = poollock.Contended(held) && opts.ReadDesired != nil
		case errors.Is(err, poollock.ErrBusy):
			r.State, r.Reason, r.Message = StateBlocked, ReasonBusy, err.Error()+"; nothing changed"
			return r
		case errors.Is(err, poollock.ErrUnavailable) && opts.ReadDesired != nil:
			recheck = func(ctx context.Context, rm []elb.Member) ([]elb.Member, error) {
				return r.recheckRemovals(ctx, c, t, opts.ReadDesired, rm)
			}
		case errors.Is(err, poollock.ErrUnavailable):
			// No way to re-check: the caller chose to run without protection.
		default:
			// The Lease API failed (not the ELB): say so, unless the pass
			// was canceled or timed out while waiting.
			r.fail(fmt.Errorf("lock pool %s: %w; nothing changed", poolID, err))
			if r.Reason == ReasonELBError {
				r.Reason = ReasonLockFailed
			}
			return r
		}
	}

	rereadDesired := func() bool {
		fresh, err := opts.ReadDesired(ctx, t)
		if err != nil {
			r.State, r.Reason, r.Blocked = StateBlocked, ReasonEndpointsUnresolved, BlockedIncomplete
			r.Message = fmt.Sprintf("re-reading the endpoints after waiting for the pool lock failed (%v); nothing changed", err)
			return false
		}
		t = t.withFreshDesired(fresh)
		r.Desired, r.Plan.Desired = len(validDesired(fresh)), len(validDesired(fresh))
		return true
	}
	if reread && len(t.PortChoices) == 0 {
		if !rereadDesired() {
			return r
		}
		reread = false
	}
	pool, err := c.GetPool(ctx, poolID)
	if err != nil {
		return r.fail(fmt.Errorf("read pool %s: %w", poolID, err))
	}
	var why string
	var fits bool
	if t, why, fits = t.choosePort(pool); !fits {
		r.State, r.Reason, r.Blocked = StateBlocked, ReasonServicePortNotFound, BlockedIncomplete
		r.Message = why + "; nothing changed"
		return r
	}
	if len(t.PortChoices) > 0 {
		r.Desired, r.Plan.Desired, r.UnknownZone = len(validDesired(t.Endpoints)), len(validDesired(t.Endpoints)), t.UnknownZone
	}
	if reread && !rereadDesired() {
		return r
	}
	if t.ServiceELBID != "" {
		for _, lb := range pool.Loadbalancers {
			if lb.ID == t.ServiceELBID {
				r.State, r.Reason = StateBlocked, ReasonPoolConstraintViolated
				r.Message = fmt.Sprintf("pool %s belongs to load balancer %s, which the Service itself uses (%s); nothing changed",
					poolID, lb.ID, endpoints.ELBIDAnnotation)
				return r
			}
		}
	}
	if reason := poolTypeProblem(pool, t.SubnetCIDRID); reason != "" {
		r.State, r.Reason = StateBlocked, ReasonPoolTypeUnsupported
		r.Message = reason + "; nothing changed"
		return r
	}
	if len(pool.Loadbalancers) == 0 && len(pool.Listeners) == 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("pool %s belongs to no load balancer and no listener: its members take no traffic", poolID))
	}
	current, inconsistent, err := readMembers(ctx, c, pool)
	if err != nil {
		return r.fail(err)
	}

	planOpts := PlanOptions{
		Incomplete:        t.ResolveErr != nil,
		InconsistentRead:  inconsistent,
		AllowEmpty:        opts.AllowEmpty,
		PruneOrphans:      opts.PruneOrphans,
		DeletionProtected: pool.MemberDeletionProtectionEnable,
		Owners:            opts.Owners,
		SubnetCIDRID:      t.SubnetCIDRID,
		Weight:            weight,
		Draining:          t.Draining,
		Drain:             DrainModeOf(pool),
		Claims:            t.claims,
		Lagging:           t.Lagging,
	}
	p := ComputePlan(t.Endpoints, current, ownerOf(b, opts.ClusterID), planOpts)
	if opts.PruneOrphans && len(p.Orphans) > 0 && opts.ReadOwners != nil && !opts.DryRun {
		owners, err := opts.ReadOwners(ctx)
		if err != nil {
			r.State, r.Reason, r.Blocked = StateBlocked, ReasonEndpointsUnresolved, BlockedIncomplete
			r.Message = fmt.Sprintf("re-reading the PoolBindings before removing orphans failed (%v); nothing changed", err)
			return r
		}
		planOpts.Owners = owners
		p = ComputePlan(t.Endpoints, current, ownerOf(b, opts.ClusterID), planOpts)
	}
	r.setPlan(p, len(current))
	r.port, r.laggingSlices = b.Spec.TargetRef.Port, t.LaggingSlices
	if t.LaggingSlices > 0 && len(p.Transition) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d EndpointSlice(s) of the Service name port %d otherwise (a rename in progress); no member at their endpoints to keep", t.LaggingSlices, b.Spec.TargetRef.Port))
	}
	r.noteDrain(p, pool)
	r.warnWeightZero(p, pool)

	quota := elb.UnlimitedQuota
	if len(p.ToAdd) > 0 {
		qc := opts.quota
		if qc == nil {
			qc = newQuotaCache(opts)
		}
		quota, r.Plan.QuotaSource = qc.get(ctx, c)
	}
	r.Plan.Quota = quota
	if r.Plan.QuotaSource == QuotaFromFlag && quota >= 0 && len(current) > quota {
		// The pool holds more than the quota assumed: the assumption is
		// wrong and the quota unknown, at least what the pool holds. Add
		// without staging; the ELB's ELB.8905 answer bounds it, and staging
		// goes on from the count it refused at.
		r.Notes = append(r.Notes, fmt.Sprintf("member quota of pool %s unknown: the quota API could not be read and the pool holds %d member(s), more than --member-quota=%d; additions are bounded by the ELB's answers",
			poolID, len(current), quota))
		r.Plan.Quota, r.Plan.QuotaSource = len(current), QuotaUnknown
		quota = elb.UnlimitedQuota
	}
	var lingering map[Endpoint]bool
	if len(t.Lingering) > 0 {
		lingering = make(map[Endpoint]bool, len(t.Lingering))
		for _, e := range t.Lingering {
			lingering[e] = true
		}
	}
	st := Stage(StageInput{Quota: quota, Current: len(current), Add: p.ToAdd, Remove: p.ToRemove, Lingering: lingering})
	r.Plan.Rounds, r.Plan.Short = len(st.Rounds), st.Short

	monitored := pool.HealthmonitorID != ""
	hb := newHealthBook(append(slices.Clone(p.Keep), p.Conflicts...))
	ex := &rounds{c: c, poolID: poolID, quota: quota, n: len(current), adds: p.ToAdd, removes: p.ToRemove, lingering: lingering,
		updates: p.ToUpdate, renames: p.ToRename, recheck: recheck, gate: opts.WaitHealthy && monitored, hb: hb, opts: opts}
	start := time.Now()
	if !opts.DryRun {
		err := r.apply(ctx, ex)
		r.settleUpdates(p)
		if r.Rounds <= 1 {
			r.RoundLog = nil // one round is the whole result already
		}
		if err != nil {
			r.setHealth(monitored, ex, time.Since(start))
			return r.fail(err)
		}
	}
	r.setHealth(monitored, ex, time.Since(start))
	if opts.WaitHealthy && !monitored {
		r.Warnings = append(r.Warnings, fmt.Sprintf("pool %s has no health monitor (healthmonitor_id empty): removals were not gated on health", poolID))
	}
	r.finish(p, t.ResolveErr, opts.DryRun, ex)
	if r.dropped > 0 {
		r.Message += fmt.Sprintf("; %d removal(s) dropped: their members changed or their endpoints were desired again when re-read right before removing", r.dropped)
	}
	return r
}

// readMembers lists the pool's members and checks the list against the
// pool's own list of member IDs (pool.Members, from the GetPool the pass
// already made), so that a list that lost members (a page dropped, a short
// page taken for the last, a lagging replica) or picked up a moved one is
// noticed. A mismatch may be a concurrent writer's change between the two
// reads, so it is checked once more against a fresh GetPool, and if that
// does not explain it, the members are listed again; a mismatch that
// remains is returned as the reason the read is inconsistent (the plan then
// withholds removals). A consistent read costs no extra call. A pool
// answer without a members list (the key absent) cannot be compared.
func readMembers(ctx context.Context, c elb.Client, pool *elb.Pool) ([]elb.Member, string, error) {
	poolID := pool.ID
	current, err := c.ListMembers(ctx, poolID)
	if err != nil {
		return nil, "", fmt.Errorf("list members of pool %s: %w", poolID, err)
	}
	if pool.Members == nil {
		return current, "", nil
	}
	diff := idMismatch(pool.Members, current)
	if diff == "" {
		return current, "", nil
	}
	again, err := c.GetPool(ctx, poolID)
	if err != nil {
		return nil, "", fmt.Errorf("re-read pool %s (its member list did not match the pool's: %s): %w", poolID, diff, err)
	}
	if idMismatch(again.Members, current) == "" {
		return current, "", nil
	}
	current, err = c.ListMembers(ctx, poolID)
	if err != nil {
		return nil, "", fmt.Errorf("re-list members of pool %s (the first list did not match the pool's: %s): %w", poolID, diff, err)
	}
	if diff = idMismatch(again.Members, current); diff != "" {
		return current, fmt.Sprintf("the member list of pool %s does not match the pool's own list of members, also when read again (%s)", poolID, diff), nil
	}
	return current, "", nil
}

// idMismatch compares the member IDs of the pool object with those of a
// member list: "" when they are the same set with no ID listed twice, else
// what differs.
func idMismatch(pool []elb.Ref, listed []elb.Member) string {
	want := make(map[string]bool, len(pool))
	for _, r := range pool {
		want[r.ID] = true
	}
	seen := make(map[string]bool, len(listed))
	extra, repeated := 0, 0
	for _, m := range listed {
		switch {
		case seen[m.ID]:
			repeated++
		case !want[m.ID]:
			extra++
		}
		seen[m.ID] = true
	}
	missing := 0
	for id := range want {
		if !seen[id] {
			missing++
		}
	}
	if missing == 0 && extra == 0 && repeated == 0 {
		return ""
	}
	return fmt.Sprintf("%d member(s) of the pool not listed, %d listed that the pool does not name, %d listed twice", missing, extra, repeated)
}

// setHealth records what is known about health; a pool without a health
// monitor has nothing to report (every member is NO_MONITOR).
func (r *Result) setHealth(monitored bool, x *rounds, waited time.Duration) {
	if monitored {
		r.Health = x.hb.summary(monitored, x.gate, x.polls, waited)
	}
}

// poolTypeProblem says why the pool cannot take the members sync would add
// (IPv4 addresses; IP-type members unless a subnet is given), or "".
func poolTypeProblem(pool *elb.Pool, subnet string) string {
	switch {
	case pool.Type == "instance" && subnet == "":
		return fmt.Sprintf("pool %s has type instance, which takes no IP-type members (give a subnet with --subnet-id, or bind a pool of type \"\")", pool.ID)
	case pool.Type == "ip" && subnet != "":
		return fmt.Sprintf("pool %s has type ip, which takes no members with a subnet (subnet_cidr_id %s)", pool.ID, subnet)
	case pool.Type != "" && pool.Type != "instance" && pool.Type != "ip":
		return fmt.Sprintf("pool %s has type %q, which sync does not know", pool.ID, pool.Type)
	case pool.IPVersion == "v6":
		return fmt.Sprintf("pool %s has ip_version v6 and cannot take the IPv4 endpoints of the Service", pool.ID)
	}
	return ""
}

func newResult(t Target, opts Options) Result {
	r := Result{DryRun: opts.DryRun, Plan: PlanSummary{ToAdd: []MemberRef{}, ToRemove: []MemberRef{}, ToUpdate: []WeightRef{}, ToRename: []RenameRef{}, Conflict: []MemberRef{}}}
	b := t.Binding
	if b == nil {
		r.State, r.Reason, r.Message = StateFailed, ReasonInvalidBinding, "no binding"
		return r
	}
	r.Namespace, r.Name, r.UID = b.Namespace, b.Name, string(b.UID)
	r.Binding = b.Namespace + "/" + b.Name
	r.PoolID = b.Spec.PoolRef.ID
	r.Desired = len(validDesired(t.Endpoints))
	r.UnknownZone = t.UnknownZone
	r.Zones = t.ZoneEndpoints
	r.Plan.Desired = r.Desired
	switch err := ValidateOwner(ownerOf(b, opts.ClusterID)); {
	case err != nil:
		r.State, r.Reason, r.Message = StateFailed, ReasonInvalidBinding, "binding cannot own members: "+err.Error()
	case r.PoolID == "":
		r.State, r.Reason, r.Message = StateFailed, ReasonInvalidBinding, "spec.poolRef.id is empty"
	case !ValidPoolID(r.PoolID):
		r.State, r.Reason = StateFailed, ReasonInvalidBinding
		r.Message = fmt.Sprintf("spec.poolRef.id %q is not a backend server group ID (a UUID of lowercase hex digits and '-', e.g. e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1); nothing changed", r.PoolID)
	}
	if region, err := b.Region(); err != nil && r.State == "" {
		r.State, r.Reason, r.Message = StateFailed, ReasonInvalidBinding, err.Error()+"; nothing changed"
	} else {
		r.Region = region
	}
	return r
}

// ValidPoolID: the ID can name the pool in an ELB URL and in its lock's
// Lease name (pool IDs are UUIDs), so a binding that cannot be served is
// refused before any call instead of failing at its Lease.
func ValidPoolID(id string) bool {
	return len(validation.IsDNS1123Subdomain(poollock.LeaseName(id))) == 0
}

func ownerOf(b *lbv1.PoolBinding, cluster string) Owner {
	return Owner{Namespace: b.Namespace, Name: b.Name, UID: string(b.UID), Cluster: cluster}
}

func (r *Result) setPlan(p Plan, current int) {
	r.poolRead = true
	r.Blocked = p.Blocked
	r.Plan = PlanSummary{
		Desired:    len(p.Desired),
		Current:    current,
		Add:        len(p.ToAdd),
		Remove:     len(p.ToRemove),
		Keep:       len(p.Keep),
		Foreign:    len(p.Foreign),
		Orphans:    len(p.Orphans),
		Conflicts:  len(p.Conflicts),
		Withheld:   len(p.Withheld),
		Transition: len(p.Transition),
		Update:     len(p.ToUpdate),
		Draining:   len(p.Draining),
		ToAdd:      make([]MemberRef, 0, len(p.ToAdd)),
		ToRemove:   refs(p.ToRemove),
		ToUpdate:   make([]WeightRef, 0, len(p.ToUpdate)),
		ToRename:   make([]RenameRef, 0, len(p.ToRename)),
		Conflict:   refs(p.Conflicts),
	}
	for _, u := range p.ToUpdate {
		m := u.Member
		r.Plan.ToUpdate = append(r.Plan.ToUpdate, WeightRef{
			MemberRef: MemberRef{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort},
			From:      m.Weight, To: u.Weight, Reason: u.Reason,
		})
	}
	for _, m := range p.ToRemove {
		if !p.Owns(m.Name) {
			r.Plan.Prune++
		}
	}
	r.Plan.Rename = len(p.ToRename)
	if note := handoverNote(p.ToRename, func(elb.Member) bool { return true }); note != "" {
		r.Notes = append(r.Notes, note)
		r.handoverNote = len(r.Notes)
	}
	for _, x := range p.ToRename {
		m := x.Member
		r.Plan.ToRename = append(r.Plan.ToRename, RenameRef{
			MemberRef: MemberRef{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort},
			To:        x.Name, Reason: x.Reason,
		})
	}
	for _, m := range p.ToAdd {
		r.Plan.ToAdd = append(r.Plan.ToAdd, MemberRef{Name: m.Name, Address: m.Address, Port: m.ProtocolPort})
	}
	r.Desired = len(p.Desired)
	r.Kept, r.Foreign, r.Orphans = len(p.Keep), len(p.Foreign), len(p.Orphans)
	r.Draining = len(p.Draining)
	// Desired endpoints already present: ours, or held by another member.
	r.Registered = len(p.Keep) + len(p.Conflicts)
}

// handoverNote says how many members of renames were handed over to which
// bindings, counting those done reports; "" for none.
func handoverNote(renames []Rename, done func(elb.Member) bool) string {
	var to []string
	handed := 0
	for _, x := range renames {
		if x.Reason == RenameHandover && done(x.Member) {
			handed++
			if o, ok := ParseMarker(x.Name); ok && !slices.Contains(to, o.String()) {
				to = append(to, o.String())
			}
		}
	}
	if handed == 0 {
		return ""
	}
	slices.Sort(to)
	return fmt.Sprintf("%d member(s) handed over to %s, which want(s) their endpoints", handed, strings.Join(to, ", "))
}

// settleUpdates makes what depends on weight changes and re-marks — the
// draining count and the handover note — say what the batch-updates did
// rather than what the plan asked: an update that failed or was not
// reached left its members as they were.
func (r *Result) settleUpdates(p Plan) {
	done := func(m elb.Member) bool { return r.updated[m.ID] }
	r.Draining = 0
	for _, m := range p.Draining {
		if m.Weight == 0 || done(m) {
			r.Draining++
		}
	}
	if r.handoverNote == 0 {
		return
	}
	i := r.handoverNote - 1
	if note := handoverNote(p.ToRename, done); note != "" {
		r.Notes[i] = note
	} else {
		r.Notes = slices.Delete(r.Notes, i, i+1)
		r.handoverNote = 0
	}
}

func refs(ms []elb.Member) []MemberRef {
	out := make([]MemberRef, 0, len(ms))
	for _, m := range ms {
		out = append(out, MemberRef{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort})
	}
	return out
}

// noteDrain says, in the result, when the pool's settings made terminating
// endpoints be removed rather than drained by weight.
func (r *Result) noteDrain(p Plan, pool *elb.Pool) {
	n := len(p.DrainRemoved)
	if n == 0 {
		return
	}
	switch DrainModeOf(pool) {
	case DrainWeightIgnored:
		r.Notes = append(r.Notes, fmt.Sprintf("lb_algorithm %s ignores weights: %d member(s) of terminating endpoints removed without draining", pool.LBAlgorithm, n))
	case DrainByPool:
		r.Notes = append(r.Notes, fmt.Sprintf("connection_drain is enabled (timeout %ds): %d member(s) of terminating endpoints removed, the ELB drains their connections", pool.ConnectionDrain.Timeout, n))
	}
}

// The two copies of the vendor's FAQ "When Will Modified Weights Take
// Effect?" (elb_faq_0125), which disagree on weight 0 for TCP/UDP/QUIC
// pools without connection_drain.
const (
	weightFAQChinaURL = "https://support.huaweicloud.com/elb_faq/elb_faq_0125.html"
	weightFAQIntlURL  = "https://support.huaweicloud.com/intl/en-us/elb_faq/elb_faq_0125.html"
)

// warnWeightZero warns when the pass sets (with --dry-run: would set)
// members of terminating endpoints to weight 0 on a TCP, UDP or QUIC pool
// whose connection_drain is off. The vendor's Chinese FAQ says weight 0
// then cuts the members' existing connections at once, its international
// copy that they close after the idle timeout; sync takes the reading that
// keeps them, so the user must hear that the other one may hold. The
// warning comes with the weight change itself, not on every pass of such a
// pool: it is the moment connections are at risk, and a watch that passes
// every few seconds would otherwise repeat it for pools that never roll.
func (r *Result) warnWeightZero(p Plan, pool *elb.Pool) {
	if DrainModeOf(pool) != DrainByWeight {
		return
	}
	switch strings.ToUpper(pool.Protocol) {
	case "TCP", "UDP", "QUIC":
	default:
		return // HTTP/HTTPS: weight 0 ends requests, not connections
	}
	n := 0
	for _, u := range p.ToUpdate {
		if u.Reason == UpdateDrain {
			n++
		}
	}
	if n == 0 {
		return
	}
	r.Warnings = append(r.Warnings, fmt.Sprintf("pool %s (%s) has connection_drain off: %d member(s) of terminating endpoints drained by weight 0, "+
		"whose existing connections may be cut at once (Chinese copy of the vendor FAQ \"When Will Modified Weights Take Effect?\", %s) "+
		"or closed after the idle timeout (international copy, %s); enable connection_drain on the pool to keep them for its timeout",
		pool.ID, strings.ToUpper(pool.Protocol), n, weightFAQChinaURL, weightFAQIntlURL))
}

// applyUpdates sets weights and names (re-marks), ≤elb.MaxBatch members per
// call, one update per member (a member with both a new weight and a new
// name gets both in one item). The client checks that each answer shows
// every asked member with the asked values.
func (r *Result) applyUpdates(ctx context.Context, c elb.Client, poolID string, updates []WeightUpdate, renames []Rename) error {
	us := mergeUpdates(updates, renames)
	weighted := make(map[string]bool, len(updates))
	for _, u := range updates {
		weighted[u.Member.ID] = true
	}
	for chunk := range chunks(us) {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := c.BatchUpdateMembers(ctx, poolID, chunk)
		if err != nil {
			what := "weights"
			if len(renames) > 0 {
				what = "weights and names"
			}
			return fmt.Errorf("update member %s in pool %s: %w", what, poolID, err)
		}
		if r.updated == nil {
			r.updated = map[string]bool{}
		}
		for i := range res {
			r.updated[chunk[i].ID] = true
			if weighted[chunk[i].ID] {
				r.Updated++
			}
			if chunk[i].Name != nil {
				r.Renamed++
			}
		}
	}
	return nil
}

// mergeUpdates turns weight changes and renames into one update per
// member, in the order of the weight changes, then the renames.
func mergeUpdates(updates []WeightUpdate, renames []Rename) []elb.MemberUpdate {
	out := make([]elb.MemberUpdate, 0, len(updates)+len(renames))
	at := make(map[string]int, len(updates)+len(renames))
	for _, u := range updates {
		w := u.Weight
		at[u.Member.ID] = len(out)
		out = append(out, elb.MemberUpdate{ID: u.Member.ID, Weight: &w})
	}
	for _, x := range renames {
		n := x.Name
		if i, ok := at[x.Member.ID]; ok {
			out[i].Name = &n
			continue
		}
		at[x.Member.ID] = len(out)
		out = append(out, elb.MemberUpdate{ID: x.Member.ID, Name: &n, Weight: x.Weight})
	}
	return out
}

// rounds is the state of one binding's staged execution.
type rounds struct {
	c      elb.Client
	poolID string
	quota  int // members_per_pool staged against; lowered on ELB.8905
	n      int // members in the pool, as far as this pass knows
	adds   []elb.NewMember
	// removes are the stale members not removed yet; lingering the
	// endpoints whose members go last (StageInput.Lingering).
	removes   []elb.Member
	lingering map[Endpoint]bool
	// updates are the weight changes and renames the re-marks, made once
	// after the first round's adds (and health wait), in the same calls.
	updates []WeightUpdate
	renames []Rename
	// recheck, if set, may drop removals right before they are made.
	recheck func(context.Context, []elb.Member) ([]elb.Member, error)
	gate    bool // wait for new members to be ONLINE before removing
	hb      *healthBook
	opts    Options

	ran       int  // rounds started
	polls     int  // health polls made
	short     int  // additions that did not fit (Stage.Short)
	refused   bool // the ELB refused additions with ELB.8905 despite the room made
	unhealthy []string

	// refusedAt is the pool's member count when the ELB last refused
	// additions with ELB.8905 (when wasRefused): the evidence staging then
	// goes by.
	refusedAt  int
	wasRefused bool
}

// apply runs the plan round by round: stage what is left, run the first
// round, repeat. A round removes first only when the pool has no room;
// otherwise it adds, waits for the new members (gate), then removes as many
// stale members as it added. A failed add stops before any removal of that
// round, so a member is never taken out while its replacement may be
// missing; an add refused for quota (ELB.8905) sets the quota to the
// pool's current size and staging carries on, once without progress at
// most. A round whose new members do not become healthy in time stops the
// pass with its stale members kept. Weight changes follow the first
// round's adds, before any removal.
func (r *Result) apply(ctx context.Context, x *rounds) error {
	first := true
	for {
		st := Stage(StageInput{Quota: x.quota, Current: x.n, Add: x.adds, Remove: x.removes, Lingering: x.lingering})
		if len(st.Rounds) == 0 {
			x.short = st.Short
			if first {
				return r.applyUpdates(ctx, x.c, x.poolID, x.updates, x.renames)
			}
			return nil
		}
		round := st.Rounds[0]
		x.ran++
		r.Rounds = x.ran
		rep := RoundReport{Round: x.ran}
		removedBefore := r.Removed
		if round.RemoveFirst {
			if err := r.remove(ctx, x, round.Remove); err != nil {
				return err
			}
		}
		added, refused, err := r.add(ctx, x, round.Add)
		if err != nil {
			return err
		}
		rep.Added = len(added)
		logRound := func() {
			rep.Removed, rep.Members = r.Removed-removedBefore, x.n
			r.RoundLog = append(r.RoundLog, rep)
		}
		if x.gate && len(added) > 0 {
			start := time.Now()
			ok, polls, err := waitHealthy(ctx, x.c, x.poolID, added, x.n, x.hb, x.opts.healthTimeout(), x.opts.healthInterval())
			x.polls += polls
			rep.Waited = time.Since(start).Round(time.Millisecond).Seconds()
			if err != nil {
				logRound()
				return err
			}
			if !ok {
				x.unhealthy = added
				logRound()
				return nil
			}
		}
		if first {
			first = false
			if err := r.applyUpdates(ctx, x.c, x.poolID, x.updates, x.renames); err != nil {
				return err
			}
		}
		if !round.RemoveFirst {
			rm := round.Remove
			if refused {
				// Only replace what was added; the rest waits for room.
				rm = rm[:min(len(rm), len(added))]
			}
			if err := r.remove(ctx, x, rm); err != nil {
				logRound()
				return err
			}
		}
		logRound()
		if refused {
			x.refusedAt, x.wasRefused = x.n, true
			if len(added) == 0 && round.RemoveFirst {
				// Room was made and the ELB still refused: the real limit
				// is not this pool's size (a project quota, another writer).
				x.refused = true
				return nil
			}
			x.quota = x.n
		}
	}
}

// add batch-adds ms in calls of ≤elb.MaxBatch and returns the IDs of the
// members added. It stops at a call refused for quota (refused=true, no
// error); any other failure is an error.
func (r *Result) add(ctx context.Context, x *rounds, ms []elb.NewMember) (ids []string, refused bool, err error) {
	for chunk := range chunks(ms) {
		if err := ctx.Err(); err != nil {
			return ids, false, err
		}
		res, err := x.c.BatchAddMembers(ctx, x.poolID, chunk)
		if err != nil && elb.IsQuotaExceeded(err) {
			return ids, true, nil
		}
		ok, existed, bad := tally(res, elb.RetExisted)
		r.Added += ok + existed
		r.Existed += existed
		r.Registered += ok + existed
		if err == nil && len(bad) > 0 {
			err = fmt.Errorf("unexpected ret_status %s", strings.Join(bad, ", "))
		}
		if err == nil && ok+existed != len(chunk) {
			err = fmt.Errorf("batch-add answered %d of %d members", ok+existed, len(chunk))
		}
		if err != nil {
			return ids, false, fmt.Errorf("add members to pool %s: %w", x.poolID, err)
		}
		x.adds = x.adds[len(chunk):]
		// "existed" is in the pool as much as "successful": this pass's
		// own add whose answer was lost, or a concurrent writer's.
		x.n += ok + existed
		for _, b := range res {
			ids = append(ids, b.ID)
			x.hb.added(elb.Member{ID: b.ID, Address: b.Address, ProtocolPort: b.ProtocolPort})
		}
	}
	return ids, false, nil
}

// remove batch-deletes ms (stale members) in calls of ≤elb.MaxBatch, after
// the re-check (if any) dropped those that no longer hold; dropped members
// are not tried again in later rounds.
func (r *Result) remove(ctx context.Context, x *rounds, ms []elb.Member) error {
	if len(ms) == 0 {
		return nil
	}
	planned := ms
	if x.recheck != nil {
		var err error
		if ms, err = x.recheck(ctx, ms); err != nil {
			return err
		}
	}
	done := make(map[string]bool, len(planned))
	for _, m := range planned {
		done[m.ID] = true
	}
	x.removes = slices.DeleteFunc(x.removes, func(m elb.Member) bool { return done[m.ID] })
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	for chunk := range chunks(ids) {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := x.c.BatchDeleteMembers(ctx, x.poolID, chunk)
		ok, notFound, bad := tally(res, elb.RetNotFound)
		r.Removed += ok + notFound
		r.NotFound += notFound
		if err == nil && len(bad) > 0 {
			err = fmt.Errorf("unexpected ret_status %s", strings.Join(bad, ", "))
		}
		if err == nil && ok+notFound != len(chunk) {
			err = fmt.Errorf("batch-delete answered %d of %d members", ok+notFound, len(chunk))
		}
		if err != nil {
			return fmt.Errorf("remove members from pool %s: %w", x.poolID, err)
		}
		// "not found" is gone as much as "successful": this pass's own
		// delete whose answer was lost, or a concurrent writer's.
		x.n -= ok + notFound
	}
	return nil
}

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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tally counts "successful", the given already-done status, and others.
func tally(res []elb.BatchResult, alreadyDone string) (ok, done int, bad []string) {
	for _, x := range res {
		switch x.RetStatus {
		case elb.RetSuccessful:
			ok++
		case alreadyDone:
			done++
		default:
			bad = append(bad, fmt.Sprintf("%q for %s", x.RetStatus, x.ID))
		}
	}
	return ok, done, bad
}

// chunks yields s in pieces of at most elb.MaxBatch.
func chunks[T any](s []T) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			n := min(len(s), elb.MaxBatch)
			if !yield(s[:n]) {
				return
			}
			s = s[n:]
		}
	}
}

func (r *Result) finish(p Plan, resolveErr error, dryRun bool, x *rounds) {
	short, notAdded := x.short, max(x.short, len(x.adds))
	if dryRun {
		short, notAdded = r.Plan.Short, r.Plan.Short
	}
	switch {
	case p.Blocked == BlockedIncomplete:
		r.State, r.Reason = StateBlocked, resolveReason(resolveErr)
		r.Message = fmt.Sprintf("desired endpoints incomplete (%v); %d removal(s)%s withheld", resolveErr, len(p.Withheld), withheldUpdates(p))
	case p.Blocked == BlockedEmptyRefused:
		r.State, r.Reason = StateBlocked, ReasonEmptyRefused
		if len(p.Withheld) == 0 {
			r.Message = fmt.Sprintf("no ready endpoint; refusing to drain %d member(s) to weight 0 without --allow-empty", len(p.WithheldUpdates))
		} else {
			r.Message = fmt.Sprintf("no ready endpoint; refusing to remove %d member(s)%s without --allow-empty", len(p.Withheld), withheldUpdates(p))
		}
	case p.Blocked == BlockedInconsistentRead:
		r.State, r.Reason = StateBlocked, ReasonInconsistentRead
		r.Message = fmt.Sprintf("%s; %d removal(s)%s withheld", p.Inconsistency, len(p.Withheld), withheldUpdates(p))
	case p.Blocked != "" && p.Blocked != BlockedDeletionProtected:
		// BlockedInvalidOwner; newResult already rejects such bindings.
		r.State, r.Reason = StateFailed, ReasonInvalidBinding
	case len(x.unhealthy) > 0:
		text, n := x.hb.unhealthyText(x.unhealthy)
		r.State, r.Reason = StateDegraded, ReasonMembersUnhealthy
		r.Message = fmt.Sprintf("%d new member(s) not ONLINE after %v (%s); %d stale member(s) kept",
			n, x.opts.healthTimeout(), text, len(x.removes))
	case p.Blocked == BlockedDeletionProtected:
		// Before the quota: the withheld removals are why no room was made.
		r.State, r.Reason = StateBlocked, ReasonDeletionProtected
		r.Message = fmt.Sprintf("pool %s has member_deletion_protection_enable: %d removal(s) withheld", r.PoolID, len(p.Withheld))
		if !dryRun {
			r.Message = fmt.Sprintf("pool %s has member_deletion_protection_enable: added %d, %d removal(s) withheld", r.PoolID, r.Added, len(p.Withheld))
		}
		if notAdded > 0 {
			r.Message += fmt.Sprintf("; %d desired endpoint(s) not added: no room under %s without those removals", notAdded, r.quotaText(x))
		}
	case short > 0 || x.refused:
		kept := r.Plan.Keep + r.Plan.Conflicts
		foreign := r.Plan.Foreign + r.Plan.Orphans - r.Plan.Prune
		r.State, r.Reason = StateBlocked, ReasonQuotaExhausted
		switch {
		case x.refused:
			r.Message = fmt.Sprintf("the ELB refused additions with %s (quota exceeded) although the pool had room under %s: the limit is elsewhere (a project-wide quota, or another writer); %d desired endpoint(s) not added",
				elb.CodeQuotaExceeded, r.quotaText(x), notAdded)
		case x.wasRefused:
			r.Message = fmt.Sprintf("the ELB refused additions with %s (quota exceeded) when pool %s held %d member(s)%s, of which sync keeps %d foreign or orphaned and %d owned at desired endpoints: %d of %d desired endpoint(s) cannot be added",
				elb.CodeQuotaExceeded, r.PoolID, x.refusedAt, r.quotaRead(), foreign, kept, notAdded, r.Desired)
		default:
			r.Message = fmt.Sprintf("%s is filled by members sync keeps (%d foreign or orphaned, %d owned at desired endpoints): %d of %d desired endpoint(s) cannot be added",
				r.quotaText(x), foreign, kept, short, r.Desired)
		}
	case len(p.Transition) > 0 && p.Blocked == "":
		r.State, r.Reason = StateBlocked, ReasonEndpointsInTransition
		r.Message = fmt.Sprintf("the Service's EndpointSlices disagree on the name of port %d (%d slice(s) name it otherwise: a rename in progress); %d removal(s) at their endpoints withheld until they agree",
			r.port, r.laggingSlices, len(p.Transition))
		if !dryRun {
			r.Message = fmt.Sprintf("added %d, removed %d member(s); ", r.Added, r.Removed) + r.Message
		}
	case dryRun && p.Changes():
		r.State, r.Reason = StatePending, ReasonChangesPending
		r.Message = fmt.Sprintf("would add %d and remove %d member(s)", len(p.ToAdd), len(p.ToRemove))
		if len(p.ToUpdate) > 0 {
			r.Message += fmt.Sprintf(", and change %d weight(s)", len(p.ToUpdate))
		}
	case dryRun || !p.Changes():
		r.State, r.Reason = StateInSync, ReasonInSync
	default:
		r.State, r.Reason = StateSynced, ReasonSynced
		r.Message = fmt.Sprintf("added %d, removed %d member(s)", r.Added, r.Removed)
		if r.Updated > 0 {
			r.Message += fmt.Sprintf(", changed %d weight(s)", r.Updated)
		}
		if r.Renamed > 0 {
			r.Message += fmt.Sprintf(", re-marked %d member(s)", r.Renamed)
		}
	}
}

// quotaText names the quota the pass staged against as far as it is known:
// the ELB's refusal, the quota API's answer, or the --member-quota assumed.
func (r *Result) quotaText(x *rounds) string {
	switch {
	case x.wasRefused:
		return fmt.Sprintf("the member quota of pool %s (the ELB refused additions with %s when it held %d member(s)%s)", r.PoolID, elb.CodeQuotaExceeded, x.refusedAt, r.quotaRead())
	case r.Plan.QuotaSource == QuotaFromFlag:
		return fmt.Sprintf("the member quota of pool %s, assumed %d (--member-quota: the quota API could not be read)", r.PoolID, r.Plan.Quota)
	case r.Plan.QuotaSource == QuotaUnknown:
		return fmt.Sprintf("the member quota of pool %s, unknown (the quota API could not be read; at least %d, the members it held)", r.PoolID, r.Plan.Quota)
	case r.Plan.Quota < 0:
		return fmt.Sprintf("the unlimited member quota of pool %s", r.PoolID)
	}
	return fmt.Sprintf("member quota %d of pool %s", r.Plan.Quota, r.PoolID)
}

// quotaRead is "; the quota API says N" (or why it said nothing), for a
// message about an ELB.8905 refusal.
func (r *Result) quotaRead() string {
	switch r.Plan.QuotaSource {
	case QuotaFromAPI:
		if r.Plan.Quota < 0 {
			return "; the quota API says unlimited"
		}
		return fmt.Sprintf("; the quota API says %d", r.Plan.Quota)
	case QuotaFromFlag:
		return fmt.Sprintf("; the quota API could not be read, --member-quota=%d", r.Plan.Quota)
	case QuotaUnknown:
		return "; the quota API could not be read"
	}
	return ""
}

// withheldUpdates is " and N weight change(s)" when the guard withheld any.
func withheldUpdates(p Plan) string {
	if len(p.WithheldUpdates) == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d weight change(s)", len(p.WithheldUpdates))
}

// fail records err. Counts of what was done so far stay.
func (r *Result) fail(err error) Result {
	r.State = StateFailed
	if elb.IsGatewayNotFound(err) {
		// Not the ELB's answer about the pool: say what it likely is.
		err = fmt.Errorf("%w (API Gateway does not route this API: check the ELB endpoint, region and project)", err)
	}
	r.Errors = append(r.Errors, err.Error())
	r.Message = err.Error()
	switch {
	case errors.Is(err, context.Canceled):
		r.Reason = ReasonCanceled
	case errors.Is(err, context.DeadlineExceeded):
		r.Reason = ReasonTimeout
	case elb.IsPoolNotFound(err) && !r.poolRead:
		// Only the ELB's own not-found answer (ELB.9903) means the pool is
		// gone; any other 404 (API Gateway's APIGW.0101 for a wrong
		// endpoint or region, a proxy) is an error to retry.
		r.Reason = ReasonPoolNotFound
	default:
		r.Reason = ReasonELBError
	}
	return *r
}

func resolveReason(err error) string {
	switch {
	case errors.Is(err, endpoints.ErrServiceNotFound):
		return ReasonServiceNotFound
	case errors.Is(err, endpoints.ErrPortNotFound):
		return ReasonServicePortNotFound
	default:
		return ReasonEndpointsUnresolved
	}
}

// Mask replaces every secret the process knows (and credential header
// values) in the free-text parts of r: the last line of defence before a
// result reaches stdout, a report or a PoolBinding's status.
func (r *Result) Mask() {
	r.Message = redact.String(r.Message)
	for _, list := range [][]string{r.Errors, r.Notes, r.Warnings} {
		for j := range list {
			list[j] = redact.String(list[j])
		}
	}
}
