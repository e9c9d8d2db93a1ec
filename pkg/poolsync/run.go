package poolsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/poollock"
)

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
	s := &bindingPass{c: c, opts: opts, t: t, r: newResult(t, opts)}
	// Record once, with the binding as the pass last narrowed it, under the
	// pool's lock when one is held, before releasing it.
	recordCtx, release := ctx, func() {}
	locked := false
	defer func() {
		if locked {
			res = lockLost(recordCtx, res)
		}
		if opts.Record != nil {
			opts.Record(recordCtx, s.t, &res)
		}
		release()
	}()
	if s.r.State != "" || !s.start(ctx) {
		return s.r
	}
	if opts.Locker != nil && !opts.DryRun {
		held, unlock, ok := s.lock(ctx)
		if !ok {
			return s.r
		}
		if held != nil {
			ctx, recordCtx, release, locked = held, held, unlock, true
		}
	}
	pool, ok := s.readPool(ctx)
	if !ok {
		return s.r
	}
	current, inconsistent, err := readMembers(ctx, c, pool)
	if err != nil {
		return s.r.fail(err)
	}
	p, ok := s.plan(ctx, pool, current, inconsistent)
	if !ok {
		return s.r
	}
	s.write(ctx, pool, p, len(current))
	return s.r
}

// bindingPass is one binding's pass in Sync: its target, as the pool's
// protocol and a re-read after waiting for the lock narrow it, and its
// result so far.
type bindingPass struct {
	c    elb.Client
	opts Options
	t    Target
	r    Result
	// weight is the weight of the binding's members.
	weight *int32
	// reread: plan from a fresh read of the desired endpoints (the lock
	// was contended); recheck, if set, re-checks removals right before
	// they are made (pool locks unavailable).
	reread  bool
	recheck func(context.Context, []elb.Member) ([]elb.Member, error)
}

func (s *bindingPass) poolID() string { return s.t.Binding.Spec.PoolRef.ID }

// start checks what needs no call: the pass was not interrupted, the
// binding's weight is valid, and its desired set is known or there is
// something to add. false: the result says why the pass stops.
func (s *bindingPass) start(ctx context.Context) bool {
	if err := ctx.Err(); err != nil {
		s.r.fail(fmt.Errorf("the pass was interrupted before this binding started: %w", err))
		return false
	}
	b := s.t.Binding
	s.weight = s.opts.Weight
	if _, set := b.Annotations[lbv1.WeightAnnotation]; set {
		w, err := b.Weight()
		if err != nil {
			s.r.setOutcome(StateBlocked, ReasonInvalidWeight, err.Error()+"; nothing changed")
			return false
		}
		s.weight = &w
	}
	// Service missing or unresolvable with nothing to add: no write could
	// happen (removals are withheld), so spare the ELB calls.
	if t := s.t; t.ResolveErr != nil && len(t.Endpoints) == 0 && len(t.PortChoices) == 0 {
		s.r.incomplete(resolveReason(t.ResolveErr), t.ResolveErr.Error())
		return false
	}
	return true
}

// lock takes the pool's lock. held is nil where locks are unavailable (then removals are re-checked when they can be); false: the
// result says why the pass stops.
func (s *bindingPass) lock(ctx context.Context) (held context.Context, unlock func(), ok bool) {
	b := s.t.Binding
	held, release, err := s.opts.Locker.Lock(ctx, b.Namespace, s.poolID())
	switch {
	case err == nil:
		// Another writer went first and time passed while waiting:
		// endpoints read before the wait may be gone (a rollout) or
		// back, and planning from them would undo that writer's work.
		// Plan from what is desired now (re-read in readPool; after the
		// GetPool when the pool's protocol must choose the port).
		s.reread = poollock.Contended(held) && s.opts.ReadDesired != nil
		return held, release, true
	case errors.Is(err, poollock.ErrBusy):
		s.r.setOutcome(StateBlocked, ReasonBusy, err.Error()+"; nothing changed")
		return nil, nil, false
	case errors.Is(err, poollock.ErrUnavailable) && s.opts.ReadDesired != nil:
		s.recheck = func(ctx context.Context, rm []elb.Member) ([]elb.Member, error) {
			return recheckRemovals(ctx, s.c, s.t, s.opts.ReadDesired, rm)
		}
		return nil, nil, true
	case errors.Is(err, poollock.ErrUnavailable):
		// No way to re-check: the caller chose to run without protection.
		return nil, nil, true
	default:
		s.r.lockFailed(fmt.Errorf("lock pool %s: %w; nothing changed", s.poolID(), err))
		return nil, nil, false
	}
}

