package main_test

// End-to-end tests of the fencing of `ccictl sync --watch` leaders and of
// its recovery: a leader cut off from its Lease, frozen, or killed in the
// middle of a write, and an API server that goes away and comes back.
// Every replica gets its own ELB endpoint onto the emulator that records
// when each write arrived, and, where the test needs it, its own way to the
// API server (a proxy the test controls).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Leader-election timing of these tests, and what it implies.
const (
	fenceLease   = 4 * time.Second
	fenceRenew   = 3 * time.Second
	fenceRetry   = 500 * time.Millisecond
	fenceLeaseNm = "ccictl-sync"
)

func fenceArgs(elbURL string) []string {
	return []string{"--leader-elect", "--leader-elect-lease-duration=" + fenceLease.String(),
		"--leader-elect-renew-deadline=" + fenceRenew.String(), "--leader-elect-retry-period=" + fenceRetry.String(),
		"--coalesce=0", "--resync-period=1h", "--elb-endpoint=" + elbURL}
}

// elbRecorder is an ELB endpoint onto the env's emulator that records when
// each write (any call but GET) arrived. With hold set, a write is held
// before it reaches the emulator until hold is cleared; one whose client
// gave up meanwhile is dropped (never applied), as a request lost on the way.
type elbRecorder struct {
	url    string
	hold   atomic.Bool
	held   chan struct{} // one value per write held
	mu     sync.Mutex
	writes []time.Time
}

func (e *syncEnv) recordingEndpoint() *elbRecorder {
	r := &elbRecorder{held: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet {
			// Read the body first: only then does the server notice a
			// client that went away (the request's context ends).
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			r.mu.Lock()
			r.writes = append(r.writes, time.Now())
			r.mu.Unlock()
			if r.hold.Load() {
				select {
				case r.held <- struct{}{}:
				default:
				}
				for r.hold.Load() {
					select {
					case <-req.Context().Done():
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		}
		e.emu.ServeHTTP(w, req)
	}))
	e.t.Cleanup(srv.Close)
	e.t.Cleanup(func() { r.hold.Store(false) }) // before the close, which waits for held writes
	r.url = srv.URL
	return r
}

func (r *elbRecorder) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.writes...)
}

func (r *elbRecorder) count() int { return len(r.times()) }

// after counts the writes that arrived at or after t.
func (r *elbRecorder) after(t time.Time) int {
	n := 0
	for _, w := range r.times() {
		if !w.Before(t) {
			n++
		}
	}
	return n
}

func lastOf(ts []time.Time) time.Time {
	if len(ts) == 0 {
		return time.Time{}
	}
	return ts[len(ts)-1]
}

// apiFront is a replica's way to the API server: an HTTP proxy that can
// black-hole the requests on the leader Lease (never answered: the client
// must give up on its own), and records when the leader Lease writes that
// succeeded and the PoolBinding writes (status, finalizer) arrived.
type apiFront struct {
	url       string
	blackhole atomic.Bool
	mu        sync.Mutex
	renewals  []time.Time
	plbWrites []time.Time
}

func newAPIFront(t *testing.T) *apiFront {
	t.Helper()
	inner, err := cluster.Proxy(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inner.Close)
	target, _ := url.Parse(inner.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	f := &apiFront{}
	closing := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leader := strings.HasSuffix(r.URL.Path, "/leases/"+fenceLeaseNm)
		if leader && f.blackhole.Load() {
			_, _ = io.Copy(io.Discard, r.Body) // see recordingEndpoint
			select {
			case <-r.Context().Done():
			case <-closing:
			}
			return
		}
		arrived := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		rp.ServeHTTP(sw, r)
		if r.Method == http.MethodGet || sw.code >= 300 {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case leader:
			f.renewals = append(f.renewals, arrived)
		case strings.Contains(r.URL.Path, "/poolbindings/"):
			f.plbWrites = append(f.plbWrites, arrived)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(closing) }) // before the close, which waits for black-holed requests
	f.url = srv.URL
	return f
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int)        { s.code = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (f *apiFront) lastRenewal() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return lastOf(f.renewals)
}

