package poolsync

import (
	"cmp"
	"slices"

	"github.com/openvessel/ccictl/pkg/elb"
)

// Staging: how one binding's plan is cut into rounds that fit the pool's
// member quota. Stage is a pure function of the quota, the pool's member
// count, the additions and the removals (with the health the member list
// reported); the executor runs the first round, then stages again from
// what it did, so a quota that turns out lower than the one read only
// changes the input, never the rule.
//
// The rule, with Q the quota and N the members in the pool:
//
//   - everything fits (Q unlimited, or N + A ≤ Q): one round, all additions,
//     then all removals, exactly as an unstaged pass;
//   - otherwise each round adds as many as fit (Q − N) and then removes as
//     many stale members as it added, so the pool holds as many members as
//     before while the rollout goes on; the last round also removes the
//     rest;
//   - a pool at or over its quota cannot add before it removes: the round
//     then removes first (the excess over the quota plus a step of a tenth
//     of the pool, at least one member and at most one batch, never more
//     than there is to add) and adds what that freed, so capacity dips by
//     at most that step, and unhealthy stale members go first;
//   - when the stale members cannot make room (the quota is filled by
//     members sync must keep: foreign ones, orphans, owned members at
//     desired endpoints), the additions that do not fit are Short and
//     nothing is removed for them.
//
// Removal order: members at endpoints that are gone before those whose
// endpoint is still listed (Lingering), then unhealthy before healthy
// (OFFLINE, UNKNOWN, INITIAL, then the rest), then address, port and id, so
// that the members taken out first are the ones serving least.
//
// Invariants (stage_test.go, FuzzStage): the pool never holds more than Q
// after an addition (unless it did before the pass, and then it never
// grows); removals are only of the given stale members, so the number of
// members at desired endpoints never decreases; each addition and removal
// happens once; the calls are Σ_r ⌈a_r/200⌉ + ⌈d_r/200⌉, which is the
// unstaged ⌈A/200⌉ + ⌈D/200⌉ when one round suffices and at most one more
// add and one more delete call per round after the first.

// StageInput is what Stage needs to know about one pool.
type StageInput struct {
	// Quota is members_per_pool; elb.UnlimitedQuota (or any negative) is no limit.
	Quota int
	// Current is the number of members in the pool now, whoever owns them.
	Current int
	// Add are the members to add, in plan order.
	Add []elb.NewMember
	// Remove are the stale members to remove, in any order.
	Remove []elb.Member
	// Lingering are endpoints the Service still lists although they are not
	// desired (not ready, terminating): their members go after the members
	// of endpoints that are gone. nil: every endpoint of Remove is gone.
	Lingering map[Endpoint]bool
}

// Round is one step of a staged pass.
type Round struct {
	// RemoveFirst: the pool has no room, so Remove runs before Add.
	RemoveFirst bool            `json:"removeFirst,omitempty"`
	Add         []elb.NewMember `json:"add"`
	Remove      []elb.Member    `json:"remove"`
}

// Staging is the result of Stage.
type Staging struct {
	Rounds []Round `json:"rounds"`
	// Short is the number of additions that cannot fit under the quota.
	Short int `json:"short"`
}

// Calls is the number of batch calls the rounds make: Σ ⌈a_r/200⌉ + ⌈d_r/200⌉.
func (s Staging) Calls() (adds, deletes int) {
	for _, r := range s.Rounds {
		adds += batches(len(r.Add))
		deletes += batches(len(r.Remove))
	}
	return adds, deletes
}

func batches(n int) int { return (n + elb.MaxBatch - 1) / elb.MaxBatch }

// Stage cuts additions and removals into rounds that keep the pool within
// its member quota. It has no side effects.
func Stage(in StageInput) Staging {
	adds := in.Add
	removes := RemovalOrder(in.Remove, in.Lingering)
	var st Staging
	if len(adds) == 0 && len(removes) == 0 {
		return st
	}
	q, n := in.Quota, in.Current
	if q < 0 || n+len(adds) <= q {
		st.Rounds = []Round{{Add: adds, Remove: removes}}
		return st
	}
	for len(adds) > 0 {
		var r Round
		room := q - n
		if room <= 0 {
			// Free the excess plus a step: a tenth of the pool (at least
			// one member, at most one batch), no more than is to add.
			step := min(len(adds), elb.MaxBatch, max(1, n/10))
			need := n - q + step
			p := min(len(removes), need)
			if p-(n-q) <= 0 {
				st.Short = len(adds)
				break
			}
			r.RemoveFirst, r.Remove = true, removes[:p]
			removes = removes[p:]
			n -= p
			room = q - n
		}
		a := min(room, len(adds))
		r.Add, adds = adds[:a], adds[a:]
		n += a
		if !r.RemoveFirst {
			d := min(len(removes), a)
			if len(adds) == 0 {
				d = len(removes)
			}
			r.Remove, removes = removes[:d], removes[d:]
			n -= d
		}
		st.Rounds = append(st.Rounds, r)
	}
	if len(removes) > 0 && st.Short == 0 {
		// Removals left after the last addition (more stale members than
		// additions, or the last round removed first).
		st.Rounds = append(st.Rounds, Round{Remove: removes})
	}
	return st
}

// RemovalOrder sorts stale members: gone endpoints before lingering ones,
// then unhealthy before healthy, then address, port and id.
func RemovalOrder(ms []elb.Member, lingering map[Endpoint]bool) []elb.Member {
	out := slices.Clone(ms)
	lingers := func(m elb.Member) bool {
		return lingering[Endpoint{Address: m.Address, Port: m.ProtocolPort}]
	}
	slices.SortStableFunc(out, func(a, b elb.Member) int {
		la, lb := lingers(a), lingers(b)
		if la != lb {
			if la {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(healthRank(a), healthRank(b)); c != 0 {
			return c
		}
		return compareMembers(a, b)
	})
	return out
}

// healthRank orders members by how little traffic they can be serving.
func healthRank(m elb.Member) int {
	switch s, _ := m.Health(); s {
	case elb.StatusOffline:
		return 0
	case elb.StatusUnknown:
		return 1
	case elb.StatusInitial:
		return 2
	default: // ONLINE, NO_MONITOR, or not reported
		return 3
	}
}
