package elbemulator

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

func statuses(ms []elb.Member) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out[m.Address] = m.OperatingStatus
	}
	return out
}

// TestHealthLifecycle: without a monitor members are NO_MONITOR; with one,
// API-added members are INITIAL for the delay, then ONLINE, or OFFLINE
// with the reason for a marked address; status[] mirrors it per listener.
func TestHealthLifecycle(t *testing.T) {
	e := newTestEmulator(Options{HealthDelay: 150 * time.Millisecond})
	plain := e.CreatePool(elb.Pool{})
	call(t, e, http.MethodPost, poolPath(plain.ID, "/members/batch-add"), map[string]any{"members": newMembers(0, 1, 80)})
	if got := statuses(e.Members(plain.ID)); got["192.168.0.0"] != elb.StatusNoMonitor {
		t.Fatalf("pool without monitor: %v", got)
	}

	p := e.CreatePool(elb.Pool{HealthmonitorID: "hm-1", Listeners: []elb.Ref{{ID: "l-1"}, {ID: "l-2"}}})
	old, err := e.AddMemberDirect(p.ID, elb.Member{Address: "10.0.0.1", ProtocolPort: 80})
	if err != nil {
		t.Fatal(err)
	}
	if old.OperatingStatus != elb.StatusOnline {
		t.Fatalf("direct member of a monitored pool: %q, want ONLINE", old.OperatingStatus)
	}
	if err := e.SetOffline(p.ID, "192.168.0.1", "CONNECT_REFUSED"); err != nil {
		t.Fatal(err)
	}
	var added batchAnswer
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), map[string]any{"members": newMembers(0, 2, 80)}).decode(t, &added)
	var la listAnswer
	call(t, e, http.MethodGet, poolPath(p.ID, "/members"), nil).decode(t, &la)
	if got := statuses(la.Members); got["192.168.0.0"] != elb.StatusInitial || got["192.168.0.1"] != elb.StatusOffline || got["10.0.0.1"] != elb.StatusOnline {
		t.Fatalf("right after add: %v", got)
	}
	for _, m := range la.Members {
		if len(m.Status) != 2 || m.Status[0].ListenerID != "l-1" || m.Status[1].OperatingStatus != m.OperatingStatus {
			t.Fatalf("status[] of %s: %+v", m.Address, m.Status)
		}
		if m.Address == "192.168.0.1" {
			if st, code := m.Health(); st != elb.StatusOffline || code != "CONNECT_REFUSED" || m.Reason == nil {
				t.Fatalf("offline member: %s %s %+v", st, code, m.Reason)
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	if got := statuses(e.Members(p.ID)); got["192.168.0.0"] != elb.StatusOnline || got["192.168.0.1"] != elb.StatusOffline {
		t.Fatalf("after the delay: %v", got)
	}
	if err := e.SetOffline(p.ID, "192.168.0.1", ""); err != nil {
		t.Fatal(err)
	}
	if got := statuses(e.Members(p.ID)); got["192.168.0.1"] != elb.StatusOnline {
		t.Fatalf("after clearing: %v", got)
	}
	fixed, _ := e.AddMemberDirect(p.ID, elb.Member{Address: "10.0.0.2", ProtocolPort: 80, OperatingStatus: elb.StatusOffline})
	if fixed.OperatingStatus != elb.StatusOffline {
		t.Fatalf("given status not kept: %q", fixed.OperatingStatus)
	}
}

// TestListFilters: repeated id= and operating_status= filters, with
// paging; unknown IDs are simply not matched.
func TestListFilters(t *testing.T) {
	e := newTestEmulator(Options{HealthDelay: time.Hour})
	p := e.CreatePool(elb.Pool{HealthmonitorID: "hm"})
	seed(t, e, p.ID, 5) // ONLINE (direct)
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), map[string]any{"members": newMembers(0, 3, 80)})
	all := e.Members(p.ID)
	var want []string
	for _, m := range all[:2] {
		want = append(want, m.ID)
	}
	var la listAnswer
	call(t, e, http.MethodGet, poolPath(p.ID, "/members?id="+want[0]+"&id="+want[1]+"&id=no-such-member"), nil).decode(t, &la)
	if len(la.Members) != 2 || la.PageInfo.CurrentCount != 2 {
		t.Fatalf("id filter: %d members", len(la.Members))
	}
	for _, m := range la.Members {
		if m.ID != want[0] && m.ID != want[1] {
			t.Fatalf("id filter answered %s", m.ID)
		}
	}
	call(t, e, http.MethodGet, poolPath(p.ID, "/members?operating_status=INITIAL"), nil).decode(t, &la)
	if len(la.Members) != 3 {
		t.Fatalf("INITIAL filter: %d members, want 3", len(la.Members))
	}
	call(t, e, http.MethodGet, poolPath(p.ID, "/members?operating_status=INITIAL&operating_status=ONLINE&limit=4"), nil).decode(t, &la)
	if len(la.Members) != 4 || la.PageInfo.NextMarker == nil {
		t.Fatalf("two statuses, limit 4: %d members, next %v", len(la.Members), la.PageInfo.NextMarker)
	}
	next := *la.PageInfo.NextMarker
	la = listAnswer{}
	call(t, e, http.MethodGet, poolPath(p.ID, "/members?operating_status=INITIAL&operating_status=ONLINE&limit=4&marker="+next), nil).decode(t, &la)
	if len(la.Members) != 4 || la.PageInfo.NextMarker != nil {
		t.Fatalf("second page: %d members, next %v", len(la.Members), la.PageInfo.NextMarker)
	}
	call(t, e, http.MethodGet, poolPath(p.ID, "/members?operating_status=SLEEPY"), nil).errBody(t, 400, CodeInvalid)
}

