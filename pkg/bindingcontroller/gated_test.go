package bindingcontroller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// On the EndpointSlice path a gated pod queues its bindings when what
// decides its registration changes, and not for the gate conditions the
// controller writes itself (which would make every gate write a reconcile).
func TestGatedPodChanges(t *testing.T) {
	gate := corev1.PodConditionType(lbv1.ReadinessGateConditionType("b"))
	pod := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", Conditions: []corev1.PodCondition{
				{Type: corev1.ContainersReady, Status: corev1.ConditionFalse},
				{Type: gate, Status: corev1.ConditionFalse, Reason: "MemberNotRegistered"},
			}},
		}
		if mut != nil {
			mut(p)
		}
		return p
	}
	if !gated(pod(nil)) {
		t.Error("a pod declaring a PoolBinding gate is not gated")
	}
	if gated(pod(func(p *corev1.Pod) { p.Spec.ReadinessGates[0].ConditionType = "example.com/other" })) {
		t.Error("a pod with another controller's gate is gated")
	}
	base := pod(nil)
	for name, tc := range map[string]struct {
		mut  func(*corev1.Pod)
		want bool
	}{
		"containers ready": {func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionTrue }, true},
		"new IP":           {func(p *corev1.Pod) { p.Status.PodIP = "10.0.0.2" }, true},
		"phase":            {func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }, true},
		"labels":           {func(p *corev1.Pod) { p.Labels = map[string]string{"app": "api"} }, true},
		"deleted":          {func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }, true},
		"our gate written": {func(p *corev1.Pod) { p.Status.Conditions[1].Status = corev1.ConditionTrue }, false},
		"nothing read":     {func(p *corev1.Pod) { p.ResourceVersion = "2" }, false},
	} {
		if got := gatedPodChanged(base, pod(tc.mut)); got != tc.want {
			t.Errorf("%s: changed=%v, want %v", name, got, tc.want)
		}
	}
}
