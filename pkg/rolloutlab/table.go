package rolloutlab

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Result is one scenario at one size: the reports of its rollouts.
type Result struct {
	// Scenario is the set-up: "safe", "unsafe" or "quota".
	Scenario string
	Pods     int
	// Quota is the pool's member quota (0: far above the pods).
	Quota   int
	Reports []Report
}

// clientOrder is the order of a scenario's rows.
var clientOrder = []string{ClientPerRequest, ClientKeepAlive, ClientLongLived}

// Table is the benchmark's result in Markdown: one row per scenario, size
// and client kind — failed requests, connections cut, the mean rollout
// and its ratio to the unsafe one of the same size, time to traffic
// (containers ready → first request) p50/p99, and ELB member writes ÷
// the documented minimum, all over the scenario's rollouts — then the
// time to traffic step by step (Steps).
func Table(rs []Result) string {
	unsafeMean := map[int]time.Duration{}
	for _, r := range rs {
		if r.Scenario == "unsafe" && len(r.Reports) > 0 {
			unsafeMean[r.Pods] = meanDuration(r.Reports)
		}
	}
	var b strings.Builder
	b.WriteString("| scenario | pods | clients | rollouts | failed requests | connections cut | rollout mean (÷ unsafe) | time to traffic p50 / p99 | ELB writes ÷ minimum |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if len(r.Reports) == 0 {
			continue
		}
		mean := meanDuration(r.Reports)
		duration := fmt.Sprintf("%.1f s", mean.Seconds())
		if u := unsafeMean[r.Pods]; u > 0 {
			duration += fmt.Sprintf(" (%.2f)", float64(mean)/float64(u))
		}
		steps := r.steps()
		writes, minimum := 0, 0
		for _, rep := range r.Reports {
			writes += rep.Writes.Total()
			minimum += rep.Writes.Minimum
		}
		ratio := "—"
		if minimum > 0 {
			ratio = fmt.Sprintf("%d ÷ %d = %.2f", writes, minimum, float64(writes)/float64(minimum))
		}
		for _, client := range clientOrder {
			t, ok := r.clientTotals(client)
			if !ok {
				continue
			}
			failed, cut, kind := "—", "—", client
			if client == ClientLongLived {
				cut = fmt.Sprintf("%s of %s", thousands(t.ConnCut), thousands(t.ConnCut+t.ConnClean))
			} else {
				failed = fmt.Sprintf("%s of %s", thousands(t.Failed), thousands(t.Failed+t.OK))
				if kinds := sortedKinds(t.ByKind); len(kinds) > 0 {
					failed += " (" + strings.Join(kinds, ", ") + ")"
				}
				kind = fmt.Sprintf("%s, %d req/s", client, r.Reports[0].Rate)
				if p := r.sentShare(t); p < 0.95 {
					// The machine could not keep the rate: the rows
					// measure its load as much as the rollout.
					kind += fmt.Sprintf(" (%.0f %% sent)", 100*p)
				}
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %d | %s | %s | %s | %s | %s |\n",
				r.label(), r.Pods, kind, len(r.Reports), failed, cut, duration, P50P99(steps.Total), ratio)
		}
	}
	b.WriteString("\nTime to traffic, step by step (p50 / p99 over the new pods of every rollout):\n\n")
	b.WriteString("| scenario | pods | new pods | containers ready → member | member → ONLINE | ONLINE → gate True | ONLINE → first request | containers ready → first request |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if len(r.Reports) == 0 {
			continue
		}
		st := r.steps()
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s | %s |\n", r.label(), r.Pods, len(st.Total),
			P50P99(st.Member), P50P99(st.Online), P50P99(st.Gate), P50P99(st.First), P50P99(st.Total))
	}
	return b.String()
}

func (r Result) label() string {
	if r.Quota > 0 {
		return fmt.Sprintf("%s (quota %d)", r.Scenario, r.Quota)
	}
	return r.Scenario
}

// steps are the time-to-traffic steps of every rollout of r.
func (r Result) steps() Steps {
	var st Steps
	for _, rep := range r.Reports {
		st = st.Add(rep.TimeToTraffic(rep.Restart))
	}
	return st
}

// clientTotals sums a client kind over r's rollouts (false: none ran).
func (r Result) clientTotals(client string) (Totals, bool) {
	sum := Totals{ByKind: map[string]int{}}
	found := false
	for _, rep := range r.Reports {
		t, ok := rep.Clients[client]
		if !ok {
			continue
		}
		found = true
		sum.OK += t.OK
		sum.Failed += t.Failed
		sum.ConnClean += t.ConnClean
		sum.ConnCut += t.ConnCut
		for k, v := range t.ByKind {
			sum.ByKind[k] += v
		}
	}
	return sum, found
}

// sentShare is the requests a client kind completed (ok or failed) ÷
// the rate × the seconds of load, over r's rollouts (1 when unknown).
func (r Result) sentShare(t Totals) float64 {
	var planned float64
	for _, rep := range r.Reports {
		if rep.LoadStart.IsZero() || rep.LoadEnd.IsZero() {
			return 1
		}
		planned += float64(rep.Rate) * rep.LoadEnd.Sub(rep.LoadStart).Seconds()
	}
	if planned == 0 {
		return 1
	}
	return float64(t.OK+t.Failed) / planned
}

func meanDuration(rs []Report) time.Duration {
	var sum time.Duration
	for _, r := range rs {
		sum += r.Duration
	}
	return sum / time.Duration(len(rs))
}

// sortedKinds is "N kind" for each failure kind seen, by kind.
func sortedKinds(m map[string]int) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			out = append(out, thousands(m[k])+" "+k)
		}
	}
	return out
}

// thousands writes n with a comma every three digits (48,807).
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var parts []string
	for len(s) > 3 {
		parts = append(parts, s[len(s)-3:])
		s = s[:len(s)-3]
	}
	parts = append(parts, s)
	slices.Reverse(parts)
	return strings.Join(parts, ",")
}
