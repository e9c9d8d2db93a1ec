package main_test

// End-to-end tests of how sync reads the ELB's answers and what it reports
// (docs/sync.md, "Errors"): which 404 means a pool is gone, writes whose
// answers were lost, port renames whose slices resolve to other numbers,
// and reasons and numbers that say what happened — against the real API
// server and the ELB emulator's faults.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// TestSyncGatewayNotFoundIsNotPoolGone (item 3): API Gateway's 404
// APIGW.0101 (a wrong endpoint or region) is an ELBError, not PoolNotFound,
// in the one-shot pass and in the controller: a deleted binding keeps its
// finalizer and its members until the ELB answers, then is cleaned. The
// ELB's own not-found answer for a pool still means gone.
func TestSyncGatewayNotFoundIsNotPoolGone(t *testing.T) {
	e := newSyncEnv(t, "sync-answers-gateway")
	e.pool(syncPool)
	e.manualSlice("web", 80, 8080, []string{"10.70.0.1"})
	uid := e.binding("b1", syncPool, "web", 80)
	marker := markerOf(e.ns, "b1", uid)
	wantLine(t, e.sync(), 0, "poolbinding/b1: +1 -0 =0 foreign=0")

	e.emu.SetFaults(elbemulator.Faults{NoAPIFirst: 1 << 20})
	r := e.sync()
	if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 failed: ELBError: read pool "+syncPool) ||
		!strings.Contains(r.Stdout, "APIGW.0101") || !strings.Contains(r.Stdout, "API Gateway does not route this API: check the ELB endpoint, region and project") {
		t.Errorf("one-shot pass against a gateway 404:\n%s", r)
	}
	if st := e.syncedCond("b1"); !strings.HasPrefix(st, "False ELBError") {
		t.Errorf("status %q", st)
	}

	// The controller (it adds the finalizer) while the gateway answers
	// 404; the binding is deleted.
	w := e.watch()
	_, dyn := benchClients(t)
	eventually(t, 30*time.Second, "finalizer added", func() bool {
		return strings.Contains(e.jsonpath("b1", `{.metadata.finalizers}`), "loadbalancer.networking.openvessel.io/members")
	}, w.logged)
	before := e.emu.Counts()[elbemulator.OpNoAPI]
	mustSucceed(t, ccictl(t, "delete", "plb", "b1", "-n", e.ns, "--wait=false"))
	eventually(t, 60*time.Second, "cleanup tried twice against the gateway", func() bool {
		return e.emu.Counts()[elbemulator.OpNoAPI] >= before+2
	}, w.logged)
	u, err := dyn.Resource(plbGVR).Namespace(e.ns).Get(e.ctx(), "b1", metav1.GetOptions{})
	if err != nil || len(u.GetFinalizers()) != 1 {
		t.Fatalf("binding %v, err %v: a gateway 404 must keep the finalizer\n%s", u, err, w.logged())
	}
	e.wantPool(syncPool, owned(marker, "10.70.0.1:8080"))

	e.emu.SetFaults(elbemulator.Faults{})
	eventually(t, 60*time.Second, "members removed once the ELB answers", func() bool { return len(e.members(syncPool)) == 0 }, w.logged)
	eventually(t, 30*time.Second, "binding gone (finalizer removed)", func() bool {
		_, err := dyn.Resource(plbGVR).Namespace(e.ns).Get(e.ctx(), "b1", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, w.logged)
	w.stop()

	// A pool the ELB does not have is gone.
	const missing = "a1b2c3d4-0000-4000-8000-00000000dead"
	e.binding("b2", missing, "web", 80)
	r = e.sync("b2")
	if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/b2: +0 -0 =0 foreign=0 failed: PoolNotFound: read pool "+missing) || !strings.Contains(r.Stdout, "ELB.9903") {
		t.Errorf("missing pool:\n%s", r)
	}
}

// TestSyncPortRenameOtherNumber (item 8): the Service port is renamed
// http → www while its named targetPort resolves to 9080 in the updated
// slice and still to 8080 in the lagging one. The lagging slice's endpoint
// keeps its member (EndpointsInTransition, exit 1); once the slices agree
// the pass is in sync.
func TestSyncPortRenameOtherNumber(t *testing.T) {
	e := newSyncEnv(t, "sync-answers-rename")
	e.pool(syncPool)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("serve")}}},
	}
	if _, err := e.kube.CoreV1().Services(e.ns).Create(e.ctx(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.namedSlice("web", "web-a", "http", 8080, []string{"10.71.0.1", "10.71.0.2", "10.71.0.3"})
	uid := e.binding("b1", syncPool, "web", 80)
	marker := markerOf(e.ns, "b1", uid)
	wantLine(t, e.sync(), 0, "poolbinding/b1: +3 -0 =0 foreign=0")

	// The rename: the Service says www; slice web-b (rewritten, new pods
	// serving on 9080) holds .1, slice web-a still says http for .2 on
	// 8080; .3 is gone.
	cur, err := e.kube.CoreV1().Services(e.ns).Get(e.ctx(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.Ports[0].Name = "www"
	if _, err := e.kube.CoreV1().Services(e.ns).Update(e.ctx(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.namedSlice("web", "web-b", "www", 9080, []string{"10.71.0.1"})
	e.namedSlice("web", "web-a", "http", 8080, []string{"10.71.0.2"})
	r := e.sync()
	wantLine(t, r, 1, "poolbinding/b1: +1 -2 =0 foreign=0 blocked: EndpointsInTransition: added 1, removed 2 member(s); "+
		"the Service's EndpointSlices disagree on the name of port 80 (1 slice(s) name it otherwise: a rename in progress); "+
		"1 removal(s) at their endpoints withheld until they agree")
	e.wantPool(syncPool, owned(marker, "10.71.0.1:9080", "10.71.0.2:8080"))
	if st := e.syncedCond("b1"); st != "False EndpointsInTransition 1" {
		t.Errorf("status mid-rename: %q", st)
	}

	// The controller catches up: web-a says www, its pod on 9080.
	e.namedSlice("web", "web-a", "www", 9080, []string{"10.71.0.2"})
	wantLine(t, e.sync(), 0, "poolbinding/b1: +1 -1 =1 foreign=0")
	e.wantPool(syncPool, owned(marker, "10.71.0.1:9080", "10.71.0.2:9080"))
}

// TestSyncLostAnswersStaged (item 9): a staged 450 → 450 replacement on a
// quota of 500 whose batch writes were applied but whose answers were lost
// (the retries answer "not found" / "existed"): the pass counts them and
// stages as without the fault — 9 rounds, never over the quota, exit 0.
func TestSyncLostAnswersStaged(t *testing.T) {
	for _, tc := range []struct {
		ns  string
		ops []string
	}{
		{"sync-answers-lost-delete", []string{elbemulator.OpBatchDeleteMembers}},
		{"sync-answers-lost-add", []string{elbemulator.OpBatchAddMembers}},
	} {
		t.Run(tc.ops[0], func(t *testing.T) {
			e, marker, want := rolloutEnv(t, tc.ns, elbemulator.Options{MemberQuota: 500}, withLB, 450, 450)
			e.emu.SetFaults(elbemulator.Faults{LoseAnswerFirst: 4, LoseAnswerOps: tc.ops})
			w := e.watchPool(syncPool, want)
			r := e.sync("-o", "json")
			w.end()
			var report struct {
				Results []struct {
					State, Reason, Message string
					Rounds                 int
					RoundLog               []struct{ Added, Removed, Members int }
				}
			}
			if err := json.Unmarshal([]byte(r.Stdout), &report); err != nil || len(report.Results) != 1 {
				t.Fatalf("report (%v):\n%s", err, r)
			}
			got := report.Results[0]
			if r.Code != 0 || got.State != "Synced" || got.Rounds != 9 || len(got.RoundLog) != 9 {
				t.Errorf("pass with lost answers: exit %d, %s %s: %s, %d rounds", r.Code, got.State, got.Reason, got.Message, got.Rounds)
			}
			for i, rr := range got.RoundLog {
				if rr.Members != 450 || rr.Added != 50 || rr.Removed != 50 {
					t.Errorf("round %d: %+v, want +50 -50 at 450 members", i+1, rr)
				}
			}
			if c := e.emu.Counts(); c[elbemulator.OpAnswerLost] != 4 {
				t.Errorf("calls %v: want 4 answers lost", c)
			}
			if w.maxSize > 500 || w.desiredDown {
				t.Errorf("pool max %d members (quota 500), desired went down: %v", w.maxSize, w.desiredDown)
			}
			e.wantPool(syncPool, owned(marker, want...))
		})
	}
}

// TestSyncReasonsAndNumbers (item 10): what a pass reports is what
// happened. The quota API fails and the pool holds 1,800 members: the
// quota is unknown, not 500, and deletion protection is reported as such;
// an ELB.8905 refusal names the code and the count it came at; an invalid
// pool ID is InvalidBinding before any call; a batch-update that failed
// claims no draining member and no handover.
func TestSyncReasonsAndNumbers(t *testing.T) {
	t.Run("unknown quota and deletion protection", func(t *testing.T) {
		pool := withLB
		pool.MemberDeletionProtectionEnable = true
		e, _, _ := rolloutEnv(t, "sync-answers-quota", elbemulator.Options{MemberQuota: 2000}, pool, 5, 10)
		for _, a := range addrs("172.18", 0, 1795) {
			if _, err := e.emu.AddMemberDirect(syncPool, elb.Member{Name: "other", Address: a, ProtocolPort: 80}); err != nil {
				t.Fatal(err)
			}
		}
		e.emu.SetQuotaAPIStatus(http.StatusInternalServerError)
		r := e.sync()
		wantLine(t, r, 1, "poolbinding/b1: +10 -0 =0 foreign=1795 (member quota of pool "+syncPool+" unknown: the quota API could not be read and the pool holds 1800 member(s), more than --member-quota=500; additions are bounded by the ELB's answers)"+
			" blocked: DeletionProtected: pool "+syncPool+" has member_deletion_protection_enable: added 10, 5 removal(s) withheld")
		if n := len(e.emu.Members(syncPool)); n != 1810 {
			t.Errorf("pool holds %d members, want 1800 + 10", n)
		}
		if st := e.syncedCond("b1"); st != "False DeletionProtected 1" {
			t.Errorf("status %q", st)
		}
	})

	t.Run("ELB.8905 refusal", func(t *testing.T) {
		e := newSyncEnvWith(t, "sync-answers-refused", elbemulator.Options{MemberQuota: 500})
		e.pool(syncPool, "lb-1")
		for _, a := range addrs("172.19", 0, 2) {
			if _, err := e.emu.AddMemberDirect(syncPool, elb.Member{Name: "other", Address: a, ProtocolPort: 80}); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.emu.SetPoolMemberQuota(syncPool, 2); err != nil {
			t.Fatal(err)
		}
		e.manualSlice("web", 80, 8080, addrs("10.72", 0, 3))
		e.binding("b1", syncPool, "web", 80)
		wantLine(t, e.sync(), 1, "poolbinding/b1: +0 -0 =0 foreign=2 blocked: QuotaExhausted: the ELB refused additions with ELB.8905 (quota exceeded) when pool "+syncPool+
			" held 2 member(s); the quota API says 500, of which sync keeps 2 foreign or orphaned and 0 owned at desired endpoints: 3 of 3 desired endpoint(s) cannot be added")
	})

	t.Run("invalid pool ID", func(t *testing.T) {
		e := newSyncEnv(t, "sync-answers-poolid")
		e.manualSlice("web", 80, 8080, []string{"10.73.0.1"})
		e.binding("b1", "Pool_1", "web", 80)
		wantLine(t, e.sync(), 1, `poolbinding/b1: +0 -0 =0 foreign=0 failed: InvalidBinding: spec.poolRef.id "Pool_1" is not a backend server group ID `+
			`(a UUID of lowercase hex digits and '-', e.g. e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1); nothing changed`)
		e.wantCalls(0, 0, 0, 0)
		e.wantNoLease(e.ns, "Pool_1", "after a pass on an invalid pool ID")
	})

	t.Run("failed batch-update", func(t *testing.T) {
		e := newSyncEnv(t, "sync-answers-update")
		e.pool(syncPool)
		e.conditionSlice("web", 80, 8080, map[string]sliceState{"10.74.0.1": epReady, "10.74.0.2": epReady, "10.74.0.3": epReady})
		e.binding("b1", syncPool, "web", 80)
		mustSucceed(t, e.sync())
		e.conditionSlice("web", 80, 8080, map[string]sliceState{"10.74.0.1": epReady, "10.74.0.2": epDraining, "10.74.0.3": epDraining})
		e.emu.SetFaults(elbemulator.Faults{FailOps: []string{elbemulator.OpBatchUpdateMembers}})
		r := e.sync()
		if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/b1: +0 -0 =1 foreign=0 failed: ELBError: update member weights in pool "+syncPool) || strings.Contains(r.Stdout, "draining=") {
			t.Errorf("drain whose batch-update failed:\n%s", r)
		}
		if got := e.jsonpath("b1", "{.status.drainingMembers}"); got != "" && got != "0" {
			t.Errorf("status.drainingMembers %q after a failed drain", got)
		}

		// Shared pool: the endpoint .1 moves to canary; the rename fails.
		e.manualSlice("canary", 80, 8080, []string{"10.74.0.1"})
		e.binding("canary", syncPool, "canary", 80)
		e.conditionSlice("web", 80, 8080, map[string]sliceState{"10.74.0.4": epReady})
		r = e.sync()
		if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/b1: ") || strings.Contains(r.Stdout, "handed over") {
			t.Errorf("handover whose batch-update failed:\n%s", r)
		}
		e.emu.SetFaults(elbemulator.Faults{})
		if r = e.sync(); r.Code != 0 || !strings.Contains(r.Stdout, "1 member(s) handed over to "+e.ns+"/canary") {
			t.Errorf("the same pass without the fault:\n%s", r)
		}
	})
}
