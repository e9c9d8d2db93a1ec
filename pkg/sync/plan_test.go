package sync

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
)

var (
	self      = Owner{Namespace: "ns", Name: "web", UID: "uid-self"}
	selfMark  = Marker(self)
	oldSelf   = Marker(Owner{Namespace: "ns", Name: "web", UID: "uid-old"})   // earlier binding of the same name
	liveOther = Marker(Owner{Namespace: "ns", Name: "api", UID: "uid-live"})  // another existing binding
	deadOther = Marker(Owner{Namespace: "ns", Name: "gone", UID: "uid-dead"}) // deleted binding
	unknownNS = Marker(Owner{Namespace: "far", Name: "x", UID: "uid-far"})    // namespace not listed
	lookup    = NewOwnerLookup([]Owner{self, {Namespace: "ns", Name: "api", UID: "uid-live"}}, []string{"ns"})
)

func ep(addr string, port int32) Endpoint { return Endpoint{Address: addr, Port: port} }

func mem(id, name, addr string, port int32) elb.Member {
	return elb.Member{ID: id, Name: name, Address: addr, ProtocolPort: port}
}

func keysOfNew(ms []elb.NewMember) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort))
	}
	return out
}

func ids(ms []elb.Member) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestComputePlan(t *testing.T) {
	tests := []struct {
		name    string
		desired []Endpoint
		current []elb.Member
		opts    PlanOptions
		add     []string
		remove  []string
		keep    []string
		foreign []string
		orphans []string
		confl   []string
		blocked string
	}{
		{
			name:    "empty pool gets every endpoint, sorted numerically",
			desired: []Endpoint{ep("10.0.0.10", 80), ep("10.0.0.9", 80), ep("10.0.0.9", 80)},
			add:     []string{"10.0.0.9:80", "10.0.0.10:80"},
		},
		{
			name:    "scale down removes only owned, keeps the rest",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("a", selfMark, "10.0.0.1", 80), mem("b", selfMark, "10.0.0.2", 80), mem("f", "manual", "10.0.0.3", 80)},
			remove:  []string{"b"}, keep: []string{"a"}, foreign: []string{"f"},
		},
		{
			name:    "port change is add + remove",
			desired: []Endpoint{ep("10.0.0.1", 8080)},
			current: []elb.Member{mem("a", selfMark, "10.0.0.1", 80)},
			add:     []string{"10.0.0.1:8080"}, remove: []string{"a"},
		},
		{
			name:    "foreign member at a desired endpoint counts as present",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("f", "", "10.0.0.1", 80)},
			foreign: []string{"f"}, confl: []string{"f"},
		},
		{
			name:    "incomplete desired set adds but never removes",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("b", selfMark, "10.0.0.2", 80)},
			opts:    PlanOptions{Incomplete: true},
			add:     []string{"10.0.0.1:80"}, blocked: BlockedIncomplete,
		},
		{
			name:    "empty desired with owned members is refused",
			current: []elb.Member{mem("a", selfMark, "10.0.0.1", 80)},
			blocked: BlockedEmptyRefused,
		},
		{
			name:    "empty desired with AllowEmpty empties our part",
			current: []elb.Member{mem("a", selfMark, "10.0.0.1", 80), mem("f", "x", "10.0.0.9", 80)},
			opts:    PlanOptions{AllowEmpty: true},
			remove:  []string{"a"}, foreign: []string{"f"},
		},
		{
			name:    "empty desired with only foreign members is not blocked",
			current: []elb.Member{mem("f", "x", "10.0.0.9", 80)},
			foreign: []string{"f"},
		},
		{
			name:    "orphans of a re-created binding are reported, not pruned by default",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("o", oldSelf, "10.0.0.2", 80), mem("d", deadOther, "10.0.0.3", 80), mem("l", liveOther, "10.0.0.4", 80), mem("u", unknownNS, "10.0.0.5", 80)},
			opts:    PlanOptions{Owners: lookup},
			add:     []string{"10.0.0.1:80"}, orphans: []string{"o", "d"}, foreign: []string{"l", "u"},
		},
		{
			name:    "orphans pruned when asked; live and unknown owners stay",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("o", oldSelf, "10.0.0.2", 80), mem("d", deadOther, "10.0.0.3", 80), mem("l", liveOther, "10.0.0.4", 80), mem("u", unknownNS, "10.0.0.5", 80)},
			opts:    PlanOptions{Owners: lookup, PruneOrphans: true},
			add:     []string{"10.0.0.1:80"}, remove: []string{"o", "d"}, orphans: []string{"o", "d"}, foreign: []string{"l", "u"},
		},
		{
			name:    "without a lookup only the same-name orphan is known",
			current: []elb.Member{mem("o", oldSelf, "10.0.0.2", 80), mem("d", deadOther, "10.0.0.3", 80)},
			desired: []Endpoint{ep("10.0.0.1", 80)},
			opts:    PlanOptions{PruneOrphans: true},
			add:     []string{"10.0.0.1:80"}, remove: []string{"o"}, orphans: []string{"o"}, foreign: []string{"d"},
		},
		{
			name:    "orphan at a desired endpoint is kept even when pruning",
			desired: []Endpoint{ep("10.0.0.2", 80)},
			current: []elb.Member{mem("o", oldSelf, "10.0.0.2", 80)},
			opts:    PlanOptions{PruneOrphans: true},
			orphans: []string{"o"}, confl: []string{"o"},
		},
		{
			name:    "pruning orphans with nothing desired needs AllowEmpty",
			current: []elb.Member{mem("o", oldSelf, "10.0.0.2", 80)},
			opts:    PlanOptions{PruneOrphans: true},
			orphans: []string{"o"}, blocked: BlockedEmptyRefused,
		},
		{
			name:    "duplicate owned members at one key: one kept, extra removed",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("b", selfMark, "10.0.0.1", 80), mem("a", selfMark, "10.0.0.1", 80)},
			keep:    []string{"a"}, remove: []string{"b"},
		},
		{
			name:    "owned member wins over foreign at the same key",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("a", "x", "10.0.0.1", 80), mem("b", selfMark, "10.0.0.1", 80)},
			keep:    []string{"b"}, foreign: []string{"a"}, confl: []string{"a"},
		},
		{
			name:    "repeated member id blocks removals",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("a", selfMark, "10.0.0.1", 80), mem("a", selfMark, "10.0.0.2", 80)},
			keep:    []string{"a"}, blocked: BlockedInconsistentRead,
		},
		{
			name:    "invalid desired endpoints are dropped",
			desired: []Endpoint{ep("fd00::1", 80), ep("10.0.0.1", 0), ep("10.0.0.1", 70000), ep("bogus", 80), ep("0.0.0.0", 80), ep("10.0.0.2", 80)},
			add:     []string{"10.0.0.2:80"},
		},
		{
			name:    "look-alike names are foreign",
			current: []elb.Member{mem("a", selfMark+" ", "10.0.0.1", 80), mem("b", "ccictl:ns/web", "10.0.0.2", 80)},
			desired: []Endpoint{ep("10.0.0.3", 80)},
			add:     []string{"10.0.0.3:80"}, foreign: []string{"a", "b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ComputePlan(tc.desired, tc.current, self, tc.opts)
			checkPlanInvariants(t, tc.desired, tc.current, self, tc.opts, p)
			nz := func(s []string) []string {
				if s == nil {
					return []string{}
				}
				return s
			}
			sorted := func(s []string) []string { s = slices.Clone(nz(s)); slices.Sort(s); return s }
			check := func(what string, got, want []string) {
				t.Helper()
				if !reflect.DeepEqual(got, nz(want)) {
					t.Errorf("%s = %v, want %v", what, got, nz(want))
				}
			}
			check("add", keysOfNew(p.ToAdd), tc.add)
			check("remove", sorted(ids(p.ToRemove)), sorted(tc.remove))
			check("keep", ids(p.Keep), tc.keep)
			check("foreign", sorted(ids(p.Foreign)), sorted(tc.foreign))
			check("orphans", sorted(ids(p.Orphans)), sorted(tc.orphans))
			check("conflicts", ids(p.Conflicts), tc.confl)
			if p.Blocked != tc.blocked {
				t.Errorf("blocked = %q, want %q", p.Blocked, tc.blocked)
			}
			for _, a := range p.ToAdd {
				if a.Name != selfMark {
					t.Errorf("add %s:%d named %q, want marker", a.Address, a.ProtocolPort, a.Name)
				}
			}
		})
	}
}

