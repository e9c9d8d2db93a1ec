package poolsync

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
)

// testCluster is the cluster identity of the tests' markers; otherCluster
// another cluster's that feeds the same pools.
const (
	testCluster  = "c1-3f6b2a90"
	otherCluster = "c2-77d01e4c"
)

var (
	self       = Owner{Namespace: "ns", Name: "web", UID: "uid-self", Cluster: testCluster}
	selfMark   = Marker(self)
	selfLegacy = LegacyMarker(self)                                                                  // the same binding's marker before cluster ids
	oldSelf    = Marker(Owner{Namespace: "ns", Name: "web", UID: "uid-old", Cluster: testCluster})   // earlier binding of the same name
	liveOther  = Marker(Owner{Namespace: "ns", Name: "api", UID: "uid-live", Cluster: testCluster})  // another existing binding
	deadOther  = Marker(Owner{Namespace: "ns", Name: "gone", UID: "uid-dead", Cluster: testCluster}) // deleted binding
	unknownNS  = Marker(Owner{Namespace: "far", Name: "x", UID: "uid-far", Cluster: testCluster})    // namespace not listed
	// Another cluster's bindings: same namespace and name (a blue/green
	// twin), and one whose uid this cluster does not know.
	twinOther   = Marker(Owner{Namespace: "ns", Name: "web", UID: "uid-twin", Cluster: otherCluster})
	remoteOther = Marker(Owner{Namespace: "ns", Name: "gone", UID: "uid-remote", Cluster: otherCluster})
	deadLegacy  = LegacyMarker(Owner{Namespace: "ns", Name: "gone", UID: "uid-dead", Cluster: testCluster}) // deleted binding, legacy form
	lookup      = NewOwnerLookup([]Owner{self, {Namespace: "ns", Name: "api", UID: "uid-live"}}, []string{"ns"})
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
			// A member removed and re-added under a new ID between two
			// pages shows twice; the live one may be either.
			name:    "two owned members at one key: inconsistent read, nothing removed",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("b", selfMark, "10.0.0.1", 80), mem("a", selfMark, "10.0.0.1", 80), mem("s", selfMark, "10.0.0.9", 80)},
			keep:    []string{"a"}, blocked: BlockedInconsistentRead,
		},
		{
			name:    "owned and foreign member at one key: inconsistent read, owned one kept",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("a", "x", "10.0.0.1", 80), mem("b", selfMark, "10.0.0.1", 80)},
			keep:    []string{"b"}, foreign: []string{"a"}, confl: []string{"a"}, blocked: BlockedInconsistentRead,
		},
		{
			name:    "two foreign members at one key block removals elsewhere too",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("a", "x", "10.0.0.7", 80), mem("b", "y", "10.0.0.7", 80), mem("s", selfMark, "10.0.0.9", 80)},
			add:     []string{"10.0.0.1:80"}, foreign: []string{"a", "b"}, blocked: BlockedInconsistentRead,
		},
		{
			name:    "the pool's own list disagreed: removals withheld",
			desired: []Endpoint{ep("10.0.0.1", 80)},
			current: []elb.Member{mem("s", selfMark, "10.0.0.9", 80)},
			opts:    PlanOptions{InconsistentRead: "listed ids differ"},
			add:     []string{"10.0.0.1:80"}, blocked: BlockedInconsistentRead,
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
	legacy := LegacyMarker(owner)
	owns := func(name string) bool { return marker != "" && (name == marker || name == legacy) }
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
		if !owns(m.Name) {
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
		if owns(m.Name) {
			continue
		}
		if !opts.PruneOrphans || !isOrphan(m.Name, owner, opts.Owners) {
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
	// Two members at one address+port: no removal and no weight change
	// anywhere, and the plan says InconsistentRead (unless an earlier
	// guard already holds everything back).
	byKey := map[memberKey]int{}
	for _, m := range current {
		byKey[key(m.Address, m.ProtocolPort)]++
	}
	for k, n := range byKey {
		if n < 2 || marker == "" {
			continue
		}
		if len(p.ToRemove) > 0 || len(p.ToUpdate) > 0 {
			t.Fatalf("%d members at %v but %d removals, %d weight changes", n, k, len(p.ToRemove), len(p.ToUpdate))
		}
		if !opts.Incomplete && p.Blocked != BlockedInconsistentRead {
			t.Fatalf("%d members at %v but blocked=%q", n, k, p.Blocked)
		}
	}
	if opts.InconsistentRead != "" && (len(p.ToRemove) > 0 || len(p.ToUpdate) > 0) {
		t.Fatalf("inconsistent read but %d removals, %d weight changes", len(p.ToRemove), len(p.ToUpdate))
	}
	if marker == "" && p.Changes() {
		t.Fatal("invalid owner but plan changes the pool")
	}
	// Another cluster's members are foreign: never orphans, never removed,
	// never re-marked, whatever the flags.
	otherCl := func(name string) bool {
		o, ok := ParseMarker(name)
		return ok && o.Cluster != "" && o.Cluster != owner.Cluster
	}
	for _, m := range append(append(slices.Clone(p.ToRemove), p.Orphans...), p.Withheld...) {
		if otherCl(m.Name) {
			t.Fatalf("member %s of another cluster (%q) is treated as an orphan or removed", m.ID, m.Name)
		}
	}
	// Renames: only owned members, each once; Migrate takes a legacy
	// marker to the current one; Handover to another live binding of this
	// cluster; a kept or draining legacy member is re-marked (or withheld
	// with the rest).
	renamed := map[string]bool{}
	for _, x := range append(slices.Clone(p.ToRename), p.WithheldRenames...) {
		if !owns(x.Member.Name) || renamed[ident3(x.Member)] {
			t.Fatalf("bad or repeated rename %+v", x)
		}
		renamed[ident3(x.Member)] = true
		switch x.Reason {
		case RenameMigrate:
			if x.Member.Name != legacy || x.Name != marker {
				t.Fatalf("migrate rename %+v", x)
			}
		case RenameHandover:
			o, ok := ParseMarker(x.Name)
			if !ok || o.Cluster != owner.Cluster || x.Name == marker {
				t.Fatalf("handover rename %+v", x)
			}
		default:
			t.Fatalf("rename reason %q", x.Reason)
		}
	}
	if len(p.ToRename) > 0 && p.Blocked != "" && p.Blocked != BlockedDeletionProtected {
		t.Fatalf("blocked %q but %d renames", p.Blocked, len(p.ToRename))
	}
	for _, m := range append(slices.Clone(p.Keep), p.Draining...) {
		if legacy != "" && m.Name == legacy && !renamed[ident3(m)] {
			t.Fatalf("kept legacy member %s not re-marked", m.ID)
		}
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
		if !owns(m.Name) || !want[k] || cover[k] {
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
	checkWeightInvariants(t, current, owns, opts, p, want)

	// Every current member lands in exactly one bucket.
	owned := len(p.Keep) + len(p.Draining) + len(p.HandedOver)
	// A handed-over member is at an endpoint another binding claims, is
	// never removed, and is re-marked for that binding (or withheld).
	for _, m := range p.HandedOver {
		if _, ok := opts.Claims[Endpoint{Address: m.Address, Port: m.ProtocolPort}]; !ok || !owns(m.Name) {
			t.Fatalf("handed over %s at an unclaimed endpoint or not owned", m.ID)
		}
		if seenRemove[m.ID] {
			t.Fatalf("handed-over member %s also removed", m.ID)
		}
	}
	for _, m := range p.ToRemove {
		if c, ok := opts.Claims[Endpoint{Address: m.Address, Port: m.ProtocolPort}]; ok && c.Owner.Cluster == owner.Cluster && Marker(c.Owner) != marker {
			t.Fatalf("removes %s at an endpoint %s wants", m.ID, c.Owner)
		}
	}
	for _, m := range append(slices.Clone(p.ToRemove), p.Withheld...) {
		if owns(m.Name) {
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

// checkWeightInvariants: weights and draining. Only owned members are ever
// re-weighted, each at most once, to 0 when draining and to the binding's
// weight when kept; nothing is re-weighted when a guard blocks or the pool
// ignores weights; a member of a terminating endpoint that still serves is
// never removed where the pool drains by weight.
func checkWeightInvariants(t *testing.T, current []elb.Member, owns func(string) bool, opts PlanOptions, p Plan, want map[memberKey]bool) {
	t.Helper()
	target := int32(1)
	if opts.Weight != nil {
		target = *opts.Weight
	}
	draining := map[memberKey]bool{}
	for _, e := range validDesired(opts.Draining) {
		if k := keyOf(e.Address, e.Port); !want[k] {
			draining[k] = true
		}
	}
	// Member IDs may repeat in a fuzzed pool: identify members by id and key.
	ident := func(m elb.Member) string { return fmt.Sprintf("%s|%s|%d", m.ID, m.Address, m.ProtocolPort) }
	inKeep, inDrain := map[string]bool{}, map[memberKey]bool{}
	for _, m := range p.Keep {
		inKeep[ident(m)] = true
	}
	drainByID := map[string]bool{}
	for _, m := range p.Draining {
		k := keyOf(m.Address, m.ProtocolPort)
		if !owns(m.Name) || !draining[k] || opts.Drain != DrainByWeight {
			t.Fatalf("bad draining member %+v (mode %q)", m, opts.Drain)
		}
		if inDrain[k] {
			t.Fatalf("two draining members at %v", k)
		}
		inDrain[k], drainByID[ident(m)] = true, true
	}
	updated := map[string]int32{}
	for _, u := range append(slices.Clone(p.ToUpdate), p.WithheldUpdates...) {
		m := u.Member
		if !owns(m.Name) {
			t.Fatalf("re-weights member %s (%q) it does not own", m.ID, m.Name)
		}
		if _, dup := updated[ident(m)]; dup {
			t.Fatalf("member %s re-weighted twice", m.ID)
		}
		updated[ident(m)] = u.Weight
		if u.Weight == m.Weight {
			t.Fatalf("update of %s sets the weight it has (%d)", m.ID, m.Weight)
		}
		switch u.Reason {
		case UpdateDrain:
			if u.Weight != 0 || !drainByID[ident(m)] {
				t.Fatalf("drain update %+v of a member that is not draining, or not to 0", u)
			}
		case UpdateRestore:
			if u.Weight != target {
				t.Fatalf("restore update %+v not to the binding weight %d", u, target)
			}
			if !inKeep[ident(m)] {
				t.Fatalf("restore update of a member that is not kept: %+v", u)
			}
		default:
			t.Fatalf("update reason %q", u.Reason)
		}
	}
	if opts.Drain == DrainWeightIgnored && len(p.ToUpdate)+len(p.WithheldUpdates) > 0 {
		t.Fatalf("pool ignores weights but %d updates planned", len(p.ToUpdate)+len(p.WithheldUpdates))
	}
	if p.Blocked != "" && len(p.ToUpdate) > 0 {
		t.Fatalf("blocked (%s) but %d updates", p.Blocked, len(p.ToUpdate))
	}
	if len(want) == 0 && !opts.AllowEmpty && len(p.ToUpdate) > 0 {
		t.Fatalf("nothing desired, no AllowEmpty, but %d updates (would drain the pool)", len(p.ToUpdate))
	}
	// Unless blocked, every kept member ends at the binding's weight and
	// every draining one at 0.
	if p.Blocked == "" {
		end := func(m elb.Member) int32 {
			if w, ok := updated[ident(m)]; ok {
				return w
			}
			return m.Weight
		}
		if opts.Drain != DrainWeightIgnored {
			for _, m := range p.Keep {
				if end(m) != target {
					t.Fatalf("kept member %s ends at weight %d, binding weight %d", m.ID, end(m), target)
				}
			}
		}
		for _, m := range p.Draining {
			if end(m) != 0 {
				t.Fatalf("draining member %s ends at weight %d", m.ID, end(m))
			}
		}
	}
	// A still-serving terminating endpoint keeps its owned member where the
	// pool drains by weight; only a duplicate at the same key may go, and an
	// orphan there is not pruned.
	for _, m := range p.ToRemove {
		k := keyOf(m.Address, m.ProtocolPort)
		if !draining[k] || opts.Drain != DrainByWeight {
			continue
		}
		if !owns(m.Name) || !inDrain[k] || drainByID[ident(m)] {
			t.Fatalf("removes %s at terminating, still serving endpoint %v", m.ID, k)
		}
	}
	if opts.Drain == DrainByWeight && p.Marker != "" && p.Blocked == "" {
		for _, m := range current {
			if k := keyOf(m.Address, m.ProtocolPort); owns(m.Name) && draining[k] && !inDrain[k] && !slices.ContainsFunc(p.HandedOver, func(h elb.Member) bool { return ident(h) == ident(m) }) {
				t.Fatalf("owned member %s at terminating endpoint %v is not draining", m.ID, k)
			}
		}
	}
	// DrainRemoved: owned members at draining keys in the other modes.
	for _, m := range p.DrainRemoved {
		if opts.Drain == DrainByWeight || !owns(m.Name) || !draining[keyOf(m.Address, m.ProtocolPort)] {
			t.Fatalf("bad drain-removed member %+v (mode %q)", m, opts.Drain)
		}
	}
}

// ident3 names a member by id and key (ids may repeat in a fuzzed pool).
func ident3(m elb.Member) string { return fmt.Sprintf("%s|%s|%d", m.ID, m.Address, m.ProtocolPort) }

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
		desired, draining, current, claims := decodeUniverse(data)
		seven, zero := int32(7), int32(0)
		// Every input is planned for each way a pool drains and for the
		// default, a raised and a zero binding weight.
		for _, mode := range []DrainMode{DrainByWeight, DrainByPool, DrainWeightIgnored} {
			for _, w := range []*int32{nil, &seven, &zero} {
				opts := PlanOptions{Incomplete: incomplete, AllowEmpty: allowEmpty, PruneOrphans: prune, Owners: lookup,
					Draining: draining, Drain: mode, Weight: w, Claims: claims}
				p := ComputePlan(desired, current, self, opts)
				checkPlanInvariants(t, desired, current, self, opts, p)
				opts.Owners = nil
				checkPlanInvariants(t, desired, current, self, opts, ComputePlan(desired, current, self, opts))
			}
		}
	})
}

// decodeUniverse reads pairs of bytes (a, b). With a's top bit clear, a is
// an endpoint: desired, or terminating-but-serving when bit 5 is set, or,
// with bit 6, wanted by another binding of the pass (api, or another
// cluster's twin when bit 5 is set too). With
// it set, (a, b) is a member: a picks address, port and (bits 5-6) weight,
// b its name and id.
func decodeUniverse(data []byte) ([]Endpoint, []Endpoint, []elb.Member, map[Endpoint]Claim) {
	claims := map[Endpoint]Claim{}
	api := Owner{Namespace: "ns", Name: "api", UID: "uid-live", Cluster: testCluster}
	twin := Owner{Namespace: "ns", Name: "web", UID: "uid-twin", Cluster: otherCluster}
	addrs := []string{"10.0.0.1", "10.0.0.2", "10.0.0.10", "192.168.1.1", "fd00::1", "not-an-ip", "10.0.0.001", "0.0.0.0"}
	ports := []int32{80, 8080, 0, 70000}
	names := []string{selfMark, selfMark, oldSelf, liveOther, deadOther, unknownNS, "", "ccictl:ns/web", selfMark + " ", "manual",
		selfLegacy, twinOther, remoteOther, deadLegacy}
	weights := []int32{1, 0, 5, 7}
	var desired, draining []Endpoint
	var current []elb.Member
	for i := 0; i+1 < len(data); i += 2 {
		a, b := data[i], data[i+1]
		addr, port := addrs[int(a&7)], ports[int(a>>3)&3]
		if a&0x80 == 0 {
			if a&0x40 != 0 {
				if e := validDesired([]Endpoint{{Address: addr, Port: port}}); len(e) == 1 {
					c := Claim{Owner: api}
					if a&0x20 != 0 {
						c.Owner = twin
					}
					claims[e[0]] = c
				}
				continue
			}
			if a&0x20 != 0 {
				draining = append(draining, Endpoint{Address: addr, Port: port})
			} else {
				desired = append(desired, Endpoint{Address: addr, Port: port})
			}
			continue
		}
		// b: low bits pick the name, high bits the id (small range so ids
		// can repeat, as a faulty read might show).
		current = append(current, elb.Member{
			ID:           fmt.Sprintf("m%d", b>>4),
			Name:         names[int(b&15)%len(names)],
			Address:      addr,
			ProtocolPort: port,
			Weight:       weights[int(a>>5)&3],
		})
	}
	return desired, draining, current, claims
}

func wmem(id, name, addr string, port, weight int32) elb.Member {
	m := mem(id, name, addr, port)
	m.Weight = weight
	return m
}

// updatesOf renders updates as "id=weight".
func updatesOf(us []WeightUpdate) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, fmt.Sprintf("%s=%d", u.Member.ID, u.Weight))
	}
	return out
}

func TestComputePlanDraining(t *testing.T) {
	seven := int32(7)
	tests := []struct {
		name                  string
		desired, draining     []Endpoint
		current               []elb.Member
		opts                  PlanOptions
		keep, drain, remove   []string
		updates, withheld     []string
		drainRemoved, foreign []string
		blocked               string
	}{
		{
			name:     "terminating but serving: kept at weight 0, not removed",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 1), wmem("b", selfMark, "10.0.0.2", 80, 1)},
			keep:     []string{"a"}, drain: []string{"b"}, updates: []string{"b=0"},
		},
		{
			name:     "already drained: no update; gone endpoint removed",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 1), wmem("b", selfMark, "10.0.0.2", 80, 0), wmem("c", selfMark, "10.0.0.3", 80, 0)},
			keep:     []string{"a"}, drain: []string{"b"}, remove: []string{"c"},
		},
		{
			name:     "no member is added for a terminating endpoint",
			draining: []Endpoint{ep("10.0.0.2", 80)},
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 1)},
			keep:     []string{"a"},
		},
		{
			name:     "ready in one place wins over terminating",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.1", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 0)},
			keep:     []string{"a"}, updates: []string{"a=1"},
		},
		{
			name:    "hand-changed weights of owned members are restored, foreign ones untouched",
			desired: []Endpoint{ep("10.0.0.1", 80), ep("10.0.0.2", 80), ep("10.0.0.3", 80)},
			current: []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 50), wmem("b", selfMark, "10.0.0.2", 80, 1), wmem("f", "manual", "10.0.0.3", 80, 9), wmem("g", "x", "10.0.0.4", 80, 0)},
			keep:    []string{"a", "b"}, updates: []string{"a=1"}, foreign: []string{"f", "g"},
		},
		{
			name:    "the binding's weight is the one restored",
			desired: []Endpoint{ep("10.0.0.1", 80), ep("10.0.0.2", 80)},
			current: []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 1), wmem("b", selfMark, "10.0.0.2", 80, 7)},
			opts:    PlanOptions{Weight: &seven},
			keep:    []string{"a", "b"}, updates: []string{"a=7"},
		},
		{
			name:     "foreign member at a terminating endpoint keeps its weight",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 1), wmem("f", "manual", "10.0.0.2", 80, 1)},
			keep:     []string{"a"}, foreign: []string{"f"},
		},
		{
			name:     "SOURCE_IP pool: removed normally, no weights changed",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 30), wmem("b", selfMark, "10.0.0.2", 80, 1)},
			opts:     PlanOptions{Drain: DrainWeightIgnored},
			keep:     []string{"a"}, remove: []string{"b"}, drainRemoved: []string{"b"},
		},
		{
			name:     "connection_drain pool: removed normally, weights still restored",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 30), wmem("b", selfMark, "10.0.0.2", 80, 1)},
			opts:     PlanOptions{Drain: DrainByPool},
			keep:     []string{"a"}, remove: []string{"b"}, drainRemoved: []string{"b"}, updates: []string{"a=1"},
		},
		{
			name:     "orphan at a terminating endpoint is not pruned while it serves",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 1), wmem("o", oldSelf, "10.0.0.2", 80, 1), wmem("p", oldSelf, "10.0.0.3", 80, 1)},
			opts:     PlanOptions{PruneOrphans: true},
			keep:     []string{"a"}, remove: []string{"p"},
		},
		{
			name:     "only terminating endpoints left: draining all is refused",
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("b", selfMark, "10.0.0.2", 80, 1)},
			drain:    []string{"b"}, withheld: []string{"b=0"}, blocked: BlockedEmptyRefused,
		},
		{
			name:     "only terminating endpoints left, AllowEmpty: drained",
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("b", selfMark, "10.0.0.2", 80, 1), wmem("c", selfMark, "10.0.0.3", 80, 1)},
			opts:     PlanOptions{AllowEmpty: true},
			drain:    []string{"b"}, updates: []string{"b=0"}, remove: []string{"c"},
		},
		{
			name:     "incomplete read withholds weight changes too",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 9), wmem("b", selfMark, "10.0.0.2", 80, 1)},
			opts:     PlanOptions{Incomplete: true},
			keep:     []string{"a"}, drain: []string{"b"}, withheld: []string{"a=1", "b=0"}, blocked: BlockedIncomplete,
		},
		{
			name:     "second owned member at a terminating endpoint: inconsistent read, nothing removed",
			desired:  []Endpoint{ep("10.0.0.1", 80)},
			draining: []Endpoint{ep("10.0.0.2", 80)},
			current:  []elb.Member{wmem("a", selfMark, "10.0.0.1", 80, 1), wmem("b", selfMark, "10.0.0.2", 80, 0), wmem("c", selfMark, "10.0.0.2", 80, 1)},
			keep:     []string{"a"}, drain: []string{"b"}, blocked: BlockedInconsistentRead,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Draining = tc.draining
			p := ComputePlan(tc.desired, tc.current, self, opts)
			checkPlanInvariants(t, tc.desired, tc.current, self, opts, p)
			nz := func(s []string) []string {
				if s == nil {
					return []string{}
				}
				return s
			}
			check := func(what string, got, want []string) {
				t.Helper()
				if !reflect.DeepEqual(got, nz(want)) {
					t.Errorf("%s = %v, want %v", what, got, nz(want))
				}
			}
			check("keep", ids(p.Keep), tc.keep)
			check("draining", ids(p.Draining), tc.drain)
			check("remove", ids(p.ToRemove), tc.remove)
			check("updates", updatesOf(p.ToUpdate), tc.updates)
			check("withheld updates", updatesOf(p.WithheldUpdates), tc.withheld)
			check("drain-removed", ids(p.DrainRemoved), tc.drainRemoved)
			check("foreign", ids(p.Foreign), tc.foreign)
			if p.Blocked != tc.blocked {
				t.Errorf("blocked = %q, want %q", p.Blocked, tc.blocked)
			}
			if p.Changes() != (len(p.ToAdd)+len(p.ToRemove)+len(p.ToUpdate) > 0) {
				t.Error("Changes() disagrees with the plan")
			}
		})
	}
}

