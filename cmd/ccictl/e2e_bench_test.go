package main_test

// Kubernetes-API side of issue 5 (benchmark 3) and the memory of whole
// `ccictl sync` passes (benchmark 4), against the real API server.
//
// A counting reverse proxy sits between ccictl and the API server, so every
// request of a pass is seen. Two sizes run with the same number of
// namespaces; the reads of a pass must be the same at both (lists once per
// namespace, never a GET per binding), the ELB calls must be the documented
// minimum, and every binding must converge. Nothing here is timed: wall
// time and peak RSS are logged for docs/performance.md.
//
// By default the sizes are small (CI). CCICTL_BENCH_K8S=1 runs the issue's
// sizes: 100 and 1,000 bindings × 50 endpoints, and 1 binding × 10,000
// endpoints. The gate only chooses the size: every check applies at both.
//
//	CCICTL_BENCH_K8S=1 CCICTL_LOCALCLUSTER_BIN=$(bash hack/localcluster-bin.sh) \
//	  go test -count=1 -v -timeout 30m -run 'TestBenchK8s' ./cmd/ccictl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openvessel/ccictl/pkg/cmd/root"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

const (
	benchToken     = "e2e-bench-elb-token-51c0"
	benchProject   = "fedcba9876543210fedcba9876543210"
	benchNamespces = 5 // the same at every size, so reads are comparable
)

var plbGVR = schema.GroupVersionResource{Group: "loadbalancer.networking.openvessel.io", Version: "v1", Resource: "poolbindings"}

func benchK8sFull() bool { return os.Getenv("CCICTL_BENCH_K8S") == "1" }

// requestCounter is a reverse proxy to the test API server that counts
// requests by method.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
	paths  map[string]int
	url    string
	// first and last arrival of each method since reset.
	first, last map[string]time.Time
}

func newRequestCounter(t *testing.T) *requestCounter {
	t.Helper()
	return newRequestCounterTo(t, cluster.Server, cluster.CAFile, cluster.Token)
}

// newRequestCounterTo is a requestCounter in front of server, whose
// requests carry token (the CCI 2.0 flavour's tenant endpoint, for one).
func newRequestCounterTo(t *testing.T, server, caFile, token string) *requestCounter {
	t.Helper()
	upstream, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	rc := &requestCounter{}
	rc.reset()
	proxy := &httputil.ReverseProxy{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64},
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Header.Set("Authorization", "Bearer "+token)
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		method := r.Method
		if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
			method = "WATCH" // a long-running watch, not a read
		}
		rc.mu.Lock()
		rc.counts[method]++
		rc.paths[method+" "+pathClass(r.URL.Path)]++
		if _, ok := rc.first[method]; !ok {
			rc.first[method] = now
		}
		rc.last[method] = now
		rc.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

// pathClass replaces namespace and object names so requests group by kind.
func pathClass(p string) string {
	parts := strings.Split(p, "/")
	for i := 1; i < len(parts); i++ {
		if parts[i-1] == "namespaces" || parts[i-1] == "poolbindings" {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, "/")
}

func (rc *requestCounter) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.counts, rc.paths = map[string]int{}, map[string]int{}
	rc.first, rc.last = map[string]time.Time{}, map[string]time.Time{}
}

// phases splits a pass: from its start to the first status write (cluster
// reads, ELB work) and from the first to the last status write.
func (rc *requestCounter) phases(start time.Time) (before, writes time.Duration) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	f, ok := rc.first[http.MethodPut]
	if !ok {
		return 0, 0
	}
	return f.Sub(start), rc.last[http.MethodPut].Sub(f)
}

func (rc *requestCounter) snapshot() (map[string]int, map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	c, p := map[string]int{}, map[string]int{}
	for k, v := range rc.counts {
		c[k] = v
	}
	for k, v := range rc.paths {
		p[k] = v
	}
	return c, p
}

