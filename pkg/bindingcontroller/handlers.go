package bindingcontroller

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/listers"
	"k8s.io/client-go/tools/cache"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// serviceIndex maps "namespace/serviceName" to the bindings whose
// spec.targetRef names that Service.
const serviceIndex = "targetService"

func bindingServiceIndex(obj any) ([]string, error) {
	b, ok := obj.(*lbv1.PoolBinding)
	if !ok || b.Spec.TargetRef.Name == "" {
		return nil, nil
	}
	return []string{b.Namespace + "/" + b.Spec.TargetRef.Name}, nil
}

// poolIndex maps a pool ID to the bindings whose spec.poolRef.id names it,
// and uidIndex a uid to its binding: a pass reads its pool's other bindings
// and asks whether a member's owner exists, for every binding, and a scan
// of the whole cache for each made the first passes of a large cluster
// O(bindings²).
const (
	poolIndex = "poolID"
	uidIndex  = "uid"
)

func bindingPoolIndex(obj any) ([]string, error) {
	b, ok := obj.(*lbv1.PoolBinding)
	if !ok || b.Spec.PoolRef.ID == "" {
		return nil, nil
	}
	return []string{b.Spec.PoolRef.ID}, nil
}

func bindingUIDIndex(obj any) ([]string, error) {
	b, ok := obj.(*lbv1.PoolBinding)
	if !ok || b.UID == "" {
		return nil, nil
	}
	return []string{string(b.UID)}, nil
}

// sliceServiceIndex maps "namespace/serviceName" to the EndpointSlices
// labelled kubernetes.io/service-name=serviceName: a pass reads its
// Service's slices, and selecting them by label from the namespace's made
// every pass read every slice of the namespace (290 MB of the first passes'
// 3.1 GB allocated at 10,000 bindings in 5 namespaces).
const sliceServiceIndex = "service"

func sliceService(obj any) ([]string, error) {
	s, ok := obj.(*cachedSlice)
	if !ok || s.service == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + s.service}, nil
}

// BindingLister reads the PoolBinding cache.
type BindingLister struct {
	indexer cache.Indexer
}

func (l *BindingLister) lister() listers.ResourceIndexer[*lbv1.PoolBinding] {
	return listers.New[*lbv1.PoolBinding](l.indexer, schema.GroupResource{Group: lbv1.GroupName, Resource: lbv1.Resource})
}

// List returns the cached bindings of every namespace of the scope whose
// labels match sel.
func (l *BindingLister) List(sel labels.Selector) ([]*lbv1.PoolBinding, error) {
	return l.lister().List(sel)
}

// InNamespace returns the cached bindings of one namespace matching sel.
func (l *BindingLister) InNamespace(ns string, sel labels.Selector) ([]*lbv1.PoolBinding, error) {
	return listers.NewNamespaced(l.lister(), ns).List(sel)
}

// Get returns one cached binding, or a NotFound API error.
func (l *BindingLister) Get(key cache.ObjectName) (*lbv1.PoolBinding, error) {
	return listers.NewNamespaced(l.lister(), key.Namespace).Get(key.Name)
}

// ForService returns the cached bindings whose targetRef names the Service
// namespace/name.
func (l *BindingLister) ForService(namespace, name string) ([]*lbv1.PoolBinding, error) {
	return l.byIndex(serviceIndex, namespace+"/"+name)
}

// ForPool returns the cached bindings (of every namespace of the scope,
// selected or not) whose poolRef.id is id.
func (l *BindingLister) ForPool(id string) ([]*lbv1.PoolBinding, error) {
	return l.byIndex(poolIndex, id)
}

// HasUID tells whether a binding with this uid is cached.
func (l *BindingLister) HasUID(uid string) bool {
	keys, err := l.indexer.IndexKeys(uidIndex, uid)
	return err == nil && len(keys) > 0
}

func (l *BindingLister) byIndex(index, value string) ([]*lbv1.PoolBinding, error) {
	objs, err := l.indexer.ByIndex(index, value)
	if err != nil {
		return nil, err
	}
	out := make([]*lbv1.PoolBinding, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*lbv1.PoolBinding))
	}
	return out, nil
}

// tombstone unwraps a DeletedFinalStateUnknown (a delete the informer
// missed and found out at a re-list) to the last object it cached.
func tombstone(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// handle adds h to inf and remembers when h has seen the initial list:
// Run starts reconciling only then, so that no initial event arrives after
// the first passes (it would queue a binding that was just reconciled, for
// a second pass with nothing to do).
func (c *Controller) handle(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return err
	}
	c.handlersSynced = append(c.handlersSynced, reg.HasSynced)
	return nil
}

