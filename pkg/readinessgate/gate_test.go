package readinessgate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/endpoints"
)

const (
	binding = "web"
	pool    = "0b6f3c2e-5d4a-4e3b-9c8d-7a6b5c4d3e2f"
)

var (
	t0   = time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	gate = ConditionType(binding)
)

func TestConditionType(t *testing.T) {
	if got, want := string(ConditionType("web")), "loadbalancer.networking.openvessel.io/pool.web"; got != want {
		t.Fatalf("ConditionType(web) = %q, want %q", got, want)
	}
	exact := strings.Repeat("a", MaxPlainNameLength)
	if got := string(ConditionType(exact)); got != ConditionPrefix+exact {
		t.Errorf("a %d-character name is kept whole, got %q", len(exact), got)
	}
	long1 := strings.Repeat("b", 200) + ".one"
	long2 := strings.Repeat("b", 200) + ".two"
	names := []string{"web", "a.b-c", exact, exact + "x", long1, long2, strings.Repeat("z", 253), strings.Repeat("x", 46) + ".-.-.-.-.-.-.-"}
	seen := map[corev1.PodConditionType]string{}
	for _, n := range names {
		ct := ConditionType(n)
		// The API server validates readinessGates[].conditionType as a
		// qualified name; so does this.
		if errs := validation.IsQualifiedName(string(ct)); len(errs) > 0 {
			t.Errorf("ConditionType(%d chars) = %q is not a qualified name: %v", len(n), ct, errs)
		}
		if !strings.HasPrefix(string(ct), ConditionPrefix) {
			t.Errorf("ConditionType(%q) = %q lacks the prefix", n, ct)
		}
		if other, dup := seen[ct]; dup {
			t.Errorf("%q and %q share the condition type %q", n, other, ct)
		}
		seen[ct] = n
		if ConditionType(n) != ct {
			t.Errorf("ConditionType(%q) is not stable", n)
		}
	}
	if ct := string(ConditionType(long1)); len(ct)-len(ConditionPrefix) != MaxPlainNameLength || !strings.HasPrefix(ct, ConditionPrefix+strings.Repeat("b", 47)+"-") {
		t.Errorf("long name shortened to %q: want the first 47 characters, '-' and 10 hex digits", ct)
	}
}

func gatedPod(name, ip string, conds ...corev1.PodCondition) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "other.example.com/gate"}, {ConditionType: gate}},
			Containers:     []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: append([]corev1.PodCondition{{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}}, conds...)},
	}
}

func member(ip string, port int32, status, code string) elb.Member {
	m := elb.Member{ID: "m-" + ip, Address: ip, ProtocolPort: port, OperatingStatus: status}
	if code != "" {
		m.Reason = &elb.HealthReason{ReasonCode: code}
	}
	return m
}

func target(p *corev1.Pod, port int32) Target {
	return Target{Pod: p, Endpoint: endpoints.Endpoint{Address: p.Status.PodIP, Port: port}}
}

func gateCond(status corev1.ConditionStatus, reason, msg string, at time.Time) corev1.PodCondition {
	return corev1.PodCondition{Type: gate, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(at)}
}

