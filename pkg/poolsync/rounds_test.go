package poolsync

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// watchClient calls check after every write, to sample the pool mid-pass.
type watchClient struct {
	elb.Client
	check func()
}

func (w watchClient) BatchAddMembers(ctx context.Context, p string, ms []elb.NewMember) ([]elb.BatchResult, error) {
	res, err := w.Client.BatchAddMembers(ctx, p, ms)
	w.check()
	return res, err
}

func (w watchClient) BatchDeleteMembers(ctx context.Context, p string, ids []string) ([]elb.BatchResult, error) {
	res, err := w.Client.BatchDeleteMembers(ctx, p, ids)
	w.check()
	return res, err
}

// slowPolls delays every member read (the health polls) by d.
type slowPolls struct {
	elb.Client
	d time.Duration
}

func (s slowPolls) ListMembersByID(ctx context.Context, p string, ids []string) ([]elb.Member, error) {
	time.Sleep(s.d)
	return s.Client.ListMembersByID(ctx, p, ids)
}

// poolSampler records, after each write, the pool's size, the members at
// desired endpoints and the ONLINE members.
type poolSampler struct {
	mu      sync.Mutex
	maxSize int
	desired []int // members at desired endpoints, after each write
	online  []int // ONLINE members, after each write
}

func (e *env) sampler(t *testing.T, poolID string, desired []Endpoint) (*poolSampler, elb.Client) {
	want := map[Endpoint]bool{}
	for _, d := range desired {
		want[d] = true
	}
	s := &poolSampler{}
	check := func() {
		ms := e.emu.Members(poolID)
		d, ok := 0, 0
		for _, m := range ms {
			if want[Endpoint{Address: m.Address, Port: m.ProtocolPort}] {
				d++
			}
			if m.OperatingStatus == elb.StatusOnline {
				ok++
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.maxSize = max(s.maxSize, len(ms))
		if n := len(s.desired); n > 0 && d < s.desired[n-1] {
			t.Errorf("members at desired endpoints went down from %d to %d", s.desired[n-1], d)
		}
		s.desired = append(s.desired, d)
		s.online = append(s.online, ok)
	}
	return s, watchClient{e.client, check}
}

// replacement sets up quota-limited pool holding `old` owned members and
// returns the binding and the new desired set of `n` endpoints.
func replacement(t *testing.T, e *env, pid string, old, n int) (Target, []Endpoint) {
	t.Helper()
	b := binding("web", "uid-1", pid)
	for _, ep := range eps(0, old) {
		e.direct(t, pid, Marker(ownerOf(b, testCluster)), ep.Address, ep.Port)
	}
	desired := eps(1000, n)
	e.emu.ResetCounts()
	return Target{Binding: b, Endpoints: desired}, desired
}

func (e *env) quotaCalls() int { return e.emu.Counts()[elbemulator.OpGetQuota] }

// TestSyncStagesFullReplacement: 450 → 420 on a 500 quota converges in one
// pass, in rounds of 50, never above the quota.
func TestSyncStagesFullReplacement(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 500})
	pid := e.pool(t, "pool-1")
	tg, desired := replacement(t, e, pid, 450, 420)
	s, c := e.sampler(t, pid, desired)
	r := Sync(context.Background(), c, tg, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Rounds != 9 || r.Plan.Rounds != 9 || r.Plan.Quota != 500 || r.Plan.QuotaSource != QuotaFromAPI {
		t.Fatalf("rounds %d/%d quota %d %s", r.Rounds, r.Plan.Rounds, r.Plan.Quota, r.Plan.QuotaSource)
	}
	e.wantCounts(t, 1, 1, 9, 9)
	if s.maxSize > 500 {
		t.Fatalf("pool reached %d members, quota 500", s.maxSize)
	}
	e.wantPool(t, pid, tg.Binding, desired)
	if !strings.Contains(r.Line(), " rounds=9") || strings.Contains(r.Line(), "healthy=") {
		t.Fatalf("line %q", r.Line())
	}
	// The round log: +50/-50 eight times at 500 members, then +20/-50.
	if len(r.RoundLog) != 9 {
		t.Fatalf("round log %+v", r.RoundLog)
	}
	for i, rr := range r.RoundLog {
		want := RoundReport{Round: i + 1, Added: 50, Removed: 50, Members: 450}
		if i == 8 {
			want = RoundReport{Round: 9, Added: 20, Removed: 50, Members: 420}
		}
		if rr != want {
			t.Errorf("round %d: %+v, want %+v", i+1, rr, want)
		}
	}
}

// TestSyncWaitHealthyKeepsHealthyCount: with --wait-healthy the pool never
// has fewer ONLINE members than it started with until the desired count is
// all that is left, and every new member is ONLINE at the end.
func TestSyncWaitHealthyKeepsHealthyCount(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 500, HealthDelay: 30 * time.Millisecond})
	pid := e.emu.CreatePool(elb.Pool{ID: "pool-1", HealthmonitorID: "hm-1", Listeners: []elb.Ref{{ID: "l-1"}}}).ID
	tg, desired := replacement(t, e, pid, 450, 420)
	s, c := e.sampler(t, pid, desired)
	// Each health poll takes at least 20ms, so each round's recorded wait
	// has a floor whatever the machine's speed.
	c = slowPolls{c, 20 * time.Millisecond}
	r := Sync(context.Background(), c, tg, Options{Policy: Policy{ClusterID: testCluster, WaitHealthy: true, HealthInterval: 10 * time.Millisecond, HealthTimeout: 10 * time.Second}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Health == nil || !r.Health.Gated || r.Health.Healthy != 420 || r.Health.Unhealthy != 0 || r.Health.Polls < 9 {
		t.Fatalf("health %+v", r.Health)
	}
	// Until the last round's removals (the 30 members more than desired)
	// the pool kept the 450 ONLINE members it started with: each round
	// removed only as many as had turned ONLINE.
	if n := len(s.online); n != 18 || s.online[n-1] != 420 || s.maxSize > 500 {
		t.Fatalf("%d writes, ONLINE after the last %v, pool max %d", n, s.online, s.maxSize)
	}
	for i, ok := range s.online[:len(s.online)-1] {
		if ok < 450 {
			t.Fatalf("after write %d only %d members ONLINE (started with 450): %v", i+1, ok, s.online)
		}
	}
	if !strings.Contains(r.Line(), " healthy=420/420 rounds=9") {
		t.Fatalf("line %q", r.Line())
	}
	for _, rr := range r.RoundLog {
		if rr.Waited < 0.02 {
			t.Errorf("round %d recorded %.3fs of health wait; its polls took at least 0.02s: %+v", rr.Round, rr.Waited, rr)
		}
	}
	e.wantPool(t, pid, tg.Binding, desired)
}

// TestSyncHealthTimeoutKeepsStale: a new member that stays OFFLINE stops
// the pass after its round's adds; the stale members stay.
func TestSyncHealthTimeoutKeepsStale(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 500})
	pid := e.emu.CreatePool(elb.Pool{ID: "pool-1", HealthmonitorID: "hm-1"}).ID
	tg, desired := replacement(t, e, pid, 450, 420)
	if err := e.emu.SetOffline(pid, desired[3].Address, "CONNECT_REFUSED"); err != nil {
		t.Fatal(err)
	}
	r := Sync(context.Background(), e.client, tg, Options{Policy: Policy{ClusterID: testCluster, WaitHealthy: true, HealthInterval: 10 * time.Millisecond, HealthTimeout: 80 * time.Millisecond}})
	wantState(t, r, StateDegraded, ReasonMembersUnhealthy)
	if !strings.Contains(r.Message, desired[3].Address+":8080 OFFLINE CONNECT_REFUSED") || !strings.Contains(r.Message, "450 stale member(s) kept") {
		t.Fatalf("message %q", r.Message)
	}
	if r.Removed != 0 || r.Added != 50 || len(e.emu.Members(pid)) != 500 {
		t.Fatalf("added %d removed %d, pool %d", r.Added, r.Removed, len(e.emu.Members(pid)))
	}
	if r.InSync() {
		t.Fatal("a degraded pass counts as in sync")
	}
}

