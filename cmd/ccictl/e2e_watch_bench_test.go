package main_test

// Measurements of `ccictl sync --watch` (issue 10, "Performance"), on the
// bench setup of e2e_bench_test.go: every binding targets its own
// selector-less Service whose endpoints are EndpointSlices written by the
// test, and the built binary runs as a controller against the real API
// server and the ELB emulator.
//
// Timings (reaction latency, time to converge) and peak RSS are logged
// (BENCH lines) for docs/performance.md, never asserted; what is asserted
// is what cannot depend on the machine's load: which ELB calls a change
// costs, that an idle controller calls nothing, that only the changed
// binding is reconciled. By default the sizes are small (CI);
// CCICTL_BENCH_K8S=1 runs the sizes:
//
//	CCICTL_BENCH_K8S=1 CCICTL_LOCALCLUSTER_BIN=$(cat /tmp/lcbin.txt) \
//	  go test -count=1 -v -timeout 60m -run 'TestBenchWatch' ./cmd/ccictl
//
// CCICTL_BENCH_WATCH_MEMORY=1000x50,3000x10 chooses the memory sizes;
// CCICTL_BENCH_WATCH_GODEBUG=gctrace=1 logs the controller's last GCs;
// the controller runs with the soft memory limit deploy/deployment.yaml
// sets (GOMEMLIMIT), or CCICTL_BENCH_WATCH_GOMEMLIMIT's (off: none, Go's
// default); CCICTL_BENCH_WATCH_PROFILE=DIR runs it with --profiling and writes, per
// size, its heap profile every second until convergence and its allocation
// profile at the end (go tool pprof -sample_index=inuse_space DIR/FLAVOUR/SIZE/...);
// TestBenchWatchMemoryCCI2 (e2e_watch_bench_cci2_test.go) measures the
// same on the CCI 2.0 flavour.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// benchWatch starts `ccictl sync --watch -A -l ccictl-bench=RUN` on cfg
// (a cliconfig: straight to the API server, or through a counting proxy).
func benchWatch(t *testing.T, cfg, elbURL string, s *benchSetup, args ...string) *watcher {
	t.Helper()
	home := filepath.Join(workDir, "home")
	_ = os.MkdirAll(home, 0o700)
	return startWatcher(t, func(stderr io.Writer, watchArgs ...string) *exec.Cmd {
		all := append([]string{"--cliconfig", cfg, "sync", "-A", "-l", "ccictl-bench=" + s.run,
			"--elb-endpoint", elbURL, "--project-id", benchProject}, watchArgs...)
		cmd := exec.Command(ccictlBin, append(all, args...)...)
		cmd.Dir = repoRoot
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
			"CCICTL_ELB_TOKEN=" + benchToken}
		if v := os.Getenv("CCICTL_BENCH_WATCH_GODEBUG"); v != "" {
			cmd.Env = append(cmd.Env, "GODEBUG="+v) // gctrace=1: live heap at each GC, in the log
		}
		if v := benchMemLimit(t); v != "off" {
			cmd.Env = append(cmd.Env, "GOMEMLIMIT="+v)
		}
		cmd.Stdout, cmd.Stderr = io.Discard, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	})
}

// benchMemLimit is the controller's GOMEMLIMIT: as deployed (the value
// deploy/deployment.yaml gives the container), unless
// CCICTL_BENCH_WATCH_GOMEMLIMIT says otherwise ("off": none).
func benchMemLimit(t *testing.T) string {
	t.Helper()
	if v := os.Getenv("CCICTL_BENCH_WATCH_GOMEMLIMIT"); v != "" {
		return v
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.Unmarshal(raw, &d); err != nil {
		t.Fatalf("deploy/deployment.yaml: %v", err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == "GOMEMLIMIT" && e.Value != "" {
				return e.Value
			}
		}
	}
	t.Fatal("deploy/deployment.yaml sets no GOMEMLIMIT (set CCICTL_BENCH_WATCH_GOMEMLIMIT=off to run without one)")
	return ""
}

// hwmMiB is the watcher's peak RSS so far (VmHWM), in MiB.
func (w *watcher) hwmMiB() float64 {
	return float64(vmHWM(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))) / 1024
}

