// Package elbemulator is an in-process TEST DOUBLE of the vendor's documented
// Huawei Cloud ELB v3 member API. It is not the product and is not derived
// from it: it implements only what the vendor's public API reference describes
// (ShowPool, ListMembers, BatchCreateMembers, BatchDeleteMembers,
// BatchUpdateMembers, error codes, API Gateway throttling) so that tests and demos can exercise
// pkg/elb and `ccictl sync` without a cloud account:
//
//	GET  /v3/{project_id}/elb/pools/{pool_id}                       → 200 {"request_id","pool":{…}}
//	GET  /v3/{project_id}/elb/pools/{pool_id}/members?limit&marker  → 200 {"request_id","page_info","members"}
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-add     → 200 {"request_id","members":[…ret_status]}
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-delete  → 200 {"request_id","members":[{id,ret_status}]}
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-update  → 200 {"request_id","members":[member…]}
//	GET  /v3/{project_id}/elb/quotas                                → 200 {"request_id","quota":{…}}
//
// Modelled behaviour: X-Auth-Token or AK/SK (SDK-HMAC-SHA256, verified with
// the vendor SDK's signer, X-Sdk-Date within 15 minutes) else 401; 404 for an
// unknown project or pool; members unique by address+protocol_port (batch-add
// of an existing one answers ret_status "existed"); batch-delete by id
// ("not found" when unknown) or by address+protocol_port, never both (400);
// batch-update by id of name and weight (0–100), answering the updated
// members (the documented answer has no ret_status); at most 200 items per
// batch (400); limit 0–2000 and a marker that must name
// an existing member (else 400); pages in stable member-ID order; a per-pool
// member quota (409 ELB.8905); member_deletion_protection_enable rejecting
// batch-delete (409). Error bodies have the documented
// {"error_msg","error_code","request_id"} shape.
//
// Where the documentation is silent the emulator makes a choice, marked
// "emulator choice" below; such choices are not claims about the product.
// Member health (INITIAL → ONLINE after a delay, OFFLINE with a reason for
// chosen addresses, NO_MONITOR without a health monitor) and the quota API
// are described in health.go. ListMembers filters on id and
// operating_status (repeatable keys, as documented). Not modelled: other
// member endpoints, other list filters (answered with 400 so a caller
// cannot silently rely on them), and asynchronous provisioning.
//
// A data plane carries real traffic, still as a test double: OpenListener
// gives a TCP or HTTP pool a listening socket on loopback that forwards
// connections or requests to members by weight, only to members whose
// health allows it; SetHealthMonitor replaces the timer model with real
// TCP or HTTP health checks; connection_drain applies to a removed, weight-0
// or OFFLINE member's connections (dataplane.go, healthcheck.go). Member
// addresses are mapped to loopback (10.a.b.c → 127.a.b.c by default) and
// nothing beyond loopback is ever dialled.
//
// Faults (SetFaults) answer chosen calls with throttling, 5xx, stalls or
// echoed credentials, and make member lists incomplete the ways a paging
// client must notice: pages capped below limit (with next_marker), a
// next_marker dropped, members left out that ShowPool still names;
// SetBeforeListPage changes the pool between two pages of one list. These
// are misbehaviours to test against, not claims about the product.
//
// Admin helpers (CreatePool, AddMemberDirect, RemoveMemberDirect, Members, Counts, SetFaults, …)
// and the JSON endpoints under /_emulator/ are not part of the vendor API;
// they are unauthenticated and not counted.
package elbemulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// DefaultMemberQuota is the documented default of backend servers per
// backend server group.
const DefaultMemberQuota = 500

// Operation names used as keys of Counts.
const (
	OpGetPool            = "GetPool"
	OpListMembers        = "ListMembers"
	OpBatchAddMembers    = "BatchAddMembers"
	OpBatchDeleteMembers = "BatchDeleteMembers"
	OpBatchUpdateMembers = "BatchUpdateMembers"
	OpGetQuota           = "GetQuota"
	OpUnauthorized       = "Unauthorized" // rejected with 401 before routing
	OpThrottled          = "Throttled"    // answered 429 by a fault
	OpFaulted            = "Faulted"      // answered 500/503 by a fault
	OpUnknown            = "Unknown"      // path or method the emulator does not serve
	OpStalled            = "Stalled"      // held by a StallFirst fault before being served
	OpEchoed             = "Echoed"       // answered 400 echoing the request's credentials by a fault
	OpNoAPI              = "NoAPI"        // answered 404 APIGW.0101 by a NoAPIFirst fault
	OpAnswerLost         = "AnswerLost"   // a write applied, then answered 500 by a LoseAnswerFirst fault
)

// Error codes the emulator answers with. ELB.1001 (invalid parameters) and
// ELB.8905 (quota) and APIG.0308 (throttling) are documented; the others are
// emulator choices in the vendor's format.
const (
	CodeInvalid            = "ELB.1001"
	CodeQuota              = "ELB.8905"
	CodeNotFound           = "ELB.9903"   // elb.CodeNotFound: ELB's own "not found" answer
	CodeDeletionProtection = "ELB.8907"   // emulator choice; the real code is not documented
	CodeForbidden          = "ELB.0403"   // emulator choice; IAM denials are not documented for this API
	CodePoolType           = "ELB.8908"   // emulator choice: member the pool's type or ip_version cannot take
	CodeUnauthorized       = "APIGW.0301" // emulator choice in API Gateway's format
	CodeNoAPI              = "APIGW.0101" // elb.CodeNoAPI: API Gateway's answer for an API it does not route
	CodeThrottled          = "APIG.0308"
	CodeFault              = "ELB.EMULATOR.FAULT" // injected fault, obviously not a vendor code
)

