package poolsync

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
)

// stageCase builds a pool of foreign + stale members and the additions.
func stageCase(quota, foreign, keep, stale, add int, offline func(i int) bool) StageInput {
	in := StageInput{Quota: quota, Current: foreign + keep + stale}
	for i := range stale {
		m := elb.Member{ID: fmt.Sprintf("s-%05d", i), Name: "ours", Address: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), ProtocolPort: 80,
			OperatingStatus: elb.StatusOnline}
		if offline != nil && offline(i) {
			m.OperatingStatus = elb.StatusOffline
		}
		in.Remove = append(in.Remove, m)
	}
	for i := range add {
		in.Add = append(in.Add, elb.NewMember{Name: "ours", Address: fmt.Sprintf("10.2.%d.%d", i/250, i%250+1), ProtocolPort: 80})
	}
	return in
}

// checkStaging replays st from in and asserts every invariant of Stage.
func checkStaging(t testing.TB, in StageInput, st Staging) {
	t.Helper()
	n, added, removed := in.Current, 0, 0
	maxN := max(in.Quota, in.Current)
	var order []elb.Member
	for i, r := range st.Rounds {
		if len(r.Add) == 0 && len(r.Remove) == 0 {
			t.Fatalf("round %d is empty", i)
		}
		if r.RemoveFirst {
			n -= len(r.Remove)
		}
		// Adds go in calls of ≤200; the pool grows monotonically, so the
		// count after the round's adds bounds every intermediate one.
		n += len(r.Add)
		if in.Quota >= 0 && len(r.Add) > 0 && n > maxN {
			t.Fatalf("round %d: pool holds %d members, quota %d (started at %d)", i, n, in.Quota, in.Current)
		}
		if !r.RemoveFirst {
			n -= len(r.Remove)
		}
		added += len(r.Add)
		removed += len(r.Remove)
		order = append(order, r.Remove...)
	}
	// Each addition once, in plan order; removals only of given stale
	// members (so desired-present never decreases), each once.
	var gotAdds []elb.NewMember
	for _, r := range st.Rounds {
		gotAdds = append(gotAdds, r.Add...)
	}
	if !slices.Equal(gotAdds, in.Add[:len(gotAdds)]) {
		t.Fatal("additions not in plan order or repeated")
	}
	if added+st.Short != len(in.Add) {
		t.Fatalf("added %d + short %d != %d", added, st.Short, len(in.Add))
	}
	seen := map[string]bool{}
	given := map[string]bool{}
	for _, m := range in.Remove {
		given[m.ID] = true
	}
	for _, m := range order {
		if !given[m.ID] || seen[m.ID] {
			t.Fatalf("removal of %s not given or repeated", m.ID)
		}
		seen[m.ID] = true
	}
	// Removal order.
	if want := RemovalOrder(in.Remove, in.Lingering); !slices.EqualFunc(order, want[:len(order)], func(a, b elb.Member) bool { return a.ID == b.ID }) {
		t.Fatal("removals not in removal order")
	}
	// Nothing short unless the quota really cannot take it: at most
	// Q − (members sync keeps) can ever be added.
	kept := in.Current - len(in.Remove)
	if in.Quota < 0 {
		if st.Short != 0 || removed != len(in.Remove) {
			t.Fatalf("unlimited quota: short %d, removed %d of %d", st.Short, removed, len(in.Remove))
		}
	} else if want := min(len(in.Add), max(0, in.Quota-kept)); added != want {
		t.Fatalf("added %d, the quota allows %d (quota %d, kept %d)", added, want, in.Quota, kept)
	}
	if st.Short == 0 && removed != len(in.Remove) {
		t.Fatalf("removed %d of %d", removed, len(in.Remove))
	}
	// Calls: exactly the sum over rounds; the unstaged minimum with one
	// round; at most one more add and one more delete call per later round.
	a, d := st.Calls()
	if len(st.Rounds) == 1 && (a != batches(added) || d != batches(removed)) {
		t.Fatalf("one round: %d+%d calls, want %d+%d", a, d, batches(added), batches(removed))
	}
	if st.Short == 0 && (in.Quota < 0 || in.Current+len(in.Add) <= in.Quota) && len(st.Rounds) > 1 {
		t.Fatalf("everything fits, yet %d rounds", len(st.Rounds))
	}
	if extra := max(len(st.Rounds)-1, 0); a > batches(added)+extra || d > batches(removed)+extra {
		t.Fatalf("%d rounds: %d add and %d delete calls for %d and %d", len(st.Rounds), a, d, added, removed)
	}
}

