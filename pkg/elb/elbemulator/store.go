package elbemulator

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// memberKey is the documented uniqueness key of a member inside a pool.
type memberKey struct {
	addr string // canonical textual IP (netip.Addr.String)
	port int32
}

// poolState is one pool and its members. Members are indexed by ID and by
// address+port, and the IDs are also kept in a sorted slice so that a page
// after a marker costs a binary search plus a copy of the page. New IDs are
// collected unsorted and merged in once before the next read or delete, and a
// delete batch compacts the slice once, so a batch call costs O(N + k log k)
// rather than O(N) per member.
type poolState struct {
	mu     sync.Mutex
	pool   elb.Pool // Members is not maintained here; it is built on read
	byID   map[string]*elb.Member
	byAddr map[memberKey]string
	ids    []string // sorted ascending, once pending is merged in
	// pending holds IDs inserted since the last merge, unsorted, so that
	// seeding many members one by one stays O(1) each.
	pending []string
	// health, offline (address → reason_code) and quota (0 = the
	// emulator's) are described in health.go.
	health  map[string]memberHealth
	offline map[string]string
	quota   int
	// monitor and checks are the real health checks, plane the listeners'
	// traffic state (healthcheck.go, dataplane.go).
	monitor *HealthMonitor
	checks  map[string]*checkState
	plane   *poolPlane
}

// settle merges pending IDs into the sorted slice: O(N + k log k).
func (p *poolState) settle() {
	if len(p.pending) == 0 {
		return
	}
	fresh := p.pending
	p.pending = nil
	sort.Strings(fresh)
	merged := make([]string, 0, len(p.ids)+len(fresh))
	i, j := 0, 0
	for i < len(p.ids) && j < len(fresh) {
		if p.ids[i] < fresh[j] {
			merged = append(merged, p.ids[i])
			i++
		} else {
			merged = append(merged, fresh[j])
			j++
		}
	}
	merged = append(merged, p.ids[i:]...)
	merged = append(merged, fresh[j:]...)
	p.ids = merged
}

func newPoolState(p elb.Pool) *poolState {
	return &poolState{pool: p, byID: map[string]*elb.Member{}, byAddr: map[memberKey]string{},
		health: map[string]memberHealth{}, offline: map[string]string{}, checks: map[string]*checkState{}}
}

// insert adds members whose IDs and keys are known to be new.
func (p *poolState) insert(ms []*elb.Member) {
	for _, m := range ms {
		p.byID[m.ID] = m
		p.byAddr[memberKey{m.Address, m.ProtocolPort}] = m.ID
		p.pending = append(p.pending, m.ID)
	}
}

// remove deletes the members with the given IDs (all must exist).
func (p *poolState) remove(gone map[string]bool) {
	if len(gone) == 0 {
		return
	}
	for id := range gone {
		m := p.byID[id]
		delete(p.byAddr, memberKey{m.Address, m.ProtocolPort})
		delete(p.byID, id)
		delete(p.health, id)
	}
	p.settle()
	p.ids = slices.DeleteFunc(p.ids, func(id string) bool { return gone[id] })
}

// page returns up to limit members in ascending ID order: those after marker
// (or from the start when marker is ""), or with reverse those just before
// marker (or the last ones). more reports whether members follow the page.
func (p *poolState) page(marker string, limit int, reverse bool) (out []elb.Member, more bool) {
	p.settle()
	var lo, hi int
	switch {
	case !reverse && marker == "":
		lo = 0
		hi = min(limit, len(p.ids))
	case !reverse:
		i, _ := slices.BinarySearch(p.ids, marker)
		lo = i + 1
		hi = min(lo+limit, len(p.ids))
	default:
		hi = len(p.ids)
		if marker != "" {
			hi, _ = slices.BinarySearch(p.ids, marker)
		}
		lo = max(0, hi-limit)
	}
	if lo > hi {
		lo = hi
	}
	out = make([]elb.Member, 0, hi-lo)
	for _, id := range p.ids[lo:hi] {
		out = append(out, *p.byID[id])
	}
	return out, hi < len(p.ids)
}

// filteredPage is page over the members whose id is in ids (when given)
// and whose derived operating_status is in statuses (when given), in
// ascending ID order (caller holds p.mu).
func (e *Emulator) filteredPage(p *poolState, ids, statuses []string, marker string, limit int, reverse bool, now time.Time) (out []elb.Member, more bool) {
	p.settle()
	candidates := p.ids
	if len(ids) > 0 {
		candidates = nil
		seen := map[string]bool{}
		for _, id := range ids {
			if _, ok := p.byID[id]; ok && !seen[id] {
				seen[id] = true
				candidates = append(candidates, id)
			}
		}
		sort.Strings(candidates)
	}
	var match []elb.Member
	for _, id := range candidates {
		m := e.view(p, p.byID[id], now)
		if len(statuses) == 0 || slices.Contains(statuses, m.OperatingStatus) {
			match = append(match, m)
		}
	}
	lo, hi := 0, len(match)
	if marker != "" {
		i := sort.Search(len(match), func(i int) bool { return match[i].ID >= marker })
		if reverse {
			hi = i
		} else {
			if i < len(match) && match[i].ID == marker {
				i++
			}
			lo = i
		}
	}
	if reverse {
		lo = max(lo, hi-limit)
	} else {
		hi = min(hi, lo+limit)
	}
	return append([]elb.Member{}, match[lo:hi]...), hi < len(match)
}

// snapshot returns the pool with its member references filled in.
func (p *poolState) snapshot() elb.Pool {
	p.settle()
	out := p.pool
	out.Loadbalancers = slices.Clone(p.pool.Loadbalancers)
	out.Listeners = slices.Clone(p.pool.Listeners)
	if cd := p.pool.ConnectionDrain; cd != nil {
		c := *cd
		out.ConnectionDrain = &c
	}
	if out.Loadbalancers == nil {
		out.Loadbalancers = []elb.Ref{}
	}
	if out.Listeners == nil {
		out.Listeners = []elb.Ref{}
	}
	out.Members = make([]elb.Ref, len(p.ids))
	for i, id := range p.ids {
		out.Members[i] = elb.Ref{ID: id}
	}
	return out
}
