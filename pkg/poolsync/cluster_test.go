package poolsync

import (
	"context"
	"slices"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// TestComputePlanClusters (issue 9, item 5): members marked by another
// cluster are foreign, never orphans, whatever the flags — also when they
// carry this binding's namespace and name (a blue/green twin) or a uid this
// cluster does not know. Legacy markers (no cluster id) are this cluster's:
// the binding's own are kept and re-marked, a deleted binding's are orphans.
func TestComputePlanClusters(t *testing.T) {
	desired := []Endpoint{ep("10.0.0.1", 80), ep("10.0.0.2", 80)}
	current := []elb.Member{
		wmem("own-legacy", selfLegacy, "10.0.0.1", 80, 1),       // kept, re-marked
		wmem("own-legacy-stale", selfLegacy, "10.0.0.5", 80, 1), // removed
		wmem("twin", twinOther, "10.0.0.6", 80, 1),              // other cluster, same ns/name
		wmem("remote", remoteOther, "10.0.0.7", 80, 1),          // other cluster, unknown uid
		wmem("remote-at-desired", remoteOther, "10.0.0.2", 80, 1),
		wmem("dead-legacy", deadLegacy, "10.0.0.8", 80, 1), // this cluster's deleted binding
	}
	for _, allowEmpty := range []bool{false, true} {
		opts := PlanOptions{PruneOrphans: true, AllowEmpty: allowEmpty, Owners: lookup}
		p := ComputePlan(desired, current, self, opts)
		checkPlanInvariants(t, desired, current, self, opts, p)
		if got, want := ids(p.Keep), []string{"own-legacy"}; !slices.Equal(got, want) {
			t.Errorf("keep %v, want %v", got, want)
		}
		if got, want := ids(p.ToRemove), []string{"own-legacy-stale", "dead-legacy"}; !slices.Equal(got, want) {
			t.Errorf("remove %v, want %v (own stale legacy member and the deleted binding's orphan)", got, want)
		}
		if got, want := ids(p.Foreign), []string{"remote-at-desired", "twin", "remote"}; !slices.Equal(got, want) {
			t.Errorf("foreign %v, want %v", got, want)
		}
		if got, want := ids(p.Orphans), []string{"dead-legacy"}; !slices.Equal(got, want) {
			t.Errorf("orphans %v, want %v", got, want)
		}
		if len(p.ToAdd) != 0 {
			t.Errorf("adds %v: 10.0.0.2 is held by another cluster's member", keysOfNew(p.ToAdd))
		}
		if len(p.ToRename) != 1 || p.ToRename[0].Member.ID != "own-legacy" || p.ToRename[0].Name != selfMark || p.ToRename[0].Reason != RenameMigrate {
			t.Errorf("renames %+v, want own-legacy → %s (Migrate)", p.ToRename, selfMark)
		}
	}
	// A guard withholds re-marks with the removals.
	p := ComputePlan(desired, current, self, PlanOptions{Incomplete: true, Owners: lookup})
	if len(p.ToRename) != 0 || len(p.WithheldRenames) != 1 {
		t.Errorf("incomplete: renames %+v, withheld %+v", p.ToRename, p.WithheldRenames)
	}
	// Seen from the other cluster, this cluster's members are the foreign
	// ones: a twin binding there never prunes them.
	twin := Owner{Namespace: "ns", Name: "web", UID: "uid-twin", Cluster: otherCluster}
	mine := []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 1), wmem("b", twinOther, "10.0.0.9", 80, 1)}
	q := ComputePlan([]Endpoint{ep("10.0.0.9", 80)}, mine, twin, PlanOptions{PruneOrphans: true, AllowEmpty: true,
		Owners: NewOwnerLookup([]Owner{twin}, []string{"ns"})})
	if len(q.ToRemove) != 0 || len(q.Orphans) != 0 || !slices.Equal(ids(q.Foreign), []string{"a"}) || !slices.Equal(ids(q.Keep), []string{"b"}) {
		t.Errorf("other cluster's view: %+v", q)
	}
}

