// Package elb is a client for the members of Huawei Cloud ELB v3 (dedicated)
// backend server groups ("pools"), written to the vendor's documented API:
//
//	GET  /v3/{project_id}/elb/pools/{pool_id}
//	GET  /v3/{project_id}/elb/pools/{pool_id}/members?limit=&marker=
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-add
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-delete
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-update
//	GET  /v3/{project_id}/elb/pools/{pool_id}/members?id=&id=…  (health of chosen members)
//	GET  /v3/{project_id}/elb/quotas
//
// Callers program against the Client interface; New returns the HTTP
// implementation. The package does not import cobra.
package elb

import (
	"context"
	"fmt"
	"strings"
)

// Documented limits of the API.
const (
	// MaxBatch is the most members one batch-add, batch-delete or
	// batch-update call takes.
	MaxBatch = 200
	// MaxPageSize is the largest `limit` ListMembers accepts (also its default).
	MaxPageSize = 2000
	// MaxWeight is the largest member weight (the range is 0–100, default 1;
	// weight 0 takes no new connections).
	MaxWeight = 100
	// MaxIDFilter is the most id= filters ListMembersByID puts in one
	// request. The API takes the key repeated without a documented bound;
	// 100 member IDs keep the request line near 4 KiB, under common gateway
	// limits of 8 KiB.
	MaxIDFilter = 100
	// UnlimitedQuota is the quota API's value for "no limit".
	UnlimitedQuota = -1
)

// Member operating_status values (pool level, and per listener in Status).
const (
	StatusOnline    = "ONLINE"
	StatusOffline   = "OFFLINE"
	StatusInitial   = "INITIAL"
	StatusNoMonitor = "NO_MONITOR"
	StatusUnknown   = "UNKNOWN"
)

// Member is a backend server of a pool, with the API's JSON field names.
type Member struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	ProjectID       string `json:"project_id,omitempty"`
	Address         string `json:"address"`
	ProtocolPort    int32  `json:"protocol_port"`
	SubnetCIDRID    string `json:"subnet_cidr_id,omitempty"`
	Weight          int32  `json:"weight"`
	AdminStateUp    bool   `json:"admin_state_up"`
	IPVersion       string `json:"ip_version,omitempty"`
	OperatingStatus string `json:"operating_status,omitempty"`
	// Reason says why a health check failed (OFFLINE members).
	Reason *HealthReason `json:"reason,omitempty"`
	// Status is the health per listener; when it is not empty it takes
	// precedence over OperatingStatus (documented).
	Status     []ListenerStatus `json:"status,omitempty"`
	MemberType string           `json:"member_type,omitempty"`
	InstanceID string           `json:"instance_id,omitempty"`
	CreatedAt  string           `json:"created_at,omitempty"`
	UpdatedAt  string           `json:"updated_at,omitempty"`
}

// HealthReason is a member's failed health check: reason_code is one of
// CONNECT_TIMEOUT, CONNECT_REFUSED, … (documented); the two responses are
// set only for RESPONSE_MISMATCH.
type HealthReason struct {
	ReasonCode          string  `json:"reason_code"`
	ExpectedResponse    *string `json:"expected_response,omitempty"`
	HealthcheckResponse *string `json:"healthcheck_response,omitempty"`
}

// ListenerStatus is a member's health as seen by one listener.
type ListenerStatus struct {
	ListenerID      string        `json:"listener_id"`
	OperatingStatus string        `json:"operating_status"`
	Reason          *HealthReason `json:"reason,omitempty"`
}

// Health is the member's effective operating status and, for a failed
// check, its reason_code. The listener-level Status takes precedence when
// present (documented); a member behind several listeners is only as
// healthy as its worst listener: OFFLINE beats UNKNOWN beats INITIAL beats
// NO_MONITOR beats ONLINE.
func (m Member) Health() (status, reasonCode string) {
	if len(m.Status) == 0 {
		if m.Reason != nil {
			reasonCode = m.Reason.ReasonCode
		}
		return m.OperatingStatus, reasonCode
	}
	rank := map[string]int{StatusOnline: 0, StatusNoMonitor: 1, StatusInitial: 2, StatusUnknown: 3, StatusOffline: 4}
	worst := -1
	for _, s := range m.Status {
		r, ok := rank[s.OperatingStatus]
		if !ok {
			r = rank[StatusUnknown]
		}
		if r > worst {
			worst, status, reasonCode = r, s.OperatingStatus, ""
			if s.Reason != nil {
				reasonCode = s.Reason.ReasonCode
			}
		}
	}
	return status, reasonCode
}

// Ref is an {"id": …} reference inside a pool.
type Ref struct {
	ID string `json:"id"`
}

// Pool is a backend server group, with the fields sync needs.
type Pool struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ProjectID   string `json:"project_id,omitempty"`
	Protocol    string `json:"protocol"`
	LBAlgorithm string `json:"lb_algorithm"`
	IPVersion   string `json:"ip_version,omitempty"`
	Type        string `json:"type"`
	VpcID       string `json:"vpc_id,omitempty"`
	// HealthmonitorID is "" when the pool has no health check (its
	// members are then NO_MONITOR).
	HealthmonitorID                string `json:"healthmonitor_id"`
	Loadbalancers                  []Ref  `json:"loadbalancers"`
	Listeners                      []Ref  `json:"listeners"`
	Members                        []Ref  `json:"members"`
	MemberDeletionProtectionEnable bool   `json:"member_deletion_protection_enable"`
	// ConnectionDrain is the pool's deregistration delay, for TCP, UDP and
	// QUIC pools only: a removed member, one that fails its health check or
	// one set to weight 0 keeps its connections for Timeout seconds.
	ConnectionDrain *ConnectionDrain `json:"connection_drain,omitempty"`
}

