package poolsync

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// Tests of how a pass reads the ELB's answers: which 404 means a pool is
// gone, counting writes whose answers were lost, and reasons and numbers
// that say what happened.

// TestSyncPoolGoneOnlyOnELBNotFound: only the ELB's own not-found answer
// (404 ELB.9903) makes a pool gone (PoolNotFound, which lets a deleted
// binding's finalizer go); API Gateway's 404 APIGW.0101 for a wrong
// endpoint or region is an ELBError to retry, and says what it likely is.
func TestSyncPoolGoneOnlyOnELBNotFound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pool    string
		faults  elbemulator.Faults
		reason  string
		message string
	}{
		{"ELB: no such pool", "no-such-pool", elbemulator.Faults{}, ReasonPoolNotFound, "ELB.9903"},
		{"gateway: no such API", "pool-1", elbemulator.Faults{NoAPIFirst: 100}, ReasonELBError, "APIGW.0101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, elbemulator.Options{})
			e.pool(t, "pool-1")
			e.emu.SetFaults(tc.faults)
			r := Sync(context.Background(), e.client, Target{Binding: binding("web", "uid-1", tc.pool), Endpoints: eps(0, 2)}, Options{Policy: Policy{ClusterID: testCluster}})
			wantState(t, r, StateFailed, tc.reason)
			if !strings.Contains(r.Message, tc.message) {
				t.Errorf("message %q lacks %s", r.Message, tc.message)
			}
			if gw := strings.Contains(r.Message, "API Gateway does not route this API"); gw != (tc.reason == ReasonELBError) {
				t.Errorf("message %q: gateway hint %v", r.Message, gw)
			}
		})
	}
}

// TestSyncInvalidPoolIDBeforeAnyCall: a pool ID that cannot name a pool
// (nor its lock) is InvalidBinding before any call.
func TestSyncInvalidPoolIDBeforeAnyCall(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	for _, id := range []string{"Pool_1", "e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1/../x", "e08*****-29c1", strings.Repeat("a", 250)} {
		r := Sync(context.Background(), e.client, Target{Binding: binding("web", "uid-1", id), Endpoints: eps(0, 1)}, Options{Policy: Policy{ClusterID: testCluster}})
		wantState(t, r, StateFailed, ReasonInvalidBinding)
		if !strings.Contains(r.Message, "is not a backend server group ID") {
			t.Errorf("%q: message %q", id, r.Message)
		}
	}
	e.wantCounts(t, 0, 0, 0, 0)
}

// TestSyncLostAnswersCounted: a staged 450 → 450 replacement on a quota of
// 500 whose batch writes were applied but answered 500 (the repeat answers
// "not found" / "existed"): those members count as removed / added, so
// the staging goes on as without the fault — 9 rounds at 450 members, no
// refusal, no false QuotaExhausted.
func TestSyncLostAnswersCounted(t *testing.T) {
	for _, ops := range [][]string{
		{elbemulator.OpBatchDeleteMembers},
		{elbemulator.OpBatchAddMembers},
		{elbemulator.OpBatchAddMembers, elbemulator.OpBatchDeleteMembers},
	} {
		t.Run(strings.Join(ops, "+"), func(t *testing.T) {
			e := newEnv(t, elbemulator.Options{MemberQuota: 500})
			pid := e.pool(t, "pool-1")
			tg, desired := replacement(t, e, pid, 450, 450)
			e.emu.SetFaults(elbemulator.Faults{LoseAnswerFirst: 6, LoseAnswerOps: ops})
			s, c := e.sampler(t, pid, desired)
			r := Sync(context.Background(), c, tg, Options{Policy: Policy{ClusterID: testCluster}})
			wantState(t, r, StateSynced, ReasonSynced)
			if lost := e.emu.Counts()[elbemulator.OpAnswerLost]; lost != 6 {
				t.Fatalf("%d answers lost, want 6", lost)
			}
			if r.Rounds != 9 || r.Added != 450 || r.Removed != 450 || r.Existed+r.NotFound == 0 {
				t.Fatalf("rounds %d added %d removed %d existed %d not found %d", r.Rounds, r.Added, r.Removed, r.Existed, r.NotFound)
			}
			for _, rr := range r.RoundLog {
				if rr.Members != 450 || rr.Added != 50 || rr.Removed != 50 {
					t.Errorf("round %+v: want +50 -50 at 450 members", rr)
				}
			}
			if s.maxSize > 500 {
				t.Fatalf("pool reached %d members", s.maxSize)
			}
			e.wantPool(t, pid, tg.Binding, desired)
		})
	}
}