const maxRequestBody = 4 << 20

// Options configures an Emulator.
type Options struct {
	// ProjectID is the only project served (32 lowercase letters/digits on the
	// real service); requests for another project get 404. "" = a random one,
	// see (*Emulator).ProjectID.
	ProjectID string
	// Token is the accepted X-Auth-Token value ("" = token auth disabled).
	Token string
	// AccessKey and SecretKey enable AK/SK (SDK-HMAC-SHA256) auth ("" = disabled).
	// With neither Token nor AK/SK set, no authentication is required.
	AccessKey, SecretKey string
	// MemberQuota is the per-pool member quota (default 500, the documented
	// default); a batch-add that would exceed it is rejected whole with 409.
	MemberQuota int
	// Latency is added to every API call.
	Latency time.Duration
	// HealthDelay is how long a member added through the API stays INITIAL
	// in a pool with a health monitor before it is ONLINE (health.go).
	HealthDelay time.Duration
}

// Faults makes the emulator answer some API calls with errors. Calls are
// numbered from 1 starting at the last SetFaults, counting authenticated API
// calls only.
type Faults struct {
	// ThrottleEvery: every Nth API call answers 429 {"error_code":"APIG.0308",…} (0 = off).
	ThrottleEvery int `json:"throttle_every"`
	// FailEvery: every Nth API call answers 503, then 500, alternately (0 = off).
	FailEvery int `json:"fail_every"`
	// ThrottleFirst: the next N calls answer 429, then normal.
	ThrottleFirst int `json:"throttle_first"`
	// StallFirst: the next N calls are held for StallFor (or until the
	// client hangs up, which drops the call unserved) before being served
	// normally: a gateway that stops answering.
	StallFirst int           `json:"stall_first"`
	StallFor   time.Duration `json:"stall_for"`
	// EchoCredentialsFirst: the next N calls answer 400 with the request's
	// X-Auth-Token and Authorization header values in error_msg, as a
	// misbehaving gateway or proxy may do.
	EchoCredentialsFirst int `json:"echo_credentials_first"`

	// Incomplete member lists (unfiltered ListMembers only; the id and
	// operating_status filters are answered in full):
	//
	// PageCap: every page holds at most PageCap members whatever the
	// limit asked, still with a next_marker when more follow (a server
	// or gateway that caps pages below limit; 0 = off).
	PageCap int `json:"page_cap"`
	// DropNextMarker: the next N pages that have members after them omit
	// page_info.next_marker, so a client believes the list ended.
	DropNextMarker int `json:"drop_next_marker"`
	// ListOmit: pages leave out the members named here, by member ID or
	// "address:protocol_port", although ShowPool's members list still
	// names them (a list answered from a lagging replica). ListOmitCalls
	// is how many ListMembers requests do so (0 = every request while
	// set).
	ListOmit      []string `json:"list_omit,omitempty"`
	ListOmitCalls int      `json:"list_omit_calls"`

	// Pools in trouble, for as long as the faults are set: every call on
	// a pool of ThrottlePools answers 429 APIG.0308 with a Retry-After of
	// RetryAfterSeconds (none when 0), every call on a pool of FailPools
	// answers 503. Calls on other pools are served.
	ThrottlePools     []string `json:"throttle_pools,omitempty"`
	RetryAfterSeconds int      `json:"retry_after_seconds"`
	FailPools         []string `json:"fail_pools,omitempty"`

	// NoAPIFirst: the next N calls answer 404 APIGW.0101 ("the API does
	// not exist or has not been published"), as API Gateway does for a
	// wrong endpoint, region or path; the ELB never sees them.
	NoAPIFirst int `json:"no_api_first"`
	// LoseAnswerFirst: the next N batch writes (batch-add, batch-delete,
	// batch-update; only the operations in LoseAnswerOps when set, e.g.
	// "BatchDeleteMembers") are applied, then answered 500 as if the
	// answer was lost on the way back: a client's retry finds the write
	// done ("existed", "not found").
	LoseAnswerFirst int      `json:"lose_answer_first"`
	LoseAnswerOps   []string `json:"lose_answer_ops,omitempty"`
	// FailOps: every call of these operations (e.g. "BatchUpdateMembers")
	// answers 503 without being served, while the others are served: one
	// API of the service failing.
	FailOps []string `json:"fail_ops,omitempty"`
}

// Emulator is the test double; it is an http.Handler and safe for
// concurrent use.
type Emulator struct {
	opts    Options
	latency atomic.Int64 // time.Duration
	// healthDelay (time.Duration) and quotaStatus (HTTP status, 0 = normal)
	// are described in health.go.
	healthDelay atomic.Int64
	quotaStatus atomic.Int64
	// dp is the data plane's address map and dialler (dataplane.go).
	dp dataPlane

	mu        sync.Mutex // guards everything below; pool contents have their own locks
	pools     map[string]*poolState
	counts    map[string]int
	faults    Faults
	callN     int // API calls since SetFaults
	throttleN int // ThrottleFirst calls still to throttle
	failN     int // faults injected since SetFaults (alternates 503/500)
	stallN    int // StallFirst calls still to stall
	echoN     int // EchoCredentialsFirst calls still to answer
	dropN     int // DropNextMarker pages still to answer without next_marker
	omitN     int // ListOmitCalls requests still to omit from (ListOmitCalls > 0)
	noAPIN    int // NoAPIFirst calls still to answer 404 APIGW.0101
	loseN     int // LoseAnswerFirst writes still to apply without an answer
	// beforePage, if set, runs before each unfiltered ListMembers page is
	// read (SetBeforeListPage).
	beforePage func(poolID, marker string)
}

