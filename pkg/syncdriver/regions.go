package syncdriver

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// regionGroup is the bindings whose pools are in one region; region "" is
// the pass's own (--region, --elb-endpoint, --project-id).
type regionGroup struct {
	region  string
	targets []int // indexes into the pass's targets
}

func (g regionGroup) names(targets []poolsync.Target) string {
	var ns []string
	for _, i := range g.targets[:min(len(g.targets), 3)] {
		b := targets[i].Binding
		ns = append(ns, b.Namespace+"/"+b.Name)
	}
	if len(g.targets) > 3 {
		ns = append(ns, "…")
	}
	return strings.Join(ns, ", ")
}

// groupByRegion sorts the targets by the region of their pool
// (elbconfig.ClientRegion against own, the pass's own region): the pass's
// own group ("") first.
func groupByRegion(targets []poolsync.Target, own string) []regionGroup {
	byRegion := map[string][]int{}
	for i, t := range targets {
		r := ""
		if t.Binding != nil {
			r = elbconfig.ClientRegion(t.Binding, own)
		}
		byRegion[r] = append(byRegion[r], i)
	}
	keys := make([]string, 0, len(byRegion))
	for k := range byRegion {
		keys = append(keys, k)
	}
	sort.Strings(keys) // "" first
	out := make([]regionGroup, 0, len(keys))
	for _, k := range keys {
		out = append(out, regionGroup{region: k, targets: byRegion[k]})
	}
	return out
}

// runRegions syncs each region's bindings with that region's client, the
// regions at the same time, each up to opts.Concurrency bindings at once:
// API rate limits and connection pools are per regional endpoint, so one
// region's slow gateway does not hold the others back. Results are in the
// order of targets.
func runRegions(ctx context.Context, groups []regionGroup, clients []elb.Client, targets []poolsync.Target, opts poolsync.Options) []poolsync.Result {
	results := make([]poolsync.Result, len(targets))
	var wg sync.WaitGroup
	for gi, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := make([]poolsync.Target, len(g.targets))
			for j, i := range g.targets {
				sub[j] = targets[i]
			}
			// Each Run reads its region's quota once: quotas are per project.
			for j, r := range poolsync.Run(ctx, clients[gi], sub, opts) {
				results[g.targets[j]] = r
			}
		}()
	}
	wg.Wait()
	return results
}

// regionClients builds each region's ELB client once, on first use ("" =
// the pass's own), and wraps it (the controller counts its calls,
// elbmetrics).
type regionClients struct {
	new  func(ctx context.Context, region string) (elb.Client, error)
	wrap func(elb.Client) elb.Client // nil: none

	mu       sync.Mutex
	byRegion map[string]elb.Client
}

// get returns the client of region, built on first use; a client that
// could not be built is tried again on the next call.
func (rc *regionClients) get(ctx context.Context, region string) (elb.Client, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if c := rc.byRegion[region]; c != nil {
		return c, nil
	}
	c, err := rc.new(ctx, region)
	if err != nil {
		return nil, err
	}
	if rc.wrap != nil {
		c = rc.wrap(c)
	}
	if rc.byRegion == nil {
		rc.byRegion = map[string]elb.Client{}
	}
	rc.byRegion[region] = c
	return c, nil
}

// forBinding is the controller's ELB client of a region, its error naming
// the region.
func (rc *regionClients) forBinding(ctx context.Context, region string) (elb.Client, error) {
	c, err := rc.get(ctx, region)
	if err != nil && region != "" {
		return nil, fmt.Errorf("ELB client of region %s: %w", region, err)
	}
	return c, err
}

// forGroups is the one-shot pass's client of each group, built before any
// binding is synced: a region whose client cannot be built fails the pass,
// naming its bindings.
func (rc *regionClients) forGroups(ctx context.Context, groups []regionGroup, targets []poolsync.Target) ([]elb.Client, error) {
	clients := make([]elb.Client, len(groups))
	for i, g := range groups {
		c, err := rc.get(ctx, g.region)
		if err != nil {
			if g.region != "" {
				return nil, fmt.Errorf("ELB client of region %s (bindings %s): %w", g.region, g.names(targets), err)
			}
			return nil, err
		}
		clients[i] = c
	}
	return clients, nil
}
