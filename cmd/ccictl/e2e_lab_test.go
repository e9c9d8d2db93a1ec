package main_test

// The rollout lab in CI: a Deployment rolled by kube-controller-manager
// under real traffic through the ELB emulator's pool listener, with
// `ccictl sync --watch` keeping the pool in step (pkg/rolloutlab).

import (
	"context"
	"path/filepath"
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

// labRollout rolls a 5-pod Deployment once under load and returns what
// the clients saw.
func labRollout(t *testing.T, ns string, setup rolloutlab.Setup) rolloutlab.Report {
	labKwok(t)
	e := newSyncEnvWith(t, ns, elbemulator.Options{MemberQuota: 10000})
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
	if setup.Gate != "" {
		setup.Gate = lbv1.ReadinessGateConditionType("lab")
	}

	runner := &rolloutlab.PodRunner{Kube: e.kube, Namespace: ns, Events: tl.Add}
	go func() { _ = runner.Run(ctx) }()
	obs := &rolloutlab.Observer{Emu: e.emu, Pool: syncPool, Timeline: tl}
	go obs.Run(ctx)
	w := e.watch()
	defer w.stop()

	d := rolloutlab.Deployment(ns, "web", labNode, 5, setup)
	if _, err := e.kube.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rolloutlab.WaitSettled(ctx, e.kube, e.emu, ns, "web", syncPool, 3*time.Minute); err != nil {
		t.Fatalf("before the rollout: %v\n%s", err, w.logged())
	}

	load := rolloutlab.Load{Addr: l.Addr, Rate: 100, Holds: 4, HoldFor: 3 * time.Second}
	lctx, stopLoad := context.WithCancel(ctx)
	done := make(chan *rolloutlab.Measurement, 1)
	go func() { done <- load.Run(lctx) }()
	time.Sleep(2 * time.Second)
	start := time.Now()
	tl.Add(rolloutlab.Event{At: start, Kind: "restart"})
	if err := rolloutlab.Restart(ctx, e.kube, ns, "web"); err != nil {
		t.Fatal(err)
	}
	settleErr := rolloutlab.WaitSettled(ctx, e.kube, e.emu, ns, "web", syncPool, 4*time.Minute)
	took := time.Since(start)
	time.Sleep(2 * time.Second)
	stopLoad()
	m := <-done
	r := rolloutlab.Report{Scenario: ns, Pods: 5, Rate: load.Rate, Duration: took, Totals: m.Totals(),
		Examples: m.Examples, Seconds: m.Seconds(), Samples: obs.Samples(), Events: tl.Events()}
	for _, line := range r.Lines(m.Start) {
		t.Log(line)
	}
	t.Logf("%s: rollout %v; requests ok=%d failed=%d %v; long-lived connections clean=%d cut=%d; examples %v",
		ns, took.Round(100*time.Millisecond), r.Totals.OK, r.Totals.Failed, r.Totals.ByKind, r.Totals.ConnClean, r.Totals.ConnCut, r.Examples)
	if settleErr != nil {
		t.Fatalf("rollout: %v\n%s", settleErr, w.logged())
	}
	if r.Totals.OK < 100*int(took/time.Second) {
		t.Fatalf("only %d requests succeeded in a %v rollout at 100/s: the load did not run", r.Totals.OK, took)
	}
	return r
}

// TestRolloutLabSafeSetUpFailsNothing: with readiness gates, a preStop
// sleep and connection_drain, a rolling update under 100 requests/s and
// long-lived connections fails no request and cuts no connection.
func TestRolloutLabSafeSetUpFailsNothing(t *testing.T) {
	r := labRollout(t, "lab-safe", rolloutlab.Setup{Gate: "yes", PreStop: 5 * time.Second, Grace: 15 * time.Second, Startup: time.Second})
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
	r := labRollout(t, "lab-unsafe", rolloutlab.Setup{Grace: 15 * time.Second, Startup: time.Second})
	if r.Totals.Failed+r.Totals.ConnCut == 0 {
		t.Errorf("unsafe set-up: no failed request and no connection cut; the lab cannot see the failures it exists to show")
	}
}