// New returns an emulator with no pools.
func New(o Options) *Emulator {
	if o.ProjectID == "" {
		o.ProjectID = randomHex(32)
	}
	if o.MemberQuota <= 0 {
		o.MemberQuota = DefaultMemberQuota
	}
	e := &Emulator{opts: o, pools: map[string]*poolState{}, counts: map[string]int{}}
	e.latency.Store(int64(o.Latency))
	e.healthDelay.Store(int64(o.HealthDelay))
	return e
}

// ProjectID is the project the emulator serves.
func (e *Emulator) ProjectID() string { return e.opts.ProjectID }

// SetLatency changes the delay added to every API call.
func (e *Emulator) SetLatency(d time.Duration) { e.latency.Store(int64(d)) }

// SetFaults replaces the fault settings and restarts their call numbering.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
	e.callN, e.failN = 0, 0
	e.throttleN = max(f.ThrottleFirst, 0)
	e.stallN = max(f.StallFirst, 0)
	e.echoN = max(f.EchoCredentialsFirst, 0)
	e.dropN = max(f.DropNextMarker, 0)
	e.omitN = max(f.ListOmitCalls, 0)
	e.noAPIN = max(f.NoAPIFirst, 0)
	e.loseN = max(f.LoseAnswerFirst, 0)
	e.faults.ListOmit = slices.Clone(f.ListOmit)
	e.faults.ThrottlePools = slices.Clone(f.ThrottlePools)
	e.faults.FailPools = slices.Clone(f.FailPools)
	e.faults.LoseAnswerOps = slices.Clone(f.LoseAnswerOps)
	e.faults.FailOps = slices.Clone(f.FailOps)
}

// poolFault is the fault every call on poolID answers while the pool is
// in ThrottlePools or FailPools: the HTTP status (0 = none) and the
// Retry-After seconds of a throttled one.
func (e *Emulator) poolFault(poolID string) (status, retryAfter int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case slices.Contains(e.faults.ThrottlePools, poolID):
		e.counts[OpThrottled]++
		return http.StatusTooManyRequests, e.faults.RetryAfterSeconds
	case slices.Contains(e.faults.FailPools, poolID):
		e.counts[OpFaulted]++
		return http.StatusServiceUnavailable, 0
	}
	return 0, 0
}

// failOp decides whether this call of operation op is answered 503 by a
// FailOps fault.
func (e *Emulator) failOp(op string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if slices.Contains(e.faults.FailOps, op) {
		e.counts[OpFaulted]++
		return true
	}
	return false
}

// noAPI decides whether this call is answered 404 APIGW.0101 by a fault.
func (e *Emulator) noAPI() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.noAPIN > 0 {
		e.noAPIN--
		e.counts[OpNoAPI]++
		return true
	}
	return false
}

// loseAnswer decides whether this write of operation op is applied without
// its answer reaching the client.
func (e *Emulator) loseAnswer(op string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loseN == 0 || (len(e.faults.LoseAnswerOps) > 0 && !slices.Contains(e.faults.LoseAnswerOps, op)) {
		return false
	}
	e.loseN--
	e.counts[OpAnswerLost]++
	return true
}

// discard is a ResponseWriter that drops the answer of a write whose
// answer a LoseAnswerFirst fault loses.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// SetBeforeListPage installs a hook (nil removes it) that runs before each
// unfiltered ListMembers page is read, with the pool and the request's
// marker ("" for the first page), outside the emulator's locks: a test can
// change the pool between two pages of one list, as a concurrent writer
// would (e.g. RemoveMemberDirect then AddMemberDirect of one address under
// a new ID, which a paging client then sees twice or not at all).
func (e *Emulator) SetBeforeListPage(hook func(poolID, marker string)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.beforePage = hook
}

// listFaults is what the fault settings do to this unfiltered ListMembers
// request: the page cap, whether to drop its next_marker (when it has
// one; consumed only then), and the members to leave out.
func (e *Emulator) listFaults() (pageCap int, drop func() bool, omit map[string]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pageCap = e.faults.PageCap
	if len(e.faults.ListOmit) > 0 && (e.faults.ListOmitCalls == 0 || e.omitN > 0) {
		if e.omitN > 0 {
			e.omitN--
		}
		omit = map[string]bool{}
		for _, k := range e.faults.ListOmit {
			omit[k] = true
		}
	}
	drop = func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.dropN > 0 {
			e.dropN--
			return true
		}
		return false
	}
	return pageCap, drop, omit
}

// Counts returns the API calls served per operation ("GetPool",
// "ListMembers", "BatchAddMembers", "BatchDeleteMembers",
// "BatchUpdateMembers", "GetQuota") — calls that
// reached the operation, whatever they answered — and the calls rejected
// before it ("Unauthorized", "Throttled", "Faulted", "Unknown"). All keys
// are present. Admin calls are not counted.
func (e *Emulator) Counts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for _, k := range []string{OpGetPool, OpListMembers, OpBatchAddMembers, OpBatchDeleteMembers, OpBatchUpdateMembers, OpGetQuota,
		OpUnauthorized, OpThrottled, OpFaulted, OpUnknown, OpStalled, OpEchoed, OpNoAPI, OpAnswerLost} {
		out[k] = e.counts[k]
	}
	return out
}

// ResetCounts zeroes Counts.
func (e *Emulator) ResetCounts() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts = map[string]int{}
}

