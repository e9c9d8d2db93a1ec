package main_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/openvessel/ccictl/pkg/elb"
)

// The readiness-gate step is optional and takes the port as the pass does:
// a Service whose port 53 is both UDP and TCP (no pod declares a gate)
// converges by the pool's protocol and then costs no ELB call while
// nothing changes; a binding whose Service port was removed, and the
// TCP+UDP one, lose their finalizer when deleted (the gate lookup no
// longer needs the port).
func TestSyncWatchGateLookupDoesNotBlock(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-gatelookup")
	const udpPool, webPool = "2b000000-0000-4000-8000-000000000001", "2b000000-0000-4000-8000-000000000002"
	e.emu.CreatePool(elb.Pool{ID: udpPool, Protocol: "UDP", Listeners: []elb.Ref{{ID: "l-udp"}}})
	e.emu.CreatePool(elb.Pool{ID: webPool, Protocol: "TCP", Listeners: []elb.Ref{{ID: "l-tcp"}}})
	dns := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "dns", Namespace: e.ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "dns"}, Ports: []corev1.ServicePort{
			{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(5353)},
			{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(5354)},
		}},
	}
	if _, err := e.kube.CoreV1().Services(e.ns).Create(e.ctx(), dns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.pods("dns", readyPod("dns-1", "10.66.0.1"))
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.pods("web", readyPod("web-1", "10.66.1.1"))
	dnsUID := e.binding("dns", udpPool, "dns", 53)
	webUID := e.binding("web", webPool, "web", 80)
	e.waitSlices("web", "10.66.1.1:8080")

	w := e.watch("--coalesce=100ms", "--resync-period=1h")
	eventually(t, 30*time.Second, "both pools converged", func() bool {
		return len(e.members(udpPool)) == 1 && e.members(udpPool)["10.66.0.1:5353"] == markerOf(e.ns, "dns", dnsUID) &&
			e.members(webPool)["10.66.1.1:8080"] == markerOf(e.ns, "web", webUID)
	}, w.logged)

	// Converged and idle: no reconcile comes back (no backoff loop).
	time.Sleep(3 * time.Second)
	e.emu.ResetCounts()
	time.Sleep(5 * time.Second)
	for op, n := range e.emu.Counts() {
		if n != 0 {
			t.Errorf("idle: %d ELB %s call(s), want none\n%s", n, op, tail(w.logged(), 20))
		}
	}

	// The web Service's port 80 goes away (81 instead).
	svc, err := e.kube.CoreV1().Services(e.ns).Get(e.ctx(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Ports[0].Port = 81
	if _, err := e.kube.CoreV1().Services(e.ns).Update(e.ctx(), svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "web binding reports the missing port", func() bool {
		return e.jsonpath("web", `{.status.conditions[?(@.type=="Synced")].reason}`) == "ServicePortNotFound"
	}, w.logged)

	for _, b := range []string{"dns", "web"} {
		mustSucceed(t, ccictl(t, "delete", "plb", b, "-n", e.ns, "--wait=false"))
	}
	eventually(t, 30*time.Second, "members removed", func() bool {
		return len(e.members(udpPool)) == 0 && len(e.members(webPool)) == 0
	}, w.logged)
	_, dyn := benchClients(t)
	for _, b := range []string{"dns", "web"} {
		eventually(t, 30*time.Second, b+" binding gone (finalizer removed)", func() bool {
			_, err := dyn.Resource(plbGVR).Namespace(e.ns).Get(e.ctx(), b, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}, w.logged)
	}
}
