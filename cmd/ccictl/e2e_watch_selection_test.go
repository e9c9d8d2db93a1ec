package main_test

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A binding that leaves the controller's -l selection is no longer
// reconciled, but keeps the finalizer the controller added: deleted, it is
// released by that controller, its members removed first, although no
// controller selects it any more. A controller started after it left (a
// restart) does the same.
func TestSyncWatchReleasesBindingsThatLeftTheSelection(t *testing.T) {
	e := newSyncEnv(t, "e2e-watch-leaves")
	const other = "3c000000-0000-4000-8000-000000000002"
	e.pool(syncPool)
	e.pool(other)
	e.service("web", 80, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.pods("web", readyPod("web-1", "10.67.0.1"))
	uid := e.labeledBinding("leaves", syncPool, "web", 80, map[string]string{"team": "a"})
	uid2 := e.labeledBinding("restart", other, "web", 80, map[string]string{"team": "a"})
	e.waitSlices("web", "10.67.0.1:8080")

	w := e.watch("-l", "team=a", "--coalesce=100ms", "--resync-period=1h")
	eventually(t, 30*time.Second, "first passes", func() bool {
		return e.members(syncPool)["10.67.0.1:8080"] == markerOf(e.ns, "leaves", uid) &&
			e.members(other)["10.67.0.1:8080"] == markerOf(e.ns, "restart", uid2)
	}, w.logged)
	for _, b := range []string{"leaves", "restart"} {
		if got := e.jsonpath(b, `{.metadata.finalizers}`); !strings.Contains(got, "loadbalancer.networking.openvessel.io/members") {
			t.Fatalf("%s: finalizers %s, want the members finalizer", b, got)
		}
		mustSucceed(t, ccictl(t, "label", "plb", b, "-n", e.ns, "team=b", "--overwrite"))
	}
	// Out of the selection: a change of its Service is no longer synced.
	e.pods("web", readyPod("web-2", "10.67.0.2"))
	e.waitSlices("web", "10.67.0.1:8080", "10.67.0.2:8080")
	time.Sleep(2 * time.Second)
	if got := e.members(syncPool); len(got) != 1 {
		t.Errorf("a binding that left the selection was synced: pool %v", got)
	}

	gone := func(name string) func() bool {
		return func() bool {
			_, dyn := benchClients(t)
			_, err := dyn.Resource(plbGVR).Namespace(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}
	}
	mustSucceed(t, ccictl(t, "delete", "plb", "leaves", "-n", e.ns, "--wait=false"))
	eventually(t, 30*time.Second, "members of the deleted binding removed", func() bool { return len(e.members(syncPool)) == 0 }, w.logged)
	eventually(t, 30*time.Second, "deleted binding released (finalizer removed)", gone("leaves"), w.logged)

	// Deleted while no controller runs, released by the next one.
	if err, _ := w.stop(); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, ccictl(t, "delete", "plb", "restart", "-n", e.ns, "--wait=false"))
	w = e.watch("-l", "team=a", "--coalesce=100ms", "--resync-period=1h")
	eventually(t, 30*time.Second, "members removed by the next controller", func() bool { return len(e.members(other)) == 0 }, w.logged)
	eventually(t, 30*time.Second, "released by the next controller", gone("restart"), w.logged)
}
