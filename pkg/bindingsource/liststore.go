package bindingsource

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/openvessel/ccictl/pkg/endpoints"
)

// ListStore reads with one list request per namespace and resource, made
// the first time a binding there needs it and shared by every other binding
// of the pass: never one GET per binding. With AllNamespaces it makes one
// list across namespaces per resource instead; where this identity is
// refused that (Forbidden), it lists each namespace on its own, so that a
// forbidden namespace blocks only its own bindings, and says so in
// Warnings.
type ListStore struct {
	// Typed reads core and discovery resources (protobuf-encoded: decoding
	// thousands of Services and EndpointSlices into generic maps dominated
	// the one-shot pass's memory); Dynamic reads the groups only served as
	// JSON (CCI's cci/v2); Metadata reads Nodes, whose labels are all a
	// pass needs of them.
	Typed    kubernetes.Interface
	Dynamic  dynamic.Interface
	Metadata metadata.Interface
	// Mapper tells whether the server serves Nodes.
	Mapper        meta.RESTMapper
	AllNamespaces bool

	mu             sync.Mutex
	lists          map[listKey]*listed
	crossForbidden map[string]bool
	nodes          *listed
	warnings       []string
}

type listKey struct {
	scope string // namespace, or "" for one list across namespaces
	what  string // "services|<gvr>", "slices", "pods|<gvr>"
}

type listed struct {
	services []corev1.Service
	slices   []discoveryv1.EndpointSlice
	pods     []corev1.Pod
	nodes    endpoints.Nodes
	err      error
}

// Fresh returns a ListStore over the same clients with nothing read yet:
// the re-check before removals reads the namespace anew.
func (s *ListStore) Fresh() *ListStore {
	return &ListStore{Typed: s.Typed, Dynamic: s.Dynamic, Metadata: s.Metadata, Mapper: s.Mapper}
}

// Warnings are the notices of the reads so far (a cross-namespace list
// refused), each once.
func (s *ListStore) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.warnings...)
}

// get returns the list of what in namespace ns, reading it on first use.
func (s *ListStore) get(ctx context.Context, ns, what string, read func(ctx context.Context, ns string) *listed) *listed {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lists == nil {
		s.lists, s.crossForbidden = map[listKey]*listed{}, map[string]bool{}
	}
	scope := ns
	if s.AllNamespaces && !s.crossForbidden[what] {
		scope = metav1.NamespaceAll
	}
	k := listKey{scope, what}
	if l := s.lists[k]; l != nil {
		return l
	}
	l := read(ctx, scope)
	if scope == metav1.NamespaceAll && apierrors.IsForbidden(l.err) {
		s.crossForbidden[what] = true
		s.warnings = append(s.warnings, fmt.Sprintf("listing across namespaces is forbidden (%v); listing each namespace on its own", l.err))
		k.scope = ns
		if l = s.lists[k]; l != nil {
			return l
		}
		l = read(ctx, ns)
	}
	s.lists[k] = l
	return l
}

// Service implements Store.
func (s *ListStore) Service(ctx context.Context, res schema.GroupVersionResource, ns, name string) (*corev1.Service, error) {
	l := s.get(ctx, ns, "services|"+res.String(), func(ctx context.Context, scope string) *listed {
		svcs, err := s.listServices(ctx, scope, res)
		if err != nil {
			err = fmt.Errorf("list services: %w", err)
		}
		return &listed{services: svcs, err: err}
	})
	if l.err != nil {
		return nil, l.err
	}
	for i := range l.services {
		if svc := &l.services[i]; svc.Namespace == ns && svc.Name == name {
			return svc, nil
		}
	}
	return nil, nil
}

// EndpointSlices implements Store.
func (s *ListStore) EndpointSlices(ctx context.Context, ns, service string) ([]discoveryv1.EndpointSlice, error) {
	l := s.get(ctx, ns, "slices", func(ctx context.Context, scope string) *listed {
		list, err := s.Typed.DiscoveryV1().EndpointSlices(scope).List(ctx, metav1.ListOptions{})
		if err != nil {
			return &listed{err: fmt.Errorf("list endpointslices: %w", err)}
		}
		return &listed{slices: list.Items}
	})
	if l.err != nil {
		return nil, l.err
	}
	var out []discoveryv1.EndpointSlice
	for i := range l.slices {
		if sl := &l.slices[i]; sl.Namespace == ns && sl.Labels[discoveryv1.LabelServiceName] == service {
			out = append(out, *sl)
		}
	}
	return out, nil
}

// Pods implements Store.
func (s *ListStore) Pods(ctx context.Context, res schema.GroupVersionResource, ns string, sel labels.Selector) ([]corev1.Pod, error) {
	l := s.get(ctx, ns, "pods|"+res.String(), func(ctx context.Context, scope string) *listed {
		pods, err := s.listPods(ctx, scope, res)
		if err != nil {
			err = fmt.Errorf("list pods: %w", err)
		}
		return &listed{pods: pods, err: err}
	})
	if l.err != nil {
		return nil, l.err
	}
	var out []corev1.Pod
	for i := range l.pods {
		if p := &l.pods[i]; p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, *p)
		}
	}
	return out, nil
}

// Nodes implements Store: one metadata-only list per pass, made only when a
// binding needs it.
func (s *ListStore) Nodes(ctx context.Context) (endpoints.Nodes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes == nil {
		nodes, err := s.listNodes(ctx)
		s.nodes = &listed{nodes: nodes, err: err}
	}
	return s.nodes.nodes, s.nodes.err
}

func (s *ListStore) listNodes(ctx context.Context) (endpoints.Nodes, error) {
	m, err := s.Mapper.RESTMapping(schema.GroupKind{Kind: "Node"}, "v1")
	if err != nil {
		return nil, fmt.Errorf("%w: the server does not serve them", ErrNodesUnavailable)
	}
	list, err := s.Metadata.Resource(m.Resource).List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
		return nil, fmt.Errorf("%w: %v", ErrNodesUnavailable, err)
	case err != nil:
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	nodes := make(endpoints.Nodes, len(list.Items))
	for i := range list.Items {
		nodes[list.Items[i].Name] = labels.Set(list.Items[i].Labels)
	}
	return nodes, nil
}

func (s *ListStore) listServices(ctx context.Context, ns string, res schema.GroupVersionResource) ([]corev1.Service, error) {
	if isCore(res) {
		list, err := s.Typed.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
	return listDynamic(ctx, s.Dynamic, ns, res, serviceFrom)
}

func (s *ListStore) listPods(ctx context.Context, ns string, res schema.GroupVersionResource) ([]corev1.Pod, error) {
	if isCore(res) {
		list, err := s.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
	return listDynamic(ctx, s.Dynamic, ns, res, podFrom)
}

// listDynamic lists res in ns through the dynamic client (groups the typed
// clientset does not know, such as cci/v2) and converts each item.
func listDynamic[T any](ctx context.Context, dyn dynamic.Interface, ns string, res schema.GroupVersionResource, conv func(*unstructured.Unstructured) (T, error)) ([]T, error) {
	list, err := dyn.Resource(res).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(list.Items))
	for i := range list.Items {
		v, err := conv(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func serviceFrom(u *unstructured.Unstructured) (corev1.Service, error) {
	svc, err := endpoints.ServiceFromUnstructured(u)
	if err != nil {
		return corev1.Service{}, err
	}
	return *svc, nil
}

func podFrom(u *unstructured.Unstructured) (corev1.Pod, error) {
	var p corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		return p, fmt.Errorf("decode pod %s: %w", u.GetName(), err)
	}
	return p, nil
}