func (f *apiFront) bindingWrites() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.plbWrites...)
}

// through returns a copy of the env whose ccictl runs reach the API server
// at server (no credentials: the proxies add them, or the cluster's CA and
// token are kept when keepAuth).
func (e *syncEnv) through(server string, keepAuth bool) *syncEnv {
	e.t.Helper()
	var cfg string
	if keepAuth {
		data, err := os.ReadFile(cluster.Kubeconfig)
		if err != nil {
			e.t.Fatal(err)
		}
		cfg = strings.ReplaceAll(string(data), cluster.Server, server)
	} else {
		cfg = fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: front
  cluster:
    server: %s
users:
- name: front
  user: {}
contexts:
- name: front
  context:
    cluster: front
    user: front
current-context: front
`, server)
	}
	path := filepath.Join(e.t.TempDir(), "cliconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	c := *e
	c.config = path
	return &c
}

// churn changes the Service's endpoints every interval (one address
// replaced by the next), so that a leader always has a write to make,
// until the returned func is called.
func (e *syncEnv) churn(svc string, target int32, base []string, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ready := true
		for i := 1; ctx.Err() == nil; i++ {
			sl, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).Get(ctx, svc+"-manual", metav1.GetOptions{})
			if err == nil {
				sl.Endpoints = nil
				for _, a := range append(append([]string(nil), base...), fmt.Sprintf("10.49.%d.%d", i/250, i%250+1)) {
					sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
				}
				_, _ = e.kube.DiscoveryV1().EndpointSlices(e.ns).Update(ctx, sl, metav1.UpdateOptions{})
			}
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (w *watcher) ready() bool { code, _ := w.get("/readyz"); return code == http.StatusOK }

// leaderAndStandby starts replica A, through aEnv (e itself, or e behind a
// front), until it leads and has synced the pool, then replica B until it
// is ready; each writes to its own recorded ELB endpoint. logs prints both
// replicas' logs.
func leaderAndStandby(t *testing.T, e, aEnv *syncEnv) (a, b *watcher, recA, recB *elbRecorder, logs func() string) {
	t.Helper()
	recA, recB = e.recordingEndpoint(), e.recordingEndpoint()
	a = aEnv.watch(fenceArgs(recA.url)...)
	logs = func() string { return "replica A:\n" + a.logged() }
	eventually(t, 30*time.Second, "A leads", a.leads, logs)
	eventually(t, 30*time.Second, "first pass", func() bool { return len(e.members(syncPool)) == 1 }, logs)
	b = e.watch(fenceArgs(recB.url)...)
	logs = func() string { return "replica A:\n" + a.logged() + "replica B:\n" + b.logged() }
	eventually(t, 30*time.Second, "B ready", b.ready, logs)
	return a, b, recA, recB, logs
}

// A leader whose leader-Lease requests are black-holed (the server never
// answers; the ELB and the rest of the API stay reachable) stops writing
// by its renew deadline counted from its last successful renewal, before
// the standby's first write: no two leaders write at once.
func TestSyncWatchFencesAPartitionedLeader(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-fence-cut")
	e.pool(syncPool)
	e.manualSlice("web", 80, 8080, []string{"10.41.0.1"})
	e.binding("b", syncPool, "web", 80)
	front := newAPIFront(t)
	a, b, recA, recB, logs := leaderAndStandby(t, e, e.through(front.url, false))

	stop := e.churn("web", 8080, []string{"10.41.0.1"}, 150*time.Millisecond)
	defer stop()
	eventually(t, 30*time.Second, "A writes", func() bool { return recA.count() >= 4 }, logs)
	cut := time.Now()
	front.blackhole.Store(true)
	eventually(t, 30*time.Second, "B leads", b.leads, logs)
	tookOver := time.Since(cut)
	eventually(t, 30*time.Second, "B writes", func() bool { return recB.count() >= 4 }, logs)
	// An unfenced A kept writing for another renew deadline after this.
	time.Sleep(fenceRenew + time.Second)
	stop()

	renewed := front.lastRenewal()
	aw, bw := recA.times(), recB.times()
	aLast, bFirst := lastOf(aw), bw[0]
	t.Logf("partition: A's last renewal %v before the cut; A's last ELB write %v after its last renewal (renew deadline %v); B leading %v after the cut, its first write %v after A's last renewal",
		cut.Sub(renewed).Round(time.Millisecond), aLast.Sub(renewed).Round(time.Millisecond), fenceRenew,
		tookOver.Round(time.Millisecond), bFirst.Sub(renewed).Round(time.Millisecond))
	if !aLast.Before(bFirst) {
		t.Errorf("two leaders wrote at once: A's last ELB write %v after B's first", aLast.Sub(bFirst))
	}
	// The fence refuses a write once the deadline has passed by A's clock,
	// counted from when A sent the renewal (before it reached the proxy);
	// the slack is for the write's way from the check to the recorder.
	if late := aLast.Sub(renewed); late > fenceRenew+500*time.Millisecond {
		t.Errorf("A's last ELB write came %v after its last renewal, past its renew deadline %v", late, fenceRenew)
	}
	if st := lastOf(front.bindingWrites()); st.Sub(renewed) > fenceRenew+500*time.Millisecond {
		t.Errorf("A's last PoolBinding write came %v after its last renewal, past its renew deadline %v", st.Sub(renewed), fenceRenew)
	}
	if a.leads() {
		t.Error("A still reports leading")
	}
}

// A leader frozen (SIGSTOP) past its Lease and then resumed (SIGCONT) makes
// no ELB or PoolBinding write after it resumes, not even one it planned
// before the pause; the standby took over meanwhile.
func TestSyncWatchFencesAFrozenLeader(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-fence-stop")
	e.pool(syncPool)
	e.manualSlice("web", 80, 8080, []string{"10.42.0.1"})
	e.binding("b", syncPool, "web", 80)
	front := newAPIFront(t)
	a, b, recA, recB, logs := leaderAndStandby(t, e, e.through(front.url, false))

	stop := e.churn("web", 8080, []string{"10.42.0.1"}, 100*time.Millisecond)
	defer stop()
	eventually(t, 30*time.Second, "A writes", func() bool { return recA.count() >= 4 }, logs)
	frozen := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = a.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	eventually(t, 30*time.Second, "B writes", func() bool { return recB.after(frozen) >= 1 }, logs)
	bFirst := recB.times()[0]
	eventually(t, 30*time.Second, "B keeps writing", func() bool { return recB.count() >= 4 }, logs)
	cont := time.Now()
	_ = a.cmd.Process.Signal(syscall.SIGCONT)
	resumed = true
	// A's caches catch up with the churn; an unfenced A reconciled (and
	// wrote) for several seconds here.
	time.Sleep(4 * time.Second)
	stop()

	aw := recA.times()
	t.Logf("freeze: B's first ELB write %v after A froze; A's last ELB write %v before it froze",
		bFirst.Sub(frozen).Round(time.Millisecond), frozen.Sub(lastOf(aw)).Round(time.Millisecond))
	if n := recA.after(cont); n > 0 {
		t.Errorf("A made %d ELB write(s) after it resumed", n)
	}
	if !lastOf(aw).Before(bFirst) {
		t.Errorf("two leaders wrote at once: A's last ELB write %v after B's first", lastOf(aw).Sub(bFirst))
	}
	for _, w := range front.bindingWrites() {
		if !w.Before(cont) {
			t.Errorf("A wrote a PoolBinding (status or finalizer) %v after it resumed", w.Sub(cont))
		}
	}
	eventually(t, 10*time.Second, "A stands by", func() bool { return !a.leads() }, logs)
	if !b.leads() {
		t.Error("B no longer leads")
	}
}

// After the leader is killed or frozen in the middle of a write (holding
// its pool's lock), the new leader converges the pool within one lease
// duration of the leader Lease (plus its retries): it takes the pool lock
// of the previous term at once instead of waiting for it to expire (15 s).
func TestSyncWatchFailoverTakesOneLease(t *testing.T) {
	for _, how := range []string{"kill", "freeze"} {
		t.Run(how, func(t *testing.T) {
			e := newSyncEnv(t, "e2e-watch-failover-"+how)
			e.pool(syncPool)
			e.manualSlice("web", 80, 8080, []string{"10.43.0.1"})
			e.binding("b", syncPool, "web", 80)
			a, _, recA, _, logs := leaderAndStandby(t, e, e)

			// A's next write is held at its ELB endpoint: A is in the
			// middle of a pass, holding the pool's lock, when it dies.
			recA.hold.Store(true)
			e.manualSlice("web", 80, 8080, []string{"10.43.0.1", "10.43.0.2"})
			select {
			case <-recA.held:
			case <-time.After(30 * time.Second):
				t.Fatalf("A did not write\n%s", logs())
			}
			failed := time.Now()
			if how == "kill" {
				_ = a.cmd.Process.Kill()
			} else {
				if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = a.cmd.Process.Signal(syscall.SIGCONT) }()
			}
			eventually(t, 40*time.Second, "the pool converges", func() bool { return len(e.members(syncPool)) == 2 }, logs)
			took := time.Since(failed)
			t.Logf("failover after %s in the middle of a write: pool converged %v later (leader lease %v)", how, took.Round(time.Millisecond), fenceLease)
			// Lease duration, plus up to two retry periods with jitter for
			// the standby to see the last renewal and to acquire, plus the
			// pass itself on a loaded machine.
			if limit := fenceLease + 4*time.Second; took > limit {
				t.Errorf("failover took %v, want within %v (the leader Lease's duration and its retries)", took, limit)
			}
			if how == "freeze" {
				recA.hold.Store(false)
				cont := time.Now()
				_ = a.cmd.Process.Signal(syscall.SIGCONT)
				time.Sleep(2 * time.Second)
				if n := recA.after(cont); n > 0 {
					t.Errorf("A made %d ELB write(s) after it resumed", n)
				}
				if m := e.members(syncPool); len(m) != 2 {
					t.Errorf("pool after A resumed: %v, want the 2 endpoints", m)
				}
			}
		})
	}
}

// tcpFront forwards TCP connections to the API server and can go away
// (its port refuses connections and every open one is cut, as when
// kube-apiserver restarts) and come back on the same port.
type tcpFront struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newTCPFront(t *testing.T) *tcpFront {
	t.Helper()
	u, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	f := &tcpFront{t: t, target: u.Host, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.serve(ln)
	t.Cleanup(f.down)
	return f
}

func (f *tcpFront) serve(ln net.Listener) {
	f.mu.Lock()
	f.ln = ln
	f.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", f.target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns[c], f.conns[up] = struct{}{}, struct{}{}
			f.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (f *tcpFront) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for c := range f.conns {
		c.Close()
	}
	f.conns = map[net.Conn]struct{}{}
}

func (f *tcpFront) up() {
	f.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger for a moment
		if ln, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	f.serve(ln)
}

// When the API server comes back after a 20 s outage, changes made right
// then reach their pools within seconds: the controller's caches do not
// wait out their reflectors' backoff (up to 30 s between tries, each
// informer on its own). The changes need three caches: a new Service and
// its EndpointSlice, a new PoolBinding, and an EndpointSlice update. With
// --leader-elect the outage is longer than the renew deadline, so the
// leader's term ends; it campaigns again as soon as the server is back,
// not at its next retry (up to 2.2 retry periods later).
func TestSyncWatchRecoversAfterAPIServerRestart(t *testing.T) {
	for _, mode := range []string{"alone", "leader-elect"} {
		t.Run(mode, func(t *testing.T) {
			const pool2 = "5f6e7d8c-0000-4000-8000-00000000feed"
			e := newSyncEnv(t, "e2e-watch-restart-"+mode)
			e.pool(syncPool)
			e.pool(pool2)
			e.manualSlice("web", 80, 8080, []string{"10.44.0.1"})
			e.binding("b", syncPool, "web", 80)
			front := newTCPFront(t)
			args := []string{"--coalesce=0", "--resync-period=1h"}
			if mode == "leader-elect" {
				args = append(args, "--leader-elect", "--leader-elect-namespace="+e.ns, "--leader-elect-lease-duration=15s",
					"--leader-elect-renew-deadline=10s", "--leader-elect-retry-period=8s")
			}
			w := e.through("https://"+front.addr, true).watch(args...)
			eventually(t, 30*time.Second, "first pass", func() bool { return len(e.members(syncPool)) == 1 }, w.logged)

			front.down()
			time.Sleep(20 * time.Second)
			front.up()
			back := time.Now()
			e.manualSlice("api", 80, 8080, []string{"10.44.1.1"})
			e.binding("b2", pool2, "api", 80)
			e.manualSlice("web", 80, 8080, []string{"10.44.0.1", "10.44.0.2"})
			made := time.Since(back)
			eventually(t, 90*time.Second, "the changes after the restart reach the pools", func() bool {
				return len(e.members(syncPool)) == 2 && len(e.members(pool2)) == 1
			}, w.logged)
			took := time.Since(back)
			t.Logf("API server back after a 20s outage (%s): changes made within %v reached the pools %v after it was back",
				mode, made.Round(time.Millisecond), took.Round(time.Millisecond))
			// Target 2 s after the changes; the bound leaves room for a
			// loaded CI machine (the reflectors' backoff alone took
			// 17-22 s).
			if took > made+5*time.Second {
				t.Errorf("the changes reached the pools %v after the API server came back, want within seconds\n%s", took, w.logged())
			}
		})
	}
}

// The same through a real restart of kube-apiserver (same port, data and
// credentials; etcd and the controller manager keep running): the
// controller's watches and Lease requests meet refused connections, then a
// fresh server whose watch cache starts over. Changes made right after it
// is ready reach their pools within seconds.
func TestSyncWatchRecoversAfterARealAPIServerRestart(t *testing.T) {
	for _, mode := range []string{"alone", "leader-elect"} {
		t.Run(mode, func(t *testing.T) {
			const pool2 = "5f6e7d8c-0000-4000-8000-00000000beef"
			e := newSyncEnv(t, "e2e-watch-realrestart-"+mode)
			e.pool(syncPool)
			e.pool(pool2)
			e.manualSlice("web", 80, 8080, []string{"10.45.0.1"})
			e.binding("b", syncPool, "web", 80)
			args := []string{"--coalesce=0", "--resync-period=1h"}
			if mode == "leader-elect" {
				args = append(args, "--leader-elect", "--leader-elect-namespace="+e.ns, "--leader-elect-lease-duration=15s",
					"--leader-elect-renew-deadline=10s", "--leader-elect-retry-period=2s")
			}
			w := e.watch(args...)
			eventually(t, 30*time.Second, "first pass", func() bool { return len(e.members(syncPool)) == 1 }, w.logged)

			down, err := cluster.RestartAPIServer(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			back := time.Now()
			e.manualSlice("api", 80, 8080, []string{"10.45.1.1"})
			e.binding("b2", pool2, "api", 80)
			e.manualSlice("web", 80, 8080, []string{"10.45.0.1", "10.45.0.2"})
			made := time.Since(back)
			eventually(t, 90*time.Second, "the changes after the restart reach the pools", func() bool {
				return len(e.members(syncPool)) == 2 && len(e.members(pool2)) == 1
			}, w.logged)
			took := time.Since(back)
			t.Logf("kube-apiserver restarted (%s; down %v, signal to ready): changes made within %v reached the pools %v after it was ready",
				mode, down.Round(time.Millisecond), made.Round(time.Millisecond), took.Round(time.Millisecond))
			if took > made+5*time.Second {
				t.Errorf("the changes reached the pools %v after the API server was ready again, want within seconds\n%s", took, w.logged())
			}
			if err, _ := w.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
