package poolsync

// The ELB API-call minimum (issue 5, benchmark 1), asserted exactly.
//
// For a pass over P pools with M_p members before the pass, A_p additions,
// U_p weight changes and D_p removals, the documented API needs at least
//
//	Σ_p ⌈max(M_p,1)/2000⌉ list + ⌈A_p/200⌉ batch-add + ⌈U_p/200⌉ batch-update + ⌈D_p/200⌉ batch-delete
//
// calls, plus one pool read per pool (ownership/constraint check) and one
// quota read per pass when anything is to be added (staged passes and
// health polls: stage_calls_test.go). The
// expected numbers below are computed from the emulator's state before the
// pass and the desired set, independently of the planner, and compared with
// the emulator's per-operation counters over real HTTP. The same check runs
// in the benchmarks (bench_test.go) at the full sizes.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// callEnv is an emulator served over HTTP and the product's HTTP client.
type callEnv struct {
	emu    *elbemulator.Emulator
	client elb.Client
	// conns counts TCP connections the client opened to the emulator.
	conns atomic.Int64
	srv   *httptest.Server
}

// newCallEnv serves a fresh emulator. Without a transport the client uses a
// clone of http.DefaultTransport keeping up to 64 idle connections per host,
// like the product (pkg/elb/elbconfig keeps one per concurrent binding).
func newCallEnv(tb testing.TB, latency time.Duration, transport *http.Transport) *callEnv {
	tb.Helper()
	emu := elbemulator.New(elbemulator.Options{
		ProjectID: testProject, Token: testToken,
		// The documented default quota is 500 members per pool; the 10,000
		// endpoint scenario needs it raised, as a quota increase would.
		MemberQuota: 1 << 20,
		Latency:     latency,
	})
	ce := &callEnv{emu: emu}
	srv := httptest.NewUnstartedServer(emu)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ce.conns.Add(1)
		}
	}
	srv.Start()
	ce.srv = srv
	tb.Cleanup(srv.Close)
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 64
	}
	tb.Cleanup(transport.CloseIdleConnections)
	c, err := elb.New(elb.Config{
		Endpoint:  srv.URL,
		ProjectID: testProject,
		Transport: tokenTransport{transport},
		Retry:     elb.RetryPolicy{MaxAttempts: 1},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ce.client = c
	return ce
}

// scale is one benchmark family: Bindings pools with Endpoints each.
type scale struct {
	Bindings, Endpoints int
}

func (s scale) String() string { return fmt.Sprintf("%dx%d", s.Bindings, s.Endpoints) }

// benchBinding is binding i of a scale; its pool is "pool-<i>".
func benchBinding(i int) *lbv1.PoolBinding {
	return &lbv1.PoolBinding{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "bench", Name: fmt.Sprintf("b-%05d", i),
			UID: types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)), Generation: 1,
		},
		Spec: lbv1.PoolBindingSpec{
			PoolRef:   lbv1.PoolRef{ID: fmt.Sprintf("pool-%05d", i)},
			TargetRef: lbv1.TargetRef{Kind: "Service", Group: "cci/v2", Name: "web", Port: 80},
		},
	}
}

// benchEndpoints returns endpoints number from..from+n-1: 10.x.y.z:8080,
// distinct for distinct numbers.
func benchEndpoints(from, n int) []Endpoint {
	out := make([]Endpoint, n)
	for i := range out {
		j := from + i + 1
		out[i] = Endpoint{Address: fmt.Sprintf("10.%d.%d.%d", j>>16&255, j>>8&255, j&255), Port: 8080}
	}
	return out
}

// phase is where a pass starts from.
type phase int

const (
	fromEmpty phase = iota // empty pools, desired = endpoints 0..n-1
	noop                   // pools hold endpoints 0..n-1, desired the same
	churn10                // pools hold 0..n-1, desired n/10..n+n/10-1 (10% replaced)
)

func (p phase) String() string {
	return [...]string{"from-empty", "noop", "churn10"}[p]
}

// desiredFor is the desired set of every binding in a phase.
func desiredFor(s scale, p phase) []Endpoint {
	if p == churn10 {
		return benchEndpoints(s.Endpoints/10, s.Endpoints)
	}
	return benchEndpoints(0, s.Endpoints)
}

// setup creates the pools of s in their state before phase p, without
// counted API calls, and returns the targets of the pass.
func (ce *callEnv) setup(tb testing.TB, s scale, p phase) []Target {
	tb.Helper()
	targets := make([]Target, s.Bindings)
	desired := desiredFor(s, p)
	for i := range targets {
		b := benchBinding(i)
		ce.emu.CreatePool(elb.Pool{ID: b.Spec.PoolRef.ID})
		if p != fromEmpty {
			marker := Marker(ownerOf(b, testCluster))
			for _, e := range benchEndpoints(0, s.Endpoints) {
				if _, err := ce.emu.AddMemberDirect(b.Spec.PoolRef.ID, elb.Member{Name: marker, Address: e.Address, ProtocolPort: e.Port, Weight: 1}); err != nil {
					tb.Fatal(err)
				}
			}
		}
		targets[i] = Target{Binding: b, Endpoints: desired}
	}
	ce.emu.ResetCounts()
	return targets
}

