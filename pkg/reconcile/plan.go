// Package reconcile reconciles ELB backend server groups ("pools") with the ready
// endpoints of the Services their PoolBindings target, in one client-side
// pass. It is read top to bottom as:
//
//   - marker.go: how a member names the binding that owns it;
//   - plan.go: ComputePlan, a pure function from desired endpoints, current
//     members and the owner to what to add, keep, re-weight, remove and
//     leave alone;
//   - stage.go: Stage, the plan's additions and removals in rounds that
//     fit the pool's member quota;
//   - targets.go, options.go: what a pass is given (the bindings with the
//     endpoints resolved for them, and the pass's policy);
//   - run.go: Run syncs many bindings concurrently; Sync is one binding's
//     pass: read the pool and its members, plan, write, classify;
//   - writer.go: the batch calls that write a pool's members (adds, then
//     weight updates, then removals, ≤200 per call), round by round;
//     health.go: the wait for new members to be healthy; recheck.go: the
//     re-check of removals where pool locks are unavailable;
//   - outcome.go: the State and Reason a binding's pass ends in;
//   - result.go: Result, the output record of one binding's pass;
//   - status.go: the PoolBindingStatus a pass's Result implies.
//
// Safety rules the planner enforces: members not marked as this binding's
// are never removed; a member of a deleted binding (an orphan) is removed
// only on request; when the desired set is incomplete nothing is removed;
// when it is empty, owned members are not removed (nor all drained to
// weight 0) unless AllowEmpty; a member of a terminating endpoint that still
// serves is set to weight 0, not removed, where the pool honours weights and
// does not drain removed members itself; weights of members it does not own
// are never changed.
package reconcile

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/endpoints"
)

// Endpoint is a desired backend (address + member port).
type Endpoint = endpoints.Endpoint

// Reasons a plan withholds changes (Plan.Blocked).
const (
	// BlockedIncomplete: the desired set is not known in full (Service
	// missing, endpoint resolution failed, partial read), so nothing is removed.
	BlockedIncomplete = "Incomplete"
	// BlockedEmptyRefused: no endpoint is desired but the pool holds members
	// to remove; emptying needs AllowEmpty.
	BlockedEmptyRefused = "EmptyRefused"
	// BlockedInconsistentRead: the member list repeats an ID, lacks one,
	// shows two members at one address+port, or does not match the pool's
	// own member list — none of which a consistent read shows; nothing is
	// removed, since a removal by ID could hit a member that is live (e.g.
	// one removed and re-added under a new ID between two pages of the
	// list, which then shows its endpoint twice).
	BlockedInconsistentRead = "InconsistentRead"
	// BlockedInvalidOwner: the binding has no usable namespace/name/uid, so
	// no member can be attributed to it; nothing is changed.
	BlockedInvalidOwner = "InvalidOwner"
	// BlockedDeletionProtected: the pool has member_deletion_protection_enable,
	// so the API refuses every removal; additions still happen.
	BlockedDeletionProtected = "DeletionProtected"
)

// OwnerLookup tells whether the binding named by another member's marker
// still exists. known=false means the caller cannot tell (it did not list
// that binding's namespace); such members are treated as foreign.
type OwnerLookup func(Owner) (exists, known bool)

// NewOwnerLookup answers from a complete list of bindings. namespaces are the
// namespaces whose bindings were all listed; nil means every namespace. The
// list must be unfiltered (not the -l/NAME selection), or live bindings
// would look deleted. Bindings are matched by uid, which stays unique even
// when a name was shortened in the marker.
func NewOwnerLookup(live []Owner, namespaces []string) OwnerLookup {
	uids := make(map[string]bool, len(live))
	for _, o := range live {
		uids[o.UID] = true
	}
	return OwnerLookupFunc(func(uid string) bool { return uids[uid] }, namespaces)
}

