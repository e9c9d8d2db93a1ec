package bindingcontroller

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/cache"
)

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		return -1
	}
	return m.GetGauge().GetValue()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The HTTP endpoints: /readyz is 503 until the caches are synced, /healthz
// 200, and /metrics shows reconciles by result, the duration histogram,
// the leader gauge, the queue, member gauges, the gate latency and the
// ELB counters under the documented names.
func TestMetricsEndpoints(t *testing.T) {
	cfg := restConfig(t)
	c := newClients(t, cfg)
	ns := namespace(t, c)
	createService(t, c, ns, "web", nil)
	createService(t, c, ns, "bad", nil)
	createBinding(t, c, ns, "web", "web", nil)
	createBinding(t, c, ns, "bad", "bad", nil)
	m := NewMetrics()
	rec := newRecorder(func(k cache.ObjectName) Outcome {
		if k.Name == "bad" {
			return Outcome{Err: errors.New("boom"), Result: "Failed"}
		}
		return Outcome{Result: "Synced"}
	})
	ctl, err := New(Config{Kube: c.kube, Dynamic: c.dyn, Namespace: ns, Reconciler: rec, Metrics: m, MaxBackoff: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := ListenAndServe(ctx, "127.0.0.1:0", ctl.Handler())
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr.String()
	if code, _ := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before Run: %d, want 503", code)
	}
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	defer func() { cancel(); <-done }()
	rec.waitCalls(t, key(ns, "web"), 1, 10*time.Second)
	rec.waitCalls(t, key(ns, "bad"), 1, 10*time.Second)
	m.ObserveMembers(ns+"/web", "registered", 7)
	m.ObserveMembers(ns+"/web", "desired", 3)
	m.ObserveMembers(ns+"/web", "registered", 3) // the last value counts
	m.ObserveGateLatency(1500 * time.Millisecond)

	if code, _ := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after sync: %d", code)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`ccictl_reconciles_total{result="Synced"} 1`,
		`ccictl_reconciles_total{result="Failed"} 1`,
		`ccictl_reconcile_duration_seconds_count{result="Synced"} 1`,
		`ccictl_leader 1`,
		`ccictl_workqueue_adds_total{name="poolbindings"} 2`,
		`ccictl_workqueue_depth{name="poolbindings"} 0`,
		`ccictl_workqueue_delayed_adds_total{name="poolbindings"} `,
		`ccictl_workqueue_queue_duration_seconds_count{name="poolbindings"} 2`,
		`ccictl_members{poolbinding="` + ns + `/web",state="registered"} 3`,
		`ccictl_members{poolbinding="` + ns + `/web",state="desired"} 3`,
		"# TYPE ccictl_members gauge",
		`ccictl_readiness_gate_latency_seconds_count 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(body, "ccictl_"))
	}

	// A binding that is deleted loses its member gauges at its last reconcile.
	if err := c.dyn.Resource(plbGVR).Namespace(ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.waitCalls(t, key(ns, "web"), 2, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	if _, body := get(t, base+"/metrics"); strings.Contains(body, `ccictl_members{poolbinding="`+ns+`/web"`) {
		t.Error("the deleted binding's member gauge is still served")
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// An Event recorded on a cached PoolBinding reaches the real server, on
// the binding, from component ccictl.
func TestEventsReachServer(t *testing.T) {
	cfg := restConfig(t)
	c := newClients(t, cfg)
	ns := namespace(t, c)
	createService(t, c, ns, "web", nil)
	created := createBinding(t, c, ns, "web", "web", nil)
	rec := newRecorder(nil)
	ctl, _, _ := start(t, Config{Kube: c.kube, Dynamic: c.dyn, Namespace: ns, Reconciler: rec})
	b, err := ctl.Bindings().Get(key(ns, "web"))
	if err != nil {
		t.Fatal(err)
	}
	ctl.Recorder().Eventf(b, corev1.EventTypeWarning, "Blocked", "pool %s: %d members would be removed", "pool-web", 3)
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := c.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "web").String(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Items) > 0 {
			e := evs.Items[0]
			if e.Reason != "Blocked" || e.Type != corev1.EventTypeWarning || e.Message != "pool pool-web: 3 members would be removed" ||
				e.Source.Component != EventComponent || e.InvolvedObject.Kind != "PoolBinding" ||
				e.InvolvedObject.APIVersion != "loadbalancer.networking.openvessel.io/v1" || e.InvolvedObject.UID != created.GetUID() {
				t.Errorf("event %+v", e)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no Event on the binding within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WithProfiling serves the runtime's profiles beside what it wraps, which
// keeps answering as before.
func TestWithProfiling(t *testing.T) {
	inner := http.NewServeMux()
	inner.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := httptest.NewServer(WithProfiling(inner))
	defer srv.Close()
	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz through WithProfiling: %d %q", code, body)
	}
	if code, body := get(t, srv.URL+"/debug/pprof/heap?debug=1"); code != http.StatusOK || !strings.Contains(body, "heap profile:") {
		t.Errorf("/debug/pprof/heap: %d %.80q", code, body)
	}
	if code, _ := get(t, srv.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics of a handler without it: %d, want 404", code)
	}
	plain := httptest.NewServer(inner)
	defer plain.Close()
	if code, _ := get(t, plain.URL+"/debug/pprof/heap"); code != http.StatusNotFound {
		t.Errorf("profiles served without WithProfiling: %d, want 404", code)
	}
}
