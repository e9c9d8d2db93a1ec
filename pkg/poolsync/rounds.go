package poolsync

import (
	"context"
	"slices"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// rounds is the state of one binding's staged execution: what is left to
// write, and what the writes did so far.
type rounds struct {
	w     memberWriter
	quota int // members_per_pool staged against; lowered on ELB.8905
	n     int // members in the pool, as far as this pass knows
	adds  []elb.NewMember
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

	// What the calls did (Result.recordWrites): added and removed count
	// every answer, existed and notFound the already-done among them;
	// dropped are removals the re-check dropped; log the rounds run.
	added, existed, removed, notFound int
	updated                           updatesDone
	dropped                           int
	log                               []RoundReport
}

// run applies the plan round by round: stage what is left, run the first
// round, repeat. A round removes first only when the pool has no room;
// otherwise it adds, waits for the new members (gate), then removes as many
// stale members as it added. A failed add stops before any removal of that
// round, so a member is never taken out while its replacement may be
// missing; an add refused for quota (ELB.8905) sets the quota to the
// pool's current size and staging carries on, once without progress at
// most. A round whose new members do not become healthy in time stops the
// pass with its stale members kept. Weight changes follow the first
// round's adds, before any removal.
func (x *rounds) run(ctx context.Context) error {
	first := true
	for {
		st := Stage(StageInput{Quota: x.quota, Current: x.n, Add: x.adds, Remove: x.removes, Lingering: x.lingering})
		if len(st.Rounds) == 0 {
			x.short = st.Short
			if first {
				return x.update(ctx)
			}
			return nil
		}
		round := st.Rounds[0]
		x.ran++
		rep := RoundReport{Round: x.ran}
		removedBefore := x.removed
		if round.RemoveFirst {
			if err := x.remove(ctx, round.Remove); err != nil {
				return err
			}
		}
		added, refused, err := x.add(ctx, round.Add)
		if err != nil {
			return err
		}
		rep.Added = len(added)
		logRound := func() {
			rep.Removed, rep.Members = x.removed-removedBefore, x.n
			x.log = append(x.log, rep)
		}
		if x.gate && len(added) > 0 {
			start := time.Now()
			ok, polls, err := waitHealthy(ctx, x.w.c, x.w.poolID, added, x.n, x.hb, x.opts.healthTimeout(), x.opts.healthInterval())
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
			if err := x.update(ctx); err != nil {
				return err
			}
		}
		if !round.RemoveFirst {
			rm := round.Remove
			if refused {
				// Only replace what was added; the rest waits for room.
				rm = rm[:min(len(rm), len(added))]
			}
			if err := x.remove(ctx, rm); err != nil {
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

// add adds ms and returns the IDs of the members added; refused says the
// ELB refused a call for quota (ELB.8905).
func (x *rounds) add(ctx context.Context, ms []elb.NewMember) (ids []string, refused bool, err error) {
	added, n, refused, err := x.w.add(ctx, ms)
	x.added += n.done
	x.existed += n.already
	// "existed" is in the pool as much as "successful": this pass's own
	// add whose answer was lost, or a concurrent writer's.
	x.adds = x.adds[len(added):]
	x.n += len(added)
	for _, b := range added {
		ids = append(ids, b.ID)
		x.hb.added(elb.Member{ID: b.ID, Address: b.Address, ProtocolPort: b.ProtocolPort})
	}
	return ids, refused, err
}

// remove removes ms (stale members), after the re-check (if any) dropped
// those that no longer hold; dropped members are not tried again in later
// rounds.
func (x *rounds) remove(ctx context.Context, ms []elb.Member) error {
	if len(ms) == 0 {
		return nil
	}
	planned := ms
	if x.recheck != nil {
		var err error
		if ms, err = x.recheck(ctx, ms); err != nil {
			return err
		}
		x.dropped += len(planned) - len(ms)
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
	gone, n, err := x.w.remove(ctx, ids)
	x.removed += n.done
	x.notFound += n.already
	// "not found" is gone as much as "successful": this pass's own
	// delete whose answer was lost, or a concurrent writer's.
	x.n -= gone
	return err
}

// update makes the weight changes and re-marks.
func (x *rounds) update(ctx context.Context) error {
	u, err := x.w.update(ctx, x.updates, x.renames)
	x.updated.ids = append(x.updated.ids, u.ids...)
	x.updated.weights += u.weights
	x.updated.names += u.names
	return err
}