// OwnerLookupFunc answers from exists, which tells whether a binding with
// a uid exists in namespaces (nil = every namespace); an index that a
// controller keeps does so without a list per pass.
func OwnerLookupFunc(exists func(uid string) bool, namespaces []string) OwnerLookup {
	var nsSet map[string]bool
	if namespaces != nil {
		nsSet = make(map[string]bool, len(namespaces))
		for _, ns := range namespaces {
			nsSet[ns] = true
		}
	}
	return func(o Owner) (bool, bool) {
		if nsSet != nil && !nsSet[o.Namespace] {
			return false, false
		}
		return exists(o.UID), true
	}
}

// PlanOptions are the caller's knowledge and policy for one plan.
type PlanOptions struct {
	// Incomplete: the desired set may be missing endpoints; withhold removals.
	Incomplete bool
	// InconsistentRead says why the member list cannot be trusted (it did
	// not match the pool's own list of member IDs, even when read again);
	// "" = no known problem. Removals and weight changes are withheld.
	InconsistentRead string
	// AllowEmpty permits removing owned members when nothing is desired.
	AllowEmpty bool
	// PruneOrphans removes members of bindings that no longer exist.
	PruneOrphans bool
	// DeletionProtected: the pool refuses removals; withhold them.
	DeletionProtected bool
	// Owners identifies orphans among other bindings' members. Without it,
	// only members of an earlier binding with this one's namespace and name
	// (a different uid) are recognised as orphans.
	Owners OwnerLookup
	// SubnetCIDRID and Weight are copied into every member to add; empty/nil
	// leave the API defaults (IP-type member, weight 1). Weight (default 1)
	// is also the weight owned members at desired endpoints are kept at.
	SubnetCIDRID string
	Weight       *int32
	// Draining are endpoints that are terminating but still serving. An
	// owned member at one is kept at weight 0 (DrainByWeight) or removed
	// (the other modes); no member is added for them.
	Draining []Endpoint
	// Drain is how the pool treats members of terminating endpoints.
	Drain DrainMode
	// Lagging are endpoints of EndpointSlices that name the binding's port
	// otherwise than the Service does (a rename in progress): members there
	// are not removed (Plan.Transition) while the slices disagree.
	Lagging []Endpoint
	// Claims are the desired endpoints of the other live bindings of this
	// pass on the same pool (same cluster). An owned member this binding
	// no longer wants at a claimed endpoint is handed over — re-marked for
	// the claimant (at its weight), not removed — and an orphan there is
	// not pruned.
	Claims map[Endpoint]Claim
}

// Claim is another binding that wants an endpoint, with the weight its
// members are kept at (nil = 1).
type Claim struct {
	Owner  Owner
	Weight *int32
}

// DrainMode is how a pool lets a terminating endpoint finish its
// connections, from the pool's settings.
type DrainMode string

const (
	// DrainByWeight: the pool does not drain removed members (HTTP/HTTPS
	// pools, or connection_drain off): set weight 0 and remove the member
	// once its endpoint is gone or no longer serving.
	DrainByWeight DrainMode = ""
	// DrainByPool: connection_drain is enabled (TCP/UDP/QUIC pools), so
	// the ELB keeps a removed member's connections: remove as usual.
	DrainByPool DrainMode = "ConnectionDrain"
	// DrainWeightIgnored: the pool's lb_algorithm (SOURCE_IP, QUIC_CID)
	// ignores weights, so weight 0 would not stop new connections: remove as
	// usual, and change no weights.
	DrainWeightIgnored DrainMode = "WeightIgnored"
)

// DrainModeOf derives a pool's DrainMode.
func DrainModeOf(p *elb.Pool) DrainMode {
	switch {
	case p == nil:
		return DrainByWeight
	case p.WeightIgnored():
		return DrainWeightIgnored
	case p.DrainsOnRemove():
		return DrainByPool
	}
	return DrainByWeight
}

// Why a weight update is planned.
const (
	UpdateDrain   = "Drain"   // terminating endpoint: weight 0
	UpdateRestore = "Restore" // back to the binding's weight
)

// WeightUpdate is one planned weight change of an owned member.
type WeightUpdate struct {
	Member elb.Member `json:"member"`
	Weight int32      `json:"weight"`
	Reason string     `json:"reason"`
}

