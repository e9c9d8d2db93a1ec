package poolsync

import (
	"context"
	"slices"
	"testing"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// TestComputePlanHandover (issue 9, item 4): an owned member at an
// endpoint this binding no longer wants but another live binding of the
// pass on the pool does is re-marked for that binding (at its weight), not
// removed; an orphan there is not pruned; another cluster's claim changes
// nothing; a guard withholds the handover with the removals.
func TestComputePlanHandover(t *testing.T) {
	api := Owner{Namespace: "ns", Name: "api", UID: "uid-live", Cluster: testCluster}
	ten := int32(10)
	claims := map[Endpoint]Claim{
		ep("10.0.0.2", 80): {Owner: api, Weight: &ten},
		ep("10.0.0.3", 80): {Owner: api, Weight: &ten},
		ep("10.0.0.4", 80): {Owner: Owner{Namespace: "ns", Name: "web", UID: "uid-twin", Cluster: otherCluster}},
	}
	current := []elb.Member{
		wmem("keep", selfMark, "10.0.0.1", 80, 1),
		wmem("hand", selfMark, "10.0.0.2", 80, 1),
		wmem("orphan", deadOther, "10.0.0.3", 80, 1),
		wmem("stale", selfMark, "10.0.0.4", 80, 1), // claimed by another cluster only: removed
	}
	desired := []Endpoint{ep("10.0.0.1", 80)}
	opts := PlanOptions{Claims: claims, PruneOrphans: true, Owners: lookup}
	p := ComputePlan(desired, current, self, opts)
	checkPlanInvariants(t, desired, current, self, opts, p)
	if got := ids(p.ToRemove); !slices.Equal(got, []string{"stale"}) {
		t.Errorf("remove %v, want [stale]", got)
	}
	if got := ids(p.HandedOver); !slices.Equal(got, []string{"hand"}) {
		t.Errorf("handed over %v, want [hand]", got)
	}
	if len(p.ToRename) != 1 || p.ToRename[0].Name != Marker(api) || p.ToRename[0].Reason != RenameHandover ||
		p.ToRename[0].Weight == nil || *p.ToRename[0].Weight != 10 {
		t.Errorf("renames %+v, want hand → %s at weight 10", p.ToRename, Marker(api))
	}
	if !slices.Equal(ids(p.Orphans), []string{"orphan"}) {
		t.Errorf("orphans %v", ids(p.Orphans))
	}
	// With nothing desired the guard holds: no removal, no handover.
	q := ComputePlan(nil, current, self, PlanOptions{Claims: claims, Owners: lookup})
	if q.Blocked != BlockedEmptyRefused || len(q.ToRename) != 0 || len(q.WithheldRenames) != 1 || len(q.ToRemove) != 0 {
		t.Errorf("empty desired: %+v", q)
	}
	// A claim by this binding itself is no claim.
	r := ComputePlan(desired, current, self, PlanOptions{Claims: map[Endpoint]Claim{ep("10.0.0.2", 80): {Owner: self}}})
	if !slices.Contains(ids(r.ToRemove), "hand") {
		t.Errorf("own claim handed over: %+v", r)
	}
}

// TestRunSharedPool: two bindings of one pass on one pool (stable and
// canary). Endpoint E moves from stable's desired set to canary's: whatever
// order the two bindings run in, E's member is never removed — stable
// re-marks it for canary — and the pool ends with each endpoint once.
func TestRunSharedPool(t *testing.T) {
	for _, order := range [][2]string{{"canary", "stable"}, {"stable", "canary"}} {
		t.Run(order[0]+" listed first", func(t *testing.T) {
			e := newEnv(t, elbemulator.Options{})
			pid := e.pool(t, "")
			stable, canary := binding("stable", "uid-stable", pid), binding("canary", "uid-canary", pid)
			canary.Annotations = map[string]string{lbv1.WeightAnnotation: "5"}
			sm, cm := Marker(ownerOf(stable, testCluster)), Marker(ownerOf(canary, testCluster))
			s1 := e.direct(t, pid, sm, "10.1.0.1", 8080)
			moved := e.direct(t, pid, sm, "10.1.0.2", 8080)
			e.direct(t, pid, sm, "10.1.0.3", 8080) // stale: removed
			targets := map[string]Target{
				"stable": {Binding: stable, Endpoints: []Endpoint{{Address: "10.1.0.1", Port: 8080}}},
				"canary": {Binding: canary, Endpoints: []Endpoint{{Address: "10.1.0.2", Port: 8080}, {Address: "10.1.0.9", Port: 8080}}},
			}
			// Concurrency 1 runs them one at a time (in either order).
			res := Run(context.Background(), e.client, []Target{targets[order[0]], targets[order[1]]}, Options{Policy: Policy{ClusterID: testCluster, Concurrency: 1}})
			for _, r := range res {
				if !r.InSync() {
					t.Fatalf("%s: %s", r.Binding, r.Line())
				}
			}
			got := map[string]elb.Member{}
			for _, m := range e.emu.Members(pid) {
				got[m.Address] = m
			}
			if len(got) != 3 || got["10.1.0.1"].ID != s1.ID || got["10.1.0.1"].Name != sm {
				t.Fatalf("pool %+v", got)
			}
			if m := got["10.1.0.2"]; m.ID != moved.ID || m.Name != cm || m.Weight != 5 {
				t.Fatalf("moved member %+v: want the same member re-marked %s at weight 5", m, cm)
			}
			if m := got["10.1.0.9"]; m.Name != cm {
				t.Fatalf("canary's new member %+v", m)
			}
		})
	}
}