// TestQuotaAPI: the documented shape, the per-pool override enforcing a
// lower quota than the one answered, and an injected 403.
func TestQuotaAPI(t *testing.T) {
	e := newTestEmulator(Options{MemberQuota: 7})
	var q struct {
		RequestID string         `json:"request_id"`
		Quota     map[string]any `json:"quota"`
	}
	call(t, e, http.MethodGet, "/v3/"+testProject+"/elb/quotas", nil).decode(t, &q)
	if q.RequestID == "" || q.Quota["members_per_pool"] != float64(7) || q.Quota["member"] != float64(-1) {
		t.Fatalf("quota answer %+v", q)
	}
	if e.Counts()[OpGetQuota] != 1 {
		t.Fatalf("counts %v", e.Counts())
	}
	p := e.CreatePool(elb.Pool{})
	if err := e.SetPoolMemberQuota(p.ID, 2); err != nil {
		t.Fatal(err)
	}
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), map[string]any{"members": newMembers(0, 3, 80)}).errBody(t, 409, CodeQuota)
	call(t, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), map[string]any{"members": newMembers(0, 2, 80)}).decode(t, &batchAnswer{})
	e.SetQuotaAPIStatus(http.StatusForbidden)
	call(t, e, http.MethodGet, "/v3/"+testProject+"/elb/quotas", nil).errBody(t, 403, CodeForbidden)
	call(t, e, http.MethodGet, "/v3/other/elb/quotas", nil).errBody(t, 404, CodeNotFound)
}

// TestPoolTypeChecks: instance pools refuse IP-type members, v6 pools IPv4.
func TestPoolTypeChecks(t *testing.T) {
	e := newTestEmulator(Options{})
	inst := e.CreatePool(elb.Pool{Type: "instance", VpcID: "vpc-1"})
	r := call(t, e, http.MethodPost, poolPath(inst.ID, "/members/batch-add"), map[string]any{"members": newMembers(0, 1, 80)})
	if b := r.errBody(t, 400, CodePoolType); !strings.Contains(b.Message, "instance") {
		t.Fatalf("message %q", b.Message)
	}
	withSubnet := newMembers(0, 1, 80)
	withSubnet[0].SubnetCIDRID = "subnet-1"
	call(t, e, http.MethodPost, poolPath(inst.ID, "/members/batch-add"), map[string]any{"members": withSubnet}).decode(t, &batchAnswer{})
	v6 := e.CreatePool(elb.Pool{IPVersion: "v6"})
	call(t, e, http.MethodPost, poolPath(v6.ID, "/members/batch-add"), map[string]any{"members": newMembers(0, 1, 80)}).errBody(t, 400, CodePoolType)
	if n := len(e.Members(v6.ID)) + len(e.Members(inst.ID)); n != 1 {
		t.Fatalf("%d members written, want 1", n)
	}
}