// CreatePool stores a pool (admin). An empty ID gets a UUID; empty Protocol,
// LBAlgorithm and ProjectID get TCP, ROUND_ROBIN and the emulator's project.
// Members in p are ignored. Creating an existing ID replaces its attributes
// and keeps its members.
func (e *Emulator) CreatePool(p elb.Pool) elb.Pool {
	if p.ID == "" {
		p.ID = newUUID()
	}
	if p.Protocol == "" {
		p.Protocol = "TCP"
	}
	if p.LBAlgorithm == "" {
		p.LBAlgorithm = "ROUND_ROBIN"
	}
	if p.IPVersion == "" {
		p.IPVersion = "dualstack"
	}
	p.ProjectID = e.opts.ProjectID
	p.Members = nil
	if p.ConnectionDrain != nil {
		cd := *p.ConnectionDrain
		p.ConnectionDrain = &cd
	}
	e.mu.Lock()
	ps, ok := e.pools[p.ID]
	if !ok {
		ps = newPoolState(p)
		e.pools[p.ID] = ps
	}
	e.mu.Unlock()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.pool = p
	return ps.snapshot()
}

// Pools returns every pool (admin), sorted by ID.
func (e *Emulator) Pools() []elb.Pool {
	e.mu.Lock()
	ps := make([]*poolState, 0, len(e.pools))
	for _, p := range e.pools {
		ps = append(ps, p)
	}
	e.mu.Unlock()
	out := make([]elb.Pool, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		out = append(out, p.snapshot())
		p.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddMemberDirect adds a member bypassing the API (admin), e.g. a member some
// other tool created. It fills ID (UUID) and defaults like batch-add, keeps
// the uniqueness rule, and ignores the quota.
func (e *Emulator) AddMemberDirect(poolID string, m elb.Member) (elb.Member, error) {
	ps := e.pool(poolID)
	if ps == nil {
		return elb.Member{}, fmt.Errorf("elbemulator: pool %q not found", poolID)
	}
	addr, err := netip.ParseAddr(m.Address)
	if err != nil {
		return elb.Member{}, fmt.Errorf("elbemulator: invalid address %q", m.Address)
	}
	if m.ProtocolPort < 0 || m.ProtocolPort > 65535 {
		return elb.Member{}, fmt.Errorf("elbemulator: invalid protocol_port %d", m.ProtocolPort)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	m.Address = addr.String()
	if id, ok := ps.byAddr[memberKey{m.Address, m.ProtocolPort}]; ok {
		return elb.Member{}, fmt.Errorf("elbemulator: pool %s already has %s:%d (member %s)", poolID, m.Address, m.ProtocolPort, id)
	}
	if m.ID == "" {
		m.ID = e.freshID(ps, nil)
	} else if _, dup := ps.byID[m.ID]; dup {
		return elb.Member{}, fmt.Errorf("elbemulator: member ID %q already used", m.ID)
	}
	fixed := m.OperatingStatus
	e.fillDefaults(&m, addr)
	c := m
	ps.insert([]*elb.Member{&c})
	ps.health[m.ID] = memberHealth{fixed: fixed}
	return e.view(ps, &c, time.Now()), nil
}

// RemoveMemberDirect removes a member by ID bypassing the API (admin), as
// another tool or a concurrent pass would; deletion protection does not
// apply.
func (e *Emulator) RemoveMemberDirect(poolID, memberID string) error {
	ps := e.pool(poolID)
	if ps == nil {
		return fmt.Errorf("elbemulator: pool %q not found", poolID)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.byID[memberID]; !ok {
		return fmt.Errorf("elbemulator: pool %s has no member %s", poolID, memberID)
	}
	ps.remove(map[string]bool{memberID: true})
	return nil
}

// Members returns a snapshot of a pool's members (admin), sorted by
// address then port; nil for an unknown pool.
func (e *Emulator) Members(poolID string) []elb.Member {
	ps := e.pool(poolID)
	if ps == nil {
		return nil
	}
	ps.mu.Lock()
	out := make([]elb.Member, 0, len(ps.byID))
	now := time.Now()
	for _, m := range ps.byID {
		out = append(out, e.view(ps, m, now))
	}
	ps.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Address != out[j].Address {
			ai, aerr := netip.ParseAddr(out[i].Address)
			aj, berr := netip.ParseAddr(out[j].Address)
			if aerr == nil && berr == nil {
				return ai.Less(aj)
			}
			return out[i].Address < out[j].Address
		}
		return out[i].ProtocolPort < out[j].ProtocolPort
	})
	return out
}

func (e *Emulator) pool(id string) *poolState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pools[id]
}

func (e *Emulator) count(op string) {
	e.mu.Lock()
	e.counts[op]++
	e.mu.Unlock()
}

// fault decides whether this authenticated API call is answered by an
// injected fault: it returns the HTTP status (0 = none).
func (e *Emulator) fault() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.callN++
	switch {
	case e.throttleN > 0:
		e.throttleN--
	case e.faults.ThrottleEvery > 0 && e.callN%e.faults.ThrottleEvery == 0:
	case e.faults.FailEvery > 0 && e.callN%e.faults.FailEvery == 0:
		e.failN++
		e.counts[OpFaulted]++
		if e.failN%2 == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusInternalServerError
	default:
		return 0
	}
	e.counts[OpThrottled]++
	return http.StatusTooManyRequests
}

// hostile decides whether this authenticated API call is stalled (for how
// long) or answered with its credentials echoed.
func (e *Emulator) hostile() (stall time.Duration, echo bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stallN > 0 && e.faults.StallFor > 0 {
		e.stallN--
		e.counts[OpStalled]++
		stall = e.faults.StallFor
	}
	if e.echoN > 0 {
		e.echoN--
		e.counts[OpEchoed]++
		echo = true
	}
	return stall, echo
}

