package poolsync

import (
	"context"
	"strings"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// TestSyncEndpointsInTransition (issue 9, item 12): endpoints of
// EndpointSlices that still name the port otherwise keep their members;
// other removals and the adds happen; the binding says
// EndpointsInTransition and is not in sync.
func TestSyncEndpointsInTransition(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "")
	b := binding("web", "uid-1", pid)
	m := Marker(ownerOf(b, testCluster))
	for _, a := range []string{"10.1.0.1", "10.1.0.2", "10.1.0.3"} {
		e.direct(t, pid, m, a, 8080)
	}
	e.emu.ResetCounts()
	t0 := Target{Binding: b, Endpoints: []Endpoint{{Address: "10.1.0.1", Port: 8080}, {Address: "10.1.0.4", Port: 8080}},
		Lagging: []Endpoint{{Address: "10.1.0.2", Port: 8080}}, LaggingSlices: 1}
	r := Sync(context.Background(), e.client, t0, Options{Policy: Policy{ClusterID: testCluster, Weight: nil}})
	wantState(t, r, StateBlocked, ReasonEndpointsInTransition)
	if r.InSync() || r.Added != 1 || r.Removed != 1 || r.Plan.Transition != 1 ||
		!strings.Contains(r.Message, "disagree on the name of port 80 (1 slice(s) name it otherwise") || !strings.Contains(r.Message, "1 removal(s) at their endpoints withheld") {
		t.Fatalf("result %s", r.Line())
	}
	got := map[string]bool{}
	for _, m := range e.emu.Members(pid) {
		got[m.Address] = true
	}
	if !got["10.1.0.2"] || got["10.1.0.3"] || !got["10.1.0.4"] || len(got) != 3 {
		t.Fatalf("pool %v: the lagging endpoint's member must stay, the gone one go", got)
	}
	// Lagging slices without a member to keep: a note, in sync.
	t0.Lagging = []Endpoint{{Address: "10.1.0.9", Port: 8080}}
	r = Sync(context.Background(), e.client, t0, Options{Policy: Policy{ClusterID: testCluster}})
	if !r.InSync() || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "a rename in progress") {
		t.Fatalf("result %s", r.Line())
	}
}
