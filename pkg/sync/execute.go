package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
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
	StateInSync  = "InSync"  // nothing to change
	StateSynced  = "Synced"  // changes applied, pool now as desired
	StatePending = "Pending" // dry run found changes
	StateBlocked = "Blocked" // a safety rule or constraint held changes back
	StateFailed  = "Failed"  // an error; the pool may be partly changed
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
	ReasonBusy                   = "Busy"     // another writer holds the pool's lock (no waiting asked)
	ReasonLockLost               = "LockLost" // the pool's lock was lost while writing
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

	// Notes say what the pool's settings changed about the pass, e.g. that
	// its lb_algorithm ignores weights so terminating endpoints were removed.
	Notes  []string `json:"notes,omitempty"`
	Errors []string `json:"errors,omitempty"`

	// poolRead: the member counts come from a read of the pool.
	poolRead bool
	// dropped: planned removals a re-check before removing dropped.
	dropped int
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
	// Prune is the number of orphans among Remove.
	Prune int `json:"prune"`
	// Update is the number of weight changes; Draining the owned members
	// of terminating endpoints kept at weight 0.
	Update   int         `json:"update"`
	Draining int         `json:"draining"`
	ToAdd    []MemberRef `json:"toAdd"`
	ToRemove []MemberRef `json:"toRemove"`
	ToUpdate []WeightRef `json:"toUpdate"`
	Conflict []MemberRef `json:"conflicting"`
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
	if up := r.Updated; r.DryRun && r.Plan.Update > 0 || up > 0 {
		if r.DryRun {
			up = r.Plan.Update
		}
		s += fmt.Sprintf(" weights=%d", up)
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
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	results := make([]Result, len(targets))
	sem := make(chan struct{}, n)
	var wg gosync.WaitGroup
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

// Sync runs one binding's pass: read the pool (GetPool, for the constraint
// check and how it drains), read its members (ListMembers), plan, then
// batch-add the missing members, and only after every add succeeded
// batch-update weights (drain to 0, restore) and then batch-delete the stale
// owned members, ≤elb.MaxBatch per call. Calls: 1 + ⌈max(M,1)/2000⌉ +
// ⌈A/200⌉ + ⌈U/200⌉ + ⌈D/200⌉; a pass with nothing to change writes nothing.
// With opts.Locker all of it happens under the pool's lock.
func Sync(ctx context.Context, c elb.Client, t Target, opts Options) (res Result) {
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
	if t.ResolveErr != nil && len(t.Endpoints) == 0 {
		r.State, r.Reason = StateBlocked, resolveReason(t.ResolveErr)
		r.Blocked = BlockedIncomplete
		r.Message = t.ResolveErr.Error()
		return r
	}

	var recheck func(context.Context, []elb.Member) ([]elb.Member, error)
	if opts.Locker != nil && !opts.DryRun {
		held, release, err := opts.Locker.Lock(ctx, b.Namespace, poolID)
		switch {
		case err == nil:
			defer release()
			ctx = held
			defer func() { res = lockLost(held, res) }()
			if poollock.Contended(held) && opts.ReadDesired != nil {
				// Another writer went first and time passed while waiting:
				// endpoints read before the wait may be gone (a rollout) or
				// back, and planning from them would undo that writer's
				// work. Plan from what is desired now.
				fresh, err := opts.ReadDesired(held, t)
				if err != nil {
					r.State, r.Reason, r.Blocked = StateBlocked, ReasonEndpointsUnresolved, BlockedIncomplete
					r.Message = fmt.Sprintf("re-reading the endpoints after waiting for the pool lock failed (%v); nothing changed", err)
					return r
				}
				t = t.withFreshDesired(fresh)
				r.Desired, r.Plan.Desired = len(validDesired(fresh)), len(validDesired(fresh))
			}
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
			return r.fail(fmt.Errorf("lock pool %s: %w", poolID, err))
		}
	}

	pool, err := c.GetPool(ctx, poolID)
	if err != nil {
		return r.fail(fmt.Errorf("read pool %s: %w", poolID, err))
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
	current, err := c.ListMembers(ctx, poolID)
	if err != nil {
		return r.fail(fmt.Errorf("list members of pool %s: %w", poolID, err))
	}

	p := ComputePlan(t.Endpoints, current, ownerOf(b), PlanOptions{
		Incomplete:   t.ResolveErr != nil,
		AllowEmpty:   opts.AllowEmpty,
		PruneOrphans: opts.PruneOrphans,
		Owners:       opts.Owners,
		SubnetCIDRID: t.SubnetCIDRID,
		Weight:       weight,
		Draining:     t.Draining,
		Drain:        DrainModeOf(pool),
	})
	r.setPlan(p, len(current))
	r.noteDrain(p, pool)

	if !opts.DryRun {
		if err := r.apply(ctx, c, poolID, p, recheck); err != nil {
			return r.fail(err)
		}
	}
	r.finish(p, t.ResolveErr, opts.DryRun)
	if r.dropped > 0 {
		r.Message += fmt.Sprintf("; %d removal(s) dropped: their members changed or their endpoints were desired again when re-read right before removing", r.dropped)
	}
	return r
}

func newResult(t Target, opts Options) Result {
	r := Result{DryRun: opts.DryRun, Plan: PlanSummary{ToAdd: []MemberRef{}, ToRemove: []MemberRef{}, ToUpdate: []WeightRef{}, Conflict: []MemberRef{}}}
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
	r.Plan.Desired = r.Desired
	switch err := ValidateOwner(ownerOf(b)); {
	case err != nil:
		r.State, r.Reason, r.Message = StateFailed, ReasonInvalidBinding, "binding cannot own members: "+err.Error()
	case r.PoolID == "":
		r.State, r.Reason, r.Message = StateFailed, ReasonInvalidBinding, "spec.poolRef.id is empty"
	}
	return r
}

func ownerOf(b *lbv1.PoolBinding) Owner {
	return Owner{Namespace: b.Namespace, Name: b.Name, UID: string(b.UID)}
}

func (r *Result) setPlan(p Plan, current int) {
	r.poolRead = true
	r.Blocked = p.Blocked
	r.Plan = PlanSummary{
		Desired:   len(p.Desired),
		Current:   current,
		Add:       len(p.ToAdd),
		Remove:    len(p.ToRemove),
		Keep:      len(p.Keep),
		Foreign:   len(p.Foreign),
		Orphans:   len(p.Orphans),
		Conflicts: len(p.Conflicts),
		Withheld:  len(p.Withheld),
		Update:    len(p.ToUpdate),
		Draining:  len(p.Draining),
		ToAdd:     make([]MemberRef, 0, len(p.ToAdd)),
		ToRemove:  refs(p.ToRemove),
		ToUpdate:  make([]WeightRef, 0, len(p.ToUpdate)),
		Conflict:  refs(p.Conflicts),
	}
	for _, u := range p.ToUpdate {
		m := u.Member
		r.Plan.ToUpdate = append(r.Plan.ToUpdate, WeightRef{
			MemberRef: MemberRef{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort},
			From:      m.Weight, To: u.Weight, Reason: u.Reason,
		})
	}
	for _, m := range p.ToRemove {
		if m.Name != p.Marker {
			r.Plan.Prune++
		}
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

// apply adds, then changes weights, then removes. Any failed add stops
// before the rest, so a member is never taken out while its replacement may
// be missing. recheck, if set, may drop removals right before they are made.
func (r *Result) apply(ctx context.Context, c elb.Client, poolID string, p Plan,
	recheck func(context.Context, []elb.Member) ([]elb.Member, error)) error {
	if err := r.applyAdds(ctx, c, poolID, p); err != nil {
		return err
	}
	if err := r.applyUpdates(ctx, c, poolID, p); err != nil {
		return err
	}
	toRemove := p.ToRemove
	if recheck != nil && len(toRemove) > 0 {
		var err error
		if toRemove, err = recheck(ctx, toRemove); err != nil {
			return err
		}
	}
	return r.applyRemovals(ctx, c, poolID, toRemove)
}

// applyUpdates sets weights, ≤elb.MaxBatch per call. The client checks that
// each answer shows every asked member with the asked weight.
func (r *Result) applyUpdates(ctx context.Context, c elb.Client, poolID string, p Plan) error {
	for chunk := range chunks(p.ToUpdate) {
		if err := ctx.Err(); err != nil {
			return err
		}
		us := make([]elb.MemberUpdate, len(chunk))
		for i, u := range chunk {
			w := u.Weight
			us[i] = elb.MemberUpdate{ID: u.Member.ID, Weight: &w}
		}
		res, err := c.BatchUpdateMembers(ctx, poolID, us)
		if err != nil {
			return fmt.Errorf("update member weights in pool %s: %w", poolID, err)
		}
		r.Updated += len(res)
	}
	return nil
}

func (r *Result) applyAdds(ctx context.Context, c elb.Client, poolID string, p Plan) error {
	for chunk := range chunks(p.ToAdd) {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := c.BatchAddMembers(ctx, poolID, chunk)
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
			return fmt.Errorf("add members to pool %s: %w", poolID, err)
		}
	}
	return nil
}

func (r *Result) applyRemovals(ctx context.Context, c elb.Client, poolID string, toRemove []elb.Member) error {
	ids := make([]string, len(toRemove))
	for i, m := range toRemove {
		ids[i] = m.ID
	}
	for chunk := range chunks(ids) {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := c.BatchDeleteMembers(ctx, poolID, chunk)
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
			return fmt.Errorf("remove members from pool %s: %w", poolID, err)
		}
	}
	return nil
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

func (r *Result) finish(p Plan, resolveErr error, dryRun bool) {
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
		r.Message = fmt.Sprintf("member list repeats or lacks a member id; %d removal(s)%s withheld", len(p.Withheld), withheldUpdates(p))
	case p.Blocked != "":
		// BlockedInvalidOwner; newResult already rejects such bindings.
		r.State, r.Reason = StateFailed, ReasonInvalidBinding
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
	}
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
	r.Errors = append(r.Errors, err.Error())
	r.Message = err.Error()
	var apiErr *elb.APIError
	switch {
	case errors.Is(err, context.Canceled):
		r.Reason = ReasonCanceled
	case errors.Is(err, context.DeadlineExceeded):
		r.Reason = ReasonTimeout
	case errors.As(err, &apiErr) && apiErr.StatusCode == 404 && !r.poolRead:
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
