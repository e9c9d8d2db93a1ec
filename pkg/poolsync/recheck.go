package poolsync

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/openvessel/ccictl/pkg/elb"
)

// recheckRemovals protects removals where pool locks are unavailable: right
// before removing, it re-reads the desired endpoints and the pool's members
// and keeps only the removals that still hold — the member is still there
// unchanged, and its endpoint is not desired again. An overlapping pass
// that saw the endpoint come back (and so left the member alone) then does
// not lose it to this pass's older plan. A failed re-read withholds every
// removal. The removals it drops are those missing from its answer.
func recheckRemovals(ctx context.Context, c elb.Client, t Target,
	read func(context.Context, Target) ([]Endpoint, error), toRemove []elb.Member) ([]elb.Member, error) {
	poolID := t.Binding.Spec.PoolRef.ID
	desired, err := read(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("re-read desired endpoints before removing (no removal made): %w", err)
	}
	current, err := c.ListMembers(ctx, poolID)
	if err != nil {
		return nil, fmt.Errorf("re-list members of pool %s before removing (no removal made): %w", poolID, err)
	}
	want := make(map[Endpoint]bool, len(desired))
	for _, e := range validDesired(desired) {
		want[e] = true
	}
	now := make(map[string]elb.Member, len(current))
	for _, m := range current {
		now[m.ID] = m
	}
	keep := make([]elb.Member, 0, len(toRemove))
	for _, m := range toRemove {
		cur, ok := now[m.ID]
		addr := m.Address
		if a, err := netip.ParseAddr(addr); err == nil {
			addr = a.String()
		}
		if want[Endpoint{Address: addr, Port: m.ProtocolPort}] || !ok ||
			cur.Address != m.Address || cur.ProtocolPort != m.ProtocolPort || cur.Name != m.Name {
			continue
		}
		keep = append(keep, m)
	}
	return keep, nil
}
