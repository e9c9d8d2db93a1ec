package poolsync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// TestSyncPortChoices (issue 9, item 9): a Service port number served in
// TCP and UDP is chosen by the pool's protocol — UDP for UDP and QUIC pools,
// TCP for TCP, HTTP, HTTPS and GRPC pools — and a pool whose protocol has no
// Service port is ServicePortNotFound with the reason, nothing changed.
func TestSyncPortChoices(t *testing.T) {
	choices := map[string]PortChoice{
		"UDP": {Endpoints: []Endpoint{{Address: "10.1.0.1", Port: 5353}}},
		"TCP": {Endpoints: []Endpoint{{Address: "10.1.0.1", Port: 5354}}},
	}
	for proto, want := range map[string]int32{"TCP": 5354, "UDP": 5353, "HTTP": 5354, "HTTPS": 5354, "GRPC": 5354, "QUIC": 5353} {
		t.Run(proto, func(t *testing.T) {
			e := newEnv(t, elbemulator.Options{})
			pid := e.emu.CreatePool(elb.Pool{Protocol: proto}).ID
			b := binding("dns", "uid-1", pid)
			r := Sync(context.Background(), e.client, Target{Binding: b, PortChoices: choices}, Options{Policy: Policy{ClusterID: testCluster}})
			wantState(t, r, StateSynced, ReasonSynced)
			ms := e.emu.Members(pid)
			if len(ms) != 1 || ms[0].ProtocolPort != want || r.Desired != 1 {
				t.Fatalf("%s pool: members %+v, desired %d; want one at port %d", proto, ms, r.Desired, want)
			}
		})
	}
	e := newEnv(t, elbemulator.Options{})
	pid := e.emu.CreatePool(elb.Pool{Protocol: "TCP"}).ID
	b := binding("dns", "uid-1", pid)
	only := map[string]PortChoice{"UDP": choices["UDP"], "SCTP": {}}
	e.emu.ResetCounts()
	r := Sync(context.Background(), e.client, Target{Binding: b, PortChoices: only}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonServicePortNotFound)
	if !strings.Contains(r.Message, "served as SCTP and UDP only") || !strings.Contains(r.Message, "takes TCP") || len(e.emu.Members(pid)) != 0 {
		t.Fatalf("no TCP port: %s", r.Line())
	}
	e.wantCounts(t, 1, 0, 0, 0)
	// A choice that could not be resolved withholds removals as usual.
	e.direct(t, pid, Marker(ownerOf(b, testCluster)), "10.1.0.9", 5354)
	part := map[string]PortChoice{"TCP": {Endpoints: []Endpoint{{Address: "10.1.0.1", Port: 5354}}, ResolveErr: errors.New("list pods: timeout")}}
	r = Sync(context.Background(), e.client, Target{Binding: b, PortChoices: part}, Options{Policy: Policy{ClusterID: testCluster}})
	wantState(t, r, StateBlocked, ReasonEndpointsUnresolved)
	if r.Removed != 0 || r.Added != 1 {
		t.Fatalf("partial choice: %s", r.Line())
	}
}