// TestSyncNoMonitorNotWaited: a pool without health monitor is not polled.
func TestSyncNoMonitorNotWaited(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 500})
	pid := e.pool(t, "pool-1", "lb-1")
	tg, desired := replacement(t, e, pid, 450, 420)
	r := Sync(context.Background(), e.client, tg, Options{Policy: Policy{ClusterID: testCluster, WaitHealthy: true, HealthInterval: time.Hour}})
	wantState(t, r, StateSynced, ReasonSynced)
	e.wantCounts(t, 1, 1, 9, 9) // no health poll
	if r.Health != nil || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "no health monitor") {
		t.Fatalf("health %+v warnings %v", r.Health, r.Warnings)
	}
	e.wantPool(t, pid, tg.Binding, desired)
}

// TestSyncQuotaRefusedCarriesOn: the pool enforces less than the quota API
// says; the refused add is zero headroom and staging carries on.
func TestSyncQuotaRefusedCarriesOn(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 500})
	pid := e.pool(t, "pool-1")
	tg, desired := replacement(t, e, pid, 450, 420)
	if err := e.emu.SetPoolMemberQuota(pid, 460); err != nil {
		t.Fatal(err)
	}
	s, c := e.sampler(t, pid, desired)
	r := Sync(context.Background(), c, tg, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if s.maxSize > 460 {
		t.Fatalf("pool reached %d", s.maxSize)
	}
	e.wantPool(t, pid, tg.Binding, desired)
}

