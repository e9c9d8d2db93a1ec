package poolsync

import (
	"context"
	"fmt"
	"strings"

	"github.com/openvessel/ccictl/pkg/elb"
)

// memberWriter makes the batch calls that write one pool's members,
// ≤elb.MaxBatch members per call, and returns what the ELB answered. It
// keeps no count: its caller records what each call returned.
type memberWriter struct {
	c      elb.Client
	poolID string
}

// answered counts the members of batch calls the ELB answered as done:
// done includes already, the members it reported as done before the call
// ("existed" for an add, "not found" for a delete: this pass's own call
// whose answer was lost, or a concurrent writer's).
type answered struct {
	done, already int
}

// updatesDone is what batch-updates did: the IDs of the members whose update
// was answered, and how many weights and names they changed.
type updatesDone struct {
	ids            []string
	weights, names int
}

// add batch-adds ms. added are the answers of the calls that succeeded
// (members now in the pool); n counts every answer, a failed call's too.
// It stops at a call refused for quota (refused=true, no error); any other
// failure is an error.
func (w memberWriter) add(ctx context.Context, ms []elb.NewMember) (added []elb.BatchResult, n answered, refused bool, err error) {
	for chunk := range chunks(ms) {
		if err := ctx.Err(); err != nil {
			return added, n, false, err
		}
		res, err := w.c.BatchAddMembers(ctx, w.poolID, chunk)
		if err != nil && elb.IsQuotaExceeded(err) {
			return added, n, true, nil
		}
		ok, existed, bad := tally(res, elb.RetExisted)
		n.done += ok + existed
		n.already += existed
		if err = answerErr(err, "batch-add", bad, ok+existed, len(chunk)); err != nil {
			return added, n, false, fmt.Errorf("add members to pool %s: %w", w.poolID, err)
		}
		added = append(added, res...)
	}
	return added, n, false, nil
}

// remove batch-deletes the members ids. gone is the number of members the
// calls that succeeded removed; n counts every answer, a failed call's too.
func (w memberWriter) remove(ctx context.Context, ids []string) (gone int, n answered, err error) {
	for chunk := range chunks(ids) {
		if err := ctx.Err(); err != nil {
			return gone, n, err
		}
		res, err := w.c.BatchDeleteMembers(ctx, w.poolID, chunk)
		ok, notFound, bad := tally(res, elb.RetNotFound)
		n.done += ok + notFound
		n.already += notFound
		if err = answerErr(err, "batch-delete", bad, ok+notFound, len(chunk)); err != nil {
			return gone, n, fmt.Errorf("remove members from pool %s: %w", w.poolID, err)
		}
		gone += ok + notFound
	}
	return gone, n, nil
}

// update sets weights and names (re-marks), one update per member (a
// member with both a new weight and a new name gets both in one item). The
// client checks that each answer shows every asked member with the asked
// values.
func (w memberWriter) update(ctx context.Context, updates []WeightUpdate, renames []Rename) (u updatesDone, err error) {
	us := mergeUpdates(updates, renames)
	weighted := make(map[string]bool, len(updates))
	for _, x := range updates {
		weighted[x.Member.ID] = true
	}
	for chunk := range chunks(us) {
		if err := ctx.Err(); err != nil {
			return u, err
		}
		res, err := w.c.BatchUpdateMembers(ctx, w.poolID, chunk)
		if err != nil {
			what := "weights"
			if len(renames) > 0 {
				what = "weights and names"
			}
			return u, fmt.Errorf("update member %s in pool %s: %w", what, w.poolID, err)
		}
		for i := range res {
			u.ids = append(u.ids, chunk[i].ID)
			if weighted[chunk[i].ID] {
				u.weights++
			}
			if chunk[i].Name != nil {
				u.names++
			}
		}
	}
	return u, nil
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

// answerErr is err, or else what is wrong with a batch call's answers: a
// status other than successful or already done, or fewer answers than
// members asked.
func answerErr(err error, call string, bad []string, answered, asked int) error {
	switch {
	case err != nil:
		return err
	case len(bad) > 0:
		return fmt.Errorf("unexpected ret_status %s", strings.Join(bad, ", "))
	case answered != asked:
		return fmt.Errorf("%s answered %d of %d members", call, answered, asked)
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
