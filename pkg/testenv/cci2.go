package testenv

import (
	"context"
	"fmt"
)

// Tenant is a CCI 2.0 tenant of the cci2 flavour: its endpoint (a gateway
// that shows the cci/v2 API, PoolBindings and Leases only) and a static
// token that RBAC lets use exactly those.
type Tenant struct {
	Server     string `json:"server"`
	Kubeconfig string `json:"kubeconfig"`
	Token      string `json:"token"`
	CAFile     string `json:"caFile"`
}

// StartCCI2 starts the CCI 2.0 flavour of the local control plane with the
// PoolBinding CRD: the Kubernetes control plane (Kubeconfig is its admin)
// plus the cci/v2 API served through the aggregation layer, and a tenant
// (CCI2).
func StartCCI2(ctx context.Context, dir string) (*Cluster, error) {
	crds, err := CRDDir()
	if err != nil {
		return nil, err
	}
	c, err := start(ctx, dir, crds, "--flavour", "cci2")
	if err != nil {
		return nil, err
	}
	if c.CCI2 == nil {
		c.Stop()
		return nil, fmt.Errorf("the local control plane in %s wrote no cci2 tenant: is the binary older than the cci2 flavour?", dir)
	}
	return c, nil
}