// TestSyncUnknownQuotaBoundedByEvidence: the quota API fails and the pool
// holds 1,800 members, more than the --member-quota of 500 assumed: the
// quota is unknown (at least 1,800), additions are made and bounded by the
// ELB's own answer; with deletion protection the reason is
// DeletionProtected; a refusal names ELB.8905 and the count it came at.
func TestSyncUnknownQuotaBoundedByEvidence(t *testing.T) {
	for _, tc := range []struct {
		name      string
		protected bool
		enforced  int // the pool's real quota (0 = the emulator's 2,000)
		state     string
		reason    string
		added     int
		message   []string
	}{
		{"room under the real quota", false, 0, StateSynced, ReasonSynced, 10, nil},
		{"deletion protected", true, 0, StateBlocked, ReasonDeletionProtected, 10,
			[]string{"member_deletion_protection_enable: added 10, 5 removal(s) withheld"}},
		{"refused at 1,800", false, 1800, StateBlocked, ReasonQuotaExhausted, 5,
			[]string{"the ELB refused additions with ELB.8905 (quota exceeded) when pool pool-1 held 1800 member(s); the quota API could not be read"}},
		{"protected and refused", true, 1800, StateBlocked, ReasonDeletionProtected, 0,
			[]string{"added 0, 5 removal(s) withheld; 10 desired endpoint(s) not added: no room under the member quota of pool pool-1 (the ELB refused additions with ELB.8905 when it held 1800 member(s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, elbemulator.Options{MemberQuota: 2000})
			pid := e.emu.CreatePool(elb.Pool{ID: "pool-1", MemberDeletionProtectionEnable: tc.protected}).ID
			tg, _ := replacement(t, e, pid, 5, 10)
			for _, ep := range eps(2000, 1795) {
				e.direct(t, pid, "someone-else", ep.Address, ep.Port)
			}
			if tc.enforced > 0 {
				if err := e.emu.SetPoolMemberQuota(pid, tc.enforced); err != nil {
					t.Fatal(err)
				}
			}
			e.emu.SetQuotaAPIStatus(http.StatusInternalServerError)
			r := Sync(context.Background(), e.client, tg, Options{Policy: Policy{ClusterID: testCluster, MemberQuota: 500}})
			wantState(t, r, tc.state, tc.reason)
			if r.Plan.QuotaSource != QuotaUnknown || r.Plan.Quota != 1800 || r.Added != tc.added {
				t.Fatalf("quota %d (%s), added %d; want unknown, at least 1800, %d added: %s", r.Plan.Quota, r.Plan.QuotaSource, r.Added, tc.added, r.Line())
			}
			for _, m := range tc.message {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message %q\nlacks %q", r.Message, m)
				}
			}
			if strings.Contains(r.Message, "member quota 500") || !strings.Contains(strings.Join(r.Notes, "|"), "member quota of pool pool-1 unknown") {
				t.Errorf("message %q notes %q: the quota is unknown, not 500", r.Message, r.Notes)
			}
		})
	}
}

// TestSyncQuotaRefusalNamesTheELBCode: the quota API says 500 but the pool
// takes 2, both foreign: the refusal is reported with the ELB's code and
// the count it came at, not as a quota of 500 filled by nothing.
func TestSyncQuotaRefusalNamesTheELBCode(t *testing.T) {
	e := newEnv(t, elbemulator.Options{MemberQuota: 500})
	pid := e.pool(t, "pool-1")
	for _, ep := range eps(100, 2) {
		e.direct(t, pid, "someone-else", ep.Address, ep.Port)
	}
	if err := e.emu.SetPoolMemberQuota(pid, 2); err != nil {
		t.Fatal(err)
	}
	r := Sync(context.Background(), e.client, Target{Binding: binding("web", "uid-1", pid), Endpoints: eps(0, 3)}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonQuotaExhausted)
	want := "the ELB refused additions with ELB.8905 (quota exceeded) when pool pool-1 held 2 member(s); the quota API says 500, of which sync keeps 2 foreign or orphaned and 0 owned at desired endpoints: 3 of 3 desired endpoint(s) cannot be added"
	if r.Message != want {
		t.Fatalf("message %q\nwant    %q", r.Message, want)
	}
}

// TestSyncFailedUpdateReportsWhatHappened: a batch-update that fails leaves
// its members as they were, so the result claims no draining member and no
// handover it did not make.
func TestSyncFailedUpdateReportsWhatHappened(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.emu.CreatePool(elb.Pool{ID: "pool-1", Protocol: "HTTP"}).ID
	web, api := binding("web", "uid-1", pid), binding("api", "uid-2", pid)
	all := eps(0, 4)
	if r := Sync(context.Background(), e.client, Target{Binding: web, Endpoints: all}, Options{Policy: Policy{ClusterID: testCluster}}); !r.InSync() {
		t.Fatal(r.Line())
	}

	// Three of web's endpoints terminate while serving: drain to weight 0,
	// which fails.
	e.emu.SetFaults(elbemulator.Faults{FailOps: []string{elbemulator.OpBatchUpdateMembers}})
	r := Sync(context.Background(), e.client, Target{Binding: web, Endpoints: all[:1], Draining: all[1:]}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateFailed, ReasonELBError)
	if r.Draining != 0 || r.Updated != 0 || strings.Contains(r.Line(), "draining=") {
		t.Errorf("draining %d updated %d, line %q: the update failed", r.Draining, r.Updated, r.Line())
	}
	if w := e.weights(pid); w[all[1].String()] != 1 {
		t.Fatalf("weights %v: the failed update changed the pool", w)
	}

	// api now wants web's endpoint .1 (web no longer does): handed over by
	// a rename, which fails.
	r = SyncAmong(context.Background(), e.client, Target{Binding: web, Endpoints: all[2:]}, []Target{{Binding: api, Endpoints: all[:2]}}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateFailed, ReasonELBError)
	if r.Plan.Rename == 0 || strings.Contains(r.Line(), "handed over") || r.Renamed != 0 {
		t.Errorf("planned renames %d, renamed %d, line %q: the handover failed", r.Plan.Rename, r.Renamed, r.Line())
	}

	// Without the fault the same passes say what they did.
	e.emu.SetFaults(elbemulator.Faults{})
	r = SyncAmong(context.Background(), e.client, Target{Binding: web, Endpoints: all[2:]}, []Target{{Binding: api, Endpoints: all[:2]}}, Options{Policy: Policy{ClusterID: testCluster}})
	if !strings.Contains(r.Line(), "(2 member(s) handed over to ns/api") || r.Renamed != 2 {
		t.Errorf("line %q renamed %d", r.Line(), r.Renamed)
	}
}