// Why a member is re-marked (its name changed by batch-update).
const (
	// RenameMigrate: an owned member with the legacy marker (no cluster
	// id) or its marker under an earlier cluster identity gets the
	// current one.
	RenameMigrate = "Migrate"
	// RenameHandover: an owned member at an endpoint this binding no
	// longer wants but another live binding on the pool does is handed to
	// that binding instead of being removed.
	RenameHandover = "Handover"
)

// Rename is one planned change of a member's name (its marker). Weight,
// when set, is changed in the same update (a handover takes the
// claimant's weight).
type Rename struct {
	Member elb.Member `json:"member"`
	Name   string     `json:"name"`
	Weight *int32     `json:"weight,omitempty"`
	Reason string     `json:"reason"`
}

// Plan is what one binding's pass should do. All slices are sorted by
// address, port, then id, so equal inputs give equal plans.
type Plan struct {
	Owner  Owner  `json:"owner"`
	Marker string `json:"marker"`
	// Desired is the valid, de-duplicated desired set the plan was made for.
	Desired []Endpoint `json:"desired"`
	// ToAdd are desired endpoints no member holds yet, named with Marker.
	ToAdd []elb.NewMember `json:"toAdd"`
	// ToRemove are owned members (and, with PruneOrphans, orphans) not desired.
	ToRemove []elb.Member `json:"toRemove"`
	// Keep are owned members at desired endpoints.
	Keep []elb.Member `json:"keep"`
	// Foreign are members without this binding's marker that are not
	// known orphans. They are never removed.
	Foreign []elb.Member `json:"foreign"`
	// Orphans carry the marker of a binding that no longer exists.
	Orphans []elb.Member `json:"orphans"`
	// Conflicts are foreign members or orphans at a desired endpoint: the
	// endpoint counts as present (the API refuses a second member at the same
	// address and port) and the member is left as it is.
	Conflicts []elb.Member `json:"conflicts"`
	// Draining are owned members at terminating endpoints that still
	// serve, kept (at weight 0) instead of removed.
	Draining []elb.Member `json:"draining"`
	// Transition are removals withheld because their endpoint is served
	// by a lagging EndpointSlice (PlanOptions.Lagging).
	Transition []elb.Member `json:"transition"`
	// HandedOver are owned members at endpoints another live binding of
	// this pass on the pool wants: re-marked for it (ToRename, Handover),
	// not removed.
	HandedOver []elb.Member `json:"handedOver"`
	// ToUpdate are weight changes of owned members: Draining ones to 0,
	// kept ones back to the binding's weight.
	ToUpdate []WeightUpdate `json:"toUpdate"`
	// DrainRemoved are owned members of terminating endpoints that are
	// removed rather than drained by weight, because of the pool's
	// DrainMode (also listed in ToRemove or Withheld).
	DrainRemoved []elb.Member `json:"drainRemoved"`
	// Withheld are removals the guard refused (see Blocked).
	Withheld []elb.Member `json:"withheld"`
	// WithheldUpdates are weight changes the guard refused.
	WithheldUpdates []WeightUpdate `json:"withheldUpdates"`
	// ToRename are owned members to re-mark: legacy markers and earlier
	// cluster identities' markers to the current form (Migrate), members handed to another binding
	// (Handover). WithheldRenames are those a guard refused.
	ToRename        []Rename `json:"toRename"`
	WithheldRenames []Rename `json:"withheldRenames"`
	// Blocked is one of the Blocked* reasons, or "".
	Blocked string `json:"blocked,omitempty"`
	// Inconsistency says what made the read inconsistent
	// (Blocked == BlockedInconsistentRead).
	Inconsistency string `json:"inconsistency,omitempty"`
}

// memberKey is the pool's uniqueness key: address + protocol_port.
type memberKey struct {
	addr string
	port int32
}

func keyOf(addr string, port int32) memberKey {
	// Canonical text so that equal IPs written differently still match.
	if a, err := netip.ParseAddr(addr); err == nil {
		addr = a.String()
	}
	return memberKey{addr, port}
}

