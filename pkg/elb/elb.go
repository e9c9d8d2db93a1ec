// Package elb is a client for the members of Huawei Cloud ELB v3 (dedicated)
// backend server groups ("pools"), written to the vendor's documented API:
//
//	GET  /v3/{project_id}/elb/pools/{pool_id}
//	GET  /v3/{project_id}/elb/pools/{pool_id}/members?limit=&marker=
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-add
//	POST /v3/{project_id}/elb/pools/{pool_id}/members/batch-delete
//
// Callers program against the Client interface; New returns the HTTP
// implementation. The package does not import cobra.
package elb

import (
	"context"
	"fmt"
)

// Documented limits of the API.
const (
	// MaxBatch is the most members one batch-add or batch-delete call takes.
	MaxBatch = 200
	// MaxPageSize is the largest `limit` ListMembers accepts (also its default).
	MaxPageSize = 2000
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
}

// NewMember is one item of a batch-add request.
type NewMember struct {
	Name         string `json:"name,omitempty"`
	Address      string `json:"address"`
	ProtocolPort int32  `json:"protocol_port"`
	SubnetCIDRID string `json:"subnet_cidr_id,omitempty"`
	Weight       *int32 `json:"weight,omitempty"`
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
