package poolsync

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// A zone-scoped binding's skipped endpoints are reported in the one-line
// output (only when there are any) and always in the JSON result.
func TestResultUnknownZone(t *testing.T) {
	b := &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "u1"},
		Spec: lbv1.PoolBindingSpec{PoolRef: lbv1.PoolRef{ID: "p1"}}}
	r := newResult(Target{Binding: b, UnknownZone: 3}, Options{Policy: Policy{ClusterID: testCluster}})
	r.State = StateInSync
	if got := r.Line(); got != "poolbinding/web: +0 -0 =0 foreign=0 unknown-zone=3" {
		t.Errorf("line = %q", got)
	}
	r.UnknownZone = 0
	if got := r.Line(); strings.Contains(got, "unknown-zone") {
		t.Errorf("line without skipped endpoints = %q", got)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"unknownZone":0`) {
		t.Errorf("json lacks unknownZone: %s", js)
	}
}