// ServeHTTP serves the vendor API under /v3/ and the admin API under /_emulator/.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_emulator" || strings.HasPrefix(r.URL.Path, "/_emulator/") {
		e.serveAdmin(w, r)
		return
	}
	rid := randomHex(32)
	w.Header().Set("X-Request-Id", rid)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeInvalid, "request body unreadable or too large", rid)
		return
	}
	if d := time.Duration(e.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if !e.authenticated(r, body) {
		e.count(OpUnauthorized)
		writeError(w, http.StatusUnauthorized, CodeUnauthorized,
			"Incorrect IAM authentication information: token or AK/SK signature missing or invalid", rid)
		return
	}
	stall, echo := e.hostile()
	if stall > 0 {
		t := time.NewTimer(stall)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if echo {
		// Bare values, not "Header: value": masking by header name alone
		// would not catch them.
		authz := r.Header.Get("Authorization")
		_, sig, _ := strings.Cut(authz, "Signature=")
		writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf(
			"request rejected; it carried %q %q (signature %s)", r.Header.Get("X-Auth-Token"), authz, sig), rid)
		return
	}
	if e.noAPI() {
		writeError(w, http.StatusNotFound, CodeNoAPI, "The API does not exist or has not been published in the environment", rid)
		return
	}
	if status := e.fault(); status != 0 {
		if status == http.StatusTooManyRequests {
			writeError(w, status, CodeThrottled,
				"The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 second", rid)
		} else {
			writeError(w, status, CodeFault, "injected fault (elbemulator)", rid)
		}
		return
	}

	// /v3/{project_id}/elb/pools/{pool_id}[/members[/batch-add|/batch-delete|/batch-update]]
	// and /v3/{project_id}/elb/quotas
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	op, method := "", ""
	if len(parts) == 4 && parts[0] == "v3" && parts[2] == "elb" && parts[3] == "quotas" {
		op, method = OpGetQuota, http.MethodGet
	} else if len(parts) >= 5 && parts[0] == "v3" && parts[2] == "elb" && parts[3] == "pools" && parts[4] != "" {
		switch {
		case len(parts) == 5:
			op, method = OpGetPool, http.MethodGet
		case len(parts) == 6 && parts[5] == "members":
			op, method = OpListMembers, http.MethodGet
		case len(parts) == 7 && parts[5] == "members" && parts[6] == "batch-add":
			op, method = OpBatchAddMembers, http.MethodPost
		case len(parts) == 7 && parts[5] == "members" && parts[6] == "batch-delete":
			op, method = OpBatchDeleteMembers, http.MethodPost
		case len(parts) == 7 && parts[5] == "members" && parts[6] == "batch-update":
			op, method = OpBatchUpdateMembers, http.MethodPost
		}
	}
	if op == "" || r.Method != method {
		e.count(OpUnknown)
		writeError(w, http.StatusNotFound, CodeNoAPI,
			"The API does not exist or has not been published in the environment (elbemulator serves only ShowPool, ListMembers, BatchCreateMembers, BatchDeleteMembers, BatchUpdateMembers, ListQuotas)", rid)
		return
	}
	if op != OpGetQuota {
		if status, after := e.poolFault(parts[4]); status == http.StatusTooManyRequests {
			if after > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(after))
			}
			writeError(w, status, CodeThrottled,
				"The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 second", rid)
			return
		} else if status != 0 {
			writeError(w, status, CodeFault, "injected fault (elbemulator)", rid)
			return
		}
	}
	e.count(op)
	if e.failOp(op) {
		writeError(w, http.StatusServiceUnavailable, CodeFault, "injected fault: "+op+" fails (elbemulator)", rid)
		return
	}
	if parts[1] != e.opts.ProjectID {
		writeError(w, http.StatusNotFound, CodeNotFound, "project "+parts[1]+" not found", rid)
		return
	}
	if op == OpGetQuota {
		e.getQuota(w, rid)
		return
	}
	ps := e.pool(parts[4])
	if ps == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "pool "+parts[4]+" could not be found", rid)
		return
	}
	switch op {
	case OpBatchAddMembers, OpBatchDeleteMembers, OpBatchUpdateMembers:
		if e.loseAnswer(op) {
			lost := w
			defer writeError(lost, http.StatusInternalServerError, CodeFault, "injected fault: the write was applied and its answer lost (elbemulator)", rid)
			w = &discard{}
		}
	}
	switch op {
	case OpGetPool:
		e.getPool(w, ps, rid)
	case OpListMembers:
		e.listMembers(w, r, ps, rid)
	case OpBatchAddMembers:
		e.batchAdd(w, body, ps, rid)
	case OpBatchDeleteMembers:
		e.batchDelete(w, body, ps, rid)
	case OpBatchUpdateMembers:
		e.batchUpdate(w, body, ps, rid)
	}
}

// poolBody is the pool object as answered, with documented fields elb.Pool
// does not carry.
type poolBody struct {
	elb.Pool
	AdminStateUp       bool    `json:"admin_state_up"`
	Description        string  `json:"description"`
	SessionPersistence *string `json:"session_persistence"`
	SlowStart          *string `json:"slow_start"`
}

func (e *Emulator) getPool(w http.ResponseWriter, ps *poolState, rid string) {
	ps.mu.Lock()
	p := ps.snapshot()
	ps.mu.Unlock()
	if p.ConnectionDrain == nil { // emulator choice: the object is always answered
		p.ConnectionDrain = &elb.ConnectionDrain{}
	}
	writeJSON(w, http.StatusOK, struct {
		RequestID string   `json:"request_id"`
		Pool      poolBody `json:"pool"`
	}{rid, poolBody{Pool: p, AdminStateUp: true}})
}

