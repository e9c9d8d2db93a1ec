package bindingcontroller

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// cachedPod is a Pod as the cache holds it (see transformPod). Its
// metadata is the pod's name, namespace, uid, resourceVersion, generation,
// labels (shared) and deletionTimestamp, in fields of their own rather than
// a metav1.ObjectMeta: that struct's other fields are more than half of a
// cached pod, and a CCI 2.0 controller caches every pod (22 MB at 100,000
// pods, docs/performance.md). The informer keys and indexes it through
// GetObjectMeta, like the API object.
type cachedPod struct {
	name, namespace, resourceVersion string
	uid                              types.UID
	generation                       int64
	labels                           map[string]string
	deletionTimestamp                *metav1.Time

	nodeName string
	spec     *podSpecPart // shared by the pods of one template
	phase    corev1.PodPhase
	// ready and containersReady are the statuses of those conditions
	// ("" without one); gates the readiness-gate conditions of
	// PoolBindings, whole.
	ready, containersReady corev1.ConditionStatus
	gates                  []corev1.PodCondition
	podIP                  string
	// podIPs is nil when it is just [podIP], as for most pods.
	podIPs []corev1.PodIP
}

// podSpecPart is what the cache keeps of a pod's spec but its node.
type podSpecPart struct {
	readinessGates             []corev1.PodReadinessGate
	containers, initContainers []corev1.Container
}

// objectMeta is c's metadata in the API's form (a new value).
func (c *cachedPod) objectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: c.name, Namespace: c.namespace, UID: c.uid, ResourceVersion: c.resourceVersion,
		Generation: c.generation, Labels: c.labels, DeletionTimestamp: c.deletionTimestamp}
}

// GetObjectMeta makes c a metav1.ObjectMetaAccessor, which is how
// meta.Accessor, and so the informer's key and index functions, read it.
func (c *cachedPod) GetObjectMeta() metav1.Object {
	m := c.objectMeta()
	return &m
}

// pod returns c in the API's form, with what the cache kept (a new
// object; the shared values in it are read-only).
func (c *cachedPod) pod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: c.objectMeta(),
		Spec: corev1.PodSpec{NodeName: c.nodeName, ReadinessGates: c.spec.readinessGates,
			Containers: c.spec.containers, InitContainers: c.spec.initContainers},
		Status: corev1.PodStatus{Phase: c.phase, PodIP: c.podIP, PodIPs: c.podIPs},
	}
	if c.podIPs == nil && c.podIP != "" {
		p.Status.PodIPs = []corev1.PodIP{{IP: c.podIP}}
	}
	if n := len(c.gates); n > 0 || c.ready != "" || c.containersReady != "" {
		p.Status.Conditions = make([]corev1.PodCondition, 0, n+2)
		if c.ready != "" {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: c.ready})
		}
		if c.containersReady != "" {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.ContainersReady, Status: c.containersReady})
		}
		p.Status.Conditions = append(p.Status.Conditions, c.gates...)
	}
	return p
}

// asPod is a cached pod in the API's form (cachedPod, or a Pod as is).
func asPod(obj any) (*corev1.Pod, bool) {
	switch o := obj.(type) {
	case *cachedPod:
		return o.pod(), true
	case *corev1.Pod:
		return o, true
	}
	return nil, false
}

// PodCache reads the Pod cache as a PodLister (new API objects each call,
// built only for the pods a selector matches).
type PodCache struct {
	indexer cache.Indexer
}

var _ corelisters.PodLister = (*PodCache)(nil)

func (l *PodCache) List(sel labels.Selector) ([]*corev1.Pod, error) {
	return pods(l.indexer.List(), sel), nil
}

func (l *PodCache) Pods(namespace string) corelisters.PodNamespaceLister {
	return podNamespaceCache{indexer: l.indexer, namespace: namespace}
}

type podNamespaceCache struct {
	indexer   cache.Indexer
	namespace string
}

func (l podNamespaceCache) List(sel labels.Selector) ([]*corev1.Pod, error) {
	objs, err := l.indexer.ByIndex(cache.NamespaceIndex, l.namespace)
	if err != nil {
		return nil, err
	}
	return pods(objs, sel), nil
}

func (l podNamespaceCache) Get(name string) (*corev1.Pod, error) {
	obj, ok, err := l.indexer.GetByKey(l.namespace + "/" + name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("pod"), name)
	}
	p, ok := asPod(obj)
	if !ok {
		return nil, fmt.Errorf("pod %s/%s: cache holds %T", l.namespace, name, obj)
	}
	return p, nil
}

func pods(objs []any, sel labels.Selector) []*corev1.Pod {
	var out []*corev1.Pod
	for _, o := range objs {
		switch c := o.(type) {
		case *cachedPod:
			if sel.Matches(labels.Set(c.labels)) {
				out = append(out, c.pod())
			}
		case *corev1.Pod:
			if sel.Matches(labels.Set(c.Labels)) {
				out = append(out, c)
			}
		}
	}
	return out
}

// internTable hands out one shared value per distinct key: the label sets
// and the kept specs of pods, identical across the replicas of a template.
// Past maxSharedStrings values, new ones are kept as they came.
type internTable[T any] struct {
	mu sync.Mutex
	m  map[string]T
}

func (t *internTable[T]) share(key string, v T) T {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.m[key]; ok {
		return s
	}
	if t.m == nil {
		t.m = map[string]T{}
	}
	if len(t.m) < maxSharedStrings {
		t.m[key] = v
	}
	return v
}

type labelTable struct{ internTable[map[string]string] }

var (
	sharedLabels labelTable
	sharedSpecs  specTable
)

func (t *labelTable) get(l map[string]string) map[string]string {
	if len(l) == 0 {
		return nil
	}
	var key strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l)) {
		fmt.Fprintf(&key, "%q=%q,", k, l[k])
	}
	return t.share(key.String(), l)
}

type specTable struct{ internTable[*podSpecPart] }

func (t *specTable) get(s *podSpecPart) *podSpecPart {
	// The key spells out every field kept.
	var key strings.Builder
	for _, g := range s.readinessGates {
		fmt.Fprintf(&key, "g%q;", g.ConditionType)
	}
	for i, cs := range [][]corev1.Container{s.containers, s.initContainers} {
		for _, c := range cs {
			fmt.Fprintf(&key, "c%d%q[", i, c.Name)
			if c.RestartPolicy != nil {
				fmt.Fprintf(&key, "r%q", *c.RestartPolicy)
			}
			for _, p := range c.Ports {
				fmt.Fprintf(&key, "p%q,%d,%q,%q,%d;", p.Name, p.ContainerPort, p.Protocol, p.HostIP, p.HostPort)
			}
			key.WriteString("]")
		}
	}
	return t.share(key.String(), s)
}
