package main_test

// The rollout lab in CI: a Deployment rolled by kube-controller-manager
// under real traffic through the ELB emulator's pool listener, with
// `ccictl sync --watch` keeping the pool in step (pkg/rolloutlab).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/rolloutlab"
)

const labNode = "rolloutlab-node"

var (
	labKwokOnce sync.Once
	labKwokErr  error
)

// labKwok runs one kwok for the package's lab tests, stopped by the
// cluster's end (it dies with the test binary).
func labKwok(t *testing.T) {
	t.Helper()
	labKwokOnce.Do(func() {
		bin, err := rolloutlab.KwokBinary(repoRoot)
		if err != nil {
			labKwokErr = err
			return
		}
		_, labKwokErr = rolloutlab.StartKwok(context.Background(), bin, cluster.Kubeconfig,
			filepath.Join(workDir, "kwok"), labNode, "10.77.0.0/16", kubeFor(t))
	})
	if labKwokErr != nil {
		t.Fatalf("kwok: %v", labKwokErr)
	}
}

// labRun is one lab scenario.
type labRun struct {
	ns        string
	pods      int32
	rate      int
	keepAlive bool
	holds     int
	// quota is the pool's member quota (0 = 10,000): below old + new pods
	// the rollout must be staged.
	quota    int
	setup    rolloutlab.Setup
	rollouts int
}