type pageInfo struct {
	PreviousMarker string `json:"previous_marker"`
	NextMarker     string `json:"next_marker,omitempty"`
	CurrentCount   int    `json:"current_count"`
}

func (e *Emulator) listMembers(w http.ResponseWriter, r *http.Request, ps *poolState, rid string) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "limit", "marker", "page_reverse", "id", "operating_status":
		default:
			writeError(w, http.StatusBadRequest, CodeInvalid,
				"query parameter "+k+" is not supported by elbemulator (only the id and operating_status filters are modelled)", rid)
			return
		}
	}
	for _, v := range q["operating_status"] {
		switch v {
		case elb.StatusOnline, elb.StatusOffline, elb.StatusInitial, elb.StatusNoMonitor, elb.StatusUnknown:
		default:
			writeError(w, http.StatusBadRequest, CodeInvalid, "Invalid input for operating_status: "+v, rid)
			return
		}
	}
	limit := elb.MaxPageSize
	if vs, ok := q["limit"]; ok {
		n, err := strconv.Atoi(vs[0])
		if len(vs) != 1 || err != nil || n < 0 || n > elb.MaxPageSize {
			writeError(w, http.StatusBadRequest, CodeInvalid, "Invalid input for limit: must be an integer in [0, 2000]", rid)
			return
		}
		if n > 0 { // emulator choice: limit=0 means the default, 2000
			limit = n
		}
	}
	reverse := false
	if vs, ok := q["page_reverse"]; ok {
		switch {
		case len(vs) == 1 && vs[0] == "true":
			reverse = true
		case len(vs) == 1 && vs[0] == "false":
		default:
			writeError(w, http.StatusBadRequest, CodeInvalid, "Invalid input for page_reverse: must be true or false", rid)
			return
		}
	}
	marker := ""
	ids, statuses := q["id"], q["operating_status"]
	filtered := len(ids) > 0 || len(statuses) > 0
	var pageCap int
	var dropMarker func() bool
	var omit map[string]bool
	if !filtered {
		e.mu.Lock()
		hook := e.beforePage
		e.mu.Unlock()
		if hook != nil {
			ps.mu.Lock()
			id := ps.pool.ID
			ps.mu.Unlock()
			hook(id, q.Get("marker"))
		}
		pageCap, dropMarker, omit = e.listFaults()
		if pageCap > 0 {
			limit = min(limit, pageCap)
		}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if vs, ok := q["marker"]; ok {
		marker = vs[0]
		if _, hasLimit := q["limit"]; !hasLimit || len(vs) != 1 || marker == "" {
			writeError(w, http.StatusBadRequest, CodeInvalid, "Invalid input for marker: must be one non-empty ID used with limit", rid)
			return
		}
		if _, ok := ps.byID[marker]; !ok {
			writeError(w, http.StatusBadRequest, CodeInvalid, "Invalid input for marker: no member "+marker+" in this pool", rid)
			return
		}
	}
	now := time.Now()
	var members []elb.Member
	var more bool
	if filtered {
		members, more = e.filteredPage(ps, ids, statuses, marker, limit, reverse, now)
	} else {
		members, more = ps.page(marker, limit, reverse)
		for i := range members {
			members[i] = e.view(ps, ps.byID[members[i].ID], now)
		}
	}
	pi := pageInfo{}
	if len(members) > 0 {
		pi.PreviousMarker = members[0].ID
		if more && (dropMarker == nil || !dropMarker()) {
			pi.NextMarker = members[len(members)-1].ID
		}
	}
	if omit != nil {
		members = slices.DeleteFunc(members, func(m elb.Member) bool {
			return omit[m.ID] || omit[fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort)]
		})
	}
	pi.CurrentCount = len(members)
	writeJSON(w, http.StatusOK, struct {
		RequestID string       `json:"request_id"`
		PageInfo  pageInfo     `json:"page_info"`
		Members   []elb.Member `json:"members"`
	}{rid, pi, members})
}

type addItem struct {
	Name             string  `json:"name"`
	Address          *string `json:"address"`
	ProtocolPort     *int32  `json:"protocol_port"`
	SubnetCIDRID     string  `json:"subnet_cidr_id"`
	Weight           *int32  `json:"weight"`
	AvailabilityZone string  `json:"availability_zone"`
}

type addedMember struct {
	elb.Member
	PortID    string `json:"port_id"`
	RetStatus string `json:"ret_status"`
}