func TestComputeTransitions(t *testing.T) {
	later := t0.Add(time.Minute)
	cases := []struct {
		name        string
		pod         *corev1.Pod
		port        int32
		members     []elb.Member
		wantStatus  corev1.ConditionStatus
		wantReason  string
		wantMsg     string // substring
		wantChanged bool
		wantPending bool
		wantLTT     time.Time
	}{
		{name: "member absent", pod: gatedPod("p", "10.0.0.1"), port: 8080,
			wantStatus: corev1.ConditionFalse, wantReason: ReasonMemberNotRegistered, wantMsg: "pool " + pool + " has no member 10.0.0.1:8080",
			wantChanged: true, wantPending: true, wantLTT: later},
		{name: "INITIAL without reason", pod: gatedPod("p", "10.0.0.1"), port: 8080, members: []elb.Member{member("10.0.0.1", 8080, elb.StatusInitial, "")},
			wantStatus: corev1.ConditionFalse, wantReason: "MemberInitial", wantMsg: "member 10.0.0.1:8080 of pool " + pool + " is INITIAL",
			wantChanged: true, wantPending: true, wantLTT: later},
		{name: "OFFLINE with reason code", pod: gatedPod("p", "10.0.0.1"), port: 8080, members: []elb.Member{member("10.0.0.1", 8080, elb.StatusOffline, "CONNECT_REFUSED")},
			wantStatus: corev1.ConditionFalse, wantReason: "CONNECT_REFUSED", wantMsg: "is OFFLINE: CONNECT_REFUSED",
			wantChanged: true, wantPending: true, wantLTT: later},
		{name: "OFFLINE without reason", pod: gatedPod("p", "10.0.0.1"), port: 8080, members: []elb.Member{member("10.0.0.1", 8080, elb.StatusOffline, "")},
			wantStatus: corev1.ConditionFalse, wantReason: "MemberOffline", wantMsg: "is OFFLINE",
			wantChanged: true, wantPending: true, wantLTT: later},
		{name: "ONLINE", pod: gatedPod("p", "10.0.0.1"), port: 8080, members: []elb.Member{member("10.0.0.1", 8080, elb.StatusOnline, "")},
			wantStatus: corev1.ConditionTrue, wantReason: ReasonMemberOnline, wantMsg: "member 10.0.0.1:8080 of pool " + pool + " is ONLINE",
			wantChanged: true, wantPending: false, wantLTT: later},
		{name: "NO_MONITOR opens the gate", pod: gatedPod("p", "10.0.0.1"), port: 8080, members: []elb.Member{member("10.0.0.1", 8080, elb.StatusNoMonitor, "")},
			wantStatus: corev1.ConditionTrue, wantReason: ReasonNoHealthMonitor, wantMsg: "no health check",
			wantChanged: true, wantPending: false, wantLTT: later},
		{name: "OFFLINE to ONLINE is a transition", port: 8080,
			pod:        gatedPod("p", "10.0.0.1", gateCond(corev1.ConditionFalse, "CONNECT_REFUSED", "member 10.0.0.1:8080 of pool "+pool+" is OFFLINE: CONNECT_REFUSED", t0)),
			members:    []elb.Member{member("10.0.0.1", 8080, elb.StatusOnline, "")},
			wantStatus: corev1.ConditionTrue, wantReason: ReasonMemberOnline, wantChanged: true, wantLTT: later},
		{name: "INITIAL to OFFLINE keeps the transition time", port: 8080,
			pod:        gatedPod("p", "10.0.0.1", gateCond(corev1.ConditionFalse, "MemberInitial", "member 10.0.0.1:8080 of pool "+pool+" is INITIAL", t0)),
			members:    []elb.Member{member("10.0.0.1", 8080, elb.StatusOffline, "CONNECT_TIMEOUT")},
			wantStatus: corev1.ConditionFalse, wantReason: "CONNECT_TIMEOUT", wantChanged: true, wantPending: true, wantLTT: t0},
		{name: "unchanged False: no patch, still pending", port: 8080,
			pod:        gatedPod("p", "10.0.0.1", gateCond(corev1.ConditionFalse, "CONNECT_REFUSED", "member 10.0.0.1:8080 of pool "+pool+" is OFFLINE: CONNECT_REFUSED", t0)),
			members:    []elb.Member{member("10.0.0.1", 8080, elb.StatusOffline, "CONNECT_REFUSED")},
			wantStatus: corev1.ConditionFalse, wantReason: "CONNECT_REFUSED", wantChanged: false, wantPending: true},
		{name: "unchanged True: no patch, not pending", port: 8080,
			pod:        gatedPod("p", "10.0.0.1", gateCond(corev1.ConditionTrue, ReasonMemberOnline, "member 10.0.0.1:8080 of pool "+pool+" is ONLINE", t0)),
			members:    []elb.Member{member("10.0.0.1", 8080, elb.StatusOnline, "")},
			wantStatus: corev1.ConditionTrue, wantReason: ReasonMemberOnline, wantChanged: false},
		{name: "True stays True when the member turns OFFLINE", port: 8080,
			pod:        gatedPod("p", "10.0.0.1", gateCond(corev1.ConditionTrue, ReasonMemberOnline, "member 10.0.0.1:8080 of pool "+pool+" is ONLINE", t0)),
			members:    []elb.Member{member("10.0.0.1", 8080, elb.StatusOffline, "CONNECT_REFUSED")},
			wantStatus: corev1.ConditionTrue, wantReason: ReasonMemberOnline, wantChanged: false},
		{name: "member ONLINE on another port is not this pod's", pod: gatedPod("p", "10.0.0.1"), port: 8080,
			members:    []elb.Member{member("10.0.0.1", 9090, elb.StatusOnline, ""), member("10.0.0.2", 8080, elb.StatusOnline, "")},
			wantStatus: corev1.ConditionFalse, wantReason: ReasonMemberNotRegistered, wantMsg: "no member 10.0.0.1:8080",
			wantChanged: true, wantPending: true, wantLTT: later},
		{name: "listener-level status takes precedence", pod: gatedPod("p", "10.0.0.1"), port: 8080,
			members: []elb.Member{{ID: "m", Address: "10.0.0.1", ProtocolPort: 8080, OperatingStatus: elb.StatusOnline, Status: []elb.ListenerStatus{
				{ListenerID: "l1", OperatingStatus: elb.StatusOnline},
				{ListenerID: "l2", OperatingStatus: elb.StatusOffline, Reason: &elb.HealthReason{ReasonCode: "RESPONSE_MISMATCH", ExpectedResponse: ptr("200"), HealthcheckResponse: ptr("503")}},
			}}},
			wantStatus: corev1.ConditionFalse, wantReason: "RESPONSE_MISMATCH", wantMsg: `is OFFLINE: RESPONSE_MISMATCH (expected "200", got "503")`,
			wantChanged: true, wantPending: true, wantLTT: later},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Compute(binding, pool, []Target{target(c.pod, c.port)}, c.members, later)
			if len(res.Decisions) != 1 {
				t.Fatalf("got %d decisions, want 1", len(res.Decisions))
			}
			d := res.Decisions[0]
			if d.Desired.Status != c.wantStatus || d.Desired.Reason != c.wantReason || !strings.Contains(d.Desired.Message, c.wantMsg) {
				t.Errorf("desired = %+v, want status %s reason %s message containing %q", d.Desired, c.wantStatus, c.wantReason, c.wantMsg)
			}
			if d.Changed != c.wantChanged || d.Pending != c.wantPending || res.Pending != c.wantPending {
				t.Errorf("changed=%v pending=%v (result %v), want %v %v", d.Changed, d.Pending, res.Pending, c.wantChanged, c.wantPending)
			}
			if !c.wantChanged {
				if len(res.Patches) != 0 {
					t.Errorf("unchanged condition patched: %+v", res.Patches)
				}
				return
			}
			if len(res.Patches) != 1 {
				t.Fatalf("got %d patches, want 1", len(res.Patches))
			}
			p := res.Patches[0]
			if p.Namespace != "ns" || p.Name != "p" || p.UID != "uid-p" || p.Condition.Type != gate ||
				p.Condition.Status != c.wantStatus || p.Condition.Reason != c.wantReason || p.Condition.Message != d.Desired.Message {
				t.Errorf("patch = %+v", p)
			}
			if !p.Condition.LastTransitionTime.Time.Equal(c.wantLTT) {
				t.Errorf("lastTransitionTime = %v, want %v", p.Condition.LastTransitionTime, c.wantLTT)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestComputeLeavesPodsAlone(t *testing.T) {
	ungated := gatedPod("ungated", "10.0.0.3")
	ungated.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: ConditionType("another-binding")}}
	terminating := gatedPod("terminating", "10.0.0.4")
	terminating.DeletionTimestamp = &metav1.Time{Time: t0}
	ok := gatedPod("ok", "10.0.0.5")
	members := []elb.Member{member("10.0.0.3", 8080, elb.StatusOffline, "CONNECT_REFUSED"), member("10.0.0.4", 8080, elb.StatusOffline, "CONNECT_REFUSED"), member("10.0.0.5", 8080, elb.StatusOnline, "")}
	res := Compute(binding, pool, []Target{target(ungated, 8080), target(terminating, 8080), target(ok, 8080)}, members, t0)
	if len(res.Decisions) != 1 || res.Decisions[0].Pod != ok {
		t.Fatalf("decisions for %d pods, want only the gated, non-terminating one: %+v", len(res.Decisions), res.Decisions)
	}
	if len(res.Patches) != 1 || res.Patches[0].Name != "ok" || res.Pending {
		t.Errorf("patches %+v pending %v, want one True patch for ok and nothing pending", res.Patches, res.Pending)
	}
}

func TestComputePending(t *testing.T) {
	notReady := gatedPod("starting", "10.0.0.6")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	noIP := gatedPod("noip", "")
	res := Compute(binding, pool, []Target{target(notReady, 8080), {Pod: noIP}}, nil, t0)
	if len(res.Patches) != 2 {
		t.Fatalf("want a False patch for both pods (visible in describe), got %+v", res.Patches)
	}
	for _, d := range res.Decisions {
		if d.Desired.Status != corev1.ConditionFalse || d.Desired.Reason != ReasonMemberNotRegistered {
			t.Errorf("%s: %+v", d.Pod.Name, d.Desired)
		}
	}
	if res.Pending {
		t.Error("pods that cannot be registered yet keep polling: their own update brings the next pass")
	}
	// A registrable pod whose member the pass has not added yet keeps the
	// binding polling, as does a member that exists but is not ONLINE.
	if !Compute(binding, pool, []Target{target(gatedPod("ready", "10.0.0.7"), 8080)}, nil, t0).Pending {
		t.Error("registrable pod without member: not pending")
	}
	if !Compute(binding, pool, []Target{target(notReady, 8080)}, []elb.Member{member("10.0.0.6", 8080, elb.StatusInitial, "")}, t0).Pending {
		t.Error("member INITIAL: not pending")
	}
	// Steady state: every gate True, no patch, no poll.
	a := gatedPod("a", "10.0.0.8", gateCond(corev1.ConditionTrue, ReasonMemberOnline, "member 10.0.0.8:8080 of pool "+pool+" is ONLINE", t0))
	if r := Compute(binding, pool, []Target{target(a, 8080)}, []elb.Member{member("10.0.0.8", 8080, elb.StatusOnline, "")}, t0); r.Pending || len(r.Patches) != 0 {
		t.Errorf("steady state: %+v", r)
	}
	// Idempotent: applying the patches and computing again yields none.
	p := gatedPod("b", "10.0.0.9")
	ms := []elb.Member{member("10.0.0.9", 8080, elb.StatusOffline, "CONNECT_REFUSED")}
	first := Compute(binding, pool, []Target{target(p, 8080)}, ms, t0)
	p.Status.Conditions = append(p.Status.Conditions, first.Patches[0].Condition)
	if again := Compute(binding, pool, []Target{target(p, 8080)}, ms, t0.Add(PollInterval)); len(again.Patches) != 0 {
		t.Errorf("second poll with the same health patched again: %+v", again.Patches)
	}
}

func TestRegistrable(t *testing.T) {
	if !Registrable(gatedPod("p", "10.0.0.1"), binding) {
		t.Error("gated, running, containers ready: not registrable")
	}
	p := gatedPod("p", "10.0.0.1")
	p.Status.Conditions[0].Status = corev1.ConditionFalse
	if Registrable(p, binding) {
		t.Error("containers not ready: registrable")
	}
	p = gatedPod("p", "10.0.0.1")
	p.DeletionTimestamp = &metav1.Time{Time: t0}
	if Registrable(p, binding) {
		t.Error("terminating: registrable")
	}
	if Registrable(gatedPod("p", "10.0.0.1"), "other") {
		t.Error("pod without that binding's gate: registrable")
	}
	p = gatedPod("p", "10.0.0.1")
	p.Status.Phase = corev1.PodPending
	if Registrable(p, binding) {
		t.Error("pending pod: registrable")
	}
}

func TestTargets(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	notReady := gatedPod("not-ready", "10.0.0.2")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	other := gatedPod("other-app", "10.0.0.3")
	other.Labels = map[string]string{"app": "db"}
	ungated := gatedPod("ungated", "10.0.0.4")
	ungated.Spec.ReadinessGates = nil
	noIP := gatedPod("no-ip", "")
	terminating := gatedPod("terminating", "10.0.0.5")
	terminating.DeletionTimestamp = &metav1.Time{Time: t0}
	pods := []corev1.Pod{*gatedPod("ready", "10.0.0.1"), *notReady, *other, *ungated, *noIP, *terminating}
	got, err := Targets(binding, svc, 80, pods)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]endpoints.Endpoint{"ready": {Address: "10.0.0.1", Port: 8080}, "not-ready": {Address: "10.0.0.2", Port: 8080}, "no-ip": {}}
	if len(got) != len(want) {
		t.Fatalf("targets %+v, want %v", got, want)
	}
	for _, tg := range got {
		if w, ok := want[tg.Pod.Name]; !ok || w != tg.Endpoint {
			t.Errorf("target %s at %v, want %v (listed: %v)", tg.Pod.Name, tg.Endpoint, w, ok)
		}
	}
	if _, err := Targets(binding, svc, 81, pods); err == nil {
		t.Error("port the Service does not have: no error")
	}
}

