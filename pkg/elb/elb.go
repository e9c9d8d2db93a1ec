// Package elb is a client for the members of Huawei Cloud ELB v3 (dedicated)
// backend server groups ("pools"), written to the vendor's documented API:
//
//	GET  /v3/{project_id}/elb/pools/{pool_id}
//	GET  /v3/{project_id}/elb/pools/{pool_id}/members?limit=&marker=
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-add
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-delete
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-update
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
	MemberType      string `json:"member_type,omitempty"`
	InstanceID      string `json:"instance_id,omitempty"`
	CreatedAt       string `json:"created_at,omitempty"`
	UpdatedAt       string `json:"updated_at,omitempty"`
}

// Ref is an {"id": …} reference inside a pool.
type Ref struct {
	ID string `json:"id"`
}

// Pool is a backend server group, with the fields sync needs.
type Pool struct {
	ID                             string `json:"id"`
	Name                           string `json:"name"`
	ProjectID                      string `json:"project_id,omitempty"`
	Protocol                       string `json:"protocol"`
	LBAlgorithm                    string `json:"lb_algorithm"`
	IPVersion                      string `json:"ip_version,omitempty"`
	Type                           string `json:"type"`
	VpcID                          string `json:"vpc_id,omitempty"`
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
	// marker: ⌈max(M,1)/2000⌉ calls for M members.
	ListMembers(ctx context.Context, poolID string) ([]Member, error)
	// BatchAddMembers adds up to MaxBatch members in one call.
	BatchAddMembers(ctx context.Context, poolID string, members []NewMember) ([]BatchResult, error)
	// BatchDeleteMembers removes up to MaxBatch members, by member ID, in one call.
	BatchDeleteMembers(ctx context.Context, poolID string, memberIDs []string) ([]BatchResult, error)
	// BatchUpdateMembers changes the name and/or weight of up to MaxBatch
	// members, by member ID, in one call, and returns the members as the
	// answer shows them (one per update, in request order).
	BatchUpdateMembers(ctx context.Context, poolID string, updates []MemberUpdate) ([]Member, error)
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
