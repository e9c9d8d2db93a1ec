package main_test

// End-to-end tests of draining in `ccictl sync`: terminating but still
// serving endpoints (EndpointSlice conditions written by the test) are set
// to weight 0 and removed once gone; weight-ignoring pools remove them at
// once; owned weights are kept at the binding's weight, foreign ones never
// touched.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// sliceState is the conditions an endpoint of a hand-written slice carries.
type sliceState int

const (
	epReady       sliceState = iota // ready, serving, not terminating
	epDraining                      // terminating, still serving (not ready)
	epTerminating                   // terminating, no longer serving
)

// conditionSlice is manualSlice with per-endpoint conditions: a selectorless
// Service whose one EndpointSlice the test writes, as the EndpointSlice
// controller would for pods being deleted.
func (e *syncEnv) conditionSlice(svc string, port, target int32, eps map[string]sliceState) {
	e.t.Helper()
	if _, err := e.kube.CoreV1().Services(e.ns).Get(e.ctx(), svc, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: e.ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromInt32(target)}}},
		}
		if _, err := e.kube.CoreV1().Services(e.ns).Create(e.ctx(), s, metav1.CreateOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}
	name, proto := "http", corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-manual", Namespace: e.ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "e2e-sync-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &target, Protocol: &proto}},
	}
	for a, st := range eps {
		ready, serving, terminating := st == epReady, st != epTerminating, st != epReady
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating}})
	}
	cur, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).Get(e.ctx(), slice.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = e.kube.DiscoveryV1().EndpointSlices(e.ns).Create(e.ctx(), slice, metav1.CreateOptions{})
	case err == nil:
		slice.ResourceVersion = cur.ResourceVersion
		_, err = e.kube.DiscoveryV1().EndpointSlices(e.ns).Update(e.ctx(), slice, metav1.UpdateOptions{})
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// weights is the pool's content as "ip:port" → weight.
func (e *syncEnv) weights(poolID string) map[string]int32 {
	out := map[string]int32{}
	for _, m := range e.emu.Members(poolID) {
		out[fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort)] = m.Weight
	}
	return out
}

func (e *syncEnv) wantWeights(poolID string, want map[string]int32) {
	e.t.Helper()
	got := e.weights(poolID)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		e.t.Errorf("pool %s weights %v, want %v", poolID, got, want)
	}
}

// setWeightByHand changes a member's weight through the ELB API, as a person
// at the console or another tool would.
func (e *syncEnv) setWeightByHand(poolID, addr string, weight int32) {
	e.t.Helper()
	c, err := elb.New(elb.Config{Endpoint: e.url, ProjectID: syncProject, Transport: tokenRT{syncToken}})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range e.emu.Members(poolID) {
		if fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort) == addr {
			if _, err := c.BatchUpdateMembers(context.Background(), poolID, []elb.MemberUpdate{{ID: m.ID, Weight: &weight}}); err != nil {
				e.t.Fatal(err)
			}
			e.emu.ResetCounts()
			return
		}
	}
	e.t.Fatalf("pool %s has no member %s", poolID, addr)
}

// wantCallsUpd checks the emulator's call counts since the last reset,
// batch-updates included.
func (e *syncEnv) wantCallsUpd(get, list, add, upd, del int) {
	e.t.Helper()
	c := e.emu.Counts()
	if c[elbemulator.OpGetPool] != get || c[elbemulator.OpListMembers] != list || c[elbemulator.OpBatchAddMembers] != add ||
		c[elbemulator.OpBatchUpdateMembers] != upd || c[elbemulator.OpBatchDeleteMembers] != del {
		e.t.Errorf("ELB calls = %v, want GetPool=%d ListMembers=%d BatchAddMembers=%d BatchUpdateMembers=%d BatchDeleteMembers=%d",
			c, get, list, add, upd, del)
	}
	if c[elbemulator.OpUnauthorized]+c[elbemulator.OpUnknown] != 0 {
		e.t.Errorf("unexpected rejected calls: %v", c)
	}
}

// tokenRT authenticates the test's own ELB calls with the emulator's token.
type tokenRT struct{ token string }

func (t tokenRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Auth-Token", t.token)
	return http.DefaultTransport.RoundTrip(r)
}

// waitEndpointGone waits until no EndpointSlice of svc lists addr in any
// state (waitSlices looks at ready endpoints only).
func (e *syncEnv) waitEndpointGone(svc, addr string) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		list, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).List(e.ctx(),
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			e.t.Fatal(err)
		}
		found := false
		for _, s := range list.Items {
			for _, ep := range s.Endpoints {
				found = found || len(ep.Addresses) > 0 && ep.Addresses[0] == addr
			}
		}
		if !found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("EndpointSlices of %s still list %s", svc, addr)
}

