package main_test

// End-to-end tests of what `ccictl sync` does with reads it cannot take at
// face value (docs/sync.md, "Complete reads"): member lists that are
// incomplete or show a member twice, against the real API server and the
// ELB emulator's fault knobs.

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// readsSetup: Service web (port 80 → 8080) with ready endpoints .1-.3 of
// prefix, binding b1 on syncPool, and the pool holding b1's members at
// .1-.4 (.4 stale), with IDs in address order so .1 is on the first page.
func readsSetup(t *testing.T, ns, prefix string) (*syncEnv, string, []elb.Member) {
	t.Helper()
	e := newSyncEnv(t, ns)
	e.pool(syncPool)
	e.manualSlice("web", 80, 8080, []string{prefix + ".1", prefix + ".2", prefix + ".3"})
	uid := e.binding("b1", syncPool, "web", 80)
	var ms []elb.Member
	for i := 1; i <= 4; i++ {
		m, err := e.emu.AddMemberDirect(syncPool, elb.Member{ID: fmt.Sprintf("10000000-0000-4000-8000-00000000000%d", i),
			Name: markerOf(e.ns, "b1", uid), Address: fmt.Sprintf("%s.%d", prefix, i), ProtocolPort: 8080, Weight: 1})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	e.emu.ResetCounts()
	return e, uid, ms
}

// TestSyncReadsIncompleteList (issue 9, item 2): a member list that lacks
// members the pool names (ShowPool's members), or pages cut short, is not
// taken as the pool: after one GetPool re-check and one re-read, a
// mismatch that remains withholds every removal and the binding is not in
// sync (InconsistentRead, exit 1). Pages capped below limit are all read.
func TestSyncReadsIncompleteList(t *testing.T) {
	e, uid, ms := readsSetup(t, "sync-reads-list", "10.61.0")
	marker := markerOf(e.ns, "b1", uid)
	all := owned(marker, "10.61.0.1:8080", "10.61.0.2:8080", "10.61.0.3:8080", "10.61.0.4:8080")

	// The list hides the stale member: without the check the pass would
	// see nothing to remove and report Synced.
	e.emu.SetFaults(elbemulator.Faults{ListOmit: []string{ms[3].ID}})
	r := e.sync()
	if r.Code != 1 || !strings.Contains(r.Stdout, "blocked: InconsistentRead") ||
		!strings.Contains(r.Stdout, "1 listed that the pool does not name") && !strings.Contains(r.Stdout, "1 member(s) of the pool not listed") {
		t.Errorf("list omitting a member: %s", r)
	}
	e.wantPool(syncPool, all)
	// GetPool, ListMembers, the GetPool re-check, one re-read; nothing written.
	e.wantCalls(2, 2, 0, 0)
	if st := e.syncedCond("b1"); st != "False InconsistentRead 1" {
		t.Errorf("status after an inconsistent read: %q", st)
	}

	// A dropped next_marker (pages of 2): the first page looks like all.
	e.emu.SetFaults(elbemulator.Faults{PageCap: 2, DropNextMarker: 100})
	r = e.sync()
	if r.Code != 1 || !strings.Contains(r.Stdout, "blocked: InconsistentRead") {
		t.Errorf("dropped next_marker: %s", r)
	}
	e.wantPool(syncPool, all)

	// The omission happened once (a lagging replica): the re-read is
	// complete and the pass syncs.
	e.emu.SetFaults(elbemulator.Faults{ListOmit: []string{ms[3].ID}, ListOmitCalls: 1})
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -1 =3 foreign=0")
	e.wantCalls(2, 2, 0, 1)
	want := owned(marker, "10.61.0.1:8080", "10.61.0.2:8080", "10.61.0.3:8080")
	e.wantPool(syncPool, want)
	if st := e.syncedCond("b1"); st != "True Synced 1" {
		t.Errorf("status after a re-read that matched: %q", st)
	}

	// A server that caps pages at 2 but gives next_marker: every page is
	// followed (two ListMembers for three members), no re-check.
	if _, err := e.emu.AddMemberDirect(syncPool, elb.Member{ID: "20000000-0000-4000-8000-000000000001",
		Name: marker, Address: "10.61.0.9", ProtocolPort: 8080, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	e.emu.SetFaults(elbemulator.Faults{PageCap: 2})
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -1 =3 foreign=0")
	e.wantCalls(1, 2, 0, 1)
	e.wantPool(syncPool, want)
}

// TestSyncReadsMemberMovedBetweenPages (issue 9, item 1): a desired
// member removed and re-added under a new ID between two pages of one list
// (an overlapping pass after the endpoint flapped) shows twice at one
// address+port. That read is inconsistent: no member is removed, not even
// the stale one, and the binding reports InconsistentRead (exit 1). When
// the move happened once, the re-read sees the pool as it is and the pass
// syncs, keeping the live member.
func TestSyncReadsMemberMovedBetweenPages(t *testing.T) {
	e, uid, _ := readsSetup(t, "sync-reads-moved", "10.62.0")
	marker := markerOf(e.ns, "b1", uid)
	e.emu.SetFaults(elbemulator.Faults{PageCap: 2})
	moves, limit := 0, 1000
	e.emu.SetBeforeListPage(func(poolID, pageMarker string) {
		if pageMarker == "" || moves >= limit {
			return
		}
		for _, m := range e.emu.Members(poolID) {
			if m.Address == "10.62.0.1" {
				if err := e.emu.RemoveMemberDirect(poolID, m.ID); err != nil {
					t.Error(err)
				}
			}
		}
		moves++
		if _, err := e.emu.AddMemberDirect(poolID, elb.Member{ID: fmt.Sprintf("ffffffff-0000-4000-8000-%012d", moves),
			Name: marker, Address: "10.62.0.1", ProtocolPort: 8080, Weight: 1}); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { e.emu.SetBeforeListPage(nil) })

	r := e.sync()
	if r.Code != 1 || !strings.Contains(r.Stdout, "blocked: InconsistentRead") {
		t.Errorf("member moving between pages: %s", r)
	}
	e.wantPool(syncPool, owned(marker, "10.62.0.1:8080", "10.62.0.2:8080", "10.62.0.3:8080", "10.62.0.4:8080"))
	if st := e.syncedCond("b1"); st != "False InconsistentRead 1" {
		t.Errorf("status: %q", st)
	}

	// One more move, then the pool holds still: the first list shows .1
	// twice, the re-read is consistent, and the live member stays.
	moves, limit = 0, 1
	r = e.sync()
	wantLine(t, r, 0, "poolbinding/b1: +0 -1 =3 foreign=0")
	e.wantPool(syncPool, owned(marker, "10.62.0.1:8080", "10.62.0.2:8080", "10.62.0.3:8080"))
	for _, m := range e.emu.Members(syncPool) {
		if m.Address == "10.62.0.1" && m.ID != fmt.Sprintf("ffffffff-0000-4000-8000-%012d", 1) {
			t.Errorf("member at 10.62.0.1 is %s, want the one re-added last", m.ID)
		}
	}
}

// TestSyncReadsClusterIdentity (issue 9, item 5): markers name the cluster
// (the UID of kube-system, or --cluster-id). Members of another cluster
// are foreign — never orphans, also with --prune-orphans, also with this
// binding's namespace and name — while this cluster's legacy markers are
// read as its own: the binding's are re-marked in place (same member, new
// name), a deleted binding's are orphans. So are its markers under an
// earlier cluster identity (same uid).
func TestSyncReadsClusterIdentity(t *testing.T) {
	e := newSyncEnv(t, "sync-reads-cluster")
	e.pool(syncPool)
	e.manualSlice("web", 80, 8080, []string{"10.63.0.1", "10.63.0.2"})
	uid := e.binding("b1", syncPool, "web", 80)
	direct := func(name, addr string) elb.Member {
		m, err := e.emu.AddMemberDirect(syncPool, elb.Member{Name: name, Address: addr, ProtocolPort: 8080, Weight: 1})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	otherTwin := "ccictl:green-cluster:" + e.ns + "/b1:7a0b5c1e-0000-4000-8000-000000000001"
	otherGone := "ccictl:green-cluster:" + e.ns + "/gone:7a0b5c1e-0000-4000-8000-000000000002"
	deadHere := legacyMarkerOf(e.ns, "gone", "7a0b5c1e-0000-4000-8000-000000000003")
	legacyOwn := direct(legacyMarkerOf(e.ns, "b1", uid), "10.63.0.1")
	direct(legacyMarkerOf(e.ns, "b1", uid), "10.63.0.4") // stale
	direct(otherTwin, "10.63.0.7")
	direct(otherGone, "10.63.0.8")
	direct(deadHere, "10.63.0.9")

	e.emu.ResetCounts()
	marker := markerOf(e.ns, "b1", uid)
	wantLine(t, e.sync("--prune-orphans"), 0, "poolbinding/b1: +1 -2 =1 foreign=2 orphans=1 remarked=1")
	e.wantPool(syncPool, merge(owned(marker, "10.63.0.1:8080", "10.63.0.2:8080"),
		map[string]string{"10.63.0.7:8080": otherTwin, "10.63.0.8:8080": otherGone}))
	for _, m := range e.emu.Members(syncPool) {
		if m.Address == "10.63.0.1" && m.ID != legacyOwn.ID {
			t.Errorf("member at 10.63.0.1 was replaced (id %s, was %s), not re-marked", m.ID, legacyOwn.ID)
		}
	}
	// One batch-update re-marks the legacy member; one add, one delete.
	e.wantCallsUpd(1, 1, 1, 1, 1)
	if st := e.syncedCond("b1"); st != "True Synced 1" {
		t.Errorf("status: %q", st)
	}
	// Converged: nothing to re-mark or remove the second time.
	e.emu.ResetCounts()
	wantLine(t, e.sync("--prune-orphans"), 0, "poolbinding/b1: +0 -0 =2 foreign=2")
	e.wantCalls(1, 1, 0, 0)

	// The same binding under another identity ("blue": a --cluster-id
	// given later) keeps its members, whose markers name its uid: they
	// would be re-marked, not removed and re-added. The other cluster's
	// members stay foreign, nothing is an orphan.
	r := e.sync("--cluster-id", "blue", "--prune-orphans", "--dry-run", "-o", "json")
	for _, want := range []string{`"orphans": 0`, `"prune": 0`, `"remove": 0`, `"add": 0`, `"keep": 2`, `"rename": 2`, `"foreign": 2`, `"conflicts": 0`} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("dry run as cluster blue lacks %s: %s", want, r)
		}
	}

	// --cluster-id is checked before anything is read.
	r = e.sync("--cluster-id", "a:b")
	if r.Code != 1 || !strings.Contains(r.Stderr, "invalid --cluster-id") {
		t.Errorf("bad --cluster-id: %s", r)
	}
}

// TestSyncReadsSharedPool (issue 9, item 4): bindings stable and canary
// share a pool (validate's PLB009 warns, nothing refuses it). Endpoint E
// leaves stable's Service for canary's: in one pass, whichever binding goes
// first, E's member is handed over — the same member re-marked for canary
// by batch-update of its name — and never removed, so E never leaves the
// pool. Both bindings are in sync (exit 0).
func TestSyncReadsSharedPool(t *testing.T) {
	e := newSyncEnv(t, "sync-reads-shared")
	e.pool(syncPool)
	e.manualSlice("stable", 80, 8080, []string{"10.64.0.1", "10.64.0.2"})
	e.manualSlice("canary", 80, 8080, []string{"10.64.1.1"})
	us := e.binding("stable", syncPool, "stable", 80)
	uc := e.binding("canary", syncPool, "canary", 80)
	sm, cm := markerOf(e.ns, "stable", us), markerOf(e.ns, "canary", uc)

	// Two bindings on one pool: a warning, not an error.
	both := mustSucceed(t, ccictl(t, "get", "plb", "-n", e.ns, "-o", "yaml"))
	if v := ccictl(t, "validate", "-f", writeFile(t, "shared.yaml", both.Stdout)); v.Code != 0 || !strings.Contains(v.Stdout, "warning PLB009") {
		t.Errorf("validate of two bindings on one pool: %s", v)
	}

	mustSucceed(t, e.sync())
	e.wantPool(syncPool, merge(owned(sm, "10.64.0.1:8080", "10.64.0.2:8080"), owned(cm, "10.64.1.1:8080")))
	var moved elb.Member
	for _, m := range e.emu.Members(syncPool) {
		if m.Address == "10.64.0.2" {
			moved = m
		}
	}

	// E = 10.64.0.2 moves to canary. No delete call is made at all, so E
	// is never out of the pool.
	e.manualSlice("stable", 80, 8080, []string{"10.64.0.1"})
	e.manualSlice("canary", 80, 8080, []string{"10.64.1.1", "10.64.0.2"})
	e.emu.ResetCounts()
	r := e.sync()
	if r.Code != 0 || !strings.Contains(r.Stdout, "poolbinding/stable: +0 -0 =1 ") || !strings.Contains(r.Stdout, "remarked=1") ||
		!strings.Contains(r.Stdout, "1 member(s) handed over to "+e.ns+"/canary") {
		t.Errorf("hand-over pass: %s", r)
	}
	e.wantPool(syncPool, merge(owned(sm, "10.64.0.1:8080"), owned(cm, "10.64.1.1:8080", "10.64.0.2:8080")))
	for _, m := range e.emu.Members(syncPool) {
		if m.Address == "10.64.0.2" && m.ID != moved.ID {
			t.Errorf("E was removed and re-added (id %s, was %s) instead of handed over", m.ID, moved.ID)
		}
	}
	if c := e.emu.Counts(); c[elbemulator.OpBatchDeleteMembers] != 0 || c[elbemulator.OpBatchAddMembers] != 0 || c[elbemulator.OpBatchUpdateMembers] != 1 {
		t.Errorf("calls %v: want one batch-update and no add or delete", c)
	}
	for _, b := range []string{"stable", "canary"} {
		if st := e.syncedCond(b); !strings.HasPrefix(st, "True ") {
			t.Errorf("%s status: %q", b, st)
		}
	}
	// The next pass has nothing to do.
	r = e.sync()
	wantLine(t, r, 0, "poolbinding/canary: +0 -0 =2 foreign=1\npoolbinding/stable: +0 -0 =1 foreign=2")
}

// dnsService makes selectorless Service svc with port 53 in two protocols
// (first → 5353, second → 5354) and one EndpointSlice the test writes, as
// the EndpointSlice controller would, for addrs.
func (e *syncEnv) dnsService(svc string, first, second corev1.Protocol, addrs []string) {
	e.t.Helper()
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: e.ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "dns-a", Port: 53, Protocol: first, TargetPort: intstr.FromInt32(5353)},
			{Name: "dns-b", Port: 53, Protocol: second, TargetPort: intstr.FromInt32(5354)},
		}},
	}
	if _, err := e.kube.CoreV1().Services(e.ns).Create(e.ctx(), s, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	na, nb, pa, pb := "dns-a", "dns-b", int32(5353), int32(5354)
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-manual", Namespace: e.ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "e2e-sync-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &na, Port: &pa, Protocol: &first}, {Name: &nb, Port: &pb, Protocol: &second}},
	}
	for _, a := range addrs {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	if _, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).Create(e.ctx(), slice, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// TestSyncReadsPortProtocol (issue 9, item 9): Service port 53 is UDP →
// 5353 and TCP → 5354. Bound to a TCP pool the members are on 5354, to a
// UDP pool on 5353, to an HTTP pool (TCP underneath) on 5354; with 53 as
// UDP and SCTP only, a TCP pool has no Service port to take:
// ServicePortNotFound with the reason, nothing changed, exit 1.
func TestSyncReadsPortProtocol(t *testing.T) {
	e := newSyncEnv(t, "sync-reads-ports")
	e.dnsService("dns", corev1.ProtocolUDP, corev1.ProtocolTCP, []string{"10.65.0.1"})
	e.dnsService("dns-sctp", corev1.ProtocolUDP, corev1.ProtocolSCTP, []string{"10.65.1.1"})
	pools := map[string]string{
		"TCP":  "1a000000-0000-4000-8000-000000000001",
		"UDP":  "1a000000-0000-4000-8000-000000000002",
		"HTTP": "1a000000-0000-4000-8000-000000000003",
	}
	uids := map[string]string{}
	for proto, id := range pools {
		e.emu.CreatePool(elb.Pool{ID: id, Protocol: proto, Listeners: []elb.Ref{{ID: "l-" + proto}}})
		uids[proto] = e.binding("b-"+strings.ToLower(proto), id, "dns", 53)
	}
	r := e.sync()
	wantLine(t, r, 0, "poolbinding/b-http: +1 -0 =0 foreign=0\npoolbinding/b-tcp: +1 -0 =0 foreign=0\npoolbinding/b-udp: +1 -0 =0 foreign=0")
	for proto, port := range map[string]string{"TCP": "5354", "UDP": "5353", "HTTP": "5354"} {
		e.wantPool(pools[proto], owned(markerOf(e.ns, "b-"+strings.ToLower(proto), uids[proto]), "10.65.0.1:"+port))
		if st := e.syncedCond("b-" + strings.ToLower(proto)); st != "True Synced 1" {
			t.Errorf("%s binding status: %q", proto, st)
		}
	}

	const sctpPool = "1a000000-0000-4000-8000-000000000004"
	e.emu.CreatePool(elb.Pool{ID: sctpPool, Protocol: "TCP", Listeners: []elb.Ref{{ID: "l-x"}}})
	e.binding("b-sctp", sctpPool, "dns-sctp", 53)
	r = e.sync("b-sctp")
	wantLine(t, r, 1, "poolbinding/b-sctp: +0 -0 =0 foreign=0 blocked: ServicePortNotFound: service port 53 is served as SCTP and UDP only, and pool "+
		sctpPool+" (protocol TCP) takes TCP: no Service port to bind; nothing changed")
	e.wantPool(sctpPool, map[string]string{})
	if st := e.syncedCond("b-sctp"); st != "False ServicePortNotFound 1" {
		t.Errorf("status: %q", st)
	}
}

// namedSlice writes EndpointSlice name of Service svc with one port named
// portName (TCP, target) and addrs ready, as the EndpointSlice controller
// does for a Service port of that name.
func (e *syncEnv) namedSlice(svc, name, portName string, target int32, addrs []string) {
	e.t.Helper()
	ready, proto := true, corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "e2e-sync-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &target, Protocol: &proto}},
	}
	for _, a := range addrs {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	cur, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
	if err == nil {
		slice.ResourceVersion = cur.ResourceVersion
		_, err = e.kube.DiscoveryV1().EndpointSlices(e.ns).Update(e.ctx(), slice, metav1.UpdateOptions{})
	} else {
		_, err = e.kube.DiscoveryV1().EndpointSlices(e.ns).Create(e.ctx(), slice, metav1.CreateOptions{})
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestSyncReadsPortRenameInTransition (issue 9, item 12): the Service's
// port is now named http, but one of its two EndpointSlices still names it
// web (the EndpointSlice controller has rewritten only the other). The
// endpoints of the lagging slice still serve: their members stay, the
// member of an endpoint that is gone goes, and the pass says
// EndpointsInTransition (exit 1, Synced=False). Once the slices agree, the
// pass is in sync.
func TestSyncReadsPortRenameInTransition(t *testing.T) {
	e := newSyncEnv(t, "sync-reads-rename")
	e.pool(syncPool)
	e.manualSlice("web", 80, 8080, []string{"10.66.0.1", "10.66.0.2", "10.66.0.3"})
	uid := e.binding("b1", syncPool, "web", 80)
	marker := markerOf(e.ns, "b1", uid)
	wantLine(t, e.sync(), 0, "poolbinding/b1: +3 -0 =0 foreign=0")

	// Mid-rename: web-manual (name http) holds .1, web-old still says web
	// for .2; .3 is gone.
	e.manualSlice("web", 80, 8080, []string{"10.66.0.1"})
	e.namedSlice("web", "web-old", "web", 8080, []string{"10.66.0.2"})
	r := e.sync()
	wantLine(t, r, 1, "poolbinding/b1: +0 -1 =1 foreign=0 blocked: EndpointsInTransition: added 0, removed 1 member(s); "+
		"the Service's EndpointSlices disagree on the name of port 80 (1 slice(s) name it otherwise: a rename in progress); "+
		"1 removal(s) at their endpoints withheld until they agree")
	e.wantPool(syncPool, owned(marker, "10.66.0.1:8080", "10.66.0.2:8080"))
	if st := e.syncedCond("b1"); st != "False EndpointsInTransition 1" {
		t.Errorf("status mid-rename: %q", st)
	}

	// The controller catches up: both slices say http.
	e.namedSlice("web", "web-old", "http", 8080, []string{"10.66.0.2"})
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -0 =2 foreign=0")
	e.wantPool(syncPool, owned(marker, "10.66.0.1:8080", "10.66.0.2:8080"))
	if st := e.syncedCond("b1"); st != "True InSync 1" {
		t.Errorf("status after the rename: %q", st)
	}
}
