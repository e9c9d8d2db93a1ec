package poolsync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// Defaults of the health gate and the quota fallback.
const (
	// DefaultHealthTimeout is how long one round waits for its new members.
	DefaultHealthTimeout = 5 * time.Minute
	// DefaultHealthInterval is the time between two health polls of a round.
	DefaultHealthInterval = 2 * time.Second
	// DefaultMemberQuota is the documented default members_per_pool, used
	// when the quota cannot be read.
	DefaultMemberQuota = 500
)

// quotaCache reads the project's member quota once per pass (one elb.Client
// is one project) and shares it across bindings. A failed or forbidden read
// falls back to the configured quota and says so once.
type quotaCache struct {
	once     sync.Once
	quota    int
	source   string // "api" or "default"
	fallback int
	warn     func(string)
}

func newQuotaCache(opts Options) *quotaCache {
	q := opts.MemberQuota
	if q == 0 {
		q = DefaultMemberQuota
	}
	return &quotaCache{fallback: q, warn: opts.Warn}
}

// get returns members_per_pool (elb.UnlimitedQuota = no limit) and where it
// came from.
func (qc *quotaCache) get(ctx context.Context, c elb.Client) (int, string) {
	qc.once.Do(func() {
		q, err := c.GetQuota(ctx)
		if err == nil {
			qc.quota, qc.source = q.MembersPerPool, QuotaFromAPI
			return
		}
		qc.quota, qc.source = qc.fallback, QuotaFromFlag
		if qc.warn != nil {
			qc.warn(fmt.Sprintf("cannot read the ELB member quota (%v); staging against --member-quota=%d", err, qc.fallback))
		}
	})
	return qc.quota, qc.source
}

// Where Result.Plan.Quota came from: the quota API; --member-quota,
// assumed because the API could not be read; or unknown: the API could not
// be read and the pool holds more members than --member-quota, so Quota is
// a lower bound (the members present) and additions are bounded by the
// ELB's answers (ELB.8905).
const (
	QuotaFromAPI  = "api"
	QuotaFromFlag = "member-quota"
	QuotaUnknown  = "unknown"
)

// HealthSummary is what the pass knows about the health of the members at
// desired endpoints (Result.Health), from the member list and, with
// --wait-healthy, the polls of new members.
type HealthSummary struct {
	// Monitored: the pool has a health monitor; without one nothing can be
	// gated and the counts below are not meaningful (members NO_MONITOR).
	Monitored bool `json:"monitored"`
	// Gated: removals waited for new members to be ONLINE.
	Gated bool `json:"gated"`
	// Healthy and Unhealthy count members at desired endpoints that are
	// ONLINE, and those that are not (INITIAL, OFFLINE, UNKNOWN).
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
	// Polls is the number of health polls made; Waited the time spent.
	Polls  int    `json:"polls"`
	Waited string `json:"waited"`
	// Members is the health of each member at a desired endpoint.
	Members []MemberHealth `json:"members"`
}

// MemberHealth is one member's health in output.
type MemberHealth struct {
	ID         string `json:"id"`
	Address    string `json:"address"`
	Port       int32  `json:"port"`
	Status     string `json:"status"`
	ReasonCode string `json:"reasonCode,omitempty"`
}

// healthBook tracks the health of members at desired endpoints by ID.
type healthBook struct {
	byID map[string]MemberHealth
}

func newHealthBook(ms []elb.Member) *healthBook {
	hb := &healthBook{byID: map[string]MemberHealth{}}
	for _, m := range ms {
		hb.record(m)
	}
	return hb
}

func (hb *healthBook) record(m elb.Member) {
	st, code := m.Health()
	hb.byID[m.ID] = MemberHealth{ID: m.ID, Address: m.Address, Port: m.ProtocolPort, Status: st, ReasonCode: code}
}