// ComputePlan diffs desired endpoints against a pool's current members by
// address+protocol_port. It has no side effects. (It is not named Plan
// because the result type is.)
func ComputePlan(desired []Endpoint, current []elb.Member, owner Owner, opts PlanOptions) Plan {
	p := Plan{Owner: owner, Marker: Marker(owner)}
	owns := func(name string) bool { return Marks(owner, name) }
	p.Desired = validDesired(desired)

	cur := slices.Clone(current)
	slices.SortFunc(cur, compareMembers)

	if p.Marker == "" {
		// Without a marker nothing can be ours; report members as foreign so
		// the caller still sees the pool, and change nothing.
		p.Blocked = BlockedInvalidOwner
		p.Foreign = cur
		return p.normalized()
	}

	want := make(map[memberKey]bool, len(p.Desired))
	for _, e := range p.Desired {
		want[keyOf(e.Address, e.Port)] = true
	}
	// Draining keys exclude desired ones: ready anywhere wins.
	draining := make(map[memberKey]bool, len(opts.Draining))
	for _, e := range validDesired(opts.Draining) {
		if k := keyOf(e.Address, e.Port); !want[k] {
			draining[k] = true
		}
	}
	weight := int32(1)
	if opts.Weight != nil {
		weight = *opts.Weight
	}
	// claimed: another live binding of this pass on the pool wants the
	// endpoint (its marker differs from ours; same cluster).
	claimed := func(k memberKey) (Claim, bool) {
		c, ok := opts.Claims[Endpoint{Address: k.addr, Port: k.port}]
		if !ok || c.Owner.Cluster != owner.Cluster {
			return Claim{}, false
		}
		if m := Marker(c.Owner); m == "" || m == p.Marker {
			return Claim{}, false
		}
		return c, true
	}
	present := make(map[memberKey]bool, len(cur))
	var removable []elb.Member
	var updates []WeightUpdate
	var renames []Rename
	migrate := func(m elb.Member) {
		if m.Name != p.Marker {
			renames = append(renames, Rename{Member: m, Name: p.Marker, Reason: RenameMigrate})
		}
	}
	// The API holds one member per address+port, so a list that shows two
	// is not a consistent read of the pool (whoever owns them): a member
	// that moved to a new ID between two pages shows at both, and
	// removing "the extra one" may remove the live one.
	var dupKey *memberKey
	seenKey := make(map[memberKey]bool, len(cur))
	for _, m := range cur {
		k := keyOf(m.Address, m.ProtocolPort)
		if seenKey[k] && dupKey == nil {
			dupKey = &k
		}
		seenKey[k] = true
	}
	// Owned members first, so that if a (faulty) read shows an owned and a
	// foreign member at one key, ours is the one kept.
	for _, m := range cur {
		if !owns(m.Name) {
			continue
		}
		k := keyOf(m.Address, m.ProtocolPort)
		switch {
		case present[k]:
			// A second owned member at one key: the read is
			// inconsistent (dupKey), so it is withheld with the rest.
			removable = append(removable, m)
		case want[k]:
			p.Keep = append(p.Keep, m)
			migrate(m)
			if opts.Drain != DrainWeightIgnored && m.Weight != weight {
				updates = append(updates, WeightUpdate{Member: m, Weight: weight, Reason: UpdateRestore})
			}
		case hasClaim(claimed, k):
			// Another binding wants this endpoint ready: hand the member
			// over instead of removing (or draining) it, so the endpoint
			// is never missing from the pool.
			c, _ := claimed(k)
			x := Rename{Member: m, Name: Marker(c.Owner), Reason: RenameHandover}
			if opts.Drain != DrainWeightIgnored {
				w := int32(1)
				if c.Weight != nil {
					w = *c.Weight
				}
				if w != m.Weight {
					x.Weight = &w
				}
			}
			renames = append(renames, x)
			p.HandedOver = append(p.HandedOver, m)
		case draining[k] && opts.Drain == DrainByWeight:
			p.Draining = append(p.Draining, m)
			migrate(m)
			if m.Weight != 0 {
				updates = append(updates, WeightUpdate{Member: m, Weight: 0, Reason: UpdateDrain})
			}
		case draining[k]:
			p.DrainRemoved = append(p.DrainRemoved, m)
			removable = append(removable, m)
		default:
			removable = append(removable, m)
		}
		present[k] = true
	}
	for _, m := range cur {
		if owns(m.Name) {
			continue
		}
		k := keyOf(m.Address, m.ProtocolPort)
		if isOrphan(m.Name, owner, opts.Owners) {
			p.Orphans = append(p.Orphans, m)
			switch {
			case want[k]:
				p.Conflicts = append(p.Conflicts, m)
			case hasClaim(claimed, k):
				// Another live binding of this pass wants the endpoint.
			case draining[k] && opts.Drain == DrainByWeight:
				// Its endpoint still serves: pruning would cut its
				// connections, and its weight is not ours to change.
				// Pruned once the endpoint is gone.
			case opts.PruneOrphans:
				removable = append(removable, m)
			}
		} else {
			p.Foreign = append(p.Foreign, m)
			if want[k] {
				p.Conflicts = append(p.Conflicts, m)
			}
		}
		present[k] = true
	}
	for _, e := range p.Desired {
		if !present[keyOf(e.Address, e.Port)] {
			p.ToAdd = append(p.ToAdd, elb.NewMember{
				Name:         p.Marker,
				Address:      e.Address,
				ProtocolPort: e.Port,
				SubnetCIDRID: opts.SubnetCIDRID,
				Weight:       opts.Weight,
			})
		}
	}

	// A guard that withholds removals withholds weight changes too: a pass
	// that cannot trust what it read changes nothing but adds, and draining
	// every member to weight 0 empties a pool as surely as removing them.
	// Endpoints still served under another port name (slices mid-rename)
	// keep their members until the slices agree.
	if len(opts.Lagging) > 0 {
		lag := make(map[memberKey]bool, len(opts.Lagging))
		for _, e := range validDesired(opts.Lagging) {
			lag[keyOf(e.Address, e.Port)] = true
		}
		removable = slices.DeleteFunc(removable, func(m elb.Member) bool {
			if lag[keyOf(m.Address, m.ProtocolPort)] {
				p.Transition = append(p.Transition, m)
				return true
			}
			return false
		})
		slices.SortFunc(p.Transition, compareMembers)
	}
	// Renames go with the weight changes: a read that cannot be trusted
	// re-marks nothing either.
	switch {
	case opts.Incomplete:
		p.Blocked = BlockedIncomplete
		p.Withheld, p.WithheldUpdates, p.WithheldRenames = removable, updates, renames
	case opts.InconsistentRead != "" || !consistentIDs(cur) || dupKey != nil:
		p.Blocked = BlockedInconsistentRead
		p.Withheld, p.WithheldUpdates, p.WithheldRenames = removable, updates, renames
		switch {
		case opts.InconsistentRead != "":
			p.Inconsistency = opts.InconsistentRead
		case !consistentIDs(cur):
			p.Inconsistency = "the member list repeats or lacks a member id"
		default:
			p.Inconsistency = fmt.Sprintf("the member list shows two members at %s", Endpoint{Address: dupKey.addr, Port: dupKey.port})
		}
	case opts.DeletionProtected && len(removable) > 0:
		// The API refuses removals; weight changes still go through.
		p.Blocked = BlockedDeletionProtected
		p.Withheld, p.ToUpdate, p.ToRename = removable, updates, renames
	case len(p.Desired) == 0 && (len(removable) > 0 || len(updates) > 0) && !opts.AllowEmpty:
		// Covers orphans too: pruning them with nothing desired would also
		// empty the pool, which is exactly what AllowEmpty guards.
		p.Blocked = BlockedEmptyRefused
		p.Withheld, p.WithheldUpdates, p.WithheldRenames = removable, updates, renames
	default:
		p.ToRemove, p.ToUpdate, p.ToRename = removable, updates, renames
	}
	slices.SortFunc(p.ToRename, compareRenames)
	slices.SortFunc(p.WithheldRenames, compareRenames)
	slices.SortFunc(p.ToRemove, compareMembers)
	slices.SortFunc(p.Withheld, compareMembers)
	slices.SortFunc(p.DrainRemoved, compareMembers)
	slices.SortFunc(p.ToUpdate, compareUpdates)
	slices.SortFunc(p.WithheldUpdates, compareUpdates)
	return p.normalized()
}