// TestSyncQuotaRefusedWithoutProgress: the ELB refuses even after room was
// made (a limit other than the pool's): Blocked, not a loop of removals.
func TestSyncQuotaRefusedWithoutProgress(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 500})
	pid := e.pool(t, "pool-1")
	tg, _ := replacement(t, e, pid, 450, 420)
	if err := e.emu.SetPoolMemberQuota(pid, 1); err != nil {
		t.Fatal(err)
	}
	r := Sync(context.Background(), e.client, tg, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonQuotaExhausted)
	if !strings.Contains(r.Message, "ELB.8905") || r.Added != 0 || r.Removed != 45 {
		t.Fatalf("added %d removed %d: %q", r.Added, r.Removed, r.Message)
	}
}

// TestSyncForeignFillQuota: foreign members alone fill the quota.
func TestSyncForeignFillQuota(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 5})
	pid := e.pool(t, "pool-1")
	for _, ep := range eps(100, 5) {
		e.direct(t, pid, "someone-else", ep.Address, ep.Port)
	}
	b := binding("web", "uid-1", pid)
	e.emu.ResetCounts()
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonQuotaExhausted)
	want := "member quota 5 of pool pool-1 is filled by members sync keeps (5 foreign or orphaned, 0 owned at desired endpoints): 2 of 2 desired endpoint(s) cannot be added"
	if r.Message != want {
		t.Fatalf("message %q\nwant      %q", r.Message, want)
	}
	e.wantCounts(t, 1, 1, 0, 0)
	if d := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: eps(0, 2)}, Options{Policy: Policy{ClusterID: testCluster, DryRun: true}}); d.Reason != ReasonQuotaExhausted || d.Plan.Short != 2 {
		t.Fatalf("dry run: %s %d", d.Reason, d.Plan.Short)
	}
}

// TestRunReadsQuotaOnce: one quota read for many bindings; a forbidden
// read falls back to MemberQuota with one notice.
func TestRunReadsQuotaOnce(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 500})
	var targets []Target
	for i := range 5 {
		b := binding("web"+string(rune('a'+i)), "uid-"+string(rune('a'+i)), e.pool(t, "pool-"+string(rune('a'+i))))
		targets = append(targets, Target{Binding: b, Endpoints: eps(0, 30)})
	}
	e.emu.SetQuotaAPIStatus(http.StatusForbidden)
	var mu sync.Mutex
	var notes []string
	res := Run(context.Background(), e.client, targets, Options{
		Policy: Policy{
			ClusterID:   testCluster,
			MemberQuota: 10,
		},
		Hooks: Hooks{
			Warn: func(s string) {
				mu.Lock()
				notes = append(notes, s)
				mu.Unlock()
			},
		},
	})
	if e.quotaCalls() != 1 || len(notes) != 1 || !strings.Contains(notes[0], "--member-quota=10") || !strings.Contains(notes[0], "403") {
		t.Fatalf("quota calls %d, notes %q", e.quotaCalls(), notes)
	}
	for _, r := range res {
		// 30 wanted, 10 allowed, nothing stale to make room.
		if r.Reason != ReasonQuotaExhausted || r.Added != 10 || r.Plan.QuotaSource != QuotaFromFlag {
			t.Fatalf("%s: %s added %d source %s", r.Binding, r.Reason, r.Added, r.Plan.QuotaSource)
		}
	}
}

