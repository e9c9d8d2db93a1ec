// Package cci2 serves the CCI 2.0 API group (cci/v2) of the local control
// plane's CCI 2.0 flavour.
//
// The cci/v2 resources are views of the core and apps objects that the real
// kube-apiserver stores: the backend (Backend) is registered through the
// aggregation layer with an APIService, so the kube-apiserver authenticates
// the caller and authorizes the request against group "cci" (RBAC on
// apiGroups ["cci"]) before it proxies it here; the backend maps the path
// (/apis/cci/v2/namespaces/N/services -> /api/v1/namespaces/N/services,
// deployments -> /apis/apps/v1/...), rewrites apiVersion cci/v2 <-> v1 or
// apps/v1 in request and response bodies (lists, watch event streams,
// ownerReferences, Tables) and sends the request on to the kube-apiserver
// with its own privileged identity. Everything Kubernetes does for the
// underlying resources - validation, defaulting, resourceVersions and
// conflicts, field and label selectors, dry-run, every patch type,
// server-side apply, Table output - is the real server's, and the
// kube-controller-manager keeps running Deployments unchanged.
//
// Gateway is the tenant's endpoint, standing where CCI 2.0's regional
// endpoint stands: it forwards every request unchanged (the caller's own
// credentials, authorized by the kube-apiserver) but answers discovery with
// the groups CCI 2.0 serves only, and 404 for every other group, so a
// tenant's client resolves "svc" or "pods" to cci/v2 as on CCI 2.0.
package cci2

import "strings"

// Group and Version of the CCI 2.0 API.
const (
	Group        = "cci"
	Version      = "v2"
	GroupVersion = Group + "/" + Version
	pathPrefix   = "/apis/" + GroupVersion
)

// resource is one cci/v2 resource and the core or apps resource it views.
type resource struct {
	name, singular, kind string
	// coreGV is the group/version of the stored resource ("v1" or "apps/v1").
	coreGV     string
	namespaced bool
	readOnly   bool
	shortNames []string
	// subresources served besides the object itself.
	subresources []string
}

// resources are the kinds of the CCI 2.0 API overview this flavour serves
// (Namespace, Pod, Deployment, ReplicaSet (query only), Service, ConfigMap,
// Secret) plus Events, which kubectl-style describe reads.
var resources = []resource{
	{name: "namespaces", singular: "namespace", kind: "Namespace", coreGV: "v1", shortNames: []string{"ns"}, subresources: []string{"status", "finalize"}},
	{name: "services", singular: "service", kind: "Service", coreGV: "v1", namespaced: true, shortNames: []string{"svc"}, subresources: []string{"status"}},
	{name: "pods", singular: "pod", kind: "Pod", coreGV: "v1", namespaced: true, shortNames: []string{"po"}, subresources: []string{"status"}},
	{name: "configmaps", singular: "configmap", kind: "ConfigMap", coreGV: "v1", namespaced: true, shortNames: []string{"cm"}},
	{name: "secrets", singular: "secret", kind: "Secret", coreGV: "v1", namespaced: true},
	{name: "events", singular: "event", kind: "Event", coreGV: "v1", namespaced: true, shortNames: []string{"ev"}},
	{name: "deployments", singular: "deployment", kind: "Deployment", coreGV: "apps/v1", namespaced: true, shortNames: []string{"deploy"}, subresources: []string{"status", "scale"}},
	{name: "replicasets", singular: "replicaset", kind: "ReplicaSet", coreGV: "apps/v1", namespaced: true, readOnly: true, shortNames: []string{"rs"}},
}

var (
	byName = map[string]*resource{}
	// toCCI maps a stored object's "apiVersion kind" to cci/v2's kind;
	// toCore maps a cci/v2 kind to the stored apiVersion.
	toCCI  = map[string]bool{}
	toCore = map[string]string{}
)

func init() {
	for i := range resources {
		r := &resources[i]
		byName[r.name] = r
		for _, k := range []string{r.kind, r.kind + "List"} {
			toCCI[r.coreGV+" "+k] = true
			toCore[k] = r.coreGV
		}
	}
}

// corePrefix is the path prefix of the stored resource.
func (r *resource) corePrefix() string {
	if r.coreGV == "v1" {
		return "/api/v1"
	}
	return "/apis/" + r.coreGV
}

func (r *resource) hasSubresource(s string) bool {
	for _, x := range r.subresources {
		if x == s {
			return true
		}
	}
	return false
}

// systemNamespace reports whether ns is one of the control plane's own
// namespaces, which CCI 2.0 tenants never see.
func systemNamespace(ns string) bool {
	return strings.HasPrefix(ns, "kube-")
}
