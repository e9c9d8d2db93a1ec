package poolsync

// ELB calls of a staged full replacement, asserted exactly (the numbers of
// docs/performance.md). A pool holds M owned members and the Service moves
// to A new endpoints (D = M stale members), with quota Q and h = Q − M > 0
// room. The pass runs R = ⌈A/h⌉ rounds; round r adds a_r = h members (the
// last one the rest, A − (R−1)·h) and removes d_r = a_r (the last one all
// that is left, D − (R−1)·h). Then
//
//	calls = 1 GetPool + ⌈M/2000⌉ ListMembers + 1 quota read (per pass)
//	      + Σ_r ⌈a_r/200⌉ batch-add + Σ_r ⌈d_r/200⌉ batch-delete
//	      + with --wait-healthy, per round and poll: min(⌈a_r/100⌉, ⌈(M+a_r)/2000⌉) ListMembers
//
// With everything fitting (R = 1) that is the unstaged ⌈A/200⌉ + ⌈D/200⌉.
// The expected numbers are computed here from M, A, Q alone, not from Stage.

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

type stagedCalls struct {
	Get, List, Quota, Add, Delete, Rounds int
}

func expectedStagedCalls(m, a, q int, health bool) stagedCalls {
	want := stagedCalls{Get: 1, List: ceilDiv(max(m, 1), elb.MaxPageSize), Quota: 1}
	h := a // unlimited or everything fits: one round
	if q >= 0 && m+a > q {
		h = q - m
	}
	want.Rounds = ceilDiv(a, h)
	for r := 0; r < want.Rounds; r++ {
		ar, dr := h, h
		if r == want.Rounds-1 {
			ar, dr = a-r*h, m-r*h
		}
		want.Add += ceilDiv(ar, elb.MaxBatch)
		want.Delete += ceilDiv(dr, elb.MaxBatch)
		if health {
			// New members are ONLINE at the first poll (no delay).
			want.List += min(ceilDiv(ar, elb.MaxIDFilter), ceilDiv(m+ar, elb.MaxPageSize))
		}
	}
	return want
}

// TestCallCountStaged: full replacements with and without staging and
// health gating, at exactly the formula above.
func TestCallCountStaged(t *testing.T) {
	for _, tc := range []struct {
		m, a, q int
		health  bool
	}{
		{450, 420, 500, false},
		{450, 420, 500, true},
		{450, 420, -1, false}, // unstaged: quota unlimited
		{450, 420, -1, true},
		{2100, 2100, 2500, false},
		{2100, 2100, 2500, true},
		{300, 300, 1000, true}, // fits: one round
	} {
		t.Run(fmt.Sprintf("%d-%d-q%d-health%v", tc.m, tc.a, tc.q, tc.health), func(t *testing.T) {
			quota := tc.q
			if quota < 0 {
				quota = 1 << 20
			}
			ce := newEnv(t, elbemulator.Options{MemberQuota: quota})
			b := benchBinding(0)
			pool := elb.Pool{ID: b.Spec.PoolRef.ID, Loadbalancers: []elb.Ref{{ID: "lb"}}}
			if tc.health {
				pool.HealthmonitorID = "hm"
			}
			ce.emu.CreatePool(pool)
			for _, e := range benchEndpoints(0, tc.m) {
				if _, err := ce.emu.AddMemberDirect(pool.ID, elb.Member{Name: Marker(ownerOf(b, testCluster)), Address: e.Address, ProtocolPort: e.Port}); err != nil {
					t.Fatal(err)
				}
			}
			target := Target{Binding: b, Endpoints: benchEndpoints(tc.m, tc.a)}
			want := expectedStagedCalls(tc.m, tc.a, tc.q, tc.health)
			ce.emu.ResetCounts()
			// No retries: a retried call would not be the minimum.
			client, err := elb.New(elb.Config{Endpoint: ce.url, ProjectID: testProject,
				Transport: tokenTransport{http.DefaultTransport}, Retry: elb.RetryPolicy{MaxAttempts: 1}})
			if err != nil {
				t.Fatal(err)
			}
			r := Sync(context.Background(), client, target, Options{Policy: Policy{ClusterID: testCluster, WaitHealthy: tc.health, HealthInterval: time.Millisecond}})
			c := ce.emu.Counts()
			got := stagedCalls{c[elbemulator.OpGetPool], c[elbemulator.OpListMembers], c[elbemulator.OpGetQuota],
				c[elbemulator.OpBatchAddMembers], c[elbemulator.OpBatchDeleteMembers], r.Rounds}
			if !r.InSync() || got != want {
				t.Fatalf("%s\ncalls %+v\nwant  %+v", r.Line(), got, want)
			}
			if n := len(ce.emu.Members(pool.ID)); n != tc.a {
				t.Fatalf("pool holds %d, want %d", n, tc.a)
			}
			t.Logf("M=%d A=%d Q=%d health=%v: %+v (writes %d)", tc.m, tc.a, tc.q, tc.health, got, got.Add+got.Delete)
		})
	}
}
