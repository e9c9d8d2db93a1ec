package main_test

// End-to-end tests of `ccictl sync --watch`: the built binary as a
// controller against the real API server (the real EndpointSlice
// controller publishing the test pods) and the ELB emulator.

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// watcher is a running `sync --watch` and what it has logged.
type watcher struct {
	t       *testing.T
	cmd     *exec.Cmd
	mu      sync.Mutex
	log     strings.Builder
	metrics string // the address it serves metrics on
	done    chan error
}

var metricsAddr = regexp.MustCompile(`"Serving metrics and probes".*"address":"([^"]+)"`)

// watch starts `ccictl sync --watch -n NS` with JSON logs and metrics on a
// free port, and stops it (SIGTERM) at the end of the test.
func (e *syncEnv) watch(args ...string) *watcher {
	e.t.Helper()
	return startWatcher(e.t, func(stderr io.Writer, watchArgs ...string) *exec.Cmd {
		return e.start(io.Discard, stderr, append(watchArgs, args...)...)
	})
}

// startWatcher runs start with the flags every watcher gets (JSON logs,
// metrics on a free port) and waits until it serves metrics.
func startWatcher(t *testing.T, start func(stderr io.Writer, watchArgs ...string) *exec.Cmd) *watcher {
	t.Helper()
	pr, pw := io.Pipe()
	w := &watcher{t: t, done: make(chan error, 1)}
	w.cmd = start(pw, "--watch", "--log-format=json", "--metrics-bind-address=127.0.0.1:0")
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			w.mu.Lock()
			w.log.WriteString(line + "\n")
			w.mu.Unlock()
			if m := metricsAddr.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { err := w.cmd.Wait(); pw.Close(); w.done <- err }()
	t.Cleanup(func() { w.stop() })
	select {
	case w.metrics = <-found:
	case err := <-w.done:
		t.Fatalf("sync --watch exited early (%v):\n%s", err, w.logged())
	case <-time.After(30 * time.Second):
		t.Fatalf("sync --watch did not serve metrics within 30s:\n%s", w.logged())
	}
	return w
}

func (w *watcher) logged() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.String()
}

// stop sends SIGTERM and returns the exit error and how long the exit took.
func (w *watcher) stop() (error, time.Duration) {
	if w.cmd.ProcessState != nil {
		return nil, 0
	}
	start := time.Now()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		w.done <- err
		return err, time.Since(start)
	case <-time.After(30 * time.Second):
		// SIGQUIT makes the Go runtime print every goroutine: the log then
		// shows what did not stop.
		_ = w.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			_ = w.cmd.Process.Kill()
		}
		w.t.Errorf("sync --watch did not stop within 30s of SIGTERM:\n%s", w.logged())
		return fmt.Errorf("killed"), time.Since(start)
	}
}

