package main_test

// End-to-end tests of sync as a rollout step: staging within the pool's
// member quota, health-gated removal, and the pool pre-flight checks.

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// poolWatch samples the emulator's pool every few milliseconds while a
// pass runs: its size, the members at desired endpoints and the ONLINE ones.
type poolWatch struct {
	mu                      sync.Mutex
	samples                 int
	maxSize                 int
	minOnline               int
	desiredDown             bool
	lastDesired, maxDesired int
	stop                    chan struct{}
	done                    chan struct{}
}

func (e *syncEnv) watchPool(poolID string, desired []string) *poolWatch {
	want := map[string]bool{}
	for _, d := range desired {
		want[d] = true
	}
	w := &poolWatch{minOnline: 1 << 30, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			ms := e.emu.Members(poolID)
			d, online := 0, 0
			for _, m := range ms {
				if want[m.Address+":"+strconv.Itoa(int(m.ProtocolPort))] {
					d++
				}
				if m.OperatingStatus == elb.StatusOnline {
					online++
				}
			}
			w.mu.Lock()
			w.samples++
			w.maxSize = max(w.maxSize, len(ms))
			w.minOnline = min(w.minOnline, online)
			if d < w.maxDesired {
				w.desiredDown = true
			}
			w.maxDesired = max(w.maxDesired, d)
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *poolWatch) end() *poolWatch {
	close(w.stop)
	<-w.done
	return w
}

// rolloutEnv: a pool with `old` members owned by binding b1 whose Service
// now has `n` new endpoints (a full replacement, as a CCI rollout makes).
func rolloutEnv(t *testing.T, ns string, o elbemulator.Options, pool elb.Pool, old, n int) (*syncEnv, string, []string) {
	t.Helper()
	e := newSyncEnvWith(t, ns, o)
	pool.ID = syncPool
	e.emu.CreatePool(pool)
	e.manualSlice("web", 123, 8080, addrs("10.21", 0, n))
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	for _, a := range addrs("10.20", 0, old) {
		if _, err := e.emu.AddMemberDirect(syncPool, elb.Member{Name: marker, Address: a, ProtocolPort: 8080}); err != nil {
			t.Fatal(err)
		}
	}
	e.emu.ResetCounts()
	return e, marker, withPort(addrs("10.21", 0, n), 8080)
}

var withLB = elb.Pool{Loadbalancers: []elb.Ref{{ID: "lb-1"}}, Listeners: []elb.Ref{{ID: "listener-1"}}}

// TestSyncRolloutStagedReplacement: 450 → 420 on a 500-member quota
// converges in one pass, in rounds, never above the quota, and the members
// at desired endpoints never decrease.
func TestSyncRolloutStagedReplacement(t *testing.T) {
	e, marker, want := rolloutEnv(t, "sync-rollout-stage", elbemulator.Options{MemberQuota: 500}, withLB, 450, 420)
	w := e.watchPool(syncPool, want)
	r := e.sync()
	w.end()
	wantLine(t, r, 0, "poolbinding/b1: +420 -450 =0 foreign=0 rounds=9")
	if w.maxSize > 500 || w.desiredDown || w.samples < 2 {
		t.Errorf("pool max %d members (quota 500), desired went down: %v (%d samples)", w.maxSize, w.desiredDown, w.samples)
	}
	c := e.emu.Counts()
	if c[elbemulator.OpGetQuota] != 1 || c[elbemulator.OpBatchAddMembers] != 9 || c[elbemulator.OpBatchDeleteMembers] != 9 {
		t.Errorf("calls %v, want 1 quota read, 9 batch-adds, 9 batch-deletes", c)
	}
	e.wantPool(syncPool, owned(marker, want...))
}

// TestSyncRolloutWaitHealthy: with --wait-healthy, new members turn ONLINE
// after a delay; the pool never has fewer ONLINE members than the desired
// count (it started with 450) nor more members than the quota.
func TestSyncRolloutWaitHealthy(t *testing.T) {
	pool := withLB
	pool.HealthmonitorID = "hm-1"
	e, marker, want := rolloutEnv(t, "sync-rollout-health", elbemulator.Options{MemberQuota: 500, HealthDelay: 300 * time.Millisecond}, pool, 450, 420)
	w := e.watchPool(syncPool, want)
	start := time.Now()
	r := e.sync("--wait-healthy", "--health-interval", "50ms", "--timeout", "2m")
	took := time.Since(start)
	w.end()
	wantLine(t, r, 0, "poolbinding/b1: +420 -450 =0 foreign=0 healthy=420/420 rounds=9")
	if w.maxSize > 500 || w.minOnline < 420 || w.desiredDown {
		t.Errorf("pool max %d (quota 500), ONLINE down to %d (desired 420, started 450), desired went down: %v", w.maxSize, w.minOnline, w.desiredDown)
	}
	// Nine rounds each waited for the health delay.
	if took < 9*300*time.Millisecond {
		t.Errorf("pass took %v: the rounds did not wait for health", took)
	}
	e.wantPool(syncPool, owned(marker, want...))
	if got := e.jsonpath("b1", "{.status.healthyMembers}/{.status.registeredMembers}"); got != "420/420" {
		t.Errorf("status healthy/registered = %q", got)
	}
	table := mustSucceed(t, ccictl(t, "get", "plb", "-n", e.ns, "b1")).Stdout
	if f := strings.Fields(strings.Split(table, "\n")[1]); len(f) < 6 || f[4] != "420" || f[5] != "420" {
		t.Errorf("get plb: MEMBERS and HEALTHY should be 420:\n%s", table)
	}
}

// TestSyncRolloutHealthTimeout: a new member that stays OFFLINE makes the
// round time out; the old members stay and the binding is Degraded.
func TestSyncRolloutHealthTimeout(t *testing.T) {
	pool := withLB
	pool.HealthmonitorID = "hm-1"
	e, _, want := rolloutEnv(t, "sync-rollout-timeout", elbemulator.Options{MemberQuota: 500}, pool, 450, 420)
	bad := strings.TrimSuffix(want[7], ":8080")
	if err := e.emu.SetOffline(syncPool, bad, "CONNECT_REFUSED"); err != nil {
		t.Fatal(err)
	}
	r := e.sync("--wait-healthy", "--health-interval", "50ms", "--health-timeout", "500ms")
	if r.Code != 1 || !strings.Contains(r.Stdout, "degraded: MembersUnhealthy: 1 new member(s) not ONLINE after 500ms ("+bad+":8080 OFFLINE CONNECT_REFUSED); 450 stale member(s) kept") {
		t.Fatalf("want exit 1 and MembersUnhealthy naming %s:\n%s", bad, r)
	}
	if n := len(e.emu.Members(syncPool)); n != 500 {
		t.Errorf("pool holds %d members, want the 450 old + 50 new", n)
	}
	if got := e.jsonpath("b1", `{.status.conditions[?(@.type=="Degraded")].reason}`); got != "MembersUnhealthy" {
		t.Errorf("Degraded reason %q", got)
	}
}

// TestSyncRolloutNoMonitor: a pool without health monitor is not waited on.
func TestSyncRolloutNoMonitor(t *testing.T) {
	e, marker, want := rolloutEnv(t, "sync-rollout-nomon", elbemulator.Options{MemberQuota: 500}, withLB, 5, 4)
	start := time.Now()
	r := e.sync("--wait-healthy", "--health-interval", "1h")
	wantLine(t, r, 0, "poolbinding/b1: +4 -5 =0 foreign=0")
	if !strings.Contains(r.Stderr, "Warning: poolbinding/b1: pool "+syncPool+" has no health monitor") || time.Since(start) > time.Minute {
		t.Errorf("no warning or waited:\n%s", r)
	}
	e.wantCalls(1, 1, 1, 1)
	e.wantPool(syncPool, owned(marker, want...))
}

// TestSyncRolloutQuotaForbidden: a quota read refused by IAM falls back to
// --member-quota with one warning.
func TestSyncRolloutQuotaForbidden(t *testing.T) {
	e, marker, want := rolloutEnv(t, "sync-rollout-noquota", elbemulator.Options{MemberQuota: 500}, withLB, 6, 6)
	e.emu.SetQuotaAPIStatus(http.StatusForbidden)
	r := e.sync("--member-quota", "8")
	wantLine(t, r, 0, "poolbinding/b1: +6 -6 =0 foreign=0 rounds=3")
	if strings.Count(r.Stderr, "cannot read the ELB member quota") != 1 || !strings.Contains(r.Stderr, "--member-quota=8") {
		t.Errorf("stderr:\n%s", r.Stderr)
	}
	e.wantPool(syncPool, owned(marker, want...))
}

// TestSyncRolloutForeignFillQuota: foreign members alone fill the quota.
func TestSyncRolloutForeignFillQuota(t *testing.T) {
	e := newSyncEnvWith(t, "sync-rollout-full", elbemulator.Options{MemberQuota: 3})
	e.pool(syncPool, "lb-1")
	for _, a := range addrs("172.17", 0, 3) {
		if _, err := e.emu.AddMemberDirect(syncPool, elb.Member{Name: "other", Address: a, ProtocolPort: 80}); err != nil {
			t.Fatal(err)
		}
	}
	e.manualSlice("web", 123, 8080, addrs("10.22", 0, 2))
	e.binding("b1", syncPool, "web", 123)
	wantLine(t, e.sync(), 1, "poolbinding/b1: +0 -0 =0 foreign=3 blocked: QuotaExhausted: member quota 3 of pool "+syncPool+
		" is filled by members sync keeps (3 foreign or orphaned, 0 owned at desired endpoints): 2 of 2 desired endpoint(s) cannot be added")
	if n := len(e.emu.Members(syncPool)); n != 3 {
		t.Errorf("pool changed: %d members", n)
	}
}

// TestSyncRolloutDeletionProtected: additions happen, removals are withheld.
func TestSyncRolloutDeletionProtected(t *testing.T) {
	pool := withLB
	pool.MemberDeletionProtectionEnable = true
	e, _, _ := rolloutEnv(t, "sync-rollout-protect", elbemulator.Options{MemberQuota: 500}, pool, 3, 2)
	wantLine(t, e.sync(), 1, "poolbinding/b1: +2 -0 =0 foreign=0 blocked: DeletionProtected: pool "+syncPool+
		" has member_deletion_protection_enable: added 2, 3 removal(s) withheld")
	if n := len(e.emu.Members(syncPool)); n != 5 {
		t.Errorf("pool holds %d members, want 3 old + 2 new", n)
	}
	e.wantCalls(1, 1, 1, 0)
}

// TestSyncRolloutWrongPoolType: a pool of type instance takes no IP-type
// members; nothing is written.
func TestSyncRolloutWrongPoolType(t *testing.T) {
	pool := withLB
	pool.Type, pool.VpcID = "instance", "vpc-1"
	e, _, _ := rolloutEnv(t, "sync-rollout-type", elbemulator.Options{MemberQuota: 500}, pool, 3, 2)
	r := e.sync()
	if r.Code != 1 || !strings.Contains(r.Stdout, "blocked: PoolTypeUnsupported: pool "+syncPool+" has type instance") {
		t.Fatalf("want PoolTypeUnsupported:\n%s", r)
	}
	e.wantCalls(1, 0, 0, 0)
	if got := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].reason}`); got != "PoolTypeUnsupported" {
		t.Errorf("Synced reason %q", got)
	}
}
