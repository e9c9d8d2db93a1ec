package synccmd

import (
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/reconcile"
)

func isolateEnv(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLICONFIG", filepath.Join(home, "none"))
	t.Setenv("KUBECONFIG", filepath.Join(home, "none"))
	for _, k := range []string{"HW_PROJECT_ID", "HW_REGION_NAME", "HW_PROJECT_NAME", "CCICTL_ELB_TOKEN", "HW_ACCESS_KEY", "HW_SECRET_KEY"} {
		t.Setenv(k, "")
	}
}

// Bindings are grouped by their pool's region; the pass's own region (or no
// annotation, or an invalid one, which fails on its own) is the "" group.
func TestGroupByRegion(t *testing.T) {
	isolateEnv(t)
	tg := func(name, region string) reconcile.Target {
		b := &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		if region != "" {
			b.Annotations = map[string]string{lbv1.RegionAnnotation: region}
		}
		return reconcile.Target{Binding: b}
	}
	targets := []reconcile.Target{tg("a", ""), tg("b", "cn-south-1"), tg("c", "cn-north-4"), tg("d", "Not A Region"), tg("e", "cn-south-1")}
	o := &SyncOptions{Region: "cn-north-4"}
	got := o.groupByRegion(targets)
	want := []regionGroup{{"", []int{0, 2, 3}}, {"cn-south-1", []int{1, 4}}}
	if len(got) != len(want) {
		t.Fatalf("groups %+v", got)
	}
	for i := range want {
		if got[i].region != want[i].region || len(got[i].targets) != len(want[i].targets) {
			t.Fatalf("groups %+v, want %+v", got, want)
		}
		for j := range want[i].targets {
			if got[i].targets[j] != want[i].targets[j] {
				t.Fatalf("groups %+v, want %+v", got, want)
			}
		}
	}
}
