package poolsync

import (
	"context"
	"strings"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// TestSyncCompleteReads: a member list that does not match the pool's own
// list of member IDs (GetPool) is re-checked once with GetPool and re-read
// once; a mismatch that remains withholds every removal (InconsistentRead,
// not in sync); one that a re-read explains is synced as usual. A
// consistent read costs no extra call, also with pages capped below limit.
func TestSyncCompleteReads(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*env, string, []elb.Member) {
		e := newEnv(t, elbemulator.Options{})
		pid := e.pool(t, "")
		b := binding("web", "uid-1", pid)
		var ms []elb.Member
		// IDs in address order, so the member at 10.1.0.1 is on the first page.
		for i, a := range []string{"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"} {
			m, err := e.emu.AddMemberDirect(pid, elb.Member{ID: "10000000-0000-4000-8000-00000000000" + string(rune('1'+i)),
				Name: Marker(ownerOf(b, testCluster)), Address: a, ProtocolPort: 8080, Weight: 1})
			if err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		e.emu.ResetCounts()
		return e, pid, ms
	}
	desired := []Endpoint{{Address: "10.1.0.1", Port: 8080}, {Address: "10.1.0.2", Port: 8080}, {Address: "10.1.0.3", Port: 8080}}

	t.Run("pages capped below limit are all read", func(t *testing.T) {
		e, pid, _ := setup(t)
		e.emu.SetFaults(elbemulator.Faults{PageCap: 3})
		b := binding("web", "uid-1", pid)
		r := Sync(ctx, e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
		wantState(t, r, StateSynced, ReasonSynced)
		if r.Removed != 1 || r.Kept != 3 {
			t.Fatalf("removed %d kept %d, want 1 and 3: %s", r.Removed, r.Kept, r.Line())
		}
		// Two pages of 3 and 1: one more ListMembers than an uncapped
		// server needs, and no re-check.
		e.wantCounts(t, 1, 2, 0, 1)
		e.wantPool(t, pid, b, desired)
	})

	t.Run("a list that persistently omits a member withholds removals", func(t *testing.T) {
		e, pid, ms := setup(t)
		// The 10.1.0.1 member is desired and present, but the list hides it:
		// an add of it answers "existed"; 10.1.0.4 is stale and is kept.
		e.emu.SetFaults(elbemulator.Faults{ListOmit: []string{ms[0].ID}})
		b := binding("web", "uid-1", pid)
		r := Sync(ctx, e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
		wantState(t, r, StateBlocked, ReasonInconsistentRead)
		if r.InSync() || r.Removed != 0 || !strings.Contains(r.Message, "1 member(s) of the pool not listed") {
			t.Fatalf("result %s", r.Line())
		}
		// GetPool, list, GetPool re-check, list again; then the add.
		e.wantCounts(t, 2, 2, 1, 0)
		if got := len(e.emu.Members(pid)); got != 4 {
			t.Fatalf("pool has %d members, want all 4 kept", got)
		}
	})

	t.Run("a list that omitted a member once is re-read and synced", func(t *testing.T) {
		e, pid, ms := setup(t)
		e.emu.SetFaults(elbemulator.Faults{ListOmit: []string{ms[1].ID}, ListOmitCalls: 1})
		b := binding("web", "uid-1", pid)
		r := Sync(ctx, e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
		wantState(t, r, StateSynced, ReasonSynced)
		if r.Added != 0 || r.Removed != 1 {
			t.Fatalf("result %s, want +0 -1", r.Line())
		}
		e.wantCounts(t, 2, 2, 0, 1)
		e.wantPool(t, pid, b, desired)
	})

	t.Run("a dropped next_marker is noticed", func(t *testing.T) {
		e, pid, _ := setup(t)
		e.emu.SetFaults(elbemulator.Faults{PageCap: 2, DropNextMarker: 10})
		b := binding("web", "uid-1", pid)
		r := Sync(ctx, e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
		wantState(t, r, StateBlocked, ReasonInconsistentRead)
		if r.Removed != 0 || len(e.emu.Members(pid)) != 4 {
			t.Fatalf("result %s; pool %d members", r.Line(), len(e.emu.Members(pid)))
		}
	})

	t.Run("a member moved between two pages is not removed", func(t *testing.T) {
		// The desired member at 10.1.0.1 (lowest ID, first page) is removed
		// and re-added under a new ID that sorts last, between the pages of
		// every list: each list shows it twice, or the pool changes again.
		e, pid, _ := setup(t)
		e.emu.SetFaults(elbemulator.Faults{PageCap: 2})
		b := binding("web", "uid-1", pid)
		n := 0
		e.emu.SetBeforeListPage(func(poolID, marker string) {
			if marker == "" {
				return
			}
			for _, m := range e.emu.Members(poolID) {
				if m.Address == "10.1.0.1" {
					if err := e.emu.RemoveMemberDirect(poolID, m.ID); err != nil {
						t.Error(err)
					}
				}
			}
			n++
			id := "ffffffff-0000-4000-8000-00000000000" + string(rune('0'+n))
			if _, err := e.emu.AddMemberDirect(poolID, elb.Member{ID: id, Name: Marker(ownerOf(b, testCluster)), Address: "10.1.0.1", ProtocolPort: 8080, Weight: 1}); err != nil {
				t.Error(err)
			}
		})
		r := Sync(ctx, e.client, Target{Binding: b, Endpoints: desired}, Options{Policy: Policy{ClusterID: testCluster}})
		e.emu.SetBeforeListPage(nil)
		wantState(t, r, StateBlocked, ReasonInconsistentRead)
		got := map[string]bool{}
		for _, m := range e.emu.Members(pid) {
			got[m.Address] = true
		}
		if !got["10.1.0.1"] || len(got) != 4 {
			t.Fatalf("pool after the pass: %v (the live member at 10.1.0.1 must stay, nothing removed)", got)
		}
	})
}
