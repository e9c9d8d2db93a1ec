// Package bindingsource turns PoolBindings into the targets of a sync pass
// (poolsync.Target): it selects the bindings, finds each one's Service in
// the group the binding names (cci/v2 on CCI 2.0, v1 elsewhere), takes the
// Service's endpoints from EndpointSlices where the server serves them or
// from Pods where it does not, applies the zone and node scope, and chooses
// the members' subnet.
//
// What it reads comes from a Store. The one-shot pass uses a ListStore (one
// list per namespace and resource for the whole pass); the controller of
// `sync --watch` uses a ListerStore over its informer caches. Both drive
// the same Resolver, so the two modes resolve a binding the same way.
package bindingsource

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/openvessel/ccictl/pkg/endpoints"
)

// Store is what the Resolver reads besides the PoolBindings. Errors are
// those of the read (a list that failed, a cache that is not synced); a
// missing object is not an error.
type Store interface {
	// Service returns the Service ns/name served as res (nil when there
	// is none).
	Service(ctx context.Context, res schema.GroupVersionResource, ns, name string) (*corev1.Service, error)
	// EndpointSlices returns the EndpointSlices of Service ns/service (the
	// kubernetes.io/service-name label).
	EndpointSlices(ctx context.Context, ns, service string) ([]discoveryv1.EndpointSlice, error)
	// Pods returns the Pods of ns served as res that sel matches.
	Pods(ctx context.Context, res schema.GroupVersionResource, ns string, sel labels.Selector) ([]corev1.Pod, error)
	// Nodes returns the labels of every Node; an error wrapping
	// ErrNodesUnavailable when the server does not serve them or this
	// identity may not list them (as on CCI 2.0).
	Nodes(ctx context.Context) (endpoints.Nodes, error)
}

// ErrNodesUnavailable: the cluster's Nodes cannot be read (not served, or
// forbidden to this identity).
var ErrNodesUnavailable = errors.New("nodes cannot be listed")

// isCore reports whether res is in the core group's v1, which the typed
// clientset and the typed listers serve.
func isCore(res schema.GroupVersionResource) bool { return res.Group == "" && res.Version == "v1" }
