package bindingcontroller

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/testenv"
)

var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

var plbGVR = lbv1.SchemeGroupVersion.WithResource(lbv1.Resource)

func restConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	return cfg
}

type clients struct {
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

func newClients(t *testing.T, cfg *rest.Config) clients {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return clients{kube: kube, dyn: dyn}
}

var nsSeq atomic.Int32

// namespace creates a namespace of its own for one test.
func namespace(t *testing.T, c clients) string {
	t.Helper()
	name := fmt.Sprintf("bc-%d-%d", time.Now().Unix()%100000, nsSeq.Add(1))
	if _, err := c.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

func createService(t *testing.T, c clients, ns, name string, selector map[string]string) *corev1.Service {
	t.Helper()
	svc, err := c.kube.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func createSlice(t *testing.T, c clients, ns, name, service string, addrs ...string) *discoveryv1.EndpointSlice {
	t.Helper()
	s, err := c.kube.DiscoveryV1().EndpointSlices(ns).Create(context.Background(), slice(ns, name, service, addrs...), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func slice(ns, name, service string, addrs ...string) *discoveryv1.EndpointSlice {
	port, pname := int32(8080), "http"
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &pname, Port: &port}},
	}
	for _, a := range addrs {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}})
	}
	return s
}

func createBinding(t *testing.T, c clients, ns, name, service string, lbls map[string]string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": lbv1.SchemeGroupVersion.String(),
		"kind":       lbv1.Kind,
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"poolRef":   map[string]any{"id": "pool-" + name},
			"targetRef": map[string]any{"kind": "Service", "group": "v1", "name": service, "port": int64(80)},
		},
	}}
	if lbls != nil {
		u.SetLabels(lbls)
	}
	out, err := c.dyn.Resource(plbGVR).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// recorder is a Reconciler that records its calls; outcome (nil: Synced)
// decides each answer.
type recorder struct {
	mu      sync.Mutex
	calls   []call
	outcome func(cache.ObjectName) Outcome
	notify  chan cache.ObjectName
}

type call struct {
	key cache.ObjectName
	at  time.Time
}

func newRecorder(outcome func(cache.ObjectName) Outcome) *recorder {
	return &recorder{outcome: outcome, notify: make(chan cache.ObjectName, 10000)}
}

func (r *recorder) Reconcile(ctx context.Context, key cache.ObjectName) Outcome {
	r.mu.Lock()
	r.calls = append(r.calls, call{key: key, at: time.Now()})
	r.mu.Unlock()
	select {
	case r.notify <- key:
	default:
	}
	if r.outcome != nil {
		return r.outcome(key)
	}
	return Outcome{Result: "Synced"}
}

// callsOf returns the times key was reconciled.
func (r *recorder) callsOf(key cache.ObjectName) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Time
	for _, c := range r.calls {
		if c.key == key {
			out = append(out, c.at)
		}
	}
	return out
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// waitCalls waits until key has been reconciled at least n times.
func (r *recorder) waitCalls(t *testing.T, key cache.ObjectName, n int, within time.Duration) []time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := r.callsOf(key)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s reconciled %d times within %v, want at least %d", key, len(got), within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start runs a controller until the test ends and waits for its caches.
func start(t *testing.T, cfg Config) (*Controller, context.CancelFunc, <-chan error) {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- c.Run(ctx); close(finished) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return 20s after its context ended")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !c.Synced() {
		if time.Now().After(deadline) {
			t.Fatal("caches not synced after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c, cancel, done
}

func key(ns, name string) cache.ObjectName { return cache.ObjectName{Namespace: ns, Name: name} }
