package readinessgate

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestApplyUnservedStatusIsAnError: a pod the server says is gone is
// counted, but a 404 that names no pod (the platform does not serve pod
// status, as a CCI 2.0 gateway answers for an unserved path) is an error
// naming the pod, not a pod gone: the gate would never open, silently.
func TestApplyUnservedStatusIsAnError(t *testing.T) {
	cond := corev1.PodCondition{Type: "loadbalancer.networking.openvessel.io/b1", Status: corev1.ConditionTrue}
	patches := []Patch{{Namespace: "ns", Name: "gone", Condition: cond}, {Namespace: "ns", Name: "unserved", Condition: cond}}
	unserved := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 404,
		Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource"}}
	res, err := ApplyWith(context.Background(), func(_ context.Context, _, name string, _ []byte) error {
		if name == "gone" {
			return apierrors.NewNotFound(schema.GroupResource{Group: "cci", Resource: "pods"}, name)
		}
		return unserved
	}, patches)
	if res.Gone != 1 || res.Patched != 0 {
		t.Errorf("result %+v, want the named pod gone only", res)
	}
	if err == nil || !strings.Contains(err.Error(), "pod ns/unserved: set condition") || !strings.Contains(err.Error(), "could not find the requested resource") {
		t.Errorf("error %v", err)
	}
}
