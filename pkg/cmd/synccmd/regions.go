package synccmd

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbconfig"
	"github.com/openvessel/ccictl/pkg/reconcile"
)

// regionGroup is the bindings whose pools are in one region; region "" is
// the pass's own (--region, --elb-endpoint, --project-id).
type regionGroup struct {
	region  string
	targets []int // indexes into the pass's targets
}

func (g regionGroup) names(targets []reconcile.Target) string {
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

// passRegion is the region of the pass's own ELB client, as far as it is
// known without calling IAM (elbconfig.OwnRegion).
func (o *SyncOptions) passRegion() string { return elbconfig.OwnRegion(o.elbOptions()) }

// groupByRegion sorts the targets by the region of their pool
// (elbconfig.ClientRegion): the pass's own group ("") first.
func (o *SyncOptions) groupByRegion(targets []reconcile.Target) []regionGroup {
	own := o.passRegion()
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
func runRegions(ctx context.Context, groups []regionGroup, clients []elb.Client, targets []reconcile.Target, opts reconcile.Options) []reconcile.Result {
	results := make([]reconcile.Result, len(targets))
	var wg sync.WaitGroup
	for gi, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := make([]reconcile.Target, len(g.targets))
			for j, i := range g.targets {
				sub[j] = targets[i]
			}
			// Each Run reads its region's quota once: quotas are per project.
			for j, r := range reconcile.Run(ctx, clients[gi], sub, opts) {
				results[g.targets[j]] = r
			}
		}()
	}
	wg.Wait()
	return results
}

// RegionSummary counts one region's bindings by outcome, in reports of a
// pass over more than one region.
type RegionSummary struct {
	Region string `json:"region"`
	Summary
}
