package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

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
