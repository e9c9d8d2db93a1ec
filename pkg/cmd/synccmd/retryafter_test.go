package synccmd

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A pool's Retry-After is remembered from its 429 and 5xx answers, per
// pool, and ends when its time is up.
func TestPoolRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("status") == "429" {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	now := time.Unix(1000, 0)
	p := newPoolRetryAfter()
	p.now = func() time.Time { return now }
	c := &http.Client{Transport: p.Transport(http.DefaultTransport)}
	for _, u := range []string{"/v3/proj/elb/pools/p1/members?status=429", "/v3/proj/elb/pools/p2/members", "/v3/proj/elb/quotas?status=429"} {
		resp, err := c.Get(srv.URL + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := p.wait("p1"); got != 30*time.Second {
		t.Errorf("p1: wait %v, want 30s", got)
	}
	if got := p.wait("p2"); got != 0 {
		t.Errorf("p2 answered: wait %v, want 0", got)
	}
	now = now.Add(31 * time.Second)
	if got := p.wait("p1"); got != 0 {
		t.Errorf("p1 after its Retry-After: wait %v, want 0", got)
	}
}

// A Retry-After given as an HTTP date (RFC 9110 allows either form) is
// remembered as the wait until that time, as the ELB client honours it:
// a throttled pool is not called again through the queue before then.
func TestPoolRetryAfterHTTPDate(t *testing.T) {
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	p := newPoolRetryAfter()
	p.now = func() time.Time { return now }
	p.note("p1", now.Add(40*time.Second).Format(http.TimeFormat))
	if got := p.wait("p1"); got != 40*time.Second {
		t.Errorf("Retry-After as an HTTP date 40s ahead: wait %v, want 40s", got)
	}
	p.note("p2", now.Add(-time.Minute).Format(http.TimeFormat))
	if got := p.wait("p2"); got != 0 {
		t.Errorf("Retry-After as an HTTP date in the past: wait %v, want 0", got)
	}
}