// The port is looked up only for gated pods, and where its number is
// served in several protocols the caller's choice (the pool's) decides.
func TestTargetsPortRules(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "dns"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
			{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(5353)},
			{Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(5354)}}},
	}
	ungated := gatedPod("ungated", "10.0.0.4")
	ungated.Spec.ReadinessGates = nil
	for _, port := range []int32{53, 99} {
		if got, err := Targets(binding, svc, port, []corev1.Pod{*ungated}); err != nil || got != nil {
			t.Errorf("port %d, no gated pod: %v, %v; want nothing and no error", port, got, err)
		}
	}
	pods := []corev1.Pod{*gatedPod("ready", "10.0.0.1"), *ungated}
	if _, err := Targets(binding, svc, 53, pods); !errors.Is(err, endpoints.ErrPortAmbiguous) {
		t.Errorf("gated pod, port in two protocols, none chosen: %v, want ErrPortAmbiguous", err)
	}
	for proto, want := range map[corev1.Protocol]int32{corev1.ProtocolUDP: 5353, corev1.ProtocolTCP: 5354} {
		got, err := Targets(binding, endpoints.WithPortProtocol(svc, 53, proto), 53, pods)
		if err != nil || len(got) != 1 || got[0].Endpoint != (endpoints.Endpoint{Address: "10.0.0.1", Port: want}) {
			t.Errorf("%s chosen: %+v, %v; want 10.0.0.1:%d", proto, got, err, want)
		}
	}
	if got := GatedPods(binding, pods); len(got) != 1 || got[0].Name != "ready" {
		t.Errorf("GatedPods: %v", got)
	}
}