// converge waits until every pool of s holds want(i) members and returns
// how long that took.
func converge(t *testing.T, emu *elbemulator.Emulator, s *benchSetup, w *watcher, d time.Duration, want func(i int) int) time.Duration {
	t.Helper()
	start := time.Now()
	next := 0 // pools before next are known to have converged
	eventually(t, d, fmt.Sprintf("%d pools converged", s.bindings), func() bool {
		for ; next < s.bindings; next++ {
			if len(emu.Members(s.pools[next])) != want(next) {
				return false
			}
		}
		return true
	}, func() string { return tail(w.logged(), 30) })
	return time.Since(start)
}

// metricSum adds up the samples of one metric in a /metrics page.
func metricSum(page, name string) float64 {
	var sum float64
	for _, l := range strings.Split(page, "\n") {
		if rest, ok := strings.CutPrefix(l, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// settle waits until the watcher has reconciled at least n bindings, its
// queue is empty and no reconcile ran for a second: the first passes are
// over (members already in place, as for a second watcher on the same
// bindings, do not show that).
func settle(t *testing.T, w *watcher, n int, d time.Duration) {
	t.Helper()
	last, since := -1.0, time.Now()
	eventually(t, d, "first passes over", func() bool {
		_, page := w.get("/metrics")
		done := metricSum(page, "ccictl_reconciles_total")
		if done != last {
			last, since = done, time.Now()
		}
		return done >= float64(n) && metricSum(page, "ccictl_workqueue_depth") == 0 && time.Since(since) >= time.Second
	}, func() string { return tail(w.logged(), 30) })
}

// benchSliceName is the first EndpointSlice of binding i (setupBench).
func benchSliceName(i int) string { return fmt.Sprintf("web-%05d-0", i) }

// updateSlice rewrites binding i's first EndpointSlice with change applied
// to its endpoints.
func updateSlice(ctx context.Context, kube kubernetes.Interface, s *benchSetup, i int, change func([]discoveryv1.Endpoint) []discoveryv1.Endpoint) error {
	ns := s.nss[i%benchNamespces]
	sl, err := kube.DiscoveryV1().EndpointSlices(ns).Get(ctx, benchSliceName(i), metav1.GetOptions{})
	if err != nil {
		return err
	}
	sl.Endpoints = change(sl.Endpoints)
	_, err = kube.DiscoveryV1().EndpointSlices(ns).Update(ctx, sl, metav1.UpdateOptions{})
	return err
}

func readyEndpoint(addr string) discoveryv1.Endpoint {
	ready := true
	return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
}

func hasMember(emu *elbemulator.Emulator, pool, addr string) bool {
	for _, m := range emu.Members(pool) {
		if m.Address == addr {
			return true
		}
	}
	return false
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// loadavg is the 1-minute load average, logged with every number.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

func elbWrites(c map[string]int) int {
	return c[elbemulator.OpBatchAddMembers] + c[elbemulator.OpBatchDeleteMembers] + c[elbemulator.OpBatchUpdateMembers]
}

// TestBenchWatchLatency: from an EndpointSlice update (the write sent) to
// the new member present in the emulator (polled every 5 ms), one change
// at a time spread over the bindings, with the default --coalesce and with
// --coalesce=0. Each change costs the changed binding one reconcile (one
// pool read) and one batch add; no other binding is reconciled.
func TestBenchWatchLatency(t *testing.T) {
	sizes, samples := []int{1, 10}, 5
	if benchK8sFull() {
		sizes, samples = []int{1, 100, 1000}, 50
	}
	const endpoints = 10
	kube, dyn := benchClients(t)
	for _, n := range sizes {
		emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken})
		srv, _ := benchELBServer(t, emu)
		s := setupBench(t, kube, dyn, emu, fmt.Sprintf("bench-wlat-%d", n), n, endpoints)
		added := make([]int, n) // endpoints added to binding i so far
		for _, coalesce := range []string{"", "0s"} {
			var args []string
			label := "coalesce=200ms(default)"
			if coalesce != "" {
				args, label = []string{"--coalesce=" + coalesce}, "coalesce="+coalesce
			}
			w := benchWatch(t, cliconfig, srv.URL, s, append(args, "--resync-period=1h")...)
			took := converge(t, emu, s, w, 10*time.Minute, func(i int) int { return endpoints + added[i] })
			settle(t, w, n, 10*time.Minute)
			emu.ResetCounts()
			lat := make([]time.Duration, 0, samples)
			for k := 0; k < samples; k++ {
				i := k * 7919 % n // spread over the bindings
				added[i]++
				addr := fmt.Sprintf("10.200.%d.%d", added[i]/250, added[i]%250+1)
				start := time.Now()
				if err := updateSlice(context.Background(), kube, s, i, func(eps []discoveryv1.Endpoint) []discoveryv1.Endpoint {
					return append(eps, readyEndpoint(addr))
				}); err != nil {
					t.Fatal(err)
				}
				for !hasMember(emu, s.pools[i], addr) {
					if time.Since(start) > time.Minute {
						t.Fatalf("%s: member %s of binding %d not registered within a minute\n%s", label, addr, i, tail(w.logged(), 30))
					}
					time.Sleep(5 * time.Millisecond)
				}
				lat = append(lat, time.Since(start))
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // the last status write
			calls := emu.Counts()
			sorted := append([]time.Duration(nil), lat...)
			sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
			t.Logf("BENCH watch-latency %dx%d %s: converged in %v; %d samples p50=%v p99=%v max=%v; elb=%v; maxrss=%.1fMiB load=%s",
				n, endpoints, label, took.Round(time.Millisecond), samples, percentile(sorted, 0.5).Round(time.Millisecond),
				percentile(sorted, 0.99).Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond), calls, w.hwmMiB(), loadavg())
			// One reconcile per change, of the changed binding only.
			if calls[elbemulator.OpGetPool] != samples || calls[elbemulator.OpBatchAddMembers] != samples || elbWrites(calls) != samples {
				t.Errorf("%s: ELB calls %v for %d one-endpoint changes, want %d GetPool and %d BatchAddMembers and no other write",
					label, calls, samples, samples, samples)
			}
			// The member quota is read at most once per resync period, by
			// the first pass with something to add (here a first pass, or
			// the first change when the pools were already full).
			if calls[elbemulator.OpGetQuota] > 1 {
				t.Errorf("%s: %d quota reads for %d changes within one resync period, want at most 1", label, calls[elbemulator.OpGetQuota], samples)
			}
			if err, _ := w.stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		}
	}
}

// TestBenchWatchRollout: one binding of 200 endpoints replaced 10 at a time
// in 20 steps, as a rolling update would. Waiting for each step: one batch
// add and one batch delete per step. Steps written back to back: coalesced
// into fewer reconciles, never more than one add and one delete per step.
// The minimum for the 400 member changes in one reconcile is ⌈200/200⌉ = 1
// add and 1 delete.
func TestBenchWatchRollout(t *testing.T) {
	const endpoints, steps, per = 200, 20, 10
	kube, dyn := benchClients(t)
	emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken})
	srv, _ := benchELBServer(t, emu)
	s := setupBench(t, kube, dyn, emu, "bench-wroll", 1, endpoints)
	w := benchWatch(t, cliconfig, srv.URL, s, "--resync-period=1h")
	converge(t, emu, s, w, time.Minute, func(int) int { return endpoints })
	settle(t, w, 1, time.Minute)
	for gen, mode := range []string{"waited", "back-to-back"} {
		emu.ResetCounts()
		start := time.Now()
		var want []string
		for k := 0; k < steps; k++ {
			err := updateSlice(context.Background(), kube, s, 0, func(eps []discoveryv1.Endpoint) []discoveryv1.Endpoint {
				for j := k * per; j < (k+1)*per; j++ {
					eps[j] = readyEndpoint(fmt.Sprintf("10.%d.%d.%d", 201+gen, k, j%per+1))
				}
				want = nil
				for _, ep := range eps {
					want = append(want, ep.Addresses[0])
				}
				return eps
			})
			if err != nil {
				t.Fatal(err)
			}
			if mode == "waited" {
				last := want[(k+1)*per-1]
				eventually(t, 30*time.Second, fmt.Sprintf("step %d", k+1), func() bool {
					return hasMember(emu, s.pools[0], last) && len(emu.Members(s.pools[0])) == endpoints
				}, w.logged)
			}
		}
		eventually(t, 30*time.Second, mode+": pool is the last step's endpoints", func() bool {
			got := map[string]bool{}
			for _, m := range emu.Members(s.pools[0]) {
				got[m.Address] = true
			}
			for _, a := range want {
				if !got[a] {
					return false
				}
			}
			return len(got) == endpoints
		}, w.logged)
		took := time.Since(start)
		time.Sleep(500 * time.Millisecond)
		calls := emu.Counts()
		t.Logf("BENCH watch-rollout %s: %d steps of %d (%d member changes) in %v: elb=%v writes=%d (minimum for one reconcile: 2) load=%s",
			mode, steps, per, 2*steps*per, took.Round(time.Millisecond), calls, elbWrites(calls), loadavg())
		add, del := calls[elbemulator.OpBatchAddMembers], calls[elbemulator.OpBatchDeleteMembers]
		switch {
		case mode == "waited" && (add != steps || del != steps || calls[elbemulator.OpBatchUpdateMembers] != 0):
			t.Errorf("waited: %v, want %d batch adds and %d batch deletes (one each per step)", calls, steps, steps)
		case mode == "back-to-back" && (add < 1 || add > steps || del < 1 || del > steps || calls[elbemulator.OpBatchUpdateMembers] != 0):
			t.Errorf("back-to-back: %v, want between 1 and %d batch adds and deletes", calls, steps)
		}
	}
}

