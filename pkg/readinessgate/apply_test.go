package readinessgate

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	plbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server these tests patch pods on.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

var (
	kubeOnce sync.Once
	kube     kubernetes.Interface
	kubeErr  error
)

func kubeClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	kubeOnce.Do(func() {
		var cfg *rest.Config
		if cfg, kubeErr = clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig); kubeErr == nil {
			cfg.QPS, cfg.Burst = 200, 400
			kube, kubeErr = kubernetes.NewForConfig(cfg)
		}
	})
	if kubeErr != nil {
		t.Fatal(kubeErr)
	}
	return kube
}

func namespace(t *testing.T, kc kubernetes.Interface, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := kc.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// createGatedPod creates a pod declaring the binding's gate and another
// gate, with the status a kubelet would have written: Running, an IP,
// ContainersReady, Ready False, the other gate True.
func createGatedPod(t *testing.T, kc kubernetes.Interface, ns, name, ip string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	p := gatedPod(name, ip)
	p.Namespace, p.UID = ns, ""
	p.Spec.Containers[0].Image = "registry.k8s.io/pause:3.10"
	created, err := kc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ReadinessGatesNotReady", LastTransitionTime: now},
			{Type: "other.example.com/gate", Status: corev1.ConditionTrue, Reason: "OtherController", LastTransitionTime: now},
		}}
	updated, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("set status of pod %s: %v", name, err)
	}
	return updated
}

func findCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	return condition(p, t)
}

// TestApplyKeepsConcurrentConditions: the gate's patch, computed from a
// pod read before the kubelet wrote again, writes only its own condition:
// the kubelet's newer Ready and a condition it added survive, as does
// another controller's gate.
func TestApplyKeepsConcurrentConditions(t *testing.T) {
	ctx := context.Background()
	kc := kubeClient(t)
	ns := namespace(t, kc, "gates-concurrent")
	stale := createGatedPod(t, kc, ns, "web-0", "10.1.0.1")

	res := Compute(binding, pool, []Target{target(stale, 8080)}, []elb.Member{member("10.1.0.1", 8080, elb.StatusOffline, "CONNECT_REFUSED")}, time.Now())
	if len(res.Patches) != 1 {
		t.Fatalf("patches %+v", res.Patches)
	}

	// The kubelet writes between our read and our patch.
	fresh, err := kc.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range fresh.Status.Conditions {
		if fresh.Status.Conditions[i].Type == corev1.PodReady {
			fresh.Status.Conditions[i].Message = "written by the kubelet after the controller read the pod"
		}
	}
	fresh.Status.Conditions = append(fresh.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
	if _, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	ar, err := Apply(ctx, kc, res.Patches)
	if err != nil || ar.Patched != 1 || ar.Gone != 0 {
		t.Fatalf("Apply = %+v, %v", ar, err)
	}
	got, err := kc.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := findCondition(got, gate)
	if g == nil || g.Status != corev1.ConditionFalse || g.Reason != "CONNECT_REFUSED" || !strings.Contains(g.Message, "OFFLINE") {
		t.Fatalf("gate condition = %+v", g)
	}
	if r := findCondition(got, corev1.PodReady); r == nil || r.Message != "written by the kubelet after the controller read the pod" {
		t.Errorf("the kubelet's Ready was clobbered: %+v", r)
	}
	if s := findCondition(got, corev1.PodScheduled); s == nil || s.Status != corev1.ConditionTrue {
		t.Errorf("the kubelet's PodScheduled was lost: %+v", s)
	}
	if o := findCondition(got, "other.example.com/gate"); o == nil || o.Status != corev1.ConditionTrue || o.Reason != "OtherController" {
		t.Errorf("another controller's gate was changed: %+v", o)
	}
	if c := findCondition(got, corev1.ContainersReady); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("ContainersReady changed: %+v", c)
	}
	if len(got.Status.Conditions) != 5 {
		t.Errorf("conditions %+v, want 5", got.Status.Conditions)
	}

	// ONLINE: the gate turns True; computing again from the server's pod
	// gives nothing to write.
	online := []elb.Member{member("10.1.0.1", 8080, elb.StatusOnline, "")}
	res = Compute(binding, pool, []Target{target(got, 8080)}, online, time.Now())
	if _, err := Apply(ctx, kc, res.Patches); err != nil {
		t.Fatal(err)
	}
	got, err = kc.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := findCondition(got, gate); g == nil || g.Status != corev1.ConditionTrue || g.Reason != ReasonMemberOnline {
		t.Fatalf("gate after ONLINE = %+v", g)
	}
	if again := Compute(binding, pool, []Target{target(got, 8080)}, online, time.Now()); len(again.Patches) != 0 || again.Pending {
		t.Errorf("after the server round trip the gate still differs: %+v", again)
	}
}

