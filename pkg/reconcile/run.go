package reconcile

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
				return recheckRemovals(ctx, c, t, opts.ReadDesired, rm)
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
	ex := &rounds{w: memberWriter{c: c, poolID: poolID}, quota: quota, n: len(current), adds: p.ToAdd, removes: p.ToRemove, lingering: lingering,
		updates: p.ToUpdate, renames: p.ToRename, recheck: recheck, gate: opts.WaitHealthy && monitored, hb: hb, opts: opts}
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