// TestBenchWatchIdle: after convergence, an idle controller (with
// --leader-elect, default resync 5m) makes no ELB call and no Kubernetes
// request but its watches and its leader Lease's renewals, counted through
// the proxy.
func TestBenchWatchIdle(t *testing.T) {
	n, window := 10, 5*time.Second
	if benchK8sFull() {
		n, window = 100, 60*time.Second
	}
	const endpoints = 10
	kube, dyn := benchClients(t)
	rc := newRequestCounter(t)
	emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken})
	srv, _ := benchELBServer(t, emu)
	s := setupBench(t, kube, dyn, emu, fmt.Sprintf("bench-widle-%d", n), n, endpoints)
	w := benchWatch(t, rc.cliconfig(t), srv.URL, s, "--leader-elect", "--leader-elect-namespace="+s.nss[0])
	converge(t, emu, s, w, 5*time.Minute, func(int) int { return endpoints })
	settle(t, w, n, 5*time.Minute)
	emu.ResetCounts()
	rc.reset()
	time.Sleep(window)
	calls := emu.Counts()
	_, paths := rc.snapshot()
	var lease, watches, other []string
	nLease, nWatch, nOther := 0, 0, 0
	for p, c := range paths {
		line := fmt.Sprintf("%d %s", c, p)
		switch {
		case strings.HasPrefix(p, "WATCH "):
			watches, nWatch = append(watches, line), nWatch+c
		case strings.HasSuffix(p, "/leases/ccictl-sync"):
			lease, nLease = append(lease, line), nLease+c
		default:
			other, nOther = append(other, line), nOther+c
		}
	}
	for _, l := range [][]string{lease, watches, other} {
		sort.Strings(l)
	}
	perMin := func(c int) string {
		return strconv.FormatFloat(float64(c)*float64(time.Minute)/float64(window), 'f', 1, 64)
	}
	t.Logf("BENCH watch-idle %dx%d over %v: elb=%v; k8s: %s/min other requests %v, %s/min leader Lease %v, %d watch (re)starts %v; maxrss=%.1fMiB load=%s",
		n, endpoints, window, calls, perMin(nOther), other, perMin(nLease), lease, nWatch, watches, w.hwmMiB(), loadavg())
	for op, c := range calls {
		if c != 0 {
			t.Errorf("idle: %d ELB %s call(s), want none", c, op)
		}
	}
	if nOther != 0 {
		t.Errorf("idle: %d Kubernetes requests other than watches and the leader Lease: %v", nOther, other)
	}
	if nLease == 0 {
		t.Errorf("no leader Lease renewal in %v (the count is meant to see them)", window)
	}
	if code, _ := w.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz %d after the idle window", code)
	}
	if t.Failed() {
		// Which binding was reconciled, and why, is in the controller's log.
		t.Logf("controller log:\n%s", tail(w.logged(), 40))
	}
}

