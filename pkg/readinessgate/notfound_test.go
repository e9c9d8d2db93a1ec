package readinessgate

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

// TestRefusals: the patches the server refused (403, 405, a 404 naming no
// pod) are told apart from pods gone and from other failures, through the
// wrapping and joining of ApplyWith and its caller.
func TestRefusals(t *testing.T) {
	cond := corev1.PodCondition{Type: "loadbalancer.networking.openvessel.io/pool.b1", Status: corev1.ConditionTrue}
	gr := schema.GroupResource{Group: "cci", Resource: "pods"}
	answers := map[string]error{
		"forbidden":   apierrors.NewForbidden(gr, "forbidden", errors.New(`User "t" cannot patch resource "pods/status" in API group "cci"`)),
		"not-allowed": apierrors.NewMethodNotSupported(gr, "patch"),
		"unserved": &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 404,
			Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource"}},
		"gone":    apierrors.NewNotFound(gr, "gone"),
		"failing": apierrors.NewInternalError(errors.New("etcd timeout")),
		"fine":    nil,
	}
	var patches []Patch
	for name := range answers {
		patches = append(patches, Patch{Namespace: "ns", Name: name, Condition: cond})
	}
	res, err := ApplyWith(context.Background(), func(_ context.Context, _, name string, _ []byte) error { return answers[name] }, patches)
	if res.Patched != 1 || res.Gone != 1 {
		t.Errorf("result %+v, want 1 patched and 1 gone", res)
	}
	got := map[string]string{}
	for _, r := range Refusals(fmt.Errorf("readiness gates: %w", err)) {
		got[r.Namespace+"/"+r.Name] = r.Answer()
	}
	want := map[string]string{
		"ns/forbidden":   `403 Forbidden: pods.cci "forbidden" is forbidden: User "t" cannot patch resource "pods/status" in API group "cci"`,
		"ns/not-allowed": `405 Method Not Allowed: patch is not supported on resources of kind "pods.cci"`,
		"ns/unserved":    "404 Not Found: the server could not find the requested resource",
	}
	if !maps.Equal(got, want) {
		t.Errorf("refusals %v, want %v", got, want)
	}
	if Refusals(answers["failing"]) != nil || Refusals(nil) != nil {
		t.Error("an error other than a refusal counts as one")
	}
}