// TestApplyGoneAndReplacedPods: a pod deleted before the patch, and a pod
// re-created under the same name (new UID), are counted as gone; the new
// pod is not patched with its predecessor's decision.
func TestApplyGoneAndReplacedPods(t *testing.T) {
	ctx := context.Background()
	kc := kubeClient(t)
	ns := namespace(t, kc, "gates-gone")
	deleted := createGatedPod(t, kc, ns, "deleted", "10.2.0.1")
	replaced := createGatedPod(t, kc, ns, "web-0", "10.2.0.2")
	online := []elb.Member{member("10.2.0.1", 8080, elb.StatusOnline, ""), member("10.2.0.2", 8080, elb.StatusOnline, "")}
	res := Compute(binding, pool, []Target{target(deleted, 8080), target(replaced, 8080)}, online, time.Now())
	if len(res.Patches) != 2 {
		t.Fatalf("patches %+v", res.Patches)
	}
	zero := int64(0)
	for _, n := range []string{"deleted", "web-0"} {
		if err := kc.CoreV1().Pods(ns).Delete(ctx, n, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
	}
	successor := createGatedPod(t, kc, ns, "web-0", "10.2.0.3")
	if successor.UID == replaced.UID {
		t.Fatal("re-created pod kept its UID")
	}
	ar, err := Apply(ctx, kc, res.Patches)
	if err != nil || ar.Gone != 2 || ar.Patched != 0 {
		t.Fatalf("Apply = %+v, %v; want both gone", ar, err)
	}
	got, err := kc.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := findCondition(got, gate); g != nil {
		t.Errorf("the successor got its predecessor's gate: %+v", g)
	}
}

// TestApplyErrorsPerPod: a patch the server fails (a 500 injected by a
// proxy for one pod) is reported with the pod and the condition named, and
// does not stop the others.
func TestApplyErrorsPerPod(t *testing.T) {
	ctx := context.Background()
	kc := kubeClient(t)
	ns := namespace(t, kc, "gates-errors")
	good := createGatedPod(t, kc, ns, "good", "10.3.0.1")
	bad := createGatedPod(t, kc, ns, "bad", "10.3.0.2")
	proxy, err := cluster.Proxy(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/pods/bad/status") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcd is down","reason":"InternalError","code":500}`)
			return true
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	pc, err := kubernetes.NewForConfig(&rest.Config{Host: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	online := []elb.Member{member("10.3.0.1", 8080, elb.StatusOnline, ""), member("10.3.0.2", 8080, elb.StatusOnline, "")}
	patches := Compute(binding, pool, []Target{target(bad, 8080), target(good, 8080)}, online, time.Now()).Patches
	ar, err := Apply(ctx, pc, patches)
	if err == nil {
		t.Fatal("failed patch not reported")
	}
	if msg := err.Error(); !strings.Contains(msg, "pod "+ns+"/bad: set condition "+string(gate)+"=True: ") || !strings.Contains(msg, "etcd is down") || strings.Contains(msg, "good") {
		t.Errorf("error %q does not name the failed pod, condition and cause (only)", msg)
	}
	if ar.Patched != 1 {
		t.Errorf("Apply = %+v: the good pod was not patched", ar)
	}
	got, err := kc.CoreV1().Pods(ns).Get(ctx, "good", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := findCondition(got, gate); g == nil || g.Status != corev1.ConditionTrue {
		t.Errorf("good pod's gate = %+v", g)
	}
}

// TestApplyBoundsConcurrency: through a proxy that holds each pod status
// patch for a while, Apply never has more than MaxConcurrentPatches in
// flight, and does use more than one.
func TestApplyBoundsConcurrency(t *testing.T) {
	ctx := context.Background()
	kc := kubeClient(t)
	ns := namespace(t, kc, "gates-bounded")
	var patches []Patch
	for i := range 3 * MaxConcurrentPatches {
		p := createGatedPod(t, kc, ns, fmt.Sprintf("p%02d", i), fmt.Sprintf("10.4.0.%d", i+1))
		patches = append(patches, Compute(binding, pool, []Target{target(p, 8080)}, nil, time.Now()).Patches...)
	}
	var inFlight, peak, seen atomic.Int32
	proxy, err := cluster.Proxy(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/status") {
			seen.Add(1)
			n := inFlight.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
			inFlight.Add(-1)
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	pc, err := kubernetes.NewForConfig(&rest.Config{Host: proxy.URL, QPS: 1000, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ar, err := Apply(ctx, pc, patches)
	if err != nil || ar.Patched != len(patches) {
		t.Fatalf("Apply = %+v, %v", ar, err)
	}
	if int(seen.Load()) != len(patches) {
		t.Errorf("%d status patches sent, want %d", seen.Load(), len(patches))
	}
	if p := peak.Load(); p > MaxConcurrentPatches || p < 2 {
		t.Errorf("peak in-flight patches %d, want 2..%d", p, MaxConcurrentPatches)
	}
}

// TestUpdate: a binding's gate passes on real pods: False with the reason
// while the members are absent or OFFLINE (pending), True once ONLINE,
// nothing written on the next poll, and a deleted binding opens the gates
// it still holds; a pod without the gate is never written.
func TestUpdate(t *testing.T) {
	ctx := context.Background()
	kc := kubeClient(t)
	ns := namespace(t, kc, "gates-update")
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}}}
	b := &plbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: binding},
		Spec: plbv1.PoolBindingSpec{PoolRef: plbv1.PoolRef{ID: pool}, TargetRef: plbv1.TargetRef{Kind: "Service", Group: "cci/v2", Name: "web", Port: 80}}}
	createGatedPod(t, kc, ns, "a", "10.5.0.1")
	createGatedPod(t, kc, ns, "b", "10.5.0.2")
	plain := gatedPod("plain", "10.5.0.3")
	plain.Namespace, plain.UID, plain.Spec.ReadinessGates = ns, "", nil
	plain.Spec.Containers[0].Image = "registry.k8s.io/pause:3.10"
	if _, err := kc.CoreV1().Pods(ns).Create(ctx, plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	list := func() []corev1.Pod {
		t.Helper()
		l, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	gateOf := func(name string) *corev1.PodCondition {
		t.Helper()
		p, err := kc.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return findCondition(p, gate)
	}

	res, ar, err := Update(ctx, kc, b, svc, list(), []elb.Member{member("10.5.0.1", 8080, elb.StatusOffline, "CONNECT_REFUSED")}, time.Now())
	if err != nil || ar.Patched != 2 || !res.Pending {
		t.Fatalf("first pass: %+v %+v %v", res, ar, err)
	}
	if g := gateOf("a"); g == nil || g.Status != corev1.ConditionFalse || g.Reason != "CONNECT_REFUSED" {
		t.Errorf("a: %+v", g)
	}
	if g := gateOf("b"); g == nil || g.Status != corev1.ConditionFalse || g.Reason != ReasonMemberNotRegistered {
		t.Errorf("b: %+v", g)
	}

	online := []elb.Member{member("10.5.0.1", 8080, elb.StatusOnline, ""), member("10.5.0.2", 8080, elb.StatusOnline, ""), member("10.5.0.3", 8080, elb.StatusOffline, "CONNECT_REFUSED")}
	res, ar, err = Update(ctx, kc, b, svc, list(), online, time.Now())
	if err != nil || ar.Patched != 2 || res.Pending {
		t.Fatalf("ONLINE pass: %+v %+v %v", res, ar, err)
	}
	for _, n := range []string{"a", "b"} {
		if g := gateOf(n); g == nil || g.Status != corev1.ConditionTrue || g.Reason != ReasonMemberOnline {
			t.Errorf("%s after ONLINE: %+v", n, g)
		}
	}
	if res, ar, err = Update(ctx, kc, b, svc, list(), online, time.Now()); err != nil || ar.Patched != 0 || len(res.Patches) != 0 || res.Pending {
		t.Errorf("steady poll wrote: %+v %+v %v", res, ar, err)
	}

	createGatedPod(t, kc, ns, "c", "10.5.0.4")
	deleting := b.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	if _, ar, err = Update(ctx, kc, deleting, svc, list(), nil, time.Now()); err != nil || ar.Patched != 1 {
		t.Fatalf("release: %+v %v", ar, err)
	}
	if g := gateOf("c"); g == nil || g.Status != corev1.ConditionTrue || g.Reason != ReasonBindingDeleted {
		t.Errorf("c after the binding's deletion: %+v", g)
	}
	if g := gateOf("plain"); g != nil {
		t.Errorf("the pod without the gate was written: %+v", g)
	}
	if _, _, err := Update(ctx, kc, b, svc, nil, nil, time.Now()); err != nil {
		t.Errorf("no pods: %v", err)
	}
	wrongPort := b.DeepCopy()
	wrongPort.Spec.TargetRef.Port = 81
	if _, _, err := Update(ctx, kc, wrongPort, svc, list(), nil, time.Now()); err == nil || !strings.Contains(err.Error(), "PoolBinding "+ns+"/"+binding) {
		t.Errorf("binding of a port the Service lacks: %v", err)
	}
}