func (c *Controller) addHandlers() error {
	if err := c.handle(c.bindings, cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.bindingEvent(obj) },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*lbv1.PoolBinding)
			n, ok2 := cur.(*lbv1.PoolBinding)
			if !ok1 || !ok2 || (!bindingChanged(o, n) && !c.lockAnnotationEdited(o, n)) {
				return
			}
			if c.Selected(o.Labels) || c.wanted(n) {
				c.enqueue(cache.MetaObjectToName(n))
			}
		},
		DeleteFunc: func(obj any) { c.bindingEvent(tombstone(obj)) },
	}); err != nil {
		return err
	}
	if err := c.handle(c.services, cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.serviceEvent(obj) },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Service)
			n, ok2 := cur.(*corev1.Service)
			if !ok1 || !ok2 || unchanged(o, n, func(s *corev1.Service) *string { return &s.ResourceVersion }) {
				return
			}
			c.serviceEvent(n)
		},
		DeleteFunc: func(obj any) { c.serviceEvent(tombstone(obj)) },
	}); err != nil {
		return err
	}
	if c.slices != nil {
		if err := c.handle(c.slices, cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { c.sliceEvent(obj) },
			UpdateFunc: func(old, cur any) {
				o, ok1 := old.(*cachedSlice)
				n, ok2 := cur.(*cachedSlice)
				if !ok1 || !ok2 || unchanged(o, n, func(s *cachedSlice) *string { return &s.ResourceVersion }) {
					return
				}
				c.sliceEvent(o) // a slice never moves to another Service, but be safe
				if o.service != n.service {
					c.sliceEvent(n)
				}
			},
			DeleteFunc: func(obj any) { c.sliceEvent(tombstone(obj)) },
		}); err != nil {
			return err
		}
	}
	if c.pods != nil && !c.podsToQueue {
		// Endpoints come from EndpointSlices, but a pod that waits for a
		// PoolBinding's readiness gate is registered by its own state
		// (Running, containers ready), which no EndpointSlice change
		// reports: such pods queue their bindings when that state changes.
		if err := c.handle(c.pods, cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				if p, ok := asPod(obj); ok && gated(p) {
					c.podEvent(p.Namespace, p.Labels, nil)
				}
			},
			UpdateFunc: func(old, cur any) {
				o, ok1 := asPod(old)
				n, ok2 := asPod(cur)
				if ok1 && ok2 && (gated(o) || gated(n)) && gatedPodChanged(o, n) {
					c.podEvent(n.Namespace, n.Labels, o.Labels)
				}
			},
		}); err != nil {
			return err
		}
	}
	if c.pods != nil && c.podsToQueue {
		if err := c.handle(c.pods, cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				if p, ok := obj.(*cachedPod); ok {
					c.podEvent(p.namespace, p.labels, nil)
				}
			},
			UpdateFunc: func(old, cur any) {
				o, ok1 := old.(*cachedPod)
				n, ok2 := cur.(*cachedPod)
				if !ok1 || !ok2 || unchanged(o, n, func(p *cachedPod) *string { return &p.resourceVersion }) {
					return
				}
				var oldLabels map[string]string
				if !maps.Equal(o.labels, n.labels) {
					oldLabels = o.labels
				}
				c.podEvent(n.namespace, n.labels, oldLabels)
			},
			DeleteFunc: func(obj any) {
				if p, ok := tombstone(obj).(*cachedPod); ok {
					c.podEvent(p.namespace, p.labels, nil)
				}
			},
		}); err != nil {
			return err
		}
	}
	return nil
}

// bindingChanged: an update that can change what a pass does. A re-list
// (same resourceVersion), a status-only write (ours, after every pass) and
// the members finalizer being added (ours, in a binding's first pass) are
// not; metadata.generation moves with the spec, and deletion, other
// finalizer changes, labels (selection) and annotations (weight, zones,
// subnet) are read by the pass.
func bindingChanged(o, n *lbv1.PoolBinding) bool {
	if o.ResourceVersion == n.ResourceVersion {
		return false
	}
	return o.Generation != n.Generation ||
		!o.DeletionTimestamp.Equal(n.DeletionTimestamp) ||
		(!slices.Equal(o.Finalizers, n.Finalizers) && !onlyAddsMembersFinalizer(o.Finalizers, n.Finalizers)) ||
		!maps.Equal(o.Labels, n.Labels) ||
		!maps.EqualFunc(withoutOwn(o.Annotations), withoutOwn(n.Annotations), func(a, b string) bool { return a == b })
}

// withoutOwn is a binding's annotations but the ones the controller
// writes itself with the finalizer (lbv1.LockNamespaceAnnotation,
// lbv1.ControllerAnnotation), which no pass reads.
func withoutOwn(a map[string]string) map[string]string {
	_, lock := a[lbv1.LockNamespaceAnnotation]
	_, ctl := a[lbv1.ControllerAnnotation]
	if !lock && !ctl {
		return a
	}
	c := maps.Clone(a)
	delete(c, lbv1.LockNamespaceAnnotation)
	delete(c, lbv1.ControllerAnnotation)
	return c
}