func TestStageExamples(t *testing.T) {
	for _, tc := range []struct {
		name                               string
		quota, foreign, keep, stale, add   int
		rounds, short, addCalls, delCalls  int
		firstAdd, firstRemove, removeFirst int
	}{
		// Full replacement 450 → 420 on a 500 quota: 50 fit per round.
		{"450to420", 500, 0, 0, 450, 420, 9, 0, 9, 9, 50, 50, 0},
		{"fits", 500, 0, 0, 100, 400, 1, 0, 2, 1, 400, 100, 0},
		{"unlimited", -1, 0, 0, 3000, 3000, 1, 0, 15, 15, 3000, 3000, 0},
		// At the quota: remove a tenth first, then add it.
		{"full", 500, 0, 0, 500, 500, 10, 0, 10, 10, 50, 50, 1},
		{"fullSmall", 3, 0, 0, 3, 3, 3, 0, 3, 3, 1, 1, 1},
		{"fullLarge", 3000, 0, 0, 3000, 3000, 15, 0, 15, 15, 200, 200, 1},
		// Foreign members fill the quota: nothing can move.
		{"foreignFull", 500, 500, 0, 0, 10, 0, 10, 0, 0, 0, 0, 0},
		// Foreign 400 + stale 100: only 100 fit at most, 50 per round.
		{"partial", 500, 400, 0, 100, 200, 2, 100, 2, 2, 50, 50, 1},
		{"onlyRemovals", 10, 0, 5, 20, 0, 1, 0, 0, 1, 0, 20, 0},
		{"nothing", 10, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := stageCase(tc.quota, tc.foreign, tc.keep, tc.stale, tc.add, nil)
			st := Stage(in)
			checkStaging(t, in, st)
			a, d := st.Calls()
			if len(st.Rounds) != tc.rounds || st.Short != tc.short || a != tc.addCalls || d != tc.delCalls {
				t.Fatalf("rounds %d short %d calls %d+%d, want %d %d %d+%d", len(st.Rounds), st.Short, a, d, tc.rounds, tc.short, tc.addCalls, tc.delCalls)
			}
			if tc.rounds > 0 {
				r := st.Rounds[0]
				if len(r.Add) != tc.firstAdd || len(r.Remove) != tc.firstRemove || r.RemoveFirst != (tc.removeFirst == 1) {
					t.Fatalf("first round +%d -%d removeFirst=%v", len(r.Add), len(r.Remove), r.RemoveFirst)
				}
			}
		})
	}
}

// TestStageRestagesToTheSameRounds: staging again from the state after a
// round gives the remaining rounds (the executor relies on it).
func TestStageRestagesToTheSameRounds(t *testing.T) {
	in := stageCase(500, 30, 20, 450, 420, func(i int) bool { return i%7 == 0 })
	st := Stage(in)
	for i, r := range st.Rounds {
		again := Stage(in)
		if len(again.Rounds) == 0 || !slices.Equal(again.Rounds[0].Add, r.Add) ||
			!slices.EqualFunc(again.Rounds[0].Remove, r.Remove, func(a, b elb.Member) bool { return a.ID == b.ID }) {
			t.Fatalf("round %d differs when staged again", i)
		}
		in.Add = in.Add[len(r.Add):]
		gone := map[string]bool{}
		for _, m := range r.Remove {
			gone[m.ID] = true
		}
		in.Remove = slices.DeleteFunc(slices.Clone(in.Remove), func(m elb.Member) bool { return gone[m.ID] })
		in.Current += len(r.Add) - len(r.Remove)
	}
	if len(in.Add) != 0 || len(in.Remove) != 0 {
		t.Fatalf("left %d adds %d removes", len(in.Add), len(in.Remove))
	}
}

