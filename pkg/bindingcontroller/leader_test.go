package bindingcontroller

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// waitLeader waits until m reports this replica leading.
func waitLeader(t *testing.T, m *Metrics, within time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	for !isLeader(m) {
		if time.Since(began) > within {
			t.Fatalf("no leadership within %v", within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(began)
}

func isLeader(m *Metrics) bool {
	return gaugeValue(m.leader) == 1
}

// Two replicas: only the Lease holder reconciles; when its context ends it
// stops, releases the Lease, and the standby takes over within 3 s (with
// the default 2 s retry period).
func TestLeaderHandoverOnShutdown(t *testing.T) {
	cfg := restConfig(t)
	c := newClients(t, cfg)
	ns := namespace(t, c)
	createService(t, c, ns, "web", nil)
	createBinding(t, c, ns, "web", "web", nil)
	k := key(ns, "web")
	le := func(id string) *LeaderElectionConfig {
		return &LeaderElectionConfig{Namespace: ns, Name: "ccictl-sync", Identity: id}
	}
	recA, recB := newRecorder(nil), newRecorder(nil)
	mA, mB := NewMetrics(), NewMetrics()
	_, cancelA, doneA := start(t, Config{Kube: c.kube, Dynamic: c.dyn, Namespace: ns, Reconciler: recA, LeaderElection: le("a"), Metrics: mA})
	waitLeader(t, mA, 10*time.Second)
	_, _, _ = start(t, Config{Kube: c.kube, Dynamic: c.dyn, Namespace: ns, Reconciler: recB, LeaderElection: le("b"), Metrics: mB})
	recA.waitCalls(t, k, 1, 5*time.Second)

	// Changes while A leads: A reconciles them, B (warm, caches synced) not.
	for i := range 3 {
		createSlice(t, c, ns, "web-"+string(rune('a'+i)), "web", "10.2.0.1")
		recA.waitCalls(t, k, 2+i, 5*time.Second)
	}
	time.Sleep(500 * time.Millisecond)
	if n := recB.total(); n != 0 || isLeader(mB) {
		t.Fatalf("the standby reconciled %d times (leader gauge %v)", n, gaugeValue(mB.leader))
	}

	stopped := time.Now()
	cancelA()
	select {
	case err := <-doneA:
		if err != nil {
			t.Fatalf("Run of the old leader: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the old leader's Run did not return")
	}
	returned := time.Since(stopped)
	took := time.Since(stopped) + waitLeader(t, mB, 10*time.Second)
	t.Logf("handover on shutdown: old leader returned after %v, standby leading %v after the cancel", returned, took)
	if took >= 3*time.Second {
		t.Errorf("handover took %v, want under 3s", took)
	}
	aCalls := len(recA.callsOf(k))
	recB.waitCalls(t, k, 1, 5*time.Second)
	if isLeader(mA) {
		t.Error("the old leader still reports leading")
	}
	if n := len(recA.callsOf(k)); n != aCalls {
		t.Errorf("the old leader reconciled %d more times after its Run returned", n-aCalls)
	}
	lease, err := c.kube.CoordinationV1().Leases(ns).Get(context.Background(), "ccictl-sync", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "b" {
		t.Errorf("Lease holder %v, want b", lease.Spec.HolderIdentity)
	}
}

// A leader that can no longer renew (its Lease requests fail) stops its
// workers by its renew deadline, and a standby takes over once the Lease
// has expired.
func TestLeaderThatStopsRenewingIsReplaced(t *testing.T) {
	cfg := restConfig(t)
	c := newClients(t, cfg)
	ns := namespace(t, c)
	createService(t, c, ns, "web", nil)
	createBinding(t, c, ns, "web", "web", nil)
	k := key(ns, "web")

	// A talks to the real server through a proxy that can cut off its
	// Lease requests: a partitioned leader.
	var cut atomic.Bool
	proxy, err := cluster.Proxy(func(w http.ResponseWriter, r *http.Request) bool {
		if cut.Load() && strings.Contains(r.URL.Path, "/leases") {
			http.Error(w, "partitioned", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close) // after the controllers using it have stopped
	kubeA, err := kubernetes.NewForConfig(&rest.Config{Host: proxy.URL, QPS: 500, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	timing := func(id string) *LeaderElectionConfig {
		return &LeaderElectionConfig{Namespace: ns, Name: "ccictl-sync", Identity: id,
			LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond}
	}
	recA, recB := newRecorder(nil), newRecorder(nil)
	mA, mB := NewMetrics(), NewMetrics()
	start(t, Config{Kube: kubeA, Dynamic: c.dyn, Namespace: ns, Reconciler: recA, LeaderElection: timing("a"), Metrics: mA, Coalesce: 50 * time.Millisecond})
	waitLeader(t, mA, 10*time.Second)
	start(t, Config{Kube: c.kube, Dynamic: c.dyn, Namespace: ns, Reconciler: recB, LeaderElection: timing("b"), Metrics: mB, Coalesce: 50 * time.Millisecond})
	recA.waitCalls(t, k, 1, 5*time.Second)

	cutAt := time.Now()
	cut.Store(true)
	for isLeader(mA) {
		if time.Since(cutAt) > 5*time.Second {
			t.Fatal("the partitioned leader kept leading 5s after it could no longer renew")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stoppedAfter := time.Since(cutAt)
	took := time.Since(cutAt) + waitLeader(t, mB, 10*time.Second)
	t.Logf("partitioned leader stopped after %v; standby leading %v after the partition (lease duration 3s)", stoppedAfter, took)
	if took > 3*time.Second+2*time.Second {
		t.Errorf("takeover took %v, want within the lease duration plus its retries", took)
	}
	if isLeader(mA) {
		t.Error("two leaders at once")
	}
	aCalls := len(recA.callsOf(k))
	recB.waitCalls(t, k, 1, 5*time.Second)
	createSlice(t, c, ns, "web-x", "web", "10.3.0.1")
	recB.waitCalls(t, k, 2, 5*time.Second)
	if n := len(recA.callsOf(k)); n != aCalls {
		t.Errorf("the replaced leader reconciled %d times after it stopped leading", n-aCalls)
	}
}