// TestSyncDeletionProtected: adds happen, removals are withheld.
func TestSyncDeletionProtected(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.emu.CreatePool(elb.Pool{ID: "pool-1", MemberDeletionProtectionEnable: true}).ID
	tg, desired := replacement(t, e, pid, 3, 2)
	r := Sync(context.Background(), e.client, tg, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonDeletionProtected)
	if r.Added != 2 || r.Removed != 0 || !strings.Contains(r.Message, "3 removal(s) withheld") {
		t.Fatalf("added %d removed %d %q", r.Added, r.Removed, r.Message)
	}
	e.wantCounts(t, 1, 1, 1, 0)
	if n := len(e.emu.Members(pid)); n != 5 {
		t.Fatalf("pool holds %d, want 3 old + %d new", n, len(desired))
	}
}

// TestSyncPoolTypeUnsupported: nothing is read beyond the pool, nothing written.
func TestSyncPoolTypeUnsupported(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	for _, p := range []elb.Pool{{ID: "inst", Type: "instance", VpcID: "vpc"}, {ID: "v6", IPVersion: "v6"}} {
		pid := e.emu.CreatePool(p).ID
		e.emu.ResetCounts()
		r := Sync(context.Background(), e.client, Target{Binding: binding("web", "uid-1", pid), Endpoints: eps(0, 2)}, Options{Policy: Policy{ClusterID: testCluster}})
		wantState(t, r, StateBlocked, ReasonPoolTypeUnsupported)
		e.wantCounts(t, 1, 0, 0, 0)
	}
}

// deleteRecorder records the addresses of the members each batch-delete removes.
type deleteRecorder struct {
	elb.Client
	e       *env
	poolID  string
	batches [][]string
}

func (d *deleteRecorder) BatchDeleteMembers(ctx context.Context, p string, ids []string) ([]elb.BatchResult, error) {
	addr := map[string]string{}
	for _, m := range d.e.emu.Members(d.poolID) {
		addr[m.ID] = m.Address
	}
	var b []string
	for _, id := range ids {
		b = append(b, addr[id])
	}
	d.batches = append(d.batches, b)
	return d.Client.BatchDeleteMembers(ctx, p, ids)
}

// TestSyncStagedRemovesGoneBeforeLingering: in a staged replacement the
// members of endpoints that are gone go first; those of endpoints the
// Service still lists (not ready now, maybe ready again soon) go last.
func TestSyncStagedRemovesGoneBeforeLingering(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 12})
	pid := e.pool(t, "pool-1")
	tg, desired := replacement(t, e, pid, 10, 10)
	old := eps(0, 10)
	tg.Lingering = old[:4] // 10.0.0.x of the first four: still listed
	rec := &deleteRecorder{Client: e.client, e: e, poolID: pid}
	r := Sync(context.Background(), rec, tg, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	e.wantPool(t, pid, tg.Binding, desired)
	var order []string
	for _, b := range rec.batches {
		order = append(order, b...)
	}
	if len(rec.batches) != 5 || len(order) != 10 {
		t.Fatalf("deletes %v: want 5 rounds removing 10", rec.batches)
	}
	lingering := map[string]bool{}
	for _, ep := range tg.Lingering {
		lingering[ep.Address] = true
	}
	for i, a := range order {
		if lingering[a] != (i >= 6) {
			t.Fatalf("removal order %v: the 4 lingering endpoints' members must be the last 4", order)
		}
	}
}