// labRollout deploys the scenario's Deployment, then rolls it
// run.rollouts times (at least once) under load, and returns what the
// clients saw in each rollout. Each rollout's plot is written next to
// the test's logs (its path is logged).
func labRollout(t *testing.T, run labRun) []rolloutlab.Report {
	labKwok(t)
	quota := run.quota
	if quota == 0 {
		quota = 10000
	}
	e := newSyncEnvWith(t, run.ns, elbemulator.Options{MemberQuota: quota})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tl := &rolloutlab.Timeline{}

	// A TCP pool that drains removed members for 10 s (the documented
	// minimum), health-checked over HTTP every second.
	e.emu.CreatePool(elb.Pool{ID: syncPool, Name: "lab", Protocol: "TCP", ConnectionDrain: &elb.ConnectionDrain{Enable: true, Timeout: 10}})
	if _, err := e.emu.SetHealthMonitor(syncPool, &elbemulator.HealthMonitor{Type: "HTTP", Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: 3, URLPath: "/healthz"}); err != nil {
		t.Fatal(err)
	}
	l, err := e.emu.OpenListener(syncPool, "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.binding("lab", syncPool, "web", 80)
	setup := run.setup
	if setup.Gate != "" {
		setup.Gate = lbv1.ReadinessGateConditionType("lab")
	}

	runner := &rolloutlab.PodRunner{Kube: e.kube, Namespace: run.ns, Events: tl.Add}
	go func() { _ = runner.Run(ctx) }()
	obs := &rolloutlab.Observer{Emu: e.emu, Pool: syncPool, Timeline: tl}
	go obs.Run(ctx)
	w := e.watch()
	defer w.stop()

	settle := 3*time.Minute + time.Duration(run.pods)*3*time.Second
	d := rolloutlab.Deployment(run.ns, "web", labNode, run.pods, setup)
	if _, err := e.kube.AppsV1().Deployments(run.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rolloutlab.WaitSettled(ctx, e.kube, e.emu, run.ns, "web", syncPool, settle); err != nil {
		t.Fatalf("before the rollout: %v\n%s", err, w.logged())
	}

	var reports []rolloutlab.Report
	for i := 0; i < max(run.rollouts, 1); i++ {
		load := rolloutlab.Load{Addr: l.Addr, Rate: run.rate, KeepAlive: run.keepAlive, Holds: run.holds, HoldFor: 3 * time.Second}
		lctx, stopLoad := context.WithCancel(ctx)
		done := make(chan *rolloutlab.Measurement, 1)
		go func() { done <- load.Run(lctx) }()
		time.Sleep(2 * time.Second)
		e.emu.ResetCounts()
		start := time.Now()
		tl.Add(rolloutlab.Event{At: start, Kind: "restart"})
		if err := rolloutlab.Restart(ctx, e.kube, run.ns, "web"); err != nil {
			t.Fatal(err)
		}
		settleErr := rolloutlab.WaitSettled(ctx, e.kube, e.emu, run.ns, "web", syncPool, settle)
		took := time.Since(start)
		calls := e.emu.Counts()
		time.Sleep(2 * time.Second)
		stopLoad()
		m := <-done
		r := rolloutlab.Report{Scenario: run.ns, Pods: int(run.pods), Rate: load.Rate, Duration: took, Totals: m.Totals(),
			Writes:   rolloutlab.WritesOf(calls, int(run.pods), quota),
			Examples: m.Examples, Seconds: m.Seconds(), Samples: obs.Samples(), Events: tl.Events()}
		for _, line := range r.Lines(m.Start) {
			t.Log(line)
		}
		plotPath := filepath.Join(labPlotDir(t), fmt.Sprintf("%s-%d.png", run.ns, i+1))
		if err := r.Plot(plotPath, m.Start, start); err != nil {
			t.Errorf("plot: %v", err)
		}
		t.Logf("LAB %s rollout %d: %d pods, %d req/s (keep-alive %v): rollout %v; requests ok=%d failed=%d %v; long-lived connections clean=%d cut=%d; ELB calls %s, member %s; %s; plot %s; examples %v",
			run.ns, i+1, run.pods, run.rate, run.keepAlive, took.Round(100*time.Millisecond), r.Totals.OK, r.Totals.Failed, r.Totals.ByKind,
			r.Totals.ConnClean, r.Totals.ConnCut, writeCalls(calls), r.Writes, r.TimeToTraffic(start).PhaseLine(), plotPath, r.Examples)
		if st := e.emu.Stats(syncPool); st.NoMember+st.BackendFailed+st.Cut > 0 || r.Totals.Failed > 0 {
			t.Logf("ELB listener: %d without a member, %d member unreachable, %d cut by the ELB; timeline:", st.NoMember, st.BackendFailed, st.Cut)
			for _, ev := range r.Events {
				if ev.At.After(m.Start) {
					t.Logf("  %6.2fs %-15s %s %s", ev.At.Sub(m.Start).Seconds(), ev.Kind, ev.Pod, ev.Detail)
				}
			}
			for _, s := range r.Seconds {
				if len(s.Failed) > 0 {
					t.Logf("  failures in second %d: %v", s.At.Unix()-m.Start.Unix(), s.Failed)
				}
			}
		}
		if cuts := m.CutReasons(); len(cuts) > 0 {
			t.Logf("connections cut: %s", strings.Join(cuts, "; "))
		}
		for _, ev := range r.Events {
			if ev.Kind == "error" {
				t.Logf("pod runner: %s %s: %s", ev.At.Format("15:04:05.000"), ev.Pod, ev.Detail)
			}
		}
		if settleErr != nil {
			t.Fatalf("rollout: %v\n%s", settleErr, w.logged())
		}
		if r.Totals.OK < run.rate*int(took/time.Second)/2 {
			t.Fatalf("only %d requests succeeded in a %v rollout at %d/s: the load did not run", r.Totals.OK, took, run.rate)
		}
		reports = append(reports, r)
	}
	return reports
}

// writeCalls is the ELB calls that changed or read members.
func writeCalls(c map[string]int) string {
	return fmt.Sprintf("list=%d add=%d delete=%d update=%d pool=%d quota=%d",
		c[elbemulator.OpListMembers], c[elbemulator.OpBatchAddMembers], c[elbemulator.OpBatchDeleteMembers],
		c[elbemulator.OpBatchUpdateMembers], c[elbemulator.OpGetPool], c[elbemulator.OpGetQuota])
}

// labPlotDir is $CCICTL_LAB_PLOTS, or the test's work directory.
func labPlotDir(t *testing.T) string {
	if d := os.Getenv("CCICTL_LAB_PLOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return workDir
}

var (
	labSafe   = rolloutlab.Setup{Gate: "yes", PreStop: 5 * time.Second, Grace: 15 * time.Second, Startup: time.Second}
	labUnsafe = rolloutlab.Setup{Grace: 15 * time.Second, Startup: time.Second}
)

// TestRolloutLabSafeSetUpFailsNothing: with readiness gates, a preStop
// sleep and connection_drain, a rolling update under 100 requests/s and
// long-lived connections fails no request and cuts no connection.
func TestRolloutLabSafeSetUpFailsNothing(t *testing.T) {
	rs := labRollout(t, labRun{ns: "lab-safe", pods: 5, rate: 100, holds: 4, setup: labSafe})
	labSummary(t, "lab-safe", rs)
	r := rs[0]
	if r.Totals.Failed != 0 || r.Totals.ConnCut != 0 {
		t.Errorf("safe set-up: %d failed requests %v, %d connections cut; want none", r.Totals.Failed, r.Totals.ByKind, r.Totals.ConnCut)
	}
	if r.Totals.ConnClean == 0 {
		t.Errorf("no long-lived connection completed: the lab measured none")
	}
}

// TestRolloutLabUnsafeSetUpShowsFailures: without gates and preStop the
// same rollout fails requests. A lab that cannot see these is blind.
func TestRolloutLabUnsafeSetUpShowsFailures(t *testing.T) {
	rs := labRollout(t, labRun{ns: "lab-unsafe", pods: 5, rate: 100, holds: 4, setup: labUnsafe})
	labSummary(t, "lab-unsafe", rs)
	r := rs[0]
	if r.Totals.Failed+r.Totals.ConnCut == 0 {
		t.Errorf("unsafe set-up: no failed request and no connection cut; the lab cannot see the failures it exists to show")
	}
}

// TestBenchRolloutLab is the rollout benchmark (docs/performance.md,
// docs/rollouts.md): numbers are logged (LAB lines) and plots written,
// nothing timed is asserted. It runs only with CCICTL_BENCH_ROLLOUT set
// to the pod counts, e.g.
//
//	CCICTL_BENCH_ROLLOUT=10,50,100 CCICTL_BENCH_ROLLOUT_RATE=500 CCICTL_BENCH_ROLLOUT_N=10 \
//	  CCICTL_LAB_PLOTS=/tmp/lab CCICTL_LOCALCLUSTER_BIN=$(bash hack/localcluster-bin.sh) \
//	  go test -count=1 -v -timeout 120m -run TestBenchRolloutLab ./cmd/ccictl
//
// Scenarios: safe (gates, preStop 5 s, connection_drain), unsafe (no
// gates, no preStop), quota (safe, with a member quota of pods + 1 so
// that new members must be staged), each with one connection per request
// and, as -keepalive, with reused connections; safe rolls N times.
// CCICTL_BENCH_ROLLOUT_ONLY (a regular expression) picks scenarios by
// name, e.g. 'safe-50$|unsafe-50$'.
func TestBenchRolloutLab(t *testing.T) {
	sizes := os.Getenv("CCICTL_BENCH_ROLLOUT")
	if sizes == "" {
		t.Skip("set CCICTL_BENCH_ROLLOUT=10,50,100 to run the rollout benchmark")
	}
	rate := envInt(t, "CCICTL_BENCH_ROLLOUT_RATE", 500)
	n := envInt(t, "CCICTL_BENCH_ROLLOUT_N", 1)
	var rows []string
	for _, f := range strings.Split(sizes, ",") {
		pods, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pods < 1 {
			t.Fatalf("CCICTL_BENCH_ROLLOUT: %q is not a pod count", f)
		}
		for _, sc := range []struct {
			name     string
			setup    rolloutlab.Setup
			quota    int
			rollouts int
		}{{"safe", labSafe, 0, n}, {"unsafe", labUnsafe, 0, 1}, {"quota", labSafe, pods + 1, 1}} {
			for _, keepAlive := range []bool{false, true} {
				name := fmt.Sprintf("lab-%s-%d", sc.name, pods)
				if keepAlive {
					name += "-keepalive"
				}
				if only := os.Getenv("CCICTL_BENCH_ROLLOUT_ONLY"); only != "" && !regexp.MustCompile(only).MatchString(name) {
					continue
				}
				t.Run(name, func(t *testing.T) {
					rs := labRollout(t, labRun{ns: name, pods: int32(pods), rate: rate, keepAlive: keepAlive, holds: 8,
						quota: sc.quota, setup: sc.setup, rollouts: sc.rollouts})
					rows = append(rows, labSummary(t, name, rs))
				})
			}
		}
	}
	// The table docs/rollouts.md ("Measured") carries.
	t.Log("LAB TABLE\n| scenario | pods | rate | rollouts | failed requests | connections cut | rollout (mean) | ELB writes ÷ minimum |\n|---|---|---|---|---|---|---|---|\n" +
		strings.Join(rows, "\n"))
}

// labSummary logs a scenario's LAB SUMMARY line and returns its row of
// the benchmark's table. ELB writes ÷ minimum is over all its rollouts:
// Σ batch-add, batch-delete and batch-update calls ÷ Σ minimum
// (rolloutlab.MinimumSteps: one add and one delete per step).
func labSummary(t *testing.T, name string, rs []rolloutlab.Report) string {
	failed, cut, ok, held, writes, minimum := 0, 0, 0, 0, 0, 0
	var took time.Duration
	var kinds []string
	for _, r := range rs {
		failed += r.Totals.Failed
		cut += r.Totals.ConnCut
		ok += r.Totals.OK
		held += r.Totals.ConnClean + r.Totals.ConnCut
		took += r.Duration
		writes += r.Writes.Total()
		minimum += r.Writes.Minimum
		for k := range r.Totals.ByKind {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	mean := (took / time.Duration(max(len(rs), 1))).Round(100 * time.Millisecond)
	ratio := 0.0
	if minimum > 0 {
		ratio = float64(writes) / float64(minimum)
	}
	t.Logf("LAB SUMMARY %s: %d rollout(s), failed requests %d, connections cut %d, mean rollout %v, ELB member writes %d ÷ minimum %d = %.2f",
		name, len(rs), failed, cut, mean, writes, minimum, ratio)
	pods, rate := 0, 0
	if len(rs) > 0 {
		pods, rate = rs[0].Pods, rs[0].Rate
	}
	sort.Strings(kinds)
	failedCell := fmt.Sprintf("%d of %d", failed, failed+ok)
	if len(kinds) > 0 {
		failedCell += " (" + strings.Join(kinds, ", ") + ")"
	}
	return fmt.Sprintf("| %s | %d | %d req/s | %d | %s | %d of %d | %.1f s | %d ÷ %d = %.2f |",
		name, pods, rate, len(rs), failedCell, cut, held, mean.Seconds(), writes, minimum, ratio)
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