func (e *Emulator) batchAdd(w http.ResponseWriter, body []byte, ps *poolState, rid string) {
	var req struct {
		Members []addItem `json:"members"`
	}
	if msg := decodeStrict(body, &req); msg != "" {
		writeError(w, http.StatusBadRequest, CodeInvalid, msg, rid)
		return
	}
	if len(req.Members) == 0 || len(req.Members) > elb.MaxBatch {
		writeError(w, http.StatusBadRequest, CodeInvalid,
			fmt.Sprintf("Invalid input for members: between 1 and %d members per request, got %d", elb.MaxBatch, len(req.Members)), rid)
		return
	}
	addrs := make([]netip.Addr, len(req.Members))
	for i, it := range req.Members {
		if it.Address == nil {
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].address is required", i), rid)
			return
		}
		a, err := netip.ParseAddr(*it.Address)
		if err != nil || a.Zone() != "" {
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].address %q is not an IP address", i, *it.Address), rid)
			return
		}
		addrs[i] = a
		// emulator choice: port 0 (port passthrough pools) is not modelled
		if it.ProtocolPort == nil || *it.ProtocolPort < 1 || *it.ProtocolPort > 65535 {
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].protocol_port is required, 1-65535", i), rid)
			return
		}
		if it.Weight != nil && (*it.Weight < 0 || *it.Weight > 100) {
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].weight must be 0-100", i), rid)
			return
		}
		if len(it.Name) > 255 {
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].name longer than 255", i), rid)
			return
		}
	}

	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.pool.Type == "ip" {
		for i, it := range req.Members {
			if it.SubnetCIDRID != "" {
				writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d]: a pool of type ip takes only IP members (no subnet_cidr_id)", i), rid)
				return
			}
		}
	}
	// Emulator choices (the error answers are not documented): a pool of
	// type instance takes only members with a subnet, a v6 pool no IPv4.
	for i, it := range req.Members {
		if ps.pool.Type == "instance" && it.SubnetCIDRID == "" {
			writeError(w, http.StatusBadRequest, CodePoolType, fmt.Sprintf("members[%d]: a pool of type instance takes no IP-type members (subnet_cidr_id missing)", i), rid)
			return
		}
		if ps.pool.IPVersion == "v6" && addrs[i].Is4() {
			writeError(w, http.StatusBadRequest, CodePoolType, fmt.Sprintf("members[%d]: pool ip_version v6 takes no IPv4 address", i), rid)
			return
		}
	}
	// Quota is checked for the whole batch before any change (all or nothing).
	fresh := map[memberKey]bool{}
	for i, it := range req.Members {
		k := memberKey{addrs[i].String(), *it.ProtocolPort}
		if _, ok := ps.byAddr[k]; !ok {
			fresh[k] = true
		}
	}
	if len(ps.byID)+len(fresh) > e.memberQuota(ps) {
		writeError(w, http.StatusConflict, CodeQuota, "Quota exceeded for resources: member", rid)
		return
	}
	out := make([]addedMember, len(req.Members))
	now := time.Now()
	var created []*elb.Member
	inBatch := map[memberKey]*elb.Member{}
	newIDs := map[string]bool{}
	for i, it := range req.Members {
		k := memberKey{addrs[i].String(), *it.ProtocolPort}
		if id, ok := ps.byAddr[k]; ok {
			out[i] = addedMember{Member: e.view(ps, ps.byID[id], now), RetStatus: elb.RetExisted}
			continue
		}
		if m, ok := inBatch[k]; ok { // emulator choice: a repeat inside one batch is "existed"
			out[i] = addedMember{Member: e.view(ps, m, now), RetStatus: elb.RetExisted}
			continue
		}
		m := &elb.Member{Name: it.Name, Address: k.addr, ProtocolPort: k.port, SubnetCIDRID: it.SubnetCIDRID, Weight: 1}
		if it.Weight != nil {
			m.Weight = *it.Weight
		}
		m.ID = e.freshID(ps, newIDs)
		newIDs[m.ID] = true
		e.fillDefaults(m, addrs[i])
		inBatch[k] = m
		created = append(created, m)
		ps.health[m.ID] = memberHealth{born: now}
		out[i] = addedMember{Member: e.view(ps, m, now), RetStatus: elb.RetSuccessful}
	}
	ps.insert(created)
	writeJSON(w, http.StatusOK, struct {
		RequestID string        `json:"request_id"`
		Members   []addedMember `json:"members"`
	}{rid, out})
}

type deleteItem struct {
	ID           *string `json:"id"`
	Address      *string `json:"address"`
	ProtocolPort *int32  `json:"protocol_port"`
}

func (e *Emulator) batchDelete(w http.ResponseWriter, body []byte, ps *poolState, rid string) {
	var req struct {
		Members []deleteItem `json:"members"`
	}
	if msg := decodeStrict(body, &req); msg != "" {
		writeError(w, http.StatusBadRequest, CodeInvalid, msg, rid)
		return
	}
	if len(req.Members) == 0 || len(req.Members) > elb.MaxBatch {
		writeError(w, http.StatusBadRequest, CodeInvalid,
			fmt.Sprintf("Invalid input for members: between 1 and %d members per request, got %d", elb.MaxBatch, len(req.Members)), rid)
		return
	}
	keys := make([]memberKey, len(req.Members))
	for i, it := range req.Members {
		switch {
		case it.ID != nil && (it.Address != nil || it.ProtocolPort != nil):
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d]: when id is given no other parameter is allowed", i), rid)
			return
		case it.ID != nil && *it.ID == "":
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].id is empty", i), rid)
			return
		case it.ID == nil && (it.Address == nil || it.ProtocolPort == nil):
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d]: give id, or address and protocol_port", i), rid)
			return
		case it.ID == nil:
			a, err := netip.ParseAddr(*it.Address)
			if err != nil || *it.ProtocolPort < 0 || *it.ProtocolPort > 65535 {
				writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d]: invalid address or protocol_port", i), rid)
				return
			}
			keys[i] = memberKey{a.String(), *it.ProtocolPort}
		}
	}

	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.pool.MemberDeletionProtectionEnable {
		writeError(w, http.StatusConflict, CodeDeletionProtection,
			"member deletion protection is enabled for pool "+ps.pool.ID+"; members cannot be removed", rid)
		return
	}
	type result struct {
		ID        string `json:"id"`
		RetStatus string `json:"ret_status"`
	}
	out := make([]result, len(req.Members))
	gone := map[string]bool{}
	for i, it := range req.Members {
		id := ""
		if it.ID != nil {
			id = *it.ID
		} else {
			id = ps.byAddr[keys[i]]
		}
		if _, ok := ps.byID[id]; ok && id != "" && !gone[id] {
			gone[id] = true
			out[i] = result{id, elb.RetSuccessful}
			continue
		}
		if it.ID != nil {
			out[i] = result{*it.ID, elb.RetNotFound}
		} else {
			out[i] = result{"", elb.RetNotFound}
		}
	}
	ps.remove(gone)
	writeJSON(w, http.StatusOK, struct {
		RequestID string   `json:"request_id"`
		Members   []result `json:"members"`
	}{rid, out})
}

