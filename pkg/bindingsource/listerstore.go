package bindingsource

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/openvessel/ccictl/pkg/endpoints"
)

// ListerStore reads from informer caches (the controller of
// `sync --watch`): no request at all per reconcile. A lister left nil means
// the controller does not watch that resource, which is an error for a
// binding that needs it, not an empty answer.
type ListerStore struct {
	// ServiceLister serves the Services of ServiceResource (zero = core
	// v1), whichever group the controller watches them in.
	ServiceLister   corelisters.ServiceLister
	ServiceResource schema.GroupVersionResource
	SliceLister     SliceLister
	// PodLister serves the Pods of PodResource (zero = core v1), likewise.
	PodLister   corelisters.PodLister
	PodResource schema.GroupVersionResource
	// GenericListers serve the Services and Pods of groups other than
	// core v1 (cci/v2), by resource.
	GenericListers map[schema.GroupVersionResource]cache.GenericLister
	// NodeLister serves the cluster's Nodes once NodesSynced says its
	// cache is filled; without it, NodesErr says why Nodes are unknown.
	NodeLister  corelisters.NodeLister
	NodesSynced func() bool
	NodesErr    error
}

func (s *ListerStore) Service(_ context.Context, res schema.GroupVersionResource, ns, name string) (*corev1.Service, error) {
	if s.ServiceLister != nil && (res == s.ServiceResource || s.ServiceResource.Empty() && isCore(res)) {
		svc, err := s.ServiceLister.Services(ns).Get(name)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return svc, err
	}
	g := s.GenericListers[res]
	if g == nil {
		return nil, fmt.Errorf("services %s are not watched", res)
	}
	obj, err := g.ByNamespace(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("service %s/%s: cache holds %T", ns, name, obj)
	}
	return endpoints.ServiceFromUnstructured(u)
}

// SliceLister serves the cached EndpointSlices of one Service.
type SliceLister interface {
	ServiceSlices(namespace, service string) ([]*discoveryv1.EndpointSlice, error)
}

// SlicesByLabel serves a Service's slices from an EndpointSliceLister,
// selecting the namespace's slices by their kubernetes.io/service-name
// label: a pass then reads every slice of the namespace, which a cache
// indexed by Service (the controller's) avoids.
type SlicesByLabel struct {
	Lister discoverylisters.EndpointSliceLister
}

func (l SlicesByLabel) ServiceSlices(ns, service string) ([]*discoveryv1.EndpointSlice, error) {
	return l.Lister.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service}))
}

func (s *ListerStore) EndpointSlices(_ context.Context, ns, service string) ([]discoveryv1.EndpointSlice, error) {
	if s.SliceLister == nil {
		return nil, fmt.Errorf("endpointslices are not watched")
	}
	list, err := s.SliceLister.ServiceSlices(ns, service)
	if err != nil {
		return nil, err
	}
	out := make([]discoveryv1.EndpointSlice, len(list))
	for i, sl := range list {
		out[i] = *sl
	}
	return out, nil
}

func (s *ListerStore) Pods(_ context.Context, res schema.GroupVersionResource, ns string, sel labels.Selector) ([]corev1.Pod, error) {
	if s.PodLister != nil && (res == s.PodResource || s.PodResource.Empty() && isCore(res)) {
		list, err := s.PodLister.Pods(ns).List(sel)
		if err != nil {
			return nil, err
		}
		out := make([]corev1.Pod, len(list))
		for i, p := range list {
			out[i] = *p
		}
		return out, nil
	}
	g := s.GenericListers[res]
	if g == nil {
		return nil, fmt.Errorf("pods %s are not watched", res)
	}
	list, err := g.ByNamespace(ns).List(sel)
	if err != nil {
		return nil, err
	}
	out := make([]corev1.Pod, 0, len(list))
	for _, obj := range list {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("pods of %s: cache holds %T", ns, obj)
		}
		p, err := podFrom(u)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (s *ListerStore) Nodes(context.Context) (endpoints.Nodes, error) {
	if s.NodeLister == nil {
		if s.NodesErr != nil {
			return nil, s.NodesErr
		}
		return nil, fmt.Errorf("%w: not watched", ErrNodesUnavailable)
	}
	if s.NodesSynced != nil && !s.NodesSynced() {
		return nil, errors.New("the Node cache is not filled yet")
	}
	list, err := s.NodeLister.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	nodes := make(endpoints.Nodes, len(list))
	for _, n := range list {
		nodes[n.Name] = labels.Set(n.Labels)
	}
	return nodes, nil
}
