package bindingcontroller

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// BenchmarkCacheMemory measures the heap the controller's caches take for
// 1,000 bindings (creating them on the local server takes ~20 s), each with its own Service and one EndpointSlice of 10
// endpoints, once synced and after the first reconcile of every binding
// (the Reconciler does nothing). Run it once:
//
//	go test -run '^$' -bench CacheMemory -benchtime 1x ./pkg/bindingcontroller/
func BenchmarkCacheMemory(b *testing.B) {
	const bindings, perSlice = 1000, 10
	t := &testing.T{}
	cfg := restConfig(t)
	c := newClients(t, cfg)
	ns := fmt.Sprintf("bench-%d", time.Now().UnixNano()%1000000)
	ctx := context.Background()
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) }()

	began := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	work := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				name := fmt.Sprintf("svc-%05d", i)
				if _, err := c.kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: `{"apiVersion":"v1","kind":"Service"}`}},
					Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
				}, metav1.CreateOptions{}); err != nil {
					failed.Store(err)
					continue
				}
				var addrs []string
				for j := range perSlice {
					addrs = append(addrs, fmt.Sprintf("10.%d.%d.%d", i/250, i%250, j+1))
				}
				s := slice(ns, name+"-abcde", name, addrs...)
				for j := range s.Endpoints {
					s.Endpoints[j].NodeName = ptr("node-1")
					s.Endpoints[j].Zone = ptr("zone-a")
					s.Endpoints[j].TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: fmt.Sprintf("%s-7d9f8c6b5-%05d", name, j), UID: "0f7e6d5c-4b3a-2918-0706-f5e4d3c2b1a0"}
				}
				if _, err := c.kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
					failed.Store(err)
					continue
				}
				u := &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": lbv1.SchemeGroupVersion.String(), "kind": lbv1.Kind,
					"metadata": map[string]any{"name": name, "namespace": ns},
					"spec": map[string]any{
						"poolRef":   map[string]any{"id": "7e1d2c3b-4a5f-6e7d-8c9b-0a1f2e3d4c5b"},
						"targetRef": map[string]any{"kind": "Service", "group": "v1", "name": name, "port": int64(80)},
					},
				}}
				if _, err := c.dyn.Resource(plbGVR).Namespace(ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
					failed.Store(err)
				}
			}
		}()
	}
	for i := range bindings {
		work <- i
	}
	close(work)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d bindings, Services and EndpointSlices in %v", bindings, time.Since(began).Round(time.Second))

	for b.Loop() {
		heap0 := heapInUse()
		var done atomic.Int64
		all := make(chan struct{})
		rec := ReconcilerFunc(func(context.Context, cache.ObjectName) Outcome {
			if done.Add(1) == bindings {
				close(all)
			}
			return Outcome{Result: "InSync"}
		})
		ctl, err := New(Config{Kube: c.kube, Dynamic: c.dyn, Namespace: ns, Reconciler: rec, Concurrency: 8})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		finished := make(chan struct{})
		syncStart := time.Now()
		go func() { _ = ctl.Run(runCtx); close(finished) }()
		select {
		case <-all:
		case <-time.After(5 * time.Minute):
			b.Fatalf("%d of %d bindings reconciled after 5m", done.Load(), bindings)
		}
		elapsed := time.Since(syncStart)
		heap := heapInUse() - heap0
		runtime.KeepAlive(ctl)
		b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(heap)/bindings, "B-heap/binding")
		b.Logf("%d bindings synced and reconciled once in %v; caches and queue hold %.1f MiB of heap", bindings, elapsed.Round(time.Millisecond), float64(heap)/(1<<20))
		cancel()
		<-finished
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