func TestComputePlanCopiesMemberOptions(t *testing.T) {
	w := int32(7)
	p := ComputePlan([]Endpoint{ep("10.0.0.1", 80)}, nil, self, PlanOptions{SubnetCIDRID: "sub-1", Weight: &w})
	if len(p.ToAdd) != 1 || p.ToAdd[0].SubnetCIDRID != "sub-1" || p.ToAdd[0].Weight == nil || *p.ToAdd[0].Weight != 7 {
		t.Fatalf("ToAdd = %+v", p.ToAdd)
	}
}

func TestComputePlanInvalidOwnerChangesNothing(t *testing.T) {
	cur := []elb.Member{mem("a", selfMark, "10.0.0.1", 80)}
	p := ComputePlan([]Endpoint{ep("10.0.0.2", 80)}, cur, Owner{Namespace: "ns", Name: "web"}, PlanOptions{AllowEmpty: true})
	if p.Blocked != BlockedInvalidOwner || p.Changes() || len(p.Foreign) != 1 {
		t.Fatalf("plan = %+v", p)
	}
}

// checkPlanInvariants holds for every plan; the table tests and FuzzPlan
// share it.
func checkPlanInvariants(t *testing.T, desired []Endpoint, current []elb.Member, owner Owner, opts PlanOptions, p Plan) {
	t.Helper()
	marker := Marker(owner)
	key := func(addr string, port int32) memberKey { return keyOf(addr, port) }

	want := map[memberKey]bool{}
	for _, e := range validDesired(desired) {
		want[key(e.Address, e.Port)] = true
	}
	curKeys := map[memberKey]bool{}
	notOwnedAt := map[memberKey]bool{}
	byID := map[string]int{}
	for _, m := range current {
		k := key(m.Address, m.ProtocolPort)
		curKeys[k] = true
		if marker == "" || m.Name != marker {
			notOwnedAt[k] = true
		}
		byID[m.ID]++
	}

	// Never removes what it does not own (orphans only when pruning).
	removedKeys := map[memberKey]bool{}
	seenRemove := map[string]bool{}
	for _, m := range p.ToRemove {
		removedKeys[key(m.Address, m.ProtocolPort)] = true
		if seenRemove[m.ID] {
			t.Fatalf("member %s removed twice", m.ID)
		}
		seenRemove[m.ID] = true
		if marker != "" && m.Name == marker {
			continue
		}
		if !opts.PruneOrphans || !isOrphan(m.Name, owner, marker, opts.Owners) {
			t.Fatalf("removes member %s (%q) it does not own", m.ID, m.Name)
		}
		if want[key(m.Address, m.ProtocolPort)] {
			t.Fatalf("prunes orphan %s at a desired endpoint", m.ID)
		}
	}
	// Guards.
	if opts.Incomplete && len(p.ToRemove) > 0 {
		t.Fatalf("incomplete desired set but %d removals", len(p.ToRemove))
	}
	if len(want) == 0 && !opts.AllowEmpty && len(p.ToRemove) > 0 {
		t.Fatalf("empty desired set without AllowEmpty but %d removals", len(p.ToRemove))
	}
	for id, n := range byID {
		if (n > 1 || id == "") && len(p.ToRemove) > 0 {
			t.Fatalf("member id %q seen %d times but %d removals", id, n, len(p.ToRemove))
		}
	}
	if marker == "" && p.Changes() {
		t.Fatal("invalid owner but plan changes the pool")
	}

	// No duplicate adds; adds are new keys; nothing added is also removed.
	added := map[memberKey]bool{}
	for _, a := range p.ToAdd {
		k := key(a.Address, a.ProtocolPort)
		if added[k] {
			t.Fatalf("duplicate add %v", k)
		}
		added[k] = true
		if curKeys[k] {
			t.Fatalf("adds %v which the pool already holds", k)
		}
		if removedKeys[k] {
			t.Fatalf("%v both added and removed", k)
		}
		if !want[k] {
			t.Fatalf("adds undesired %v", k)
		}
		if a.Name != marker {
			t.Fatalf("add %v named %q", k, a.Name)
		}
	}
	// add ∪ keep covers desired minus keys held by members we don't own,
	// and equals desired when no such member collides.
	cover := map[memberKey]bool{}
	for k := range added {
		cover[k] = true
	}
	for _, m := range p.Keep {
		k := key(m.Address, m.ProtocolPort)
		if m.Name != marker || !want[k] || cover[k] {
			t.Fatalf("bad keep %+v", m)
		}
		cover[k] = true
	}
	if marker != "" {
		for k := range want {
			if !cover[k] && !notOwnedAt[k] {
				t.Fatalf("desired %v neither added nor kept", k)
			}
		}
		collides := false
		for k := range want {
			collides = collides || notOwnedAt[k]
		}
		if !collides && len(cover) != len(want) {
			t.Fatalf("add ∪ keep has %d keys, desired %d", len(cover), len(want))
		}
	}
	// Every current member lands in exactly one bucket.
	owned := len(p.Keep)
	for _, m := range append(slices.Clone(p.ToRemove), p.Withheld...) {
		if m.Name == marker && marker != "" {
			owned++
		}
	}
	if got := owned + len(p.Foreign) + len(p.Orphans); got != len(current) {
		t.Fatalf("buckets hold %d members, pool has %d", got, len(current))
	}

	// Deterministic: input order does not matter.
	rev := slices.Clone(current)
	slices.Reverse(rev)
	rd := slices.Clone(desired)
	slices.Reverse(rd)
	if q := ComputePlan(rd, rev, owner, opts); !samePlan(p, q) {
		t.Fatalf("plan depends on input order:\n%+v\n%+v", p, q)
	}
}

