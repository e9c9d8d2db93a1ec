package synccmd

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// watchRetry is the controller's ELB retry policy: a call on a throttled
// or failing pool holds its worker for about a second at most (3 tries,
// backoff up to 1s, a Retry-After up to 1s waited out in place). Longer
// waits go through the work queue (poolRetryAfter, the per-binding
// backoff), so that the pools that fail never take the workers from the
// bindings whose pools answer.
var watchRetry = elb.RetryPolicy{MaxAttempts: 3, Initial: 200 * time.Millisecond, Max: time.Second, MaxRetryAfter: time.Second}

// watchLockWait is how long a controller's reconcile waits for a pool
// lock another writer holds before the binding is Busy and requeued
// (syncdriver.BusyRetry): like the ELB's waits, another writer's
// long pass goes through the queue, not a worker.
const watchLockWait = 2 * time.Second

// poolRetryAfter remembers, per pool, until when the ELB asked (a 429 or
// 5xx answer's Retry-After) not to be called again: a binding whose pass
// failed comes back after that, not before.
type poolRetryAfter struct {
	mu    sync.Mutex
	until map[string]time.Time
	now   func() time.Time
}

func newPoolRetryAfter() *poolRetryAfter {
	return &poolRetryAfter{until: map[string]time.Time{}, now: time.Now}
}

// Transport wraps rt to read the Retry-After of pool calls' answers.
func (p *poolRetryAfter) Transport(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
			if pool := poolOfPath(r.URL.Path); pool != "" {
				p.note(pool, resp.Header.Get("Retry-After"))
			}
		}
		return resp, err
	})
}

func (p *poolRetryAfter) note(pool, header string) {
	// Seconds or an HTTP date, read as the ELB client reads it.
	d := elb.ParseRetryAfter(header, p.now())
	if d <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	until := p.now().Add(d)
	if until.After(p.until[pool]) {
		p.until[pool] = until
	}
	for k, t := range p.until { // forget the waits that ended
		if !t.After(p.now()) {
			delete(p.until, k)
		}
	}
}

// wait is how long pool's last Retry-After still asks to wait (0: none).
func (p *poolRetryAfter) wait(pool string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.until[pool].Sub(p.now()), 0)
}

// poolOfPath is the pool ID of an ELB v3 pool path
// (/v3/{project_id}/elb/pools/{pool_id}[/…]), "" for other paths.
func poolOfPath(path string) string {
	_, rest, ok := strings.Cut(path, "/elb/pools/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
