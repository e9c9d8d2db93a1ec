// Package poolsync makes the members of ELB backend server groups
// ("pools") match the ready endpoints of the Services their PoolBindings
// target: it plans each pool's changes and writes them. Both modes of
// `ccictl sync` call it (pkg/syncdriver); it reads nothing from Kubernetes.
// It is read top to bottom as:
//
//   - marker.go: how a member names the binding that owns it;
//   - plan.go: ComputePlan, a pure function from desired endpoints, current
//     members and the owner to what to add, keep, re-weight, remove and
//     leave alone, made of named pure steps; guard.go: its last step, what
//     it withholds and why;
//   - stage.go: Stage, the plan's additions and removals in rounds that
//     fit the pool's member quota;
//   - targets.go, options.go: what a pass is given (the bindings with the
//     endpoints resolved for them, the pass's Policy and its mode's Hooks);
//   - run.go: Run syncs many bindings concurrently; Sync is one binding's
//     pass: read the pool and its members, plan, write, classify;
//   - rounds.go: the plan applied round by round (adds, then weight
//     updates, then removals); writer.go: the batch calls that write a
//     pool's members, ≤200 per call, and what the ELB answered; health.go:
//     the wait for new members to be healthy; recheck.go: the re-check of
//     removals where pool locks are unavailable;
//   - outcome.go: the State and Reason a binding's pass ends in;
//   - result.go: Result, the output record of one binding's pass (the
//     PoolBindingStatus it implies is pkg/bindingstatus's).
//
// Safety rules the planner enforces: members not marked as this binding's
// are never removed; a member of a deleted binding (an orphan) is removed
// only on request; when the desired set is incomplete nothing is removed;
// when it is empty, owned members are not removed (nor all drained to
// weight 0) unless AllowEmpty; a member of a terminating endpoint that still
// serves is set to weight 0, not removed, where the pool honours weights and
// does not drain removed members itself; weights of members it does not own
// are never changed.
package poolsync