// TestBenchWatchMemory: peak RSS (VmHWM) of the controller once every
// binding has converged, its live heap once the first passes are over, and
// the time to converge from start. TestBenchWatchMemoryCCI2 measures the
// same on the CCI 2.0 flavour.
func TestBenchWatchMemory(t *testing.T) {
	kube, dyn := benchClients(t)
	for _, size := range benchMemorySizes(t) {
		n, endpoints := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", n, endpoints), func(t *testing.T) {
			emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken})
			srv, _ := benchELBServer(t, emu)
			start := time.Now()
			s := setupBench(t, kube, dyn, emu, fmt.Sprintf("bench-wmem-%d-%d", n, endpoints), n, endpoints)
			measureWatchMemory(t, "kubernetes", cliconfig, emu, srv.URL, s, time.Since(start))
		})
	}
}

// benchMemorySizes are the memory benches' sizes (bindings × endpoints):
// CI's, the with CCICTL_BENCH_K8S=1, or CCICTL_BENCH_WATCH_MEMORY's.
func benchMemorySizes(t *testing.T) [][2]int {
	t.Helper()
	sizes := [][2]int{{40, 10}}
	if benchK8sFull() {
		sizes = [][2]int{{1000, 50}, {10000, 10}}
	}
	if v := os.Getenv("CCICTL_BENCH_WATCH_MEMORY"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			var b, e int
			if _, err := fmt.Sscanf(f, "%dx%d", &b, &e); err != nil {
				t.Fatalf("CCICTL_BENCH_WATCH_MEMORY=%q: %q is not BINDINGSxENDPOINTS", v, f)
			}
			sizes = append(sizes, [2]int{b, e})
		}
	}
	return sizes
}