// TestSyncMigratesLegacyMarkers: owned members with the legacy marker are
// re-marked by batch-update of their name, in the same call as weight
// changes (one update per member), and never removed for it.
func TestSyncMigratesLegacyMarkers(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "")
	b := binding("web", "uid-1", pid)
	legacy := LegacyMarker(ownerOf(b, testCluster))
	mk := func(addr string, w int32) {
		if _, err := e.emu.AddMemberDirect(pid, elb.Member{Name: legacy, Address: addr, ProtocolPort: 8080, Weight: w}); err != nil {
			t.Fatal(err)
		}
	}
	mk("10.1.0.1", 1)
	mk("10.1.0.2", 5) // also needs its weight restored
	mk("10.1.0.3", 1) // stale
	e.emu.ResetCounts()
	desired := []Endpoint{{Address: "10.1.0.1", Port: 8080}, {Address: "10.1.0.2", Port: 8080}}
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Renamed != 2 || r.Updated != 1 || r.Removed != 1 || r.Added != 0 {
		t.Fatalf("result %s: renamed %d updated %d", r.Line(), r.Renamed, r.Updated)
	}
	if r.Line() != "poolbinding/web: +0 -1 =2 foreign=0 remarked=2 weights=1" {
		t.Errorf("line %q", r.Line())
	}
	e.wantCountsUpd(t, 1, 1, 0, 1, 1)
	e.wantPool(t, pid, b, desired)
	// Nothing left to migrate: the next pass writes nothing.
	r = Sync(context.Background(), e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateInSync, ReasonInSync)
	e.wantCounts(t, 1, 1, 0, 0)
	// Without a cluster identity a binding cannot own members.
	r = Sync(context.Background(), e.client, Target{Binding: b, Endpoints: desired}, Options{})
	wantState(t, r, StateFailed, ReasonInvalidBinding)
	e.wantCounts(t, 0, 0, 0, 0)
}

// TestSyncRemarksEarlierClusterIdentity: members this binding wrote under
// an earlier cluster identity (same namespace, name and uid, another
// cluster id: a --cluster-id dropped, or a default identity derived from
// other inputs) stay its own and are re-marked by batch-update, never
// removed and re-added; a stale one is removed like any owned member.
func TestSyncRemarksEarlierClusterIdentity(t *testing.T) {
	e := newEnv(t, elbemulator.Options{})
	pid := e.pool(t, "")
	b := binding("web", "uid-1", pid)
	earlier := Marker(ownerOf(b, "kube-system-uid-0001"))
	if earlier == "" || earlier == Marker(ownerOf(b, testCluster)) {
		t.Fatalf("earlier marker %q", earlier)
	}
	for _, addr := range []string{"10.1.0.1", "10.1.0.2", "10.1.0.3"} {
		if _, err := e.emu.AddMemberDirect(pid, elb.Member{Name: earlier, Address: addr, ProtocolPort: 8080, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	e.emu.ResetCounts()
	desired := []Endpoint{{Address: "10.1.0.1", Port: 8080}, {Address: "10.1.0.2", Port: 8080}}
	r := Sync(context.Background(), e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateSynced, ReasonSynced)
	if r.Line() != "poolbinding/web: +0 -1 =2 foreign=0 remarked=2" {
		t.Errorf("line %q", r.Line())
	}
	e.wantPool(t, pid, b, desired)
	r = Sync(context.Background(), e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateInSync, ReasonInSync)

	// Another binding's marker under another cluster id (a different
	// uid) stays foreign.
	other := Marker(Owner{Namespace: "ns", Name: "web", UID: "uid-2", Cluster: "kube-system-uid-0001"})
	p := ComputePlan(desired, []elb.Member{wmem("x", other, "10.1.0.9", 8080, 1)}, ownerOf(b, testCluster), PlanOptions{PruneOrphans: true, AllowEmpty: true})
	if !slices.Equal(ids(p.Foreign), []string{"x"}) || len(p.ToRemove) != 0 || len(p.ToRename) != 0 {
		t.Errorf("another binding's member under another cluster id: %+v", p)
	}
}