// lockAnnotationEdited: n's lock-namespace annotation changed to a value
// this controller does not write (an edit by hand or by a tool that
// replaces the object): not the controller's own write, which
// bindingChanged ignores.
func (c *Controller) lockAnnotationEdited(o, n *lbv1.PoolBinding) bool {
	v := n.Annotations[lbv1.LockNamespaceAnnotation]
	return v != o.Annotations[lbv1.LockNamespaceAnnotation] && v != c.cfg.LockNamespace
}

// onlyAddsMembersFinalizer: cur is old plus lbv1.MembersFinalizer, the
// write a binding's first pass makes before its ELB work. Counting it
// would reconcile every new binding twice, the second time a no-op pass
// (a pool read and a member list) queued behind the first passes of all
// the others.
func onlyAddsMembersFinalizer(old, cur []string) bool {
	if slices.Contains(old, lbv1.MembersFinalizer) || !slices.Contains(cur, lbv1.MembersFinalizer) {
		return false
	}
	return slices.Equal(old, slices.DeleteFunc(slices.Clone(cur), func(f string) bool { return f == lbv1.MembersFinalizer }))
}

// unchanged: the same resourceVersion (a re-list), or objects equal but for
// it once trimmed (a change in a field the cache drops).
func unchanged[T any](o, n *T, rv func(*T) *string) bool {
	if *rv(o) == *rv(n) {
		return true
	}
	oc, nc := *o, *n // shallow copies: only the resourceVersion is cleared
	*rv(&oc), *rv(&nc) = "", ""
	switch any(o).(type) {
	case *cachedSlice, *cachedPod:
		// The cache's own forms: Semantic panics on unexported fields.
		return reflect.DeepEqual(&oc, &nc)
	}
	return equality.Semantic.DeepEqual(&oc, &nc)
}

func (c *Controller) bindingEvent(obj any) {
	b, ok := obj.(*lbv1.PoolBinding)
	if !ok || !c.wanted(b) {
		return
	}
	c.enqueue(cache.MetaObjectToName(b))
}

// wanted: the bindings this controller reconciles: the selected ones, and
// those whose deletion waits for the members finalizer this controller
// added (lbv1.ControllerAnnotation names it), selected or not: a binding
// that has left the selection since is still released when deleted, its
// members removed first, instead of waiting for a controller that selects
// it. A binding another controller finalized is left to that one: it may
// write another ELB project (where this one would find the pool gone and
// drop the finalizer with the members still there).
func (c *Controller) wanted(b *lbv1.PoolBinding) bool {
	if c.Selected(b.Labels) {
		return true
	}
	return b.DeletionTimestamp != nil && slices.Contains(b.Finalizers, lbv1.MembersFinalizer) &&
		c.cfg.ControllerID != "" && b.Annotations[lbv1.ControllerAnnotation] == c.cfg.ControllerID
}

func (c *Controller) serviceEvent(obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	c.enqueueService(svc.Namespace, svc.Name)
}

func (c *Controller) sliceEvent(obj any) {
	s, ok := obj.(*cachedSlice)
	if !ok {
		return
	}
	if s.service != "" {
		c.enqueueService(s.Namespace, s.service)
	}
}

// podEvent queues the bindings of the Services of the pod's namespace whose
// selector matches the pod's labels, or its former labels.
func (c *Controller) podEvent(ns string, cur, old map[string]string) {
	if c.queue.Load() == nil {
		return // a standby: nothing to queue
	}
	svcs, err := c.serviceLst.Services(ns).List(labels.Everything())
	if err != nil {
		return
	}
	for _, svc := range svcs {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromValidatedSet(svc.Spec.Selector)
		if sel.Matches(labels.Set(cur)) || (old != nil && sel.Matches(labels.Set(old))) {
			c.enqueueService(svc.Namespace, svc.Name)
		}
	}
}

func (c *Controller) enqueueService(ns, name string) {
	if c.queue.Load() == nil {
		return
	}
	bs, err := c.bindingLst.ForService(ns, name)
	if err != nil {
		return
	}
	for _, b := range bs {
		if c.Selected(b.Labels) {
			c.enqueue(cache.MetaObjectToName(b))
		}
	}
}

// gated: the pod declares some PoolBinding's readiness gate.
func gated(p *corev1.Pod) bool {
	for _, g := range p.Spec.ReadinessGates {
		if strings.HasPrefix(string(g.ConditionType), lbv1.ReadinessGatePrefix) {
			return true
		}
	}
	return false
}

// gatedPodChanged: a change of what decides whether a gated pod is
// registered (phase, address, containers ready, deletion, labels), not
// the gate conditions the controller itself writes.
func gatedPodChanged(o, n *corev1.Pod) bool {
	containersReady := func(p *corev1.Pod) corev1.ConditionStatus {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.ContainersReady {
				return c.Status
			}
		}
		return ""
	}
	return o.Status.Phase != n.Status.Phase || o.Status.PodIP != n.Status.PodIP ||
		containersReady(o) != containersReady(n) || !o.DeletionTimestamp.Equal(n.DeletionTimestamp) ||
		!maps.Equal(o.Labels, n.Labels)
}