// readPool reads the pool, narrows the target to the Service port its
// protocol takes, re-reads the desired endpoints if the lock asked for it,
// and checks that the pool can be bound. false: the result says why the
// pass stops.
func (s *bindingPass) readPool(ctx context.Context) (*elb.Pool, bool) {
	poolID := s.poolID()
	if s.reread && len(s.t.PortChoices) == 0 {
		if !s.rereadDesired(ctx) {
			return nil, false
		}
		s.reread = false
	}
	pool, err := s.c.GetPool(ctx, poolID)
	if err != nil {
		s.r.fail(fmt.Errorf("read pool %s: %w", poolID, err))
		return nil, false
	}
	t, why, fits := s.t.choosePort(pool)
	s.t = t
	if !fits {
		s.r.incomplete(ReasonServicePortNotFound, why+"; nothing changed")
		return nil, false
	}
	if len(t.PortChoices) > 0 {
		s.r.Desired, s.r.Plan.Desired, s.r.UnknownZone = len(validDesired(t.Endpoints)), len(validDesired(t.Endpoints)), t.UnknownZone
	}
	if s.reread && !s.rereadDesired(ctx) {
		return nil, false
	}
	if t.ServiceELBID != "" {
		for _, lb := range pool.Loadbalancers {
			if lb.ID == t.ServiceELBID {
				s.r.setOutcome(StateBlocked, ReasonPoolConstraintViolated, fmt.Sprintf("pool %s belongs to load balancer %s, which the Service itself uses (%s); nothing changed",
					poolID, lb.ID, endpoints.ELBIDAnnotation))
				return nil, false
			}
		}
	}
	if reason := poolTypeProblem(pool, t.SubnetCIDRID); reason != "" {
		s.r.setOutcome(StateBlocked, ReasonPoolTypeUnsupported, reason+"; nothing changed")
		return nil, false
	}
	if len(pool.Loadbalancers) == 0 && len(pool.Listeners) == 0 {
		s.r.Warnings = append(s.r.Warnings, fmt.Sprintf("pool %s belongs to no load balancer and no listener: its members take no traffic", poolID))
	}
	return pool, true
}

// rereadDesired plans from the endpoints desired now (after waiting for
// the pool's lock). false: the result says why the pass stops.
func (s *bindingPass) rereadDesired(ctx context.Context) bool {
	fresh, err := s.opts.ReadDesired(ctx, s.t)
	if err != nil {
		s.r.incomplete(ReasonEndpointsUnresolved, fmt.Sprintf("re-reading the endpoints after waiting for the pool lock failed (%v); nothing changed", err))
		return false
	}
	s.t = s.t.withFreshDesired(fresh)
	s.r.Desired, s.r.Plan.Desired = len(validDesired(fresh)), len(validDesired(fresh))
	return true
}

// plan computes the binding's plan from the pool and its members, again
// from a fresh read of the PoolBindings when it would prune orphans, and
// records it. false: the result says why the pass stops.
func (s *bindingPass) plan(ctx context.Context, pool *elb.Pool, current []elb.Member, inconsistent string) (Plan, bool) {
	t, opts := s.t, s.opts
	b := t.Binding
	planOpts := PlanOptions{
		Incomplete:        t.ResolveErr != nil,
		InconsistentRead:  inconsistent,
		AllowEmpty:        opts.AllowEmpty,
		PruneOrphans:      opts.PruneOrphans,
		DeletionProtected: pool.MemberDeletionProtectionEnable,
		Owners:            opts.Owners,
		SubnetCIDRID:      t.SubnetCIDRID,
		Weight:            s.weight,
		Draining:          t.Draining,
		Drain:             DrainModeOf(pool),
		Claims:            t.claims,
		Lagging:           t.Lagging,
	}
	p := ComputePlan(t.Endpoints, current, ownerOf(b, opts.ClusterID), planOpts)
	if opts.PruneOrphans && len(p.Orphans) > 0 && opts.ReadOwners != nil && !opts.DryRun {
		owners, err := opts.ReadOwners(ctx)
		if err != nil {
			s.r.incomplete(ReasonEndpointsUnresolved, fmt.Sprintf("re-reading the PoolBindings before removing orphans failed (%v); nothing changed", err))
			return Plan{}, false
		}
		planOpts.Owners = owners
		p = ComputePlan(t.Endpoints, current, ownerOf(b, opts.ClusterID), planOpts)
	}
	r := &s.r
	r.setPlan(p, len(current))
	r.port, r.laggingSlices = b.Spec.TargetRef.Port, t.LaggingSlices
	if t.LaggingSlices > 0 && len(p.Transition) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d EndpointSlice(s) of the Service name port %d otherwise (a rename in progress); no member at their endpoints to keep", t.LaggingSlices, b.Spec.TargetRef.Port))
	}
	r.noteDrain(p, pool)
	r.warnWeightZero(p, pool)
	return p, true
}