// annotate sets an annotation on a binding (ccictl has no annotate verb).
func (e *syncEnv) annotate(binding, key, value string) {
	e.t.Helper()
	mustSucceed(e.t, kubectl(e.t, "annotate", "--overwrite", "-n", e.ns, "poolbindings."+lbv1.GroupName, binding, key+"="+value))
}

// TestSyncDrain: on an HTTP pool (no connection draining) terminating but
// serving endpoints go to weight 0 and stay until gone; a hand-changed owned
// weight is restored; a foreign member's weight is never touched; the
// binding's weight annotation is honoured, and an invalid one blocks the
// binding before any ELB call.
func TestSyncDrain(t *testing.T) {
	e := newSyncEnv(t, "sync-drain")
	e.emu.CreatePool(elb.Pool{ID: syncPool, Name: "pool-http", Protocol: "HTTP"})
	if _, err := e.emu.AddMemberDirect(syncPool, elb.Member{Name: "added-by-hand", Address: "10.30.0.9", ProtocolPort: 8080, Weight: 3}); err != nil {
		t.Fatal(err)
	}
	a1, a2, a3, a4 := "10.30.0.1", "10.30.0.2", "10.30.0.3", "10.30.0.4"
	e.conditionSlice("web", 123, 8080, map[string]sliceState{a1: epReady, a2: epReady, a3: epReady, a4: epReady})
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	wantLine(t, e.sync(), 0, "poolbinding/b1: +4 -0 =0 foreign=1")

	// a2 and a3 are being deleted and still serve; a4 is being deleted and
	// no longer serves; the foreign member's endpoint terminates too.
	e.conditionSlice("web", 123, 8080, map[string]sliceState{a1: epReady, a2: epDraining, a3: epDraining, a4: epTerminating, "10.30.0.9": epDraining})

	// The dry-run report lists the weight changes.
	r := e.sync("--dry-run", "-o", "json")
	var rep struct {
		Results []struct {
			Plan struct {
				Update   int
				Draining int
				ToUpdate []struct {
					Address  string
					From, To int32
					Reason   string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 0 || len(rep.Results) != 1 {
		t.Fatalf("dry-run -o json: %v\n%s", err, r)
	}
	p := rep.Results[0].Plan
	if p.Update != 2 || p.Draining != 2 || len(p.ToUpdate) != 2 || p.ToUpdate[0].Address != a2 || p.ToUpdate[1].Address != a3 ||
		p.ToUpdate[0].From != 1 || p.ToUpdate[0].To != 0 || p.ToUpdate[0].Reason != "Drain" {
		t.Errorf("dry-run plan %+v", p)
	}

	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -1 =1 foreign=1 draining=2 weights=2")
	e.wantCallsUpd(1, 1, 0, 1, 1)
	e.wantPool(syncPool, merge(owned(marker, a1+":8080", a2+":8080", a3+":8080"), map[string]string{"10.30.0.9:8080": "added-by-hand"}))
	e.wantWeights(syncPool, map[string]int32{a1 + ":8080": 1, a2 + ":8080": 0, a3 + ":8080": 0, "10.30.0.9:8080": 3})
	if st := e.jsonpath("b1", `{.status.drainingMembers} {.status.registeredMembers} {.status.conditions[?(@.type=="Synced")].status}`); st != "2 1 True" {
		t.Errorf("status = %q, want draining 2, registered 1, Synced True", st)
	}

	// Someone raises the live member's weight and the foreign one's: only
	// the owned one is set back.
	e.setWeightByHand(syncPool, a1+":8080", 42)
	e.setWeightByHand(syncPool, "10.30.0.9:8080", 50)
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -0 =1 foreign=1 draining=2 weights=1")
	e.wantCallsUpd(1, 1, 0, 1, 0)
	e.wantWeights(syncPool, map[string]int32{a1 + ":8080": 1, a2 + ":8080": 0, a3 + ":8080": 0, "10.30.0.9:8080": 50})

	// The draining pods are gone: their members go, nothing is re-weighted.
	e.conditionSlice("web", 123, 8080, map[string]sliceState{a1: epReady, "10.30.0.9": epDraining})
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -2 =1 foreign=1")
	e.wantCallsUpd(1, 1, 0, 0, 1)
	e.wantWeights(syncPool, map[string]int32{a1 + ":8080": 1, "10.30.0.9:8080": 50})
	if st := e.jsonpath("b1", `{.status.drainingMembers}`); st != "" && st != "0" {
		t.Errorf("drainingMembers = %q after draining finished", st)
	}

	// The binding's weight: an invalid value blocks before any ELB call...
	e.annotate("b1", lbv1.WeightAnnotation, "150")
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 1, fmt.Sprintf("poolbinding/b1: +0 -0 =0 foreign=0 blocked: InvalidWeight: annotation %s: \"150\" is not an integer from 0 to 100; nothing changed", lbv1.WeightAnnotation))
	e.wantCallsUpd(0, 0, 0, 0, 0)
	if st := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].reason}`); st != "InvalidWeight" {
		t.Errorf("Synced reason = %q, want InvalidWeight", st)
	}
	// ...a valid one re-weights the owned members and new ones get it.
	e.annotate("b1", lbv1.WeightAnnotation, "5")
	e.conditionSlice("web", 123, 8080, map[string]sliceState{a1: epReady, "10.30.0.5": epReady, "10.30.0.9": epDraining})
	wantLine(t, e.sync(), 0, "poolbinding/b1: +1 -0 =1 foreign=1 weights=1")
	e.wantCallsUpd(1, 1, 1, 1, 0)
	e.wantWeights(syncPool, map[string]int32{a1 + ":8080": 5, "10.30.0.5:8080": 5, "10.30.0.9:8080": 50})
}

// TestSyncDrainSourceIP: a SOURCE_IP pool ignores weights, so a terminating
// endpoint's member is removed at once, the output says why, and no weight
// is ever written.
func TestSyncDrainSourceIP(t *testing.T) {
	e := newSyncEnv(t, "sync-drain-srcip")
	e.emu.CreatePool(elb.Pool{ID: syncPool, Name: "pool-srcip", Protocol: "HTTP", LBAlgorithm: "SOURCE_IP"})
	a1, a2, a3 := "10.31.0.1", "10.31.0.2", "10.31.0.3"
	e.conditionSlice("web", 123, 8080, map[string]sliceState{a1: epReady, a2: epReady, a3: epReady})
	uid := e.binding("b1", syncPool, "web", 123)
	wantLine(t, e.sync(), 0, "poolbinding/b1: +3 -0 =0 foreign=0")

	e.setWeightByHand(syncPool, a1+":8080", 9)
	e.conditionSlice("web", 123, 8080, map[string]sliceState{a1: epReady, a2: epReady, a3: epDraining})
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -1 =2 foreign=0 (lb_algorithm SOURCE_IP ignores weights: 1 member(s) of terminating endpoints removed without draining)")
	e.wantCallsUpd(1, 1, 0, 0, 1)
	e.wantPool(syncPool, owned(markerOf(e.ns, "b1", uid), a1+":8080", a2+":8080"))
	e.wantWeights(syncPool, map[string]int32{a1 + ":8080": 9, a2 + ":8080": 1})
	if st := e.jsonpath("b1", `{.status.drainingMembers}`); st != "" && st != "0" {
		t.Errorf("drainingMembers = %q on a SOURCE_IP pool", st)
	}
}

// TestSyncDrainPodPath: where EndpointSlices are not served, a pod being
// deleted that is still Running and Ready is terminating but serving: its
// member drains at weight 0 and goes once the pod is gone.
func TestSyncDrainPodPath(t *testing.T) {
	e := newSyncEnv(t, "sync-drain-pods")
	var sliceReads atomic.Int64
	e.config = discoveryHidingConfig(t, &sliceReads)
	e.emu.CreatePool(elb.Pool{ID: syncPool, Name: "pool-http", Protocol: "HTTP"})
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	e.pods("web", readyPod("a", "10.32.0.1"), readyPod("b", "10.32.0.2"))
	wantLine(t, e.sync(), 0, "poolbinding/b1: +2 -0 =0 foreign=0")

	e.deletePod("b", 30) // no kubelet: stays, Ready, with a deletionTimestamp
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -0 =1 foreign=0 draining=1 weights=1")
	e.wantCallsUpd(1, 1, 0, 1, 0)
	e.wantPool(syncPool, owned(marker, "10.32.0.1:8080", "10.32.0.2:8080"))
	e.wantWeights(syncPool, map[string]int32{"10.32.0.1:8080": 1, "10.32.0.2:8080": 0})

	e.deletePod("b", 0)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.kube.CoreV1().Pods(e.ns).Get(e.ctx(), "b", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod b not gone: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -1 =1 foreign=0")
	e.wantPool(syncPool, owned(marker, "10.32.0.1:8080"))
	if n := sliceReads.Load(); n != 0 {
		t.Errorf("%d requests reached discovery.k8s.io; the Pod path must not read EndpointSlices", n)
	}
}