func (rc *requestCounter) cliconfig(t *testing.T) string {
	return writeFile(t, "bench-cliconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster: {server: %s}
contexts:
- name: proxy
  context: {cluster: proxy, user: nobody}
current-context: proxy
users:
- name: nobody
  user: {}
`, rc.url))
}

// benchClients are clients straight to the API server (not counted).
func benchClients(t *testing.T) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	return benchClientsFor(t, cluster.Kubeconfig)
}

// benchClientsFor are the set-up's clients of the cluster of kubeconfig.
func benchClientsFor(t *testing.T, kubeconfig string) (kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kube, dyn
}

// parallel runs f(0..n-1) on 16 workers and fails the test on the first error.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// benchSetup is one size's objects: bindings spread over benchNamespces
// namespaces, each targeting its own selector-less Service whose endpoints
// come from manual EndpointSlices (≤1,000 endpoints each).
type benchSetup struct {
	run       string // label value selecting this size's bindings
	bindings  int
	endpoints int
	pools     []string
	nss       []string // binding i is in nss[i%benchNamespces]
}

func setupBench(t *testing.T, kube kubernetes.Interface, dyn dynamic.Interface, emu *elbemulator.Emulator, run string, bindings, endpoints int) *benchSetup {
	t.Helper()
	ctx := context.Background()
	s := &benchSetup{run: run, bindings: bindings, endpoints: endpoints}
	nss := make([]string, benchNamespces)
	for k := range nss {
		nss[k] = newNamespace(t, fmt.Sprintf("%s-%d", run, k))
	}
	s.nss = nss
	start := time.Now()
	s.createPools(emu)
	target, port, name, proto, ready := int32(8080), int32(80), "http", corev1.ProtocolTCP, true
	parallel(t, bindings, func(i int) error {
		ns, svc := nss[i%benchNamespces], fmt.Sprintf("web-%05d", i)
		_, err := kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: name, Port: port, TargetPort: intstr.FromInt32(target), Protocol: proto}}},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		for first, part := 0, 0; first < endpoints; first, part = first+1000, part+1 {
			slice := &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", svc, part), Namespace: ns, Labels: map[string]string{
					discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "e2e-bench"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &target, Protocol: &proto}},
			}
			for j := first; j < min(first+1000, endpoints); j++ {
				slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
					Addresses:  []string{fmt.Sprintf("10.%d.%d.%d", (j+1)>>16&255, (j+1)>>8&255, (j+1)&255)},
					Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				})
			}
			if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
				return err
			}
		}
		return s.createBinding(ctx, dyn, i, svc, port)
	})
	t.Logf("setup %s: %d bindings × %d endpoints in %d namespaces in %v", run, bindings, endpoints, benchNamespces, time.Since(start).Round(time.Millisecond))
	return s
}

// createPools creates the pool of each binding in emu.
func (s *benchSetup) createPools(emu *elbemulator.Emulator) {
	s.pools = make([]string, s.bindings)
	for i := range s.pools {
		s.pools[i] = fmt.Sprintf("%s-pool-%05d", s.run, i)
		// A pool in use: behind a load balancer's listener (sync warns
		// about a pool that takes no traffic, and these runs allow no warning).
		emu.CreatePool(elb.Pool{ID: s.pools[i], Loadbalancers: []elb.Ref{{ID: "lb-bench"}}, Listeners: []elb.Ref{{ID: "listener-bench"}}})
	}
}

// createBinding creates binding i, labelled with the run, for port of the
// Service svc (group cci/v2, which is core v1 where cci/v2 is not served).
func (s *benchSetup) createBinding(ctx context.Context, dyn dynamic.Interface, i int, svc string, port int32) error {
	ns := s.nss[i%benchNamespces]
	plb := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "loadbalancer.networking.openvessel.io/v1",
		"kind":       "PoolBinding",
		"metadata": map[string]any{"name": fmt.Sprintf("plb-%05d", i), "namespace": ns,
			"labels": map[string]any{"ccictl-bench": s.run}},
		"spec": map[string]any{
			"poolRef":   map[string]any{"id": s.pools[i]},
			"targetRef": map[string]any{"kind": "Service", "group": "cci/v2", "name": svc, "port": int64(port)},
		},
	}}
	_, err := dyn.Resource(plbGVR).Namespace(ns).Create(ctx, plb, metav1.CreateOptions{})
	return err
}

// benchELBServer serves emu and counts the TCP connections clients open.
func benchELBServer(t *testing.T, emu *elbemulator.Emulator) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(emu)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// passStats is one measured `ccictl sync -A` run.
type passStats struct {
	Wall      time.Duration
	MaxRSSKiB int64
	Reads     int // GET requests (lists, discovery, conflict re-reads)
	Writes    int // PUT/PATCH (status writes)
	// LockWrites are the pool locks' requests: a Lease created (POST) and
	// deleted (DELETE) per binding when no other pass holds its pool.
	LockWrites int
	Paths      map[string]int
	ELB        map[string]int
	// UntilStatus is the time to the first status write (reads + ELB);
	// StatusWrites the time from the first to the last status write.
	UntilStatus, StatusWrites time.Duration
	// ELBConns is the TCP connections ccictl opened to the ELB endpoint.
	ELBConns int64
}

// runSyncPass runs one pass over the size's bindings through the proxy.
func runSyncPass(t *testing.T, rc *requestCounter, emu *elbemulator.Emulator, elbURL, cfg string, s *benchSetup) passStats {
	t.Helper()
	rc.reset()
	emu.ResetCounts()
	home := filepath.Join(workDir, "home")
	_ = os.MkdirAll(home, 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ccictlBin, "--cliconfig", cfg, "sync", "-A", "-l", "ccictl-bench="+s.run,
		"--elb-endpoint", elbURL, "--project-id", benchProject)
	cmd.Dir = repoRoot
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"CCICTL_ELB_TOKEN=" + benchToken}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Peak RSS: the child's own VmHWM, sampled until it exits. (getrusage's
	// maxrss of a child started with vfork+exec, as Go starts them, also
	// counts this test process's RSS at the time of the fork.)
	done := make(chan struct{})
	hwm := make(chan int64, 1)
	go func() {
		var last int64
		path := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if v := vmHWM(path); v > 0 {
				last = v
			}
			select {
			case <-done:
				hwm <- last
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(done)
	peak := <-hwm
	if err != nil {
		t.Fatalf("ccictl sync -A -l ccictl-bench=%s: %v\n--- stdout (tail)\n%s\n--- stderr\n%s", s.run, err, tail(out.String(), 20), errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != s.bindings {
		t.Fatalf("%d output lines for %d bindings:\n%s", n, s.bindings, tail(out.String(), 20))
	}
	if strings.Contains(errb.String(), "Warning") {
		t.Fatalf("sync warned: %s", errb.String())
	}
	st := passStats{Wall: wall, ELB: emu.Counts()}
	st.UntilStatus, st.StatusWrites = rc.phases(start)
	st.MaxRSSKiB = peak
	counts, paths := rc.snapshot()
	st.Reads = counts[http.MethodGet]
	st.Writes = counts[http.MethodPut] + counts[http.MethodPatch]
	st.LockWrites = counts[http.MethodPost] + counts[http.MethodDelete]
	st.Paths = paths
	return st
}

// vmHWM reads the "VmHWM:  123 kB" line of a /proc/<pid>/status file (KiB;
// 0 once the process is gone).
func vmHWM(path string) int64 { return procStatusKB(path, "VmHWM:") }

// procStatusKB is one kB field ("VmRSS:") of a /proc/PID/status file, 0 if
// the file or the field is missing.
func procStatusKB(path, field string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb
		}
	}
	return 0
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// wantELBMinimum: a from-empty pass makes 1 get + 1 list + ⌈E/200⌉ adds per
// pool; a no-op pass 1 get + ⌈E/2000⌉ lists and nothing else.
func wantELBMinimum(t *testing.T, st passStats, s *benchSetup, fromEmpty bool) {
	t.Helper()
	ceil := func(a, b int) int { return (a + b - 1) / b }
	want := map[string]int{elbemulator.OpGetPool: s.bindings}
	if fromEmpty {
		want[elbemulator.OpListMembers] = s.bindings
		want[elbemulator.OpBatchAddMembers] = s.bindings * ceil(s.endpoints, elb.MaxBatch)
	} else {
		want[elbemulator.OpListMembers] = s.bindings * ceil(s.endpoints, elb.MaxPageSize)
	}
	for _, op := range []string{elbemulator.OpGetPool, elbemulator.OpListMembers, elbemulator.OpBatchAddMembers,
		elbemulator.OpBatchDeleteMembers, elbemulator.OpUnauthorized, elbemulator.OpUnknown, elbemulator.OpThrottled, elbemulator.OpFaulted} {
		if st.ELB[op] != want[op] {
			t.Errorf("ELB %s calls = %d, want %d (all: %v)", op, st.ELB[op], want[op], st.ELB)
		}
	}
}

func logPass(t *testing.T, label string, s *benchSetup, st passStats) {
	t.Helper()
	keys := make([]string, 0, len(st.Paths))
	for k := range st.Paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n    %5d %s", st.Paths[k], k)
	}
	elbCalls := st.ELB[elbemulator.OpGetPool] + st.ELB[elbemulator.OpListMembers] + st.ELB[elbemulator.OpBatchAddMembers] + st.ELB[elbemulator.OpBatchDeleteMembers]
	t.Logf("BENCH %s %dx%d: wall=%v (to first status write %v, status writes %v) maxrss=%.1fMiB k8s-reads=%d k8s-writes=%d lock-writes=%d elb-calls=%d elb-conns=%d%s",
		label, s.bindings, s.endpoints, st.Wall.Round(time.Millisecond), st.UntilStatus.Round(time.Millisecond), st.StatusWrites.Round(time.Millisecond),
		float64(st.MaxRSSKiB)/1024, st.Reads, st.Writes, st.LockWrites, elbCalls, st.ELBConns, b.String())
}

// TestBenchK8sLargePool: one binding whose Service has many endpoints
// (EndpointSlices of ≤1,000): ELB calls at the minimum, peak RSS logged.
// It runs before TestBenchK8sRequests so that its -A lists do not also
// carry that test's 1,000 Services and EndpointSlices.
func TestBenchK8sLargePool(t *testing.T) {
	endpoints := 2500
	if benchK8sFull() {
		endpoints = 10000
	}
	kube, dyn := benchClients(t)
	rc := newRequestCounter(t)
	cfg := rc.cliconfig(t)
	emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken, MemberQuota: 1 << 20})
	srv, conns := benchELBServer(t, emu)
	s := setupBench(t, kube, dyn, emu, fmt.Sprintf("bench-pool-%d", endpoints), 1, endpoints)
	for _, phase := range []string{"from-empty", "noop"} {
		conns.Store(0)
		st := runSyncPass(t, rc, emu, srv.URL, cfg, s)
		st.ELBConns = conns.Load()
		logPass(t, phase, s, st)
		wantELBMinimum(t, st, s, phase == "from-empty")
		if got := len(emu.Members(s.pools[0])); got != endpoints {
			t.Fatalf("pool holds %d members, want %d", got, endpoints)
		}
	}
}

// TestBenchK8sRequests: the reads of a `sync -A` pass do not grow with the
// number of bindings, but for one GET per binding it writes to while no
// controller advertises its pool lock (the re-read before the first write,
// docs/sync.md); status writes are one per binding.
func TestBenchK8sRequests(t *testing.T) {
	sizes := []int{10, 40}
	if benchK8sFull() {
		sizes = []int{100, 1000}
	}
	const endpoints = 50
	kube, dyn := benchClients(t)
	rc := newRequestCounter(t)
	cfg := rc.cliconfig(t)
	emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken})
	srv, conns := benchELBServer(t, emu)

	reads := map[string][]int{}
	for _, n := range sizes {
		s := setupBench(t, kube, dyn, emu, fmt.Sprintf("bench-k8s-%d", n), n, endpoints)
		for _, phase := range []string{"from-empty", "noop"} {
			conns.Store(0)
			st := runSyncPass(t, rc, emu, srv.URL, cfg, s)
			st.ELBConns = conns.Load()
			logPass(t, phase, s, st)
			wantELBMinimum(t, st, s, phase == "from-empty")
			if st.Writes != n {
				t.Errorf("%s %d bindings: %d write requests, want one status write per binding", phase, n, st.Writes)
			}
			if st.LockWrites != 2*n {
				t.Errorf("%s %d bindings: %d Lease requests, want one create and one delete per binding (no pass competes)", phase, n, st.LockWrites)
			}
			if phase == "from-empty" {
				// Every binding writes, none is advertised: one re-read each.
				st.Reads -= n
			}
			reads[phase] = append(reads[phase], st.Reads)
		}
		if last := len(reads["noop"]) - 1; reads["from-empty"][last] != reads["noop"][last] {
			t.Errorf("%d bindings: %d reads from empty (less one re-read per binding written), %d in a no-op pass: want them equal", n, reads["from-empty"][last], reads["noop"][last])
		}
	}
	for phase, rs := range reads {
		if rs[0] != rs[1] {
			t.Errorf("%s: reads per pass grew with the number of bindings: %d at %d bindings, %d at %d", phase, rs[0], sizes[0], rs[1], sizes[1])
		}
	}
}

// TestBenchK8sProfile runs the 1,000-binding `sync -A` pass in this process
// under the CPU profiler and samples the heap, writing cpu.pprof and
// heap.pprof (alloc_space) to $CCICTL_BENCH_PROFILE (a directory), for the
// explanations in docs/performance.md:
//
//	CCICTL_BENCH_PROFILE=/tmp/prof go test -count=1 -v -run TestBenchK8sProfile ./cmd/ccictl
//	go tool pprof -top -nodecount 25 /tmp/prof/cpu.pprof
//
// Without the variable it profiles 40 bindings into a temporary directory,
// so CI keeps the path working; any failure fails either way.
func TestBenchK8sProfile(t *testing.T) {
	dir, n := os.Getenv("CCICTL_BENCH_PROFILE"), 1000
	if dir == "" {
		// CI: the same profiling path at a small size, so it keeps working.
		dir, n = t.TempDir(), 40
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kube, dyn := benchClients(t)
	rc := newRequestCounter(t)
	cfg := rc.cliconfig(t)
	emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	s := setupBench(t, kube, dyn, emu, fmt.Sprintf("bench-prof-%d", n), n, 50)
	t.Setenv("CCICTL_ELB_TOKEN", benchToken)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())

	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	runtime.GC()
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // heap in use, sampled every 5 ms
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	rc.reset()
	start := time.Now()
	code := root.Main(context.Background(), []string{"--cliconfig", cfg, "sync", "-A", "-l", "ccictl-bench=" + s.run,
		"--elb-endpoint", srv.URL, "--project-id", benchProject},
		genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb})
	wall := time.Since(start)
	pprof.StopCPUProfile()
	close(stop)
	<-sampled
	if code != 0 {
		t.Fatalf("sync exit %d: %s", code, errb.String())
	}
	heap, err := os.Create(filepath.Join(dir, "heap.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer heap.Close()
	if err := pprof.Lookup("allocs").WriteTo(heap, 0); err != nil {
		t.Fatal(err)
	}
	before, writes := rc.phases(start)
	t.Logf("PROFILE %d bindings: wall=%v (to first status write %v, status writes %v), peak heap in use %.1f MiB (test process, includes the emulator)",
		n, wall.Round(time.Millisecond), before.Round(time.Millisecond), writes.Round(time.Millisecond), float64(peak)/(1<<20))
}