func (w *watcher) get(path string) (int, string) {
	w.t.Helper()
	resp, err := http.Get("http://" + w.metrics + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// eventually polls cond every 100 ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool, log func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v\ncontroller log:\n%s", what, d, log())
}

// The pool follows the Service while the controller runs: pods added,
// pods no longer ready, members removed by hand (repaired at the resync),
// the binding deleted (its members removed, then its finalizer); nothing
// is called on the ELB while nothing changes; SIGTERM ends it cleanly.
func TestSyncWatchFollowsTheService(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch")
	e.pool(syncPool)
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.pods("web", readyPod("web-1", "10.30.0.1"), readyPod("web-2", "10.30.0.2"))
	uid := e.binding("test-c1", syncPool, "web", 80)
	mark := markerOf(e.ns, "test-c1", uid)
	e.waitSlices("web", "10.30.0.1:8080", "10.30.0.2:8080")

	w := e.watch("--coalesce=100ms", "--resync-period=4s")
	has := func(want map[string]string) func() bool {
		return func() bool {
			got := e.members(syncPool)
			if len(got) != len(want) {
				return false
			}
			for k, v := range want {
				if got[k] != v {
					return false
				}
			}
			return true
		}
	}
	eventually(t, 30*time.Second, "first pass", has(owned(mark, "10.30.0.1:8080", "10.30.0.2:8080")), w.logged)
	if got := e.jsonpath("test-c1", `{.metadata.finalizers}`); !strings.Contains(got, "loadbalancer.networking.openvessel.io/members") {
		t.Errorf("finalizers %s, want the members finalizer", got)
	}
	eventually(t, 10*time.Second, "status Synced=True", func() bool {
		return e.jsonpath("test-c1", `{.status.conditions[?(@.type=="Synced")].status}`) == "True"
	}, w.logged)

	// A new ready pod and a pod that stops being ready.
	e.pods("web", readyPod("web-3", "10.30.0.3"))
	e.setPodStatus("web-1", "10.30.0.1", false)
	eventually(t, 30*time.Second, "pool follows pod changes", has(owned(mark, "10.30.0.2:8080", "10.30.0.3:8080")), w.logged)

	// Idle: no Kubernetes change, no ELB call (the controller's own status
	// writes must not come back to it as changes). The window ends well
	// before the first resync (4s after the last reconcile).
	time.Sleep(500 * time.Millisecond)
	e.emu.ResetCounts()
	time.Sleep(2 * time.Second)
	for op, n := range e.emu.Counts() {
		if n != 0 {
			t.Errorf("idle: %d ELB %s call(s), want none", n, op)
		}
	}

	// Drift: a member removed by hand comes back at the resync.
	var gone elb.Member
	for _, m := range e.emu.Members(syncPool) {
		if m.Address == "10.30.0.2" {
			gone = m
		}
	}
	if err := e.emu.RemoveMemberDirect(syncPool, gone.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "drift repaired at the resync", has(owned(mark, "10.30.0.2:8080", "10.30.0.3:8080")), w.logged)

	// Probes and metrics.
	if code, body := w.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %s", code, body)
	}
	_, metrics := w.get("/metrics")
	for _, name := range []string{"ccictl_reconciles_total", "ccictl_reconcile_duration_seconds", "ccictl_elb_calls_total", "ccictl_elb_requests_total", "ccictl_workqueue_depth"} {
		if !strings.Contains(metrics, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if strings.Contains(w.logged(), syncToken) {
		t.Error("the controller logged the ELB token")
	}

	// Deleting the binding removes its members, then its finalizer.
	mustSucceed(t, ccictl(t, "delete", "plb", "test-c1", "-n", e.ns, "--wait=false"))
	eventually(t, 30*time.Second, "members removed after delete", func() bool { return len(e.members(syncPool)) == 0 }, w.logged)
	eventually(t, 30*time.Second, "binding gone (finalizer removed)", func() bool {
		_, dyn := benchClients(t)
		_, err := dyn.Resource(plbGVR).Namespace(e.ns).Get(e.ctx(), "test-c1", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, w.logged)

	err, took := w.stop()
	if err != nil {
		t.Errorf("sync --watch after SIGTERM: %v\n%s", err, w.logged())
	}
	t.Logf("SIGTERM to exit: %v", took)
}

var leaderGauge = regexp.MustCompile(`(?m)^ccictl_leader (\d)`)

// leads reports whether the watcher says, in its metrics, that it holds
// the leader-election Lease.
func (w *watcher) leads() bool {
	resp, err := http.Get("http://" + w.metrics + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := leaderGauge.FindSubmatch(body)
	return m != nil && string(m[1]) == "1"
}

// countingEndpoint is another ELB endpoint onto this env's emulator that
// counts the calls through it: which replica spoke to the ELB.
func (e *syncEnv) countingEndpoint() (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		e.emu.ServeHTTP(w, r)
	}))
	e.t.Cleanup(srv.Close)
	return srv.URL, &n
}

// Two replicas with --leader-elect: only the leader calls the ELB; after
// SIGTERM the standby leads within 3 s (the Lease is released); after
// SIGKILL within the lease duration; the pool follows the Service
// throughout, without a duplicate member.
func TestSyncWatchLeaderElection(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-ha")
	e.pool(syncPool)
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.pods("web", readyPod("web-1", "10.31.0.1"))
	mark := markerOf(e.ns, "test-c1", e.binding("test-c1", syncPool, "web", 80))
	e.waitSlices("web", "10.31.0.1:8080")
	le := func(url string) []string {
		return []string{"--leader-elect", "--leader-elect-namespace=" + e.ns, "--leader-elect-lease-duration=4s",
			"--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms", "--resync-period=1h", "--elb-endpoint=" + url}
	}
	urlA, callsA := e.countingEndpoint()
	urlB, callsB := e.countingEndpoint()
	a, b := e.watch(le(urlA)...), e.watch(le(urlB)...)
	logs := func() string { return "replica A:\n" + a.logged() + "replica B:\n" + b.logged() }
	eventually(t, 30*time.Second, "one leader", func() bool { return a.leads() != b.leads() }, logs)
	eventually(t, 30*time.Second, "first pass", func() bool { return len(e.members(syncPool)) == 1 }, logs)
	leader, standby, standbyCalls := a, b, callsB
	if b.leads() {
		leader, standby, standbyCalls = b, a, callsA
	}
	if n := standbyCalls.Load(); n != 0 {
		t.Errorf("the standby made %d ELB call(s), want none", n)
	}

	start := time.Now()
	if err, _ := leader.stop(); err != nil {
		t.Errorf("leader after SIGTERM: %v", err)
	}
	eventually(t, 10*time.Second, "standby leads after SIGTERM", standby.leads, logs)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("handover after SIGTERM took %v, want under 3s", took)
	} else {
		t.Logf("handover after SIGTERM: %v", took)
	}
	e.pods("web", readyPod("web-2", "10.31.0.2"))
	eventually(t, 30*time.Second, "new leader follows a pod change", func() bool { return len(e.members(syncPool)) == 2 }, logs)

	// A fresh standby; then the leader dies without releasing the Lease.
	c := e.watch(le(urlA)...)
	eventually(t, 30*time.Second, "fresh replica ready", func() bool { code, _ := c.get("/readyz"); return code == http.StatusOK }, c.logged)
	if c.leads() {
		t.Fatal("a second leader")
	}
	start = time.Now()
	_ = standby.cmd.Process.Kill()
	eventually(t, 15*time.Second, "takeover after SIGKILL", c.leads, c.logged)
	took := time.Since(start)
	if took > 4*time.Second+2*time.Second {
		t.Errorf("takeover after SIGKILL took %v, want within the 4s lease duration (plus one retry)", took)
	}
	t.Logf("takeover after SIGKILL: %v", took)
	e.setPodStatus("web-1", "10.31.0.1", false)
	eventually(t, 30*time.Second, "the last leader follows", func() bool {
		m := e.members(syncPool)
		return len(m) == 1 && m["10.31.0.2:8080"] == mark
	}, c.logged)
}

// A burst of endpoint changes to one binding is coalesced into one
// reconcile: 200 endpoints written as 20 EndpointSlices at once take at
// most ⌈200/200⌉ + 1 batch-add calls.
func TestSyncWatchCoalescesBursts(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-burst")
	e.pool(syncPool)
	e.manualSlice("web", 80, 8080, addrs("10.32", 1, 1))
	e.binding("test-c1", syncPool, "web", 80)
	// A window wider than the default 200 ms: the 20 writes must land in
	// it on a loaded CI machine too; the mechanism is the same.
	w := e.watch("--coalesce=1s", "--resync-period=1h")
	eventually(t, 30*time.Second, "first pass", func() bool { return len(e.members(syncPool)) == 1 }, w.logged)
	time.Sleep(300 * time.Millisecond)
	e.emu.ResetCounts()
	ready, name, proto, target := true, "http", corev1.ProtocolTCP, int32(8080)
	start := time.Now()
	parallel(t, 20, func(i int) error {
		sl := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-burst-%d", i), Namespace: e.ns, Labels: map[string]string{
				discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "e2e-sync-test"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &target, Protocol: &proto}},
		}
		for j := 1; j <= 10; j++ {
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.33.%d.%d", i, j)}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		_, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).Create(e.ctx(), sl, metav1.CreateOptions{})
		return err
	})
	t.Logf("200 endpoints written in %v", time.Since(start))
	eventually(t, 30*time.Second, "201 members", func() bool { return len(e.members(syncPool)) == 201 }, w.logged)
	if adds := e.emu.Counts()[elbemulator.OpBatchAddMembers]; adds > 2 {
		t.Errorf("%d batch-add calls for a burst of 200 endpoints, want at most 2\n%s", adds, w.logged())
	}
}

