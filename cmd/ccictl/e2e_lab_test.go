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
	ns   string
	pods int32
	// rate is requests/s from clients that open a connection per
	// request, keepAliveRate from clients that reuse theirs, holds the
	// long-lived connections open at a time; all run side by side.
	rate, keepAliveRate, holds int
	// quota is the pool's member quota (0 = 10,000): below old + new pods
	// the rollout must be staged.
	quota    int
	setup    rolloutlab.Setup
	rollouts int
	// report, if set, gets each rollout's report as soon as it is
	// measured, before the rollout is checked.
	report func(rolloutlab.Report)
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
		load := rolloutlab.Load{Addr: l.Addr, Rate: run.rate, KeepAliveRate: run.keepAliveRate, Holds: run.holds, HoldFor: 3 * time.Second}
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
		r := rolloutlab.Report{Scenario: run.ns, Pods: int(run.pods), Rate: load.Rate, Restart: start, Duration: took, LoadStart: m.Start, LoadEnd: m.End,
			Totals: m.Totals(), Clients: m.Clients(), Writes: rolloutlab.WritesOf(calls, int(run.pods), quota),
			Examples: m.Examples, Seconds: m.Seconds(), Samples: obs.Samples(), Events: tl.Events()}
		for _, line := range r.Lines(m.Start) {
			t.Log(line)
		}
		plotPath := filepath.Join(labPlotDir(t), fmt.Sprintf("%s-%d.png", run.ns, i+1))
		if err := r.Plot(plotPath, m.Start, start); err != nil {
			t.Errorf("plot: %v", err)
		}
		var clients []string
		for _, c := range []string{rolloutlab.ClientPerRequest, rolloutlab.ClientKeepAlive} {
			if ct, ok := r.Clients[c]; ok {
				clients = append(clients, fmt.Sprintf("%s ok=%d failed=%d %v", c, ct.OK, ct.Failed, ct.ByKind))
			}
		}
		t.Logf("LAB %s rollout %d: %d pods, %d req/s per request client: rollout %v; requests %s; long-lived connections clean=%d cut=%d; ELB calls %s, member %s; %s; load %s; plot %s; examples %v",
			run.ns, i+1, run.pods, run.rate, took.Round(100*time.Millisecond), strings.Join(clients, ", "),
			r.Totals.ConnClean, r.Totals.ConnCut, writeCalls(calls), r.Writes, r.TimeToTraffic(start).Line(), loadavg(), plotPath, r.Examples)
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
		if run.report != nil {
			run.report(r)
		}
		if settleErr != nil {
			t.Fatalf("rollout: %v\n%s", settleErr, w.logged())
		}
		if r.Totals.OK < run.rate*int(took/time.Second)/2 {
			// A machine too busy to send the load measures itself, not
			// the rollout; the report says how much was sent.
			t.Errorf("only %d requests succeeded in a %v rollout at %d/s: the load did not run (load average %s)", r.Totals.OK, took, run.rate, loadavg())
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
	labSummary(t, rolloutlab.Result{Scenario: "safe", Pods: 5, Reports: rs})
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
	labSummary(t, rolloutlab.Result{Scenario: "unsafe", Pods: 5, Reports: rs})
	r := rs[0]
	if r.Totals.Failed+r.Totals.ConnCut == 0 {
		t.Errorf("unsafe set-up: no failed request and no connection cut; the lab cannot see the failures it exists to show")
	}
}

