package main_test

// The memory of `ccictl sync --watch` on the CCI 2.0 flavour: the
// controller runs as the tenant, whose API has no EndpointSlices, so its
// informers list and watch cci/v2 Services and Pods through the dynamic
// client, and every binding's endpoints are pods. Same sizes, same
// assertions and same BENCH line as TestBenchWatchMemory (e2e_watch_bench_test.go),
// which measures the Kubernetes flavour, so the two compare:
//
//	CCICTL_BENCH_WATCH_MEMORY=10000x10 CCICTL_LOCALCLUSTER_BIN=$(bash hack/localcluster-bin.sh) \
//	  go test -count=1 -v -timeout 120m -run 'TestBenchWatchMemory' ./cmd/ccictl

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// TestBenchWatchMemoryCCI2: TestBenchWatchMemory on the CCI 2.0 flavour,
// through a counting proxy in front of the tenant's endpoint, which shows
// that the controller read cci/v2 Services and Pods and nothing else.
func TestBenchWatchMemoryCCI2(t *testing.T) {
	c := cci2Cluster(t)
	kube, dyn := benchClientsFor(t, c.Kubeconfig) // the admin's, for the set-up
	for _, size := range benchMemorySizes(t) {
		n, endpoints := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", n, endpoints), func(t *testing.T) {
			emu := elbemulator.New(elbemulator.Options{ProjectID: benchProject, Token: benchToken})
			srv, _ := benchELBServer(t, emu)
			start := time.Now()
			s := setupBenchPods(t, kube, dyn, emu, fmt.Sprintf("bench-cmem-%d-%d", n, endpoints), n, endpoints)
			rc := newRequestCounterTo(t, c.CCI2.Server, c.CCI2.CAFile, c.CCI2.Token)
			w := measureWatchMemory(t, "cci2", rc.cliconfig(t), emu, srv.URL, s, time.Since(start))
			_, paths := rc.snapshot()
			wantCCI2Informers(t, paths, w.logged())
		})
	}
}

// wantCCI2Informers fails unless the controller's caches were filled from
// cci/v2 Services and Pods (listed or watched, all namespaces) and it said
// its endpoints come from Pods: else the bench measured another path.
func wantCCI2Informers(t *testing.T, paths map[string]int, log string) {
	t.Helper()
	read := func(p string) int { return paths["GET "+p] + paths["WATCH "+p] }
	for _, p := range []string{"/apis/cci/v2/services", "/apis/cci/v2/pods"} {
		if read(p) == 0 {
			t.Errorf("the controller did not list or watch %s; its requests: %v", p, paths)
		}
	}
	for p := range paths {
		if strings.Contains(p, "endpointslices") || strings.HasSuffix(p, "/api/v1/pods") || strings.HasSuffix(p, "/api/v1/services") {
			t.Errorf("the controller read %s (not the cci/v2 path)", p)
		}
	}
	if !strings.Contains(log, `"endpoints":"Pods"`) {
		t.Errorf("the controller does not say its endpoints come from Pods:\n%s", grepLines(log, "Watching PoolBindings"))
	}
}

// setupBenchPods is setupBench for the CCI 2.0 flavour: binding i targets
// Service web-i (group cci/v2), which selects its own `endpoints` pods,
// Running and Ready with addresses the test gives them (as a kubelet would
// report them). The pods are bound to no node, as a tenant sees them, so
// that deleting them needs no kubelet.
func setupBenchPods(t *testing.T, kube kubernetes.Interface, dyn dynamic.Interface, emu *elbemulator.Emulator, run string, bindings, endpoints int) *benchSetup {
	t.Helper()
	ctx := context.Background()
	s := &benchSetup{run: run, bindings: bindings, endpoints: endpoints, nss: make([]string, benchNamespces)}
	for k := range s.nss {
		ns := fmt.Sprintf("%s-%d", run, k)
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			zero := int64(0)
			_ = kube.CoreV1().Pods(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
			_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		})
		s.nss[k] = ns
	}
	start := time.Now()
	s.createPools(emu)
	const target, port = int32(8080), int32(80)
	parallel(t, bindings, func(i int) error {
		ns, svc := s.nss[i%benchNamespces], fmt.Sprintf("web-%05d", i)
		sel := map[string]string{"app": svc}
		_, err := kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: ns},
			Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{{Name: "http", Port: port,
				TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		for j := 0; j < endpoints; j++ {
			pod, err := kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", svc, j), Namespace: ns, Labels: sel},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:alpine",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: target, Protocol: corev1.ProtocolTCP}}}}},
			}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			ip := fmt.Sprintf("10.%d.%d.%d", i>>8&255, i&255, j+1)
			now := metav1.Now()
			pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &now,
				Conditions: []corev1.PodCondition{
					{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
				},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Image: "nginx:alpine", Ready: true, Started: ptrTo(true),
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}
			if _, err := kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		return s.createBinding(ctx, dyn, i, svc, port)
	})
	t.Logf("setup %s: %d bindings × %d pods in %d namespaces in %v", run, bindings, endpoints, benchNamespces, time.Since(start).Round(time.Millisecond))
	return s
}