// write stages the plan against the pool's member quota, applies it round
// by round (not on a dry run), and classifies the outcome.
func (s *bindingPass) write(ctx context.Context, pool *elb.Pool, p Plan, current int) {
	r, opts := &s.r, s.opts
	quota := s.quota(ctx, p, current)
	var lingering map[Endpoint]bool
	if len(s.t.Lingering) > 0 {
		lingering = make(map[Endpoint]bool, len(s.t.Lingering))
		for _, e := range s.t.Lingering {
			lingering[e] = true
		}
	}
	st := Stage(StageInput{Quota: quota, Current: current, Add: p.ToAdd, Remove: p.ToRemove, Lingering: lingering})
	r.Plan.Rounds, r.Plan.Short = len(st.Rounds), st.Short

	monitored := pool.HealthmonitorID != ""
	hb := newHealthBook(append(slices.Clone(p.Keep), p.Conflicts...))
	ex := &rounds{w: memberWriter{c: s.c, poolID: s.poolID()}, quota: quota, n: current, adds: p.ToAdd, removes: p.ToRemove, lingering: lingering,
		updates: p.ToUpdate, renames: p.ToRename, recheck: s.recheck, gate: opts.WaitHealthy && monitored, hb: hb, opts: opts}
	if !opts.DryRun && !s.confirmed(ctx, p) {
		return
	}
	start := time.Now()
	if !opts.DryRun {
		err := ex.run(ctx)
		r.recordWrites(ex)
		r.settleUpdates(p)
		if r.Rounds <= 1 {
			r.RoundLog = nil // one round is the whole result already
		}
		if err != nil {
			r.setHealth(monitored, ex, time.Since(start))
			r.fail(err)
			return
		}
	}
	r.setHealth(monitored, ex, time.Since(start))
	if opts.WaitHealthy && !monitored {
		r.Warnings = append(r.Warnings, fmt.Sprintf("pool %s has no health monitor (healthmonitor_id empty): removals were not gated on health", s.poolID()))
	}
	r.finish(p, s.t.ResolveErr, opts.DryRun, ex)
}

// confirmed asks the pool's lock, right before the first write, for what
// it must re-read first (poollock.Confirm: a lock taken in the binding's
// namespace for want of the controller's advertisement); a plan with
// nothing to write asks nothing.
func (s *bindingPass) confirmed(ctx context.Context, p Plan) bool {
	if len(p.ToAdd)+len(p.ToRemove)+len(p.ToUpdate)+len(p.ToRename) == 0 {
		return true
	}
	switch err := poollock.Confirm(ctx); {
	case err == nil:
		return true
	case errors.Is(err, poollock.ErrBusy):
		s.r.setOutcome(StateBlocked, ReasonBusy, err.Error()+"; nothing changed")
	default:
		s.r.lockFailed(fmt.Errorf("%w; nothing changed", err))
	}
	return false
}

// quota is the member quota to stage against: read (once per Run) only
// when there is something to add.
func (s *bindingPass) quota(ctx context.Context, p Plan, current int) int {
	r := &s.r
	quota := elb.UnlimitedQuota
	if len(p.ToAdd) > 0 {
		qc := s.opts.quota
		if qc == nil {
			qc = newQuotaCache(s.opts)
		}
		quota, r.Plan.QuotaSource = qc.get(ctx, s.c)
	}
	r.Plan.Quota = quota
	if r.Plan.QuotaSource == QuotaFromFlag && quota >= 0 && current > quota {
		// The pool holds more than the quota assumed: the assumption is
		// wrong and the quota unknown, at least what the pool holds. Add
		// without staging; the ELB's ELB.8905 answer bounds it, and staging
		// goes on from the count it refused at.
		r.Notes = append(r.Notes, fmt.Sprintf("member quota of pool %s unknown: the quota API could not be read and the pool holds %d member(s), more than --member-quota=%d; additions are bounded by the ELB's answers",
			s.poolID(), current, quota))
		r.Plan.Quota, r.Plan.QuotaSource = current, QuotaUnknown
		quota = elb.UnlimitedQuota
	}
	return quota
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