func TestRelease(t *testing.T) {
	open := gatedPod("open", "10.0.0.1", gateCond(corev1.ConditionTrue, ReasonMemberOnline, "", t0))
	closed := gatedPod("closed", "10.0.0.2", gateCond(corev1.ConditionFalse, "CONNECT_REFUSED", "", t0))
	fresh := gatedPod("fresh", "10.0.0.3")
	ps := Release(binding, []Target{target(open, 80), target(closed, 80), target(fresh, 80)}, t0)
	if len(ps) != 2 || ps[0].Name != "closed" || ps[1].Name != "fresh" {
		t.Fatalf("release patches %+v, want closed and fresh", ps)
	}
	for _, p := range ps {
		if p.Condition.Status != corev1.ConditionTrue || p.Condition.Reason != ReasonBindingDeleted {
			t.Errorf("%s: %+v", p.Name, p.Condition)
		}
	}
}

// BenchmarkCompute: one health poll's decision for a binding with many
// gated pods, half of them still pending (the pure part of the latency
// path; docs/watch-gates.md).
func BenchmarkCompute(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) {
			targets := make([]Target, n)
			members := make([]elb.Member, n)
			for i := range n {
				ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
				targets[i] = target(gatedPod(fmt.Sprintf("p%d", i), ip), 8080)
				st := elb.StatusOnline
				if i%2 == 1 {
					st = elb.StatusInitial
				}
				members[i] = member(ip, 8080, st, "")
			}
			b.ReportAllocs()
			for b.Loop() {
				if r := Compute(binding, pool, targets, members, t0); len(r.Patches) != n || !r.Pending {
					b.Fatalf("%d patches, pending %v", len(r.Patches), r.Pending)
				}
			}
		})
	}
}