// measureWatchMemory runs the controller on cfg (a cliconfig) over s's
// bindings, whose pools are empty, until every pool is filled and the first
// passes are over; it logs the BENCH watch-memory line of the flavour and
// checks that each binding had exactly one pass.
func measureWatchMemory(t *testing.T, flavour, cfg string, emu *elbemulator.Emulator, elbURL string, s *benchSetup, setup time.Duration) *watcher {
	t.Helper()
	n, endpoints := s.bindings, s.endpoints
	// --profiling: /debug/pprof/heap?gc=1 collects before the live heap
	// is read from the metrics.
	args := []string{"--resync-period=1h", "--profiling"}
	profDir := os.Getenv("CCICTL_BENCH_WATCH_PROFILE")
	w := benchWatch(t, cfg, elbURL, s, args...)
	stopSampling := func() {}
	if profDir != "" {
		stopSampling = sampleHeap(t, w, filepath.Join(profDir, flavour, fmt.Sprintf("%dx%d", n, endpoints)))
	}
	took := converge(t, emu, s, w, 30*time.Minute, func(int) int { return endpoints })
	hwm := w.hwmMiB()
	stopSampling()
	settle(t, w, n, 30*time.Minute)
	_, page := w.get("/metrics")
	calls := emu.Counts()
	t.Logf("BENCH watch-memory %dx%d flavour=%s GOMEMLIMIT=%s: setup %v, converged in %v, maxrss=%.1fMiB at convergence, %.1fMiB settled (%s), live heap %.1fMiB settled; reconciles=%.0f elb=%v load=%s",
		n, endpoints, flavour, benchMemLimit(t), setup.Round(time.Second), took.Round(time.Millisecond), hwm, w.hwmMiB(), rssSplit(w), liveHeapMiB(t, w),
		metricSum(page, "ccictl_reconciles_total"), calls, loadavg())
	if gcs := grepLines(w.logged(), "gc "); gcs != "" {
		t.Logf("last GCs (GODEBUG=gctrace=1):\n%s", tail(gcs, 4))
	}
	// One pass per binding: one pool read and one batch add each
	// (its own finalizer write does not queue it again).
	if calls[elbemulator.OpGetPool] != n || calls[elbemulator.OpBatchAddMembers] != n*((endpoints+199)/200) {
		t.Errorf("first passes: ELB calls %v, want exactly %d GetPool and %d BatchAddMembers", calls, n, n*((endpoints+199)/200))
	}
	return w
}