import (
	"cmp"
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
// because the result type is.) Its steps are pure functions, in order:
// classifyOwned (this binding's members: keep, restore, drain, hand over
// or remove), classifyOthers (other members: foreign, orphans, conflicts,
// orphans to prune), missing (desired endpoints to add), withholdLagging
// (removals at endpoints still served under another port name), and the
// guard (planGuard.apply), which takes the removals, weight changes and
// re-marks computed and returns those allowed, those withheld, and why.
func ComputePlan(desired []Endpoint, current []elb.Member, owner Owner, opts PlanOptions) Plan {
	p := Plan{Owner: owner, Marker: Marker(owner)}
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

	v := newPlanView(p, opts)
	own := classifyOwned(cur, v, opts.Drain)
	p.Keep, p.Draining, p.HandedOver, p.DrainRemoved = own.keep, own.draining, own.handedOver, own.drainRemoved
	others := classifyOthers(cur, v, opts)
	p.Foreign, p.Orphans, p.Conflicts = others.foreign, others.orphans, others.conflicts
	p.ToAdd = missing(p.Desired, cur, p.Marker, opts)

	var removable []elb.Member
	removable = append(append(removable, own.remove...), others.prune...)
	removable, p.Transition = withholdLagging(removable, opts.Lagging)

	g := planGuard{
		incomplete:        opts.Incomplete,
		readProblem:       readProblem(cur, opts.InconsistentRead),
		deletionProtected: opts.DeletionProtected,
		nothingDesired:    len(p.Desired) == 0,
		allowEmpty:        opts.AllowEmpty,
	}
	allowed, withheld, blocked := g.apply(planChanges{remove: removable, update: own.updates, rename: own.renames})
	p.Blocked = blocked
	if blocked == BlockedInconsistentRead {
		p.Inconsistency = g.readProblem
	}
	p.ToRemove, p.ToUpdate, p.ToRename = allowed.remove, allowed.update, allowed.rename
	p.Withheld, p.WithheldUpdates, p.WithheldRenames = withheld.remove, withheld.update, withheld.rename

	slices.SortFunc(p.ToRename, compareRenames)
	slices.SortFunc(p.WithheldRenames, compareRenames)
	slices.SortFunc(p.ToRemove, compareMembers)
	slices.SortFunc(p.Withheld, compareMembers)
	slices.SortFunc(p.DrainRemoved, compareMembers)
	slices.SortFunc(p.ToUpdate, compareUpdates)
	slices.SortFunc(p.WithheldUpdates, compareUpdates)
	return p.normalized()
}

// planView is what the classifying steps of a plan go by: the binding, its
// desired and draining endpoints, the weight its members are kept at, and
// the endpoints other bindings of the pass claim.
type planView struct {
	owner  Owner
	marker string
	want   map[memberKey]bool
	// draining excludes desired keys: ready anywhere wins.
	draining map[memberKey]bool
	weight   int32
	claims   map[Endpoint]Claim
}

func newPlanView(p Plan, opts PlanOptions) planView {
	v := planView{owner: p.Owner, marker: p.Marker, weight: 1, claims: opts.Claims}
	v.want = make(map[memberKey]bool, len(p.Desired))
	for _, e := range p.Desired {
		v.want[keyOf(e.Address, e.Port)] = true
	}
	v.draining = make(map[memberKey]bool, len(opts.Draining))
	for _, e := range validDesired(opts.Draining) {
		if k := keyOf(e.Address, e.Port); !v.want[k] {
			v.draining[k] = true
		}
	}
	if opts.Weight != nil {
		v.weight = *opts.Weight
	}
	return v
}

// claimed: another live binding of this pass on the pool wants the
// endpoint (its marker differs from ours; same cluster).
func (v planView) claimed(k memberKey) (Claim, bool) {
	c, ok := v.claims[Endpoint{Address: k.addr, Port: k.port}]
	if !ok || c.Owner.Cluster != v.owner.Cluster {
		return Claim{}, false
	}
	if m := Marker(c.Owner); m == "" || m == v.marker {
		return Claim{}, false
	}
	return c, true
}

func (v planView) isClaimed(k memberKey) bool {
	_, ok := v.claimed(k)
	return ok
}

// ownedMembers is what classifyOwned made of the binding's own members.
type ownedMembers struct {
	keep, draining, handedOver []elb.Member
	// drainRemoved are also in remove.
	drainRemoved, remove []elb.Member
	updates              []WeightUpdate
	renames              []Rename
}

// classifyOwned sorts the members marked as the binding's: kept at a
// desired endpoint (weight restored, marker migrated), handed over to a
// binding that claims the endpoint, drained at a terminating endpoint, or
// to remove.
func classifyOwned(cur []elb.Member, v planView, drain DrainMode) ownedMembers {
	var o ownedMembers
	migrate := func(m elb.Member) {
		if m.Name != v.marker {
			o.renames = append(o.renames, Rename{Member: m, Name: v.marker, Reason: RenameMigrate})
		}
	}
	seen := make(map[memberKey]bool, len(cur))
	for _, m := range cur {
		if !Marks(v.owner, m.Name) {
			continue
		}
		k := keyOf(m.Address, m.ProtocolPort)
		switch {
		case seen[k]:
			// A second owned member at one key: the read is
			// inconsistent (readProblem), so it is withheld with the rest.
			o.remove = append(o.remove, m)
		case v.want[k]:
			o.keep = append(o.keep, m)
			migrate(m)
			if drain != DrainWeightIgnored && m.Weight != v.weight {
				o.updates = append(o.updates, WeightUpdate{Member: m, Weight: v.weight, Reason: UpdateRestore})
			}
		case v.isClaimed(k):
			// Another binding wants this endpoint ready: hand the member
			// over instead of removing (or draining) it, so the endpoint
			// is never missing from the pool.
			c, _ := v.claimed(k)
			x := Rename{Member: m, Name: Marker(c.Owner), Reason: RenameHandover}
			if drain != DrainWeightIgnored {
				w := int32(1)
				if c.Weight != nil {
					w = *c.Weight
				}
				if w != m.Weight {
					x.Weight = &w
				}
			}
			o.renames = append(o.renames, x)
			o.handedOver = append(o.handedOver, m)
		case v.draining[k] && drain == DrainByWeight:
			o.draining = append(o.draining, m)
			migrate(m)
			if m.Weight != 0 {
				o.updates = append(o.updates, WeightUpdate{Member: m, Weight: 0, Reason: UpdateDrain})
			}
		case v.draining[k]:
			o.drainRemoved = append(o.drainRemoved, m)
			o.remove = append(o.remove, m)
		default:
			o.remove = append(o.remove, m)
		}
		seen[k] = true
	}
	return o
}

// otherMembers is what classifyOthers made of the members not marked as
// the binding's.
type otherMembers struct {
	foreign, orphans []elb.Member
	// conflicts (foreign or orphans) hold a desired endpoint; prune are
	// the orphans to remove.
	conflicts, prune []elb.Member
}

// classifyOthers sorts the members not marked as the binding's: orphans
// (their binding is gone) or foreign; either is a conflict at a desired
// endpoint, and an orphan is pruned on request unless its endpoint is
// claimed or still serves.
func classifyOthers(cur []elb.Member, v planView, opts PlanOptions) otherMembers {
	var o otherMembers
	for _, m := range cur {
		if Marks(v.owner, m.Name) {
			continue
		}
		k := keyOf(m.Address, m.ProtocolPort)
		if isOrphan(m.Name, v.owner, opts.Owners) {
			o.orphans = append(o.orphans, m)
			switch {
			case v.want[k]:
				o.conflicts = append(o.conflicts, m)
			case v.isClaimed(k):
				// Another live binding of this pass wants the endpoint.
			case v.draining[k] && opts.Drain == DrainByWeight:
				// Its endpoint still serves: pruning would cut its
				// connections, and its weight is not ours to change.
				// Pruned once the endpoint is gone.
			case opts.PruneOrphans:
				o.prune = append(o.prune, m)
			}
		} else {
			o.foreign = append(o.foreign, m)
			if v.want[k] {
				o.conflicts = append(o.conflicts, m)
			}
		}
	}
	return o
}

// missing are the members to add: one, named with marker, for each
// desired endpoint no member holds (whoever owns it: the API holds one
// member per address and port).
func missing(desired []Endpoint, cur []elb.Member, marker string, opts PlanOptions) []elb.NewMember {
	present := make(map[memberKey]bool, len(cur))
	for _, m := range cur {
		present[keyOf(m.Address, m.ProtocolPort)] = true
	}
	var add []elb.NewMember
	for _, e := range desired {
		if !present[keyOf(e.Address, e.Port)] {
			add = append(add, elb.NewMember{
				Name:         marker,
				Address:      e.Address,
				ProtocolPort: e.Port,
				SubnetCIDRID: opts.SubnetCIDRID,
				Weight:       opts.Weight,
			})
		}
	}
	return add
}

// withholdLagging takes out of removable the members at endpoints still
// served under another port name (lagging, slices mid-rename): they keep
// their members until the slices agree (transition, sorted).
func withholdLagging(removable []elb.Member, lagging []Endpoint) (rest, transition []elb.Member) {
	if len(lagging) == 0 {
		return removable, nil
	}
	lag := make(map[memberKey]bool, len(lagging))
	for _, e := range validDesired(lagging) {
		lag[keyOf(e.Address, e.Port)] = true
	}
	rest = slices.DeleteFunc(removable, func(m elb.Member) bool {
		if lag[keyOf(m.Address, m.ProtocolPort)] {
			transition = append(transition, m)
			return true
		}
		return false
	})
	slices.SortFunc(transition, compareMembers)
	return rest, transition
}

func compareUpdates(a, b WeightUpdate) int { return compareMembers(a.Member, b.Member) }

func compareRenames(a, b Rename) int { return compareMembers(a.Member, b.Member) }

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
