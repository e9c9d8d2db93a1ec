// Package v1 holds the PoolBinding API of the loadbalancer.networking.openvessel.io
// group, as CCI 2.0 serves it: a binding from a Service (or Deployment) port to an
// existing ELB backend server group. The CRD manifest in crd/ lets a plain
// Kubernetes cluster serve the same type.
//
// +k8s:deepcopy-gen=package
// +groupName=loadbalancer.networking.openvessel.io
package v1