func compareUpdates(a, b WeightUpdate) int { return compareMembers(a.Member, b.Member) }

func compareRenames(a, b Rename) int { return compareMembers(a.Member, b.Member) }

func hasClaim(claimed func(memberKey) (Claim, bool), k memberKey) bool {
	_, ok := claimed(k)
	return ok
}

func consistentIDs(ms []elb.Member) bool {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if m.ID == "" || seen[m.ID] {
			return false
		}
		seen[m.ID] = true
	}
	return true
}

// isOrphan: the name is another binding's marker, of this cluster, and that
// binding is gone. A marker of another cluster is never an orphan here (its
// bindings are not this cluster's to know); a legacy marker (no cluster) is
// read as this cluster's. A marker with this binding's namespace and name
// but another uid belongs to a deleted earlier binding of the same name: the
// name can only have one live uid, and that is ours.
func isOrphan(name string, owner Owner, lookup OwnerLookup) bool {
	o, ok := ParseMarker(name)
	if !ok || Marks(owner, name) {
		return false
	}
	if o.Cluster != "" && o.Cluster != owner.Cluster {
		return false
	}
	if o.Namespace == owner.Namespace && o.Name == markerName(owner.Name) && o.UID != owner.UID {
		return true
	}
	if lookup == nil {
		return false
	}
	exists, known := lookup(o)
	return known && !exists
}