// samePlan compares plans; member IDs may repeat in a fuzzed pool, so equal
// sort keys can legitimately reorder identical-looking entries only when
// the members are fully equal, which DeepEqual accepts.
func samePlan(a, b Plan) bool { return reflect.DeepEqual(a, b) }

// FuzzPlan decodes bytes into a small universe of desired endpoints and
// members (ours, orphans, live and unknown owners, foreign, look-alikes,
// duplicates, invalid addresses) and checks the plan invariants.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 0, 0, 2, 2, 3}, false, false, false)
	f.Add([]byte{}, false, false, true)
	f.Add([]byte{0x80, 0, 0, 0, 1, 1, 1, 1}, true, false, false)
	f.Fuzz(func(t *testing.T, data []byte, incomplete, allowEmpty, prune bool) {
		desired, current := decodeUniverse(data)
		opts := PlanOptions{Incomplete: incomplete, AllowEmpty: allowEmpty, PruneOrphans: prune, Owners: lookup}
		p := ComputePlan(desired, current, self, opts)
		checkPlanInvariants(t, desired, current, self, opts, p)
		opts.Owners = nil
		checkPlanInvariants(t, desired, current, self, opts, ComputePlan(desired, current, self, opts))
	})
}

func decodeUniverse(data []byte) ([]Endpoint, []elb.Member) {
	addrs := []string{"10.0.0.1", "10.0.0.2", "10.0.0.10", "192.168.1.1", "fd00::1", "not-an-ip", "10.0.0.001", "0.0.0.0"}
	ports := []int32{80, 8080, 0, 70000}
	names := []string{selfMark, selfMark, oldSelf, liveOther, deadOther, unknownNS, "", "ccictl:ns/web", selfMark + " ", "manual"}
	var desired []Endpoint
	var current []elb.Member
	for i := 0; i+1 < len(data); i += 2 {
		a, b := data[i], data[i+1]
		addr, port := addrs[int(a&7)], ports[int(a>>3)&3]
		if a&0x80 == 0 {
			desired = append(desired, Endpoint{Address: addr, Port: port})
			continue
		}
		// b: low bits pick the name, high bits the id (small range so ids
		// can repeat, as a faulty read might show).
		current = append(current, elb.Member{
			ID:           fmt.Sprintf("m%d", b>>4),
			Name:         names[int(b&15)%len(names)],
			Address:      addr,
			ProtocolPort: port,
		})
	}
	return desired, current
}