func TestDrainModeOf(t *testing.T) {
	on := &elb.ConnectionDrain{Enable: true, Timeout: 60}
	for _, tc := range []struct {
		pool elb.Pool
		want DrainMode
	}{
		{elb.Pool{Protocol: "HTTP", LBAlgorithm: "ROUND_ROBIN"}, DrainByWeight},
		{elb.Pool{Protocol: "HTTPS", LBAlgorithm: "LEAST_CONNECTIONS", ConnectionDrain: on}, DrainByWeight}, // not documented for HTTP(S)
		{elb.Pool{Protocol: "TCP", LBAlgorithm: "ROUND_ROBIN"}, DrainByWeight},
		{elb.Pool{Protocol: "TCP", LBAlgorithm: "ROUND_ROBIN", ConnectionDrain: &elb.ConnectionDrain{Timeout: 60}}, DrainByWeight},
		{elb.Pool{Protocol: "TCP", LBAlgorithm: "ROUND_ROBIN", ConnectionDrain: on}, DrainByPool},
		{elb.Pool{Protocol: "UDP", LBAlgorithm: "LEAST_CONNECTIONS", ConnectionDrain: on}, DrainByPool},
		{elb.Pool{Protocol: "QUIC", LBAlgorithm: "QUIC_CID", ConnectionDrain: on}, DrainWeightIgnored},
		{elb.Pool{Protocol: "HTTP", LBAlgorithm: "SOURCE_IP"}, DrainWeightIgnored},
	} {
		if got := DrainModeOf(&tc.pool); got != tc.want {
			t.Errorf("%s/%s drain %+v: %q, want %q", tc.pool.Protocol, tc.pool.LBAlgorithm, tc.pool.ConnectionDrain, got, tc.want)
		}
	}
}