// TestRemovalOrder: gone before lingering, unhealthy before healthy.
func TestRemovalOrder(t *testing.T) {
	ms := []elb.Member{
		{ID: "a", Address: "10.0.0.1", ProtocolPort: 80, OperatingStatus: elb.StatusOnline},
		{ID: "b", Address: "10.0.0.2", ProtocolPort: 80, OperatingStatus: elb.StatusOffline},
		{ID: "c", Address: "10.0.0.3", ProtocolPort: 80, OperatingStatus: elb.StatusOffline},
		{ID: "d", Address: "10.0.0.4", ProtocolPort: 80, OperatingStatus: elb.StatusInitial},
		{ID: "e", Address: "10.0.0.5", ProtocolPort: 80, OperatingStatus: elb.StatusOnline,
			Status: []elb.ListenerStatus{{ListenerID: "l", OperatingStatus: elb.StatusOffline}}},
	}
	got := RemovalOrder(ms, map[Endpoint]bool{{Address: "10.0.0.3", Port: 80}: true})
	var ids string
	for _, m := range got {
		ids += m.ID
	}
	if ids != "bedac" {
		t.Fatalf("order %s, want bedac", ids)
	}
}

// TestStageRandom: the invariants on many random pools (the fuzz target
// explores further under `make fuzz`).
func TestStageRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		in := randomStageInput(r.Uint64())
		checkStaging(t, in, Stage(in))
	}
}

func randomStageInput(seed uint64) StageInput {
	r := rand.New(rand.NewPCG(seed, seed>>7|1))
	quota := r.IntN(1200) - 1
	if r.IntN(10) == 0 {
		quota = elb.UnlimitedQuota
	}
	in := stageCase(quota, r.IntN(600), r.IntN(300), r.IntN(900), r.IntN(900), func(int) bool { return r.IntN(4) == 0 })
	if r.IntN(3) == 0 {
		in.Lingering = map[Endpoint]bool{}
		for _, m := range in.Remove {
			if r.IntN(3) == 0 {
				in.Lingering[Endpoint{Address: m.Address, Port: m.ProtocolPort}] = true
			}
		}
	}
	return in
}

// FuzzStage: for any pool (quota, foreign, kept, stale, additions, health),
// the pool never holds more than the quota, desired-present members never
// decrease, removals follow the removal order, and the calls are exact.
func FuzzStage(f *testing.F) {
	f.Add(uint16(500), uint16(0), uint16(0), uint16(450), uint16(420), uint64(0))
	f.Add(uint16(500), uint16(0), uint16(0), uint16(500), uint16(500), uint64(1))
	f.Add(uint16(500), uint16(480), uint16(10), uint16(5), uint16(30), uint64(2))
	f.Add(uint16(0), uint16(0), uint16(0), uint16(3), uint16(3), uint64(3))
	f.Fuzz(func(t *testing.T, quota, foreign, keep, stale, add uint16, health uint64) {
		q := int(quota%2048) - 1 // -1 is unlimited
		in := stageCase(q, int(foreign%1500), int(keep%1500), int(stale%1500), int(add%1500),
			func(i int) bool { return health>>(i%64)&1 == 1 })
		if health&(1<<63) != 0 {
			in.Lingering = map[Endpoint]bool{}
			for i, m := range in.Remove {
				if health>>((i*7)%64)&1 == 0 {
					in.Lingering[Endpoint{Address: m.Address, Port: m.ProtocolPort}] = true
				}
			}
		}
		checkStaging(t, in, Stage(in))
	})
}
