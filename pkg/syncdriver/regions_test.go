package syncdriver

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// Bindings are grouped by their pool's region; the pass's own region (or no
// annotation, or an invalid one, which fails on its own) is the "" group.
func TestGroupByRegion(t *testing.T) {
	tg := func(name, region string) poolsync.Target {
		b := &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		if region != "" {
			b.Annotations = map[string]string{lbv1.RegionAnnotation: region}
		}
		return poolsync.Target{Binding: b}
	}
	targets := []poolsync.Target{tg("a", ""), tg("b", "cn-south-1"), tg("c", "cn-north-4"), tg("d", "Not A Region"), tg("e", "cn-south-1")}
	got := groupByRegion(targets, "cn-north-4")
	want := []regionGroup{{"", []int{0, 2, 3}}, {"cn-south-1", []int{1, 4}}}
	if len(got) != len(want) {
		t.Fatalf("groups %+v", got)
	}
	for i := range want {
		if got[i].region != want[i].region || !slices.Equal(got[i].targets, want[i].targets) {
			t.Fatalf("groups %+v, want %+v", got, want)
		}
	}
}
