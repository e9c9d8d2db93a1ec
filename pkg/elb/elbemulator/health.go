package elbemulator

import (
	"fmt"
	"net/http"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// Health and quota model.
//
// Documented: a pool without a health monitor (healthmonitor_id empty) has
// NO_MONITOR members; with one, a member starts INITIAL ("health check
// configured, no data yet") and becomes ONLINE or OFFLINE (with a
// reason.reason_code); when the member's status[] (per listener) is not
// empty it takes precedence. The quota API answers totals only, -1 meaning
// unlimited; members_per_pool defaults to 500.
//
// Emulator choices: a member added through the API stays INITIAL for
// Options.HealthDelay (SetHealthDelay) after its creation and is ONLINE
// after that, unless its address was marked with SetOffline; a member added
// with AddMemberDirect without an operating_status counts as checked long
// ago (ONLINE at once in a monitored pool); an operating_status given to
// AddMemberDirect is kept as is. status[] carries one entry per listener of
// the pool, all equal to the pool-level status. The quota answer's other
// keys are fixed values, and the project-wide "member" key is -1 because
// the emulator does not model a project-wide member count.

// memberHealth is what the emulator remembers to derive a member's status.
type memberHealth struct {
	born  time.Time // creation through the API; zero = long ago
	fixed string    // status given to AddMemberDirect, kept as is
}

// SetHealthDelay changes how long members added through the API stay
// INITIAL in pools with a health monitor.
func (e *Emulator) SetHealthDelay(d time.Duration) { e.healthDelay.Store(int64(d)) }

// SetOffline marks members at address (any port) of a pool as failing
// their health check with reasonCode (e.g. "CONNECT_REFUSED"); an empty
// reasonCode clears the mark. It applies to members added later, too.
func (e *Emulator) SetOffline(poolID, address, reasonCode string) error {
	ps := e.pool(poolID)
	if ps == nil {
		return fmt.Errorf("elbemulator: pool %q not found", poolID)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if reasonCode == "" {
		delete(ps.offline, address)
	} else {
		ps.offline[address] = reasonCode
	}
	return nil
}

// SetPoolMemberQuota makes one pool enforce a member quota other than
// Options.MemberQuota (0 = back to the default), while the quota API keeps
// answering Options.MemberQuota: a real quota lower than the one read.
func (e *Emulator) SetPoolMemberQuota(poolID string, n int) error {
	ps := e.pool(poolID)
	if ps == nil {
		return fmt.Errorf("elbemulator: pool %q not found", poolID)
	}
	ps.mu.Lock()
	ps.quota = n
	ps.mu.Unlock()
	return nil
}

// SetQuotaAPIStatus makes GET …/elb/quotas answer with this HTTP status
// (403 as for a missing elb:quotas:list permission, 500, …); 0 restores
// normal answers.
func (e *Emulator) SetQuotaAPIStatus(status int) { e.quotaStatus.Store(int64(status)) }

// memberQuota is the quota a pool enforces (caller holds ps.mu).
func (e *Emulator) memberQuota(ps *poolState) int {
	if ps.quota > 0 {
		return ps.quota
	}
	return e.opts.MemberQuota
}

// view returns m as the API answers it at time now, with its health filled
// in (caller holds ps.mu).
func (e *Emulator) view(ps *poolState, m *elb.Member, now time.Time) elb.Member {
	out := *m
	h := ps.health[m.ID]
	out.Reason, out.Status = nil, nil
	switch {
	case h.fixed != "":
		out.OperatingStatus = h.fixed
	case ps.pool.HealthmonitorID == "":
		out.OperatingStatus = elb.StatusNoMonitor
	case ps.monitor != nil:
		out.OperatingStatus, out.Reason = checkedView(ps, m.ID)
	case ps.offline[m.Address] != "":
		out.OperatingStatus = elb.StatusOffline
		out.Reason = &elb.HealthReason{ReasonCode: ps.offline[m.Address]}
	case now.Sub(h.born) < time.Duration(e.healthDelay.Load()):
		out.OperatingStatus = elb.StatusInitial
	default:
		out.OperatingStatus = elb.StatusOnline
	}
	for _, l := range ps.pool.Listeners {
		out.Status = append(out.Status, elb.ListenerStatus{ListenerID: l.ID, OperatingStatus: out.OperatingStatus, Reason: out.Reason})
	}
	return out
}

func (e *Emulator) getQuota(w http.ResponseWriter, rid string) {
	if st := int(e.quotaStatus.Load()); st != 0 {
		code := CodeFault
		msg := "injected fault (elbemulator)"
		if st == http.StatusForbidden {
			code, msg = CodeForbidden, "Policy doesn't allow elb:quotas:list to be performed."
		}
		writeError(w, st, code, msg, rid)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": rid,
		"quota": map[string]any{
			"project_id":                     e.opts.ProjectID,
			"members_per_pool":               e.opts.MemberQuota,
			"member":                         -1,
			"free_instance_members_per_pool": 50,
			"listeners_per_pool":             50,
			"pool":                           5000,
			"healthmonitor":                  5000,
			"loadbalancer":                   50,
			"listener":                       1500,
			"l7policy":                       500,
			"certificate":                    120,
			"ipgroup":                        1000,
			"security_policy":                50,
		},
	})
}