// The one-shot pass and the controller make the same pools and statuses
// from the same state: two emulators seeded alike, one synced by
// `ccictl sync`, the other by `ccictl sync --watch`.
func TestSyncWatchMatchesOneShot(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-same")
	other := elbemulator.New(elbemulator.Options{MemberQuota: 10000, ProjectID: syncProject, Token: syncToken})
	srv := httptest.NewServer(other)
	t.Cleanup(srv.Close)
	const shared = "5f6e7d8c-0000-4000-8000-00000000beef"
	for _, emu := range []*elbemulator.Emulator{e.emu, other} {
		for _, id := range []string{syncPool, shared} {
			emu.CreatePool(elb.Pool{ID: id, Name: "pool-" + id[:8]})
		}
		// A foreign member and another cluster's, in the shared pool.
		if _, err := emu.AddMemberDirect(shared, elb.Member{Name: "hand-made", Address: "10.34.9.9", ProtocolPort: 8080}); err != nil {
			t.Fatal(err)
		}
		if _, err := emu.AddMemberDirect(shared, elb.Member{Name: "ccictl:other-cluster:x/y:00000000-0000-4000-8000-000000000001", Address: "10.34.9.8", ProtocolPort: 8080}); err != nil {
			t.Fatal(err)
		}
	}
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.service("api", 80, intstr.FromInt32(8080), map[string]string{"app": "api"}, nil)
	e.pods("web", readyPod("web-1", "10.34.0.1"), readyPod("web-2", "10.34.0.2"))
	e.pods("api", readyPod("api-1", "10.34.1.1"))
	e.binding("b-web", syncPool, "web", 80)
	e.binding("b-api", shared, "api", 80)
	e.binding("b-web-too", shared, "web", 80)
	e.binding("b-gone", shared, "absent", 80)
	e.waitSlices("web", "10.34.0.1:8080", "10.34.0.2:8080")
	e.waitSlices("api", "10.34.1.1:8080")

	statuses := func() string {
		// Times differ between the runs; everything else must not.
		out := mustSucceed(t, ccictl(t, "get", "plb", "-n", e.ns, "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.desiredMembers} {.status.registeredMembers} {.status.foreignMembers} {range .status.conditions[*]}{.type}={.status}/{.reason}:{.message} {end}{"\n"}{end}`)).Stdout
		return out
	}
	// Two passes each: the bindings of the shared pool take turns under
	// its lock, so what one counts as foreign depends on which went first;
	// the second pass (a resync, for the controller) sees the settled pool.
	for i := 0; i < 2; i++ {
		if r := e.sync(); r.Code != 1 { // b-gone has no Service
			t.Fatalf("one-shot pass %d: %s", i+1, r)
		}
	}
	fromOneShot := statuses()
	syncTimes := func() []string {
		return strings.Fields(mustSucceed(t, ccictl(t, "get", "plb", "-n", e.ns, "-o", `jsonpath={range .items[*]}{.status.lastSyncTime}{" "}{end}`)).Stdout)
	}
	oneShotTimes := syncTimes()
	if len(oneShotTimes) != 4 {
		t.Fatalf("lastSyncTime of the one-shot pass: %q", oneShotTimes)
	}

	w := e.watch("--elb-endpoint="+srv.URL, "--resync-period=2s")
	pools := func(emu *elbemulator.Emulator, id string) map[string]string {
		out := map[string]string{}
		for _, m := range emu.Members(id) {
			out[fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort)] = fmt.Sprintf("%s w=%d", m.Name, m.Weight)
		}
		return out
	}
	for _, id := range []string{syncPool, shared} {
		want := pools(e.emu, id)
		eventually(t, 30*time.Second, "pool "+id+" as the one-shot pass left it", func() bool {
			return fmt.Sprint(pools(other, id)) == fmt.Sprint(want)
		}, func() string { return fmt.Sprintf("one-shot %v\nwatch    %v\n%s", want, pools(other, id), w.logged()) })
	}
	// Every status written again by the controller (lastSyncTime is in
	// whole seconds), then the same as the one-shot pass's.
	eventually(t, 20*time.Second, "statuses written by the controller", func() bool {
		now := syncTimes()
		for i := range now {
			if i >= len(oneShotTimes) || now[i] == oneShotTimes[i] {
				return false
			}
		}
		return len(now) == 4
	}, w.logged)
	eventually(t, 20*time.Second, "statuses as the one-shot pass wrote them", func() bool { return statuses() == fromOneShot },
		func() string { return "one-shot:\n" + fromOneShot + "watch:\n" + statuses() + w.logged() })
}

// gatedPods creates pods app=app that declare the readiness gate of
// binding, Running with their containers ready but not Ready (as a kubelet
// reports a pod whose gate is not True yet).
func (e *syncEnv) gatedPods(app, binding string, ips ...string) {
	e.t.Helper()
	gate := corev1.PodConditionType(lbv1.ReadinessGateConditionType(binding))
	for i, ip := range ips {
		name := fmt.Sprintf("%s-gated-%d", app, i+1)
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{NodeName: syncNode, ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate}},
				Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
		}
		p, err := e.kube.CoreV1().Pods(e.ns).Create(e.ctx(), p, metav1.CreateOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		now := metav1.Now()
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: now, Reason: "ReadinessGatesNotReady"},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}}
		if _, err := e.kube.CoreV1().Pods(e.ns).UpdateStatus(e.ctx(), p, metav1.UpdateOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// setContainersReady sets a pod's ContainersReady condition.
func (e *syncEnv) setContainersReady(pod string, ready bool) {
	e.t.Helper()
	p, err := e.kube.CoreV1().Pods(e.ns).Get(e.ctx(), pod, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.ContainersReady {
			p.Status.Conditions[i].Status, p.Status.Conditions[i].LastTransitionTime = st, metav1.Now()
		}
	}
	if _, err := e.kube.CoreV1().Pods(e.ns).UpdateStatus(e.ctx(), p, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *syncEnv) podCondition(pod string, t corev1.PodConditionType) *corev1.PodCondition {
	e.t.Helper()
	p, err := e.kube.CoreV1().Pods(e.ns).Get(e.ctx(), pod, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// Pods that declare the binding's readiness gate are registered although
// not Ready, get the condition False while their member is INITIAL or
// OFFLINE (with the ELB's reason code) and True once it is ONLINE.
func TestSyncWatchReadinessGates(t *testing.T) {
	e := newSyncEnvWith(t, "e2e-watch-gates", elbemulator.Options{MemberQuota: 10000, HealthDelay: 2 * time.Second})
	e.emu.CreatePool(elb.Pool{ID: syncPool, Name: "gated", HealthmonitorID: "hm-1"})
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	if err := e.emu.SetOffline(syncPool, "10.35.0.2", "CONNECT_REFUSED"); err != nil {
		t.Fatal(err)
	}
	e.binding("test-c1", syncPool, "web", 80)
	e.gatedPods("web", "test-c1", "10.35.0.1", "10.35.0.2")
	gate := corev1.PodConditionType(lbv1.ReadinessGateConditionType("test-c1"))
	w := e.watch("--resync-period=1h")
	eventually(t, 30*time.Second, "gated pods registered", func() bool { return len(e.members(syncPool)) == 2 }, w.logged)
	eventually(t, 10*time.Second, "gate False while INITIAL", func() bool {
		c := e.podCondition("web-gated-1", gate)
		return c != nil && c.Status == corev1.ConditionFalse
	}, w.logged)
	start := time.Now()
	eventually(t, 15*time.Second, "gate True once ONLINE", func() bool {
		c := e.podCondition("web-gated-1", gate)
		return c != nil && c.Status == corev1.ConditionTrue
	}, w.logged)
	// The member turns ONLINE 2 s after it was added; polls are 2 s apart.
	t.Logf("gate True %v after it was seen False (member ONLINE 2s after creation)", time.Since(start))
	// While a gate is pending (web-gated-2's member is OFFLINE) and nothing
	// else changes, each 2 s poll is one member list: no pool read, no pass.
	e.emu.ResetCounts()
	time.Sleep(4500 * time.Millisecond)
	if n := e.emu.Counts(); n[elbemulator.OpListMembers] < 1 || n[elbemulator.OpGetPool] != 0 || n[elbemulator.OpBatchAddMembers] != 0 {
		t.Errorf("calls while a gate is pending: %v, want member lists only", n)
	} else {
		t.Logf("calls in 4.5 s while a gate is pending: %d member list(s)", n[elbemulator.OpListMembers])
	}
	c := e.podCondition("web-gated-2", gate)
	if c == nil || c.Status != corev1.ConditionFalse || c.Reason != "CONNECT_REFUSED" {
		t.Errorf("gate of the OFFLINE pod's member: %+v, want False with reason CONNECT_REFUSED", c)
	}
	if ready := e.podCondition("web-gated-1", corev1.ContainersReady); ready == nil || ready.Status != corev1.ConditionTrue {
		t.Errorf("the gate patch changed another condition: ContainersReady %+v", ready)
	}
	// The member recovers: its gate opens, and with no gate pending the
	// controller stops polling the pool's health.
	if err := e.emu.SetOffline(syncPool, "10.35.0.2", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "recovered member's gate True", func() bool {
		c := e.podCondition("web-gated-2", gate)
		return c != nil && c.Status == corev1.ConditionTrue
	}, w.logged)
	time.Sleep(2500 * time.Millisecond) // a poll already queued runs out
	e.emu.ResetCounts()
	time.Sleep(2500 * time.Millisecond)
	if n := e.emu.Counts()[elbemulator.OpListMembers]; n != 0 {
		t.Errorf("%d member lists with no gate pending, want none", n)
	}

	// A gated pod whose containers become ready later is registered then:
	// its own update queues the binding (no EndpointSlice change says so,
	// and no gate is pending to poll).
	e.gatedPods("late", "test-c1", "10.35.0.3")
	e.setContainersReady("late-gated-1", false)
	patchLabels := func() {
		p, err := e.kube.CoreV1().Pods(e.ns).Get(e.ctx(), "late-gated-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Labels["app"] = "web"
		if _, err := e.kube.CoreV1().Pods(e.ns).Update(e.ctx(), p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patchLabels()
	e.waitEndpoints("web", "listed", func(discoveryv1.EndpointConditions) bool { return true }, []string{"10.35.0.1:8080", "10.35.0.2:8080", "10.35.0.3:8080"})
	time.Sleep(500 * time.Millisecond)
	if n := len(e.members(syncPool)); n != 2 {
		t.Fatalf("%d members: a gated pod whose containers are not ready must not be registered", n)
	}
	e.setContainersReady("late-gated-1", true)
	eventually(t, 10*time.Second, "late gated pod registered once its containers are ready", func() bool { return len(e.members(syncPool)) == 3 }, w.logged)

	_, metrics := w.get("/metrics")
	if !strings.Contains(metrics, "ccictl_readiness_gate_latency_seconds_count 2") {
		t.Errorf("/metrics has no gate latency sample:\n%s", grepLines(metrics, "gate"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Where Nodes may be listed the controller caches them, so a node-selector
// binding takes the endpoints on its node pool's nodes, as one-shot sync.
func TestSyncWatchNodeSelector(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-nodes")
	e.pool(syncPool)
	e.node("watch-edge-1", map[string]string{"pool": "edge"})
	e.node("watch-core-1", map[string]string{"pool": "core"})
	e.zonedSlice("web", 80, 8080,
		zonedEndpoint{"10.36.0.1", "", "watch-edge-1"},
		zonedEndpoint{"10.36.0.2", "", "watch-core-1"},
	)
	uid := e.zonedBinding("edge", syncPool, "web", 80, map[string]string{lbv1.NodeSelectorAnnotation: "pool=edge"})
	w := e.watch("--resync-period=1h")
	eventually(t, 30*time.Second, "the edge node's endpoint only", func() bool {
		m := e.members(syncPool)
		return len(m) == 1 && m["10.36.0.1:8080"] == markerOf(e.ns, "edge", uid)
	}, w.logged)
}