// callCounts are ELB calls per operation.
type callCounts struct {
	Get, List, Add, Delete, Update int
}

func (c callCounts) Total() int  { return c.Get + c.List + c.Add + c.Delete + c.Update }
func (c callCounts) Writes() int { return c.Add + c.Delete + c.Update }
func (c callCounts) plus(o callCounts) callCounts {
	return callCounts{c.Get + o.Get, c.List + o.List, c.Add + o.Add, c.Delete + o.Delete, c.Update + o.Update}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// minimumCalls is the documented minimum of a pass, computed from the pools'
// members before the pass and each target's desired and draining sets,
// without the planner: the pools are all the binding's own members at
// distinct endpoints, in pools that drain by weight. U is the members at
// desired endpoints whose weight is not 1 plus those at draining endpoints
// whose weight is not 0; draining members are not removed.
func (ce *callEnv) minimumCalls(targets []Target) callCounts {
	var want callCounts
	for _, t := range targets {
		members := ce.emu.Members(t.Binding.Spec.PoolRef.ID)
		have := map[Endpoint]int32{}
		for _, m := range members {
			have[Endpoint{Address: m.Address, Port: m.ProtocolPort}] = m.Weight
		}
		desired, draining := map[Endpoint]bool{}, map[Endpoint]bool{}
		for _, e := range t.Endpoints {
			desired[e] = true
		}
		for _, e := range t.Draining {
			draining[e] = !desired[e]
		}
		add, upd, del := 0, 0, 0
		for e := range desired {
			if _, ok := have[e]; !ok {
				add++
			}
		}
		for e, w := range have {
			switch {
			case desired[e] && w != 1, draining[e] && w != 0:
				upd++
			case desired[e], draining[e]:
			default:
				del++
			}
		}
		want = want.plus(callCounts{
			Get:    1,
			List:   ceilDiv(max(len(members), 1), elb.MaxPageSize),
			Add:    ceilDiv(add, elb.MaxBatch),
			Update: ceilDiv(upd, elb.MaxBatch),
			Delete: ceilDiv(del, elb.MaxBatch),
		})
	}
	return want
}

func (ce *callEnv) counts() callCounts {
	c := ce.emu.Counts()
	return callCounts{c[elbemulator.OpGetPool], c[elbemulator.OpListMembers], c[elbemulator.OpBatchAddMembers],
		c[elbemulator.OpBatchDeleteMembers], c[elbemulator.OpBatchUpdateMembers]}
}

// pass runs one Run over targets and checks the call count equals the
// minimum exactly, that every binding ended in sync and that each pool holds
// exactly its desired set. It returns the calls made.
func (ce *callEnv) pass(tb testing.TB, targets []Target, opts Options) callCounts {
	tb.Helper()
	want := ce.minimumCalls(targets)
	ce.emu.ResetCounts()
	results := Run(context.Background(), ce.client, targets, opts)
	got := ce.counts()
	ce.check(tb, targets, results, got, want)
	return got
}

func (ce *callEnv) check(tb testing.TB, targets []Target, results []Result, got, want callCounts) {
	tb.Helper()
	for _, r := range results {
		if !r.InSync() {
			tb.Fatalf("%s: %s", r.Binding, r.Line())
		}
	}
	if other := ce.emu.Counts(); other[elbemulator.OpUnauthorized]+other[elbemulator.OpUnknown]+other[elbemulator.OpThrottled]+other[elbemulator.OpFaulted] != 0 {
		tb.Fatalf("unexpected rejected calls: %v", other)
	}
	if got != want {
		tb.Fatalf("ELB calls (get, list, add, delete, update) = %+v (total %d), minimum %+v (total %d)", got, got.Total(), want, want.Total())
	}
	for _, t := range targets {
		ms := ce.emu.Members(t.Binding.Spec.PoolRef.ID)
		// Desired endpoints at weight 1, draining ones (that had a member) at 0.
		want := map[Endpoint]int32{}
		for _, e := range t.Draining {
			want[e] = 0
		}
		for _, e := range t.Endpoints {
			want[e] = 1
		}
		marker := Marker(ownerOf(t.Binding, testCluster))
		desiredHeld := 0
		for _, m := range ms {
			w, ok := want[Endpoint{Address: m.Address, Port: m.ProtocolPort}]
			if !ok || m.Name != marker || m.Weight != w {
				tb.Fatalf("pool %s: unexpected member %s:%d %q weight %d", t.Binding.Spec.PoolRef.ID, m.Address, m.ProtocolPort, m.Name, m.Weight)
			}
			if w == 1 {
				desiredHeld++
			}
		}
		if desiredHeld != len(t.Endpoints) {
			tb.Fatalf("pool %s holds %d desired members, want %d", t.Binding.Spec.PoolRef.ID, desiredHeld, len(t.Endpoints))
		}
	}
}

// ciScales are the sizes `go test` always runs (with or without -short):
// big enough to need several list pages and batches, small enough for
// seconds. The benchmarks run the sizes (benchScales).
var ciScales = []scale{{1, 2100}, {40, 50}}

// TestCallMinimum: from empty, a no-op pass, 10% churn and a no-op pass
// again, each at exactly the documented minimum, and the no-op passes
// without any write.
func TestCallMinimum(t *testing.T) {
	for _, s := range ciScales {
		t.Run(s.String(), func(t *testing.T) { runCallSequence(t, s, Options{Policy: Policy{ClusterID: testCluster}}) })
	}
}

// runCallSequence drives one scale through every phase on one emulator.
func runCallSequence(tb testing.TB, s scale, opts Options) {
	tb.Helper()
	ce := newCallEnv(tb, 0, nil)
	targets := ce.setup(tb, s, fromEmpty)

	got := ce.pass(tb, targets, opts) // from empty
	if want := (callCounts{s.Bindings, s.Bindings, s.Bindings * ceilDiv(s.Endpoints, elb.MaxBatch), 0, 0}); got != want {
		tb.Fatalf("from empty: %+v, want %+v", got, want)
	}

	got = ce.pass(tb, targets, opts) // no-op
	if got.Writes() != 0 {
		tb.Fatalf("no-op pass wrote: %+v", got)
	}
	if want := s.Bindings * ceilDiv(s.Endpoints, elb.MaxPageSize); got.List != want {
		tb.Fatalf("no-op list calls %d, want %d", got.List, want)
	}

	churned := desiredFor(s, churn10)
	for i := range targets {
		targets[i].Endpoints = churned
	}
	got = ce.pass(tb, targets, opts) // 10% churn: n/10 added, n/10 removed per pool
	k := ceilDiv(s.Endpoints/10, elb.MaxBatch)
	if got.Add != s.Bindings*k || got.Delete != s.Bindings*k {
		tb.Fatalf("churn: %+v, want %d adds and deletes", got, s.Bindings*k)
	}

	if got = ce.pass(tb, targets, opts); got.Writes() != 0 { // no-op again
		tb.Fatalf("second no-op pass wrote: %+v", got)
	}
}

// TestCallMinimumPhases: each phase set up directly (as the benchmarks do)
// also meets the minimum, at every concurrency.
func TestCallMinimumPhases(t *testing.T) {
	for _, s := range []scale{{1, 2001}, {30, 50}} {
		for _, p := range []phase{fromEmpty, noop, churn10} {
			for _, c := range []int{1, 7} {
				t.Run(fmt.Sprintf("%s/%s/c%d", s, p, c), func(t *testing.T) {
					ce := newCallEnv(t, 0, nil)
					targets := ce.setup(t, s, p)
					got := ce.pass(t, targets, Options{Policy: Policy{ClusterID: testCluster, Concurrency: c}})
					if p == noop && got.Writes() != 0 {
						t.Fatalf("no-op wrote %+v", got)
					}
				})
			}
		}
	}
}

// TestCallMinimumDraining: a rollout step where some endpoints terminate
// while still serving, some owned weights were changed by hand and some
// endpoints are gone: exactly ⌈U/200⌉ batch-updates on top of the adds and
// deletes, draining members kept; then, once the terminating endpoints are
// gone, their members are removed without any update.
func TestCallMinimumDraining(t *testing.T) {
	ce := newCallEnv(t, 0, nil)
	const n = 1000
	targets := ce.setup(t, scale{1, n}, noop) // pool holds endpoints 0..999 at weight 1
	tgt := &targets[0]
	pool := tgt.Binding.Spec.PoolRef.ID
	all := benchEndpoints(0, n)
	// 0..549 stay desired, of which 0..209 were set to weight 5 by hand;
	// 550..799 terminate while serving (250 drains); 800..999 are gone;
	// 1000..1049 are new.
	hand := int32(5)
	ms := ce.emu.Members(pool)
	byEP := map[Endpoint]string{}
	for _, m := range ms {
		byEP[Endpoint{Address: m.Address, Port: m.ProtocolPort}] = m.ID
	}
	var manual []elb.MemberUpdate
	for _, e := range all[:210] {
		manual = append(manual, elb.MemberUpdate{ID: byEP[e], Weight: &hand})
	}
	for c := range chunks(manual) {
		if _, err := ce.client.BatchUpdateMembers(context.Background(), pool, c); err != nil {
			t.Fatal(err)
		}
	}
	tgt.Endpoints = append(append([]Endpoint{}, all[:550]...), benchEndpoints(n, 50)...)
	tgt.Draining = all[550:800]
	got := ce.pass(t, targets, Options{Policy: Policy{ClusterID: testCluster}})
	if want := (callCounts{Get: 1, List: 1, Add: 1, Update: ceilDiv(210+250, elb.MaxBatch), Delete: 1}); got != want {
		t.Fatalf("rollout step: %+v, want %+v", got, want)
	}
	// The terminating endpoints are gone: removed, nothing re-weighted.
	tgt.Draining = nil
	got = ce.pass(t, targets, Options{Policy: Policy{ClusterID: testCluster}})
	if want := (callCounts{Get: 1, List: 1, Delete: ceilDiv(250, elb.MaxBatch)}); got != want {
		t.Fatalf("after draining: %+v, want %+v", got, want)
	}
}
