package elb_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

func TestGetQuota(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{MemberQuota: 321}, elb.RetryPolicy{MaxAttempts: 1}, nil)
	q, err := ev.client.GetQuota(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if q.MembersPerPool != 321 || q.Member != elb.UnlimitedQuota {
		t.Fatalf("quota %+v", q)
	}
	if c := ev.emu.Counts()[elbemulator.OpGetQuota]; c != 1 {
		t.Fatalf("%d quota calls", c)
	}
	ev.emu.SetQuotaAPIStatus(http.StatusForbidden)
	_, err = ev.client.GetQuota(context.Background())
	if e, ok := elb.AsAPIError(err); !ok || e.StatusCode != http.StatusForbidden {
		t.Fatalf("forbidden quota call: %v", err)
	}
}

// TestGetQuotaAnswerShapes: a missing members_per_pool is an error, not a
// quota of 0; -1 is unlimited.
func TestGetQuotaAnswerShapes(t *testing.T) {
	for body, want := range map[string]string{
		`{"request_id":"r","quota":{"members_per_pool":-1,"member":500}}`: "",
		`{"request_id":"r","quota":{"member":500}}`:                       "members_per_pool",
		`{"request_id":"r"}`: "members_per_pool",
		`{"request_id":"r","quota":{"members_per_pool":-7}}`: "neither",
	} {
		srv := newStatic(t, http.StatusOK, body)
		c, err := elb.New(elb.Config{Endpoint: srv, ProjectID: project})
		if err != nil {
			t.Fatal(err)
		}
		q, err := c.GetQuota(context.Background())
		switch {
		case want == "" && (err != nil || q.MembersPerPool != elb.UnlimitedQuota || q.Member != 500):
			t.Errorf("%s: %+v %v", body, q, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want it to mention %q", body, err, want)
		}
	}
}

// TestListMembersByID: ⌈n/100⌉ filtered calls, only the asked members, with
// their health.
func TestListMembersByID(t *testing.T) {
	ev := newEnv(t, elbemulator.Options{HealthDelay: time.Hour}, elb.RetryPolicy{MaxAttempts: 1}, nil)
	p := ev.emu.CreatePool(elb.Pool{HealthmonitorID: "hm"})
	seed(t, ev.emu, p.ID, 40)
	var ids []string
	for chunk := range 2 {
		res, err := ev.client.BatchAddMembers(context.Background(), p.ID, newMembers(400, 80)[chunk*200:chunk*200+200])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			ids = append(ids, r.ID)
		}
	}
	ids = append(ids[:250], "00000000-0000-4000-8000-000000000000") // one unknown
	ev.emu.ResetCounts()
	got, err := ev.client.ListMembersByID(context.Background(), p.ID, ids)
	if err != nil {
		t.Fatal(err)
	}
	if c := ev.emu.Counts()[elbemulator.OpListMembers]; c != 3 {
		t.Fatalf("%d list calls for 251 ids, want 3", c)
	}
	if len(got) != 250 {
		t.Fatalf("%d members, want 250", len(got))
	}
	want := map[string]bool{}
	for _, id := range ids[:250] {
		want[id] = true
	}
	for _, m := range got {
		if !want[m.ID] || m.OperatingStatus != elb.StatusInitial {
			t.Fatalf("member %s %s", m.ID, m.OperatingStatus)
		}
	}
	if _, err := ev.client.ListMembersByID(context.Background(), p.ID, []string{"a/b"}); err == nil {
		t.Fatal("an ID that is not a plain segment was sent")
	}
	if got, err := ev.client.ListMembersByID(context.Background(), p.ID, nil); err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v %v", got, err)
	}
}

func TestMemberHealthPrecedence(t *testing.T) {
	m := elb.Member{OperatingStatus: elb.StatusOnline}
	if s, _ := m.Health(); s != elb.StatusOnline {
		t.Fatal(s)
	}
	m.Status = []elb.ListenerStatus{
		{ListenerID: "a", OperatingStatus: elb.StatusOnline},
		{ListenerID: "b", OperatingStatus: elb.StatusOffline, Reason: &elb.HealthReason{ReasonCode: "CONNECT_TIMEOUT"}},
	}
	if s, code := m.Health(); s != elb.StatusOffline || code != "CONNECT_TIMEOUT" {
		t.Fatalf("listener-level status must win: %s %s", s, code)
	}
}

// newStatic serves one fixed answer and returns its URL.
func newStatic(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
