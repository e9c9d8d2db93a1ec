package main_test

// Fairness of `ccictl sync --watch`: pools that the ELB throttles or fails
// must not delay the bindings of the pools that answer.

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// With more failing pools than workers — four throttled with a
// Retry-After of 30 s, two answering 503 — each of 50 healthy bindings
// reaches its pool within a bound after its change (generous: about a
// second is usual), and the throttled pools are not called again before
// their Retry-After.
func TestSyncWatchFailingPoolsDoNotDelayTheOthers(t *testing.T) {
	const workers, throttled, failing, healthy, retryAfter = 4, 4, 2, 50, 30
	const bound = 20 * time.Second
	kube, dyn := benchClients(t)
	emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken})
	srv, _ := benchELBServer(t, emu)
	s := setupBench(t, kube, dyn, emu, "e2e-wfair", throttled+failing+healthy, 2)
	bad := s.pools[:throttled+failing]
	emu.SetFaults(elbemulator.Faults{ThrottlePools: bad[:throttled], RetryAfterSeconds: retryAfter, FailPools: bad[throttled:]})

	w := benchWatch(t, cliconfig, srv.URL, s, "--resync-period=1h", fmt.Sprintf("--concurrency=%d", workers))
	first := time.Now()
	eventually(t, 60*time.Second, "healthy bindings' first passes", func() bool {
		for _, p := range s.pools[throttled+failing:] {
			if len(emu.Members(p)) != 2 {
				return false
			}
		}
		return true
	}, func() string { return tail(w.logged(), 40) })
	t.Logf("first passes of %d healthy bindings with %d failing pools and %d workers: %v", healthy, throttled+failing, workers, time.Since(first).Round(time.Millisecond))

	// One change per healthy binding, all at once.
	emu.ResetCounts()
	start := time.Now()
	changed := make([]time.Time, len(s.pools))
	var mu sync.Mutex
	parallel(t, healthy, func(k int) error {
		i := throttled + failing + k
		err := updateSlice(context.Background(), kube, s, i, func(eps []discoveryv1.Endpoint) []discoveryv1.Endpoint {
			return append(eps, readyEndpoint("10.250.0.1"))
		})
		mu.Lock()
		changed[i] = time.Now()
		mu.Unlock()
		return err
	})
	took := make([]time.Duration, 0, healthy)
	pending := map[int]bool{}
	for k := range healthy {
		pending[throttled+failing+k] = true
	}
	for len(pending) > 0 && time.Since(start) < 2*bound {
		for i := range pending {
			if hasMember(emu, s.pools[i], "10.250.0.1") {
				took = append(took, time.Since(changed[i]))
				delete(pending, i)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	sort.Slice(took, func(a, b int) bool { return took[a] < took[b] })
	counts := emu.Counts()
	if len(took) > 0 {
		t.Logf("FAIR %d healthy bindings changed with %d throttled (Retry-After %ds) and %d failing pools, %d workers: converged p50=%v max=%v after their change; elb=%v load=%s",
			healthy, throttled, retryAfter, failing, workers, percentile(took, 0.5).Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), counts, loadavg())
	}
	if len(pending) > 0 {
		t.Fatalf("%d of %d healthy bindings did not converge within %v of their change\n%s", len(pending), healthy, 2*bound, tail(w.logged(), 40))
	}
	if max := took[len(took)-1]; max > bound {
		t.Errorf("slowest healthy binding converged %v after its change, want within %v", max, bound)
	}
	// Retry-After is honoured through the queue: in this window (well
	// under 30 s) each throttled pool is asked at most about once more.
	if n := counts[elbemulator.OpThrottled]; n > 2*throttled {
		t.Errorf("%d throttled answers in %v for %d pools that asked to wait %ds, want at most %d", n, time.Since(start).Round(time.Second), throttled, retryAfter, 2*throttled)
	}
}