// liveHeapMiB is the watcher's live heap: its heap in use right after a
// collection, which a heap profile request with gc=1 runs.
func liveHeapMiB(t *testing.T, w *watcher) float64 {
	t.Helper()
	if code, body := w.get("/debug/pprof/heap?gc=1"); code != http.StatusOK {
		t.Fatalf("heap profile: %d %.200s", code, body)
	}
	_, page := w.get("/metrics")
	return metricSum(page, "go_memstats_heap_alloc_bytes") / (1 << 20)
}

// rssSplit says how much of the watcher's RSS is its own memory (anonymous:
// heap, stacks, runtime) and how much the binary's pages (file-backed, which
// the kernel can drop and read again under memory pressure).
func rssSplit(w *watcher) string {
	status := fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid)
	return fmt.Sprintf("now anon %.1fMiB + file %.1fMiB", float64(procStatusKB(status, "RssAnon:"))/1024, float64(procStatusKB(status, "RssFile:"))/1024)
}

// sampleHeap writes w's heap profile (as of its last GC) and its RSS to dir
// every second until the returned stop is called, which also writes its
// allocation profile; the RSS timeline says which sample shows the peak.
func sampleHeap(t *testing.T, w *watcher, dir string) (stop func()) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	save := func(path, file string) {
		resp, err := http.Get("http://" + w.metrics + path)
		if err != nil {
			t.Logf("profile %s: %v", path, err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Logf("profile %s: %d %.200s", path, resp.StatusCode, b)
			return
		}
		_ = os.WriteFile(filepath.Join(dir, file), b, 0o644)
	}
	done, finished := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		var timeline strings.Builder
		defer func() { _ = os.WriteFile(filepath.Join(dir, "rss.txt"), []byte(timeline.String()), 0o644) }()
		for tick := time.NewTicker(time.Second); ; {
			select {
			case <-done:
				tick.Stop()
				return
			case <-tick.C:
				sec := int(time.Since(start).Seconds())
				fmt.Fprintf(&timeline, "%3ds rss=%.1fMiB hwm=%.1fMiB\n", sec, float64(procStatusKB(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid), "VmRSS:"))/1024, w.hwmMiB())
				save("/debug/pprof/heap", fmt.Sprintf("heap-%03ds.pprof", sec))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		save("/debug/pprof/allocs", "allocs.pprof")
		_ = os.WriteFile(filepath.Join(dir, "watch.log"), []byte(w.logged()), 0o644)
		t.Logf("heap profiles in %s", dir)
	}
}