// ConnectionDrain is a pool's connection_drain object.
type ConnectionDrain struct {
	Enable bool `json:"enable"`
	// Timeout is in seconds, 10–4000.
	Timeout int32 `json:"timeout,omitempty"`
}

// Load-balancing algorithms that ignore member weights.
const (
	AlgorithmSourceIP = "SOURCE_IP"
	AlgorithmQUICCID  = "QUIC_CID"
)

// WeightIgnored reports whether the pool's algorithm ignores member weights
// (documented for SOURCE_IP and QUIC_CID).
func (p *Pool) WeightIgnored() bool {
	return p.LBAlgorithm == AlgorithmSourceIP || p.LBAlgorithm == AlgorithmQUICCID
}

// DrainsOnRemove reports whether the pool keeps a removed member's
// connections for a while: connection_drain is enabled, which the API
// documents for TCP, UDP and QUIC pools only.
func (p *Pool) DrainsOnRemove() bool {
	if p.ConnectionDrain == nil || !p.ConnectionDrain.Enable {
		return false
	}
	switch strings.ToUpper(p.Protocol) {
	case "TCP", "UDP", "QUIC":
		return true
	}
	return false
}

// NewMember is one item of a batch-add request.
type NewMember struct {
	Name         string `json:"name,omitempty"`
	Address      string `json:"address"`
	ProtocolPort int32  `json:"protocol_port"`
	SubnetCIDRID string `json:"subnet_cidr_id,omitempty"`
	Weight       *int32 `json:"weight,omitempty"`
}

// MemberUpdate is one item of a batch-update request: the member's id and
// the fields to change; nil fields are left as they are.
type MemberUpdate struct {
	ID     string  `json:"id"`
	Name   *string `json:"name,omitempty"`
	Weight *int32  `json:"weight,omitempty"`
}

// Batch result states documented for batch-add and batch-delete. "existed"
// and "not found" mean the pool is already as asked, so they count as success.
const (
	RetSuccessful = "successful"
	RetExisted    = "existed"
	RetNotFound   = "not found"
)

// BatchResult is one member of a batch-add or batch-delete answer.
type BatchResult struct {
	ID           string `json:"id"`
	Address      string `json:"address,omitempty"`
	ProtocolPort int32  `json:"protocol_port,omitempty"`
	RetStatus    string `json:"ret_status"`
}

// Client reads and changes the members of pools.
type Client interface {
	// GetPool reads one pool (one call).
	GetPool(ctx context.Context, poolID string) (*Pool, error)
	// ListMembers reads every member of a pool, paging with limit=2000 and
	// marker=next_marker until a page has no next_marker (or no members):
	// ⌈max(M,1)/2000⌉ calls for M members where the server fills its pages.
	ListMembers(ctx context.Context, poolID string) ([]Member, error)
	// BatchAddMembers adds up to MaxBatch members in one call.
	BatchAddMembers(ctx context.Context, poolID string, members []NewMember) ([]BatchResult, error)
	// BatchDeleteMembers removes up to MaxBatch members, by member ID, in one call.
	BatchDeleteMembers(ctx context.Context, poolID string, memberIDs []string) ([]BatchResult, error)
	// BatchUpdateMembers changes the name and/or weight of up to MaxBatch
	// members, by member ID, in one call, and returns the members as the
	// answer shows them (one per update, in request order).
	BatchUpdateMembers(ctx context.Context, poolID string, updates []MemberUpdate) ([]Member, error)
	// ListMembersByID reads the given members of a pool (for their health)
	// with repeated id= filters: ⌈len(ids)/MaxIDFilter⌉ calls. Members that
	// no longer exist are simply absent from the answer.
	ListMembersByID(ctx context.Context, poolID string, ids []string) ([]Member, error)
	// GetQuota reads the project's ELB quotas (one call). Values are totals,
	// not what is left; UnlimitedQuota means no limit.
	GetQuota(ctx context.Context) (*Quota, error)
}

// Quota is the member part of the project's quota answer
// (GET /v3/{project_id}/elb/quotas → {"request_id","quota":{…}}).
type Quota struct {
	// MembersPerPool is the most members one pool may hold.
	MembersPerPool int `json:"members_per_pool"`
	// Member is the most members the project may hold over all pools.
	Member int `json:"member"`
}

// APIError is an error answer of the ELB API: {error_msg, error_code, request_id}.
type APIError struct {
	StatusCode int    `json:"-"`
	Code       string `json:"error_code"`
	Message    string `json:"error_msg"`
	RequestID  string `json:"request_id"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("ELB API error (HTTP %d", e.StatusCode)
	if e.Code != "" {
		s += ", " + e.Code
	}
	s += ")"
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " [request_id " + e.RequestID + "]"
	}
	return s
}