// added records members this pass added (INITIAL until polled).
func (hb *healthBook) added(m elb.Member) {
	if _, ok := hb.byID[m.ID]; !ok || m.OperatingStatus != "" {
		if m.OperatingStatus == "" {
			m.OperatingStatus = elb.StatusInitial
		}
		hb.record(m)
	}
}

func (hb *healthBook) summary(monitored, gated bool, polls int, waited time.Duration) *HealthSummary {
	s := &HealthSummary{Monitored: monitored, Gated: gated, Polls: polls, Waited: waited.Round(time.Millisecond).String(), Members: []MemberHealth{}}
	for _, h := range hb.byID {
		s.Members = append(s.Members, h)
		if h.Status == elb.StatusOnline {
			s.Healthy++
		} else {
			s.Unhealthy++
		}
	}
	slices.SortFunc(s.Members, func(a, b MemberHealth) int {
		return compareMembers(elb.Member{ID: a.ID, Address: a.Address, ProtocolPort: a.Port}, elb.Member{ID: b.ID, Address: b.Address, ProtocolPort: b.Port})
	})
	return s
}

// unhealthyText lists members that are not ONLINE among ids, e.g.
// "10.0.0.1:80 OFFLINE CONNECT_REFUSED, 10.0.0.2:80 INITIAL" (at most 10).
func (hb *healthBook) unhealthyText(ids []string) (string, int) {
	var parts []string
	n := 0
	for _, id := range ids {
		h, ok := hb.byID[id]
		if ok && h.Status == elb.StatusOnline {
			continue
		}
		n++
		if len(parts) == 10 {
			continue
		}
		s := id + " missing"
		if ok {
			s = fmt.Sprintf("%s:%d %s", h.Address, h.Port, h.Status)
			if h.ReasonCode != "" {
				s += " " + h.ReasonCode
			}
		}
		parts = append(parts, s)
	}
	if n > len(parts) {
		parts = append(parts, fmt.Sprintf("… %d more", n-len(parts)))
	}
	return strings.Join(parts, ", "), n
}

// waitHealthy polls the members ids until every one is ONLINE, NO_MONITOR
// turns up (the pool cannot be gated after all), or timeout passes. Each
// poll reads only the members still pending: one ListMembers call with id=
// filters per 100 of them, or the whole pool when that takes fewer calls
// (⌈poolSize/2000⌉). It returns whether they all became healthy (or cannot
// be gated), the polls made and the calls spent.
func waitHealthy(ctx context.Context, c elb.Client, poolID string, ids []string, poolSize int,
	hb *healthBook, timeout, interval time.Duration) (ok bool, polls int, err error) {
	pending := slices.Clone(ids)
	deadline := time.Now().Add(timeout)
	for {
		var got []elb.Member
		byID := (len(pending) + elb.MaxIDFilter - 1) / elb.MaxIDFilter
		pages := (max(poolSize, 1) + elb.MaxPageSize - 1) / elb.MaxPageSize
		if byID <= pages {
			got, err = c.ListMembersByID(ctx, poolID, pending)
		} else {
			got, err = c.ListMembers(ctx, poolID)
		}
		polls++
		if err != nil {
			return false, polls, fmt.Errorf("read health of new members of pool %s: %w", poolID, err)
		}
		want := make(map[string]bool, len(pending))
		for _, id := range pending {
			want[id] = true
		}
		for _, m := range got {
			if want[m.ID] {
				hb.record(m)
			}
		}
		next := pending[:0]
		for _, id := range pending {
			h, seen := hb.byID[id]
			switch {
			case seen && h.Status == elb.StatusNoMonitor:
				return true, polls, nil
			case seen && h.Status == elb.StatusOnline:
			default:
				next = append(next, id)
			}
		}
		pending = next
		if len(pending) == 0 {
			return true, polls, nil
		}
		wait := min(interval, time.Until(deadline))
		if wait <= 0 {
			return false, polls, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, polls, ctx.Err()
		case <-t.C:
		}
	}
}