// TestBenchRolloutLab is the rollout benchmark (docs/performance.md,
// docs/rollouts.md). Per size it rolls the Deployment with the unsafe
// set-up (no gates, no preStop) once, the quota-bound one (safe, on a
// pool whose member quota is below old + new pods, so that new members
// are staged while gates wait) once, and the safe one (gates, preStop
// 5 s, connection_drain) N times, each under three client kinds side by
// side: one request per connection, HTTP keep-alive (each at the rate),
// and long-lived TCP connections. It logs a LAB line per rollout, writes
// a plot per rollout, and prints and writes one table (rolloutlab.Table:
// scenario × size × client kind × rollouts × failed × cut × duration ÷
// unsafe × time to traffic × ELB writes ÷ minimum), rewritten after each
// rollout so that a run stopped early keeps what it measured.
//
// By default it runs at CI size: the quota-bound scenario at 5 pods, one
// rollout at 100 requests/s per client kind (the CI tests above roll the
// safe and unsafe set-ups), asserting that it fails no request and cuts
// no connection. CCICTL_BENCH_K8S=1 runs the sizes (10, 50, 100
// pods, 500 requests/s, 10 safe rollouts):
//
//	CCICTL_BENCH_K8S=1 CCICTL_LAB_PLOTS=/tmp/lab \
//	  CCICTL_LOCALCLUSTER_BIN=$(bash hack/localcluster-bin.sh) \
//	  go test -count=1 -v -timeout 180m -run TestBenchRolloutLab ./cmd/ccictl
//
// CCICTL_BENCH_ROLLOUT=10,50 chooses the sizes (every scenario),
// CCICTL_BENCH_ROLLOUT_RATE the rate per request client kind,
// CCICTL_BENCH_ROLLOUT_N the safe rollouts, CCICTL_BENCH_ROLLOUT_ONLY (a
// regular expression on "SCENARIO-PODS", e.g. '^(safe|unsafe)-50$') the
// scenarios, CCICTL_BENCH_ROLLOUT_TABLE the table's file (default
// rollout-table.md in the plot directory).
func TestBenchRolloutLab(t *testing.T) {
	full := benchK8sFull() || os.Getenv("CCICTL_BENCH_ROLLOUT") != ""
	sizes, scenarios, rate, n, holds := []int{5}, []string{"quota"}, 100, 1, 4
	if full {
		sizes, scenarios, rate, n, holds = []int{10, 50, 100}, []string{"unsafe", "quota", "safe"}, 500, 10, 8
	}
	if v := os.Getenv("CCICTL_BENCH_ROLLOUT"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			pods, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || pods < 1 {
				t.Fatalf("CCICTL_BENCH_ROLLOUT=%q: %q is not a pod count", v, f)
			}
			sizes = append(sizes, pods)
		}
	}
	rate = envInt(t, "CCICTL_BENCH_ROLLOUT_RATE", rate)
	n = envInt(t, "CCICTL_BENCH_ROLLOUT_N", n)
	var only *regexp.Regexp
	if v := os.Getenv("CCICTL_BENCH_ROLLOUT_ONLY"); v != "" {
		var err error
		if only, err = regexp.Compile(v); err != nil {
			t.Fatalf("CCICTL_BENCH_ROLLOUT_ONLY=%q: %v", v, err)
		}
	}
	tablePath := os.Getenv("CCICTL_BENCH_ROLLOUT_TABLE")
	if tablePath == "" {
		tablePath = filepath.Join(labPlotDir(t), "rollout-table.md")
	}
	var results []rolloutlab.Result
	for _, pods := range sizes {
		for _, sc := range scenarios {
			name := fmt.Sprintf("%s-%d", sc, pods)
			if only != nil && !only.MatchString(name) {
				continue
			}
			run := labRun{ns: "lab-" + name, pods: int32(pods), rate: rate, keepAliveRate: rate, holds: holds, setup: labSafe, rollouts: 1}
			switch sc {
			case "unsafe":
				run.setup = labUnsafe
			case "quota":
				run.quota = labStagedQuota(pods)
			case "safe":
				run.rollouts = n
			}
			results = append(results, rolloutlab.Result{Scenario: sc, Pods: pods, Quota: run.quota})
			res := &results[len(results)-1]
			run.report = func(r rolloutlab.Report) {
				res.Reports = append(res.Reports, r)
				if err := os.WriteFile(tablePath, []byte(rolloutlab.Table(results)), 0o644); err != nil {
					t.Error(err)
				}
			}
			t.Run(name, func(t *testing.T) {
				labRollout(t, run)
				labSummary(t, *res)
				if !full {
					for _, r := range res.Reports {
						if r.Totals.Failed != 0 || r.Totals.ConnCut != 0 {
							t.Errorf("%s: %d failed requests %v, %d connections cut; the safe set-up on a full pool must fail none",
								name, r.Totals.Failed, r.Totals.ByKind, r.Totals.ConnCut)
						}
					}
				}
			})
		}
	}
	table := rolloutlab.Table(results)
	t.Logf("LAB TABLE (written to %s)\n%s", tablePath, table)
	if !full {
		// The table holds the CI scenario's three client kinds.
		if got := strings.Count(table, "| quota (quota 6) | 5 | "); got != 3+1 {
			t.Errorf("table has %d rows for the quota scenario, want one per client kind and one of steps:\n%s", got, table)
		}
	}
}

// labStagedQuota is the quota-bound scenario's member quota: the pods
// plus half of maxSurge (at least one), below the old + new pods a
// rollout holds at once, so that new members wait for old ones to leave.
func labStagedQuota(pods int) int {
	surge := (pods*rolloutlab.MaxSurgePercent + 99) / 100
	return pods + max(1, surge/2)
}

// labSummary logs a scenario's result: its rows of the benchmark's table
// (LAB SUMMARY).
func labSummary(t *testing.T, r rolloutlab.Result) {
	t.Logf("LAB SUMMARY %s-%d\n%s", r.Scenario, r.Pods, rolloutlab.Table([]rolloutlab.Result{r}))
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
