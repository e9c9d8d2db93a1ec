package v1

import _ "embed"

// CRD is the CustomResourceDefinition manifest of PoolBinding for clusters
// that do not serve the API natively.
//
//go:embed crd/loadbalancer.networking.openvessel.io_poolbindings.yaml
var CRD []byte
