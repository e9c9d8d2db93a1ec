package elbmetrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// counter reads one series of a counter vector; 0 when absent.
func counter(t *testing.T, reg *prometheus.Registry, name string, lbls map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range lbls {
				if got[k] != v {
					continue next
				}
			}
			return value(m)
		}
	}
	return 0
}

func value(m *dto.Metric) float64 { return m.GetCounter().GetValue() }

// The wrappers around a real client talking to the emulator count calls by
// operation and final status, requests (pages, retries) by operation and
// status, and the retries of a throttled call.
func TestCountsCallsRequestsAndRetries(t *testing.T) {
	emu := elbemulator.New(elbemulator.Options{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	m := New("ccictl")
	reg := prometheus.NewRegistry()
	m.MustRegister(reg)
	raw, err := elb.New(elb.Config{Endpoint: srv.URL, ProjectID: emu.ProjectID(), Transport: m.Transport(http.DefaultTransport),
		Retry: elb.RetryPolicy{MaxAttempts: 4, Initial: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Client(raw)
	ctx := context.Background()
	pool := emu.CreatePool(elb.Pool{Protocol: "TCP", LBAlgorithm: "ROUND_ROBIN"})

	if _, err := c.GetPool(ctx, pool.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPool(ctx, "no-such-pool"); err == nil {
		t.Fatal("GetPool of an unknown pool succeeded")
	}
	var add []elb.NewMember
	for i := range 3 {
		add = append(add, elb.NewMember{Address: fmt.Sprintf("10.0.0.%d", i+1), ProtocolPort: 80})
	}
	if _, err := c.BatchAddMembers(ctx, pool.ID, add); err != nil {
		t.Fatal(err)
	}
	// Two throttled answers, then success: one call, three requests, two retries.
	emu.SetFaults(elbemulator.Faults{ThrottleFirst: 2})
	if _, err := c.ListMembers(ctx, pool.ID); err != nil {
		t.Fatal(err)
	}
	emu.SetFaults(elbemulator.Faults{})

	for _, tc := range []struct {
		name string
		lbls map[string]string
		want float64
	}{
		{"ccictl_elb_calls_total", map[string]string{"operation": OpGetPool, "code": "200"}, 1},
		{"ccictl_elb_calls_total", map[string]string{"operation": OpGetPool, "code": "404"}, 1},
		{"ccictl_elb_calls_total", map[string]string{"operation": OpBatchAddMembers, "code": "200"}, 1},
		{"ccictl_elb_calls_total", map[string]string{"operation": OpListMembers, "code": "200"}, 1},
		{"ccictl_elb_requests_total", map[string]string{"operation": OpListMembers, "code": "429"}, 2},
		{"ccictl_elb_requests_total", map[string]string{"operation": OpListMembers, "code": "200"}, 1},
		{"ccictl_elb_requests_total", map[string]string{"operation": OpGetPool, "code": "404"}, 1},
		{"ccictl_elb_retries_total", map[string]string{"operation": OpListMembers}, 2},
		{"ccictl_elb_retries_total", map[string]string{"operation": OpGetPool}, 0},
		{"ccictl_elb_retries_total", map[string]string{"operation": OpBatchAddMembers}, 0},
	} {
		if got := counter(t, reg, tc.name, tc.lbls); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.lbls, got, tc.want)
		}
	}
}

// A call given up with no answer is counted as an error; a cancelled one
// as canceled.
func TestCountsFailuresWithoutAnswer(t *testing.T) {
	m := New("ccictl")
	reg := prometheus.NewRegistry()
	m.MustRegister(reg)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	raw, err := elb.New(elb.Config{Endpoint: url, ProjectID: "p", Transport: m.Transport(nil),
		Retry: elb.RetryPolicy{MaxAttempts: 2, Initial: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Client(raw)
	if _, err := c.GetQuota(context.Background()); err == nil {
		t.Fatal("GetQuota without a server succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = c.BatchDeleteMembers(ctx, "pool", []string{"m1"})
	if got := counter(t, reg, "ccictl_elb_calls_total", map[string]string{"operation": OpGetQuota, "code": CodeError}); got != 1 {
		t.Errorf("GetQuota errors counted %v, want 1", got)
	}
	if got := counter(t, reg, "ccictl_elb_requests_total", map[string]string{"operation": OpGetQuota, "code": CodeError}); got != 2 {
		t.Errorf("GetQuota requests counted %v, want 2 (one retry)", got)
	}
	if got := counter(t, reg, "ccictl_elb_retries_total", map[string]string{"operation": OpGetQuota}); got != 1 {
		t.Errorf("GetQuota retries counted %v, want 1", got)
	}
	if got := counter(t, reg, "ccictl_elb_calls_total", map[string]string{"operation": OpBatchDeleteMembers, "code": CodeCanceled}); got != 1 {
		t.Errorf("cancelled BatchDeleteMembers counted %v, want 1", got)
	}
}

func TestOperation(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		id           bool
		want         string
	}{
		{"GET", "/v3/p/elb/pools/x", false, OpGetPool},
		{"GET", "/v3/p/elb/pools/x/members", false, OpListMembers},
		{"GET", "/v3/p/elb/pools/x/members", true, OpListMembersByID},
		{"POST", "/v3/p/elb/pools/x/members/batch-add", false, OpBatchAddMembers},
		{"POST", "/v3/p/elb/pools/x/members/batch-delete", false, OpBatchDeleteMembers},
		{"POST", "/v3/p/elb/pools/x/members/batch-update", false, OpBatchUpdateMembers},
		{"GET", "/v3/p/elb/quotas", false, OpGetQuota},
		{"GET", "/v3/p/elb/loadbalancers", false, OpOther},
		{"DELETE", "/v3/p/elb/pools/x", false, OpOther},
	} {
		if got := Operation(tc.method, tc.path, tc.id); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}