// updateItem is one documented BatchUpdateMembersOption.
type updateItem struct {
	ID               *string `json:"id"`
	Name             *string `json:"name"`
	Weight           *int32  `json:"weight"`
	ProtocolPort     *int32  `json:"protocol_port"`
	AdminStateUp     *bool   `json:"admin_state_up"`
	AvailabilityZone *string `json:"availability_zone"`
}

type updatedMember struct {
	elb.Member
	PortID string `json:"port_id"`
}

// batchUpdate changes name and weight by member id, all or nothing. The
// documentation is silent on unknown or repeated ids; the emulator's choice
// is to reject the whole batch with 400 ELB.1001, since the documented answer
// has no per-member status to report them in.
func (e *Emulator) batchUpdate(w http.ResponseWriter, body []byte, ps *poolState, rid string) {
	var req struct {
		Members []updateItem `json:"members"`
	}
	if msg := decodeStrict(body, &req); msg != "" {
		writeError(w, http.StatusBadRequest, CodeInvalid, msg, rid)
		return
	}
	if len(req.Members) == 0 || len(req.Members) > elb.MaxBatch {
		writeError(w, http.StatusBadRequest, CodeInvalid,
			fmt.Sprintf("Invalid input for members: between 1 and %d members per request, got %d", elb.MaxBatch, len(req.Members)), rid)
		return
	}
	for i, it := range req.Members {
		switch {
		case it.ID == nil || *it.ID == "":
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].id is required", i), rid)
			return
		case it.Weight != nil && (*it.Weight < 0 || *it.Weight > elb.MaxWeight):
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].weight must be 0-100", i), rid)
			return
		case it.Name != nil && len(*it.Name) > 255:
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].name longer than 255", i), rid)
			return
		case it.AdminStateUp != nil: // documented as "do not pass"
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d].admin_state_up must not be passed", i), rid)
			return
		case it.ProtocolPort != nil || it.AvailabilityZone != nil:
			// emulator choice: refuse what is not modelled rather than ignore it
			writeError(w, http.StatusBadRequest, CodeInvalid,
				fmt.Sprintf("members[%d]: only name and weight updates are modelled by elbemulator", i), rid)
			return
		}
	}

	ps.mu.Lock()
	defer ps.mu.Unlock()
	seen := map[string]bool{}
	for i, it := range req.Members {
		if _, ok := ps.byID[*it.ID]; !ok {
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d]: member %s not found in pool %s", i, *it.ID, ps.pool.ID), rid)
			return
		}
		if seen[*it.ID] {
			writeError(w, http.StatusBadRequest, CodeInvalid, fmt.Sprintf("members[%d]: member %s given twice", i, *it.ID), rid)
			return
		}
		seen[*it.ID] = true
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	out := make([]updatedMember, len(req.Members))
	for i, it := range req.Members {
		m := ps.byID[*it.ID]
		if it.Name != nil {
			m.Name = *it.Name
		}
		// A SOURCE_IP or QUIC_CID pool ignores weights when balancing; the
		// value is still stored and answered (emulator choice).
		if it.Weight != nil {
			m.Weight = *it.Weight
		}
		m.UpdatedAt = now
		out[i] = updatedMember{Member: e.view(ps, m, time.Now())}
	}
	writeJSON(w, http.StatusOK, struct {
		RequestID string          `json:"request_id"`
		Members   []updatedMember `json:"members"`
	}{rid, out})
}

func (e *Emulator) fillDefaults(m *elb.Member, a netip.Addr) {
	m.ProjectID = e.opts.ProjectID
	m.AdminStateUp = true
	if a.Is4() || a.Is4In6() {
		m.IPVersion = "v4"
	} else {
		m.IPVersion = "v6"
	}
	m.OperatingStatus = "" // derived on every read (view)
	if m.MemberType == "" {
		if m.SubnetCIDRID == "" {
			m.MemberType = "ip"
		} else {
			m.MemberType = "instance"
		}
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	if m.CreatedAt == "" {
		m.CreatedAt = now
	}
	if m.UpdatedAt == "" {
		m.UpdatedAt = now
	}
}

// freshID returns a UUID not used in the pool nor in taken (IDs handed out
// earlier in the same batch).
func (e *Emulator) freshID(ps *poolState, taken map[string]bool) string {
	for {
		id := newUUID()
		if _, used := ps.byID[id]; !used && !taken[id] {
			return id
		}
	}
}

// decodeStrict decodes a JSON object rejecting unknown fields and trailing
// data; it returns a message for a 400 answer, or "".
func decodeStrict(body []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return "Invalid request body: " + err.Error()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "Invalid request body: trailing data"
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg, rid string) {
	writeJSON(w, status, struct {
		ErrorMsg  string `json:"error_msg"`
		ErrorCode string `json:"error_code"`
		RequestID string `json:"request_id"`
	}{msg, code, rid})
}

func randomHex(n int) string {
	const hexdigits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hexdigits[rand.IntN(16)]
	}
	return string(b)
}

// newUUID returns a random (version 4 layout) UUID string.
func newUUID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