// validDesired drops endpoints the pool cannot take (non-IPv4 address, port
// outside 1..65535), canonicalises addresses, sorts and de-duplicates.
func validDesired(in []Endpoint) []Endpoint {
	out := make([]Endpoint, 0, len(in))
	for _, e := range in {
		a, err := netip.ParseAddr(e.Address)
		if err != nil || !a.Is4() || a.IsUnspecified() || e.Port <= 0 || e.Port > 65535 {
			continue
		}
		out = append(out, Endpoint{Address: a.String(), Port: e.Port})
	}
	slices.SortFunc(out, endpoints.Compare)
	return slices.Compact(out)
}

func compareMembers(a, b elb.Member) int {
	if c := endpoints.Compare(Endpoint{Address: a.Address, Port: a.ProtocolPort},
		Endpoint{Address: b.Address, Port: b.ProtocolPort}); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.Weight, b.Weight)
}

// normalized turns nil slices into empty ones so JSON shows [] not null.
func (p Plan) normalized() Plan {
	nz := func(s []elb.Member) []elb.Member {
		if s == nil {
			return []elb.Member{}
		}
		return s
	}
	if p.Desired == nil {
		p.Desired = []Endpoint{}
	}
	if p.ToAdd == nil {
		p.ToAdd = []elb.NewMember{}
	}
	nzu := func(s []WeightUpdate) []WeightUpdate {
		if s == nil {
			return []WeightUpdate{}
		}
		return s
	}
	p.ToRemove, p.Keep, p.Foreign = nz(p.ToRemove), nz(p.Keep), nz(p.Foreign)
	p.Orphans, p.Conflicts, p.Withheld = nz(p.Orphans), nz(p.Conflicts), nz(p.Withheld)
	p.Draining, p.DrainRemoved, p.HandedOver = nz(p.Draining), nz(p.DrainRemoved), nz(p.HandedOver)
	p.Transition = nz(p.Transition)
	p.ToUpdate, p.WithheldUpdates = nzu(p.ToUpdate), nzu(p.WithheldUpdates)
	if p.ToRename == nil {
		p.ToRename = []Rename{}
	}
	if p.WithheldRenames == nil {
		p.WithheldRenames = []Rename{}
	}
	return p
}

// Changes reports whether the plan would write anything.
func (p Plan) Changes() bool {
	return len(p.ToAdd) > 0 || len(p.ToRemove) > 0 || len(p.ToUpdate) > 0 || len(p.ToRename) > 0
}

// Owns reports whether a member name marks this plan's binding (the
// current, the legacy or an earlier cluster identity's marker: Marks).
func (p Plan) Owns(name string) bool {
	return p.Marker != "" && Marks(p.Owner, name)
}
