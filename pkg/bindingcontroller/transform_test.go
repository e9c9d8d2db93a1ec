package bindingcontroller

import (
	"reflect"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/endpoints"
	"github.com/openvessel/ccictl/pkg/readinessgate"
)

func ptr[T any](v T) *T { return &v }

var heavyMeta = metav1.ObjectMeta{
	Name: "x", Namespace: "ns", ResourceVersion: "7",
	Labels:        map[string]string{"app": "web"},
	Annotations:   map[string]string{corev1.LastAppliedConfigAnnotation: "{…big…}", "keep": "me"},
	ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}},
}

// Trimmed Pods and EndpointSlices resolve to exactly the endpoints the
// full objects do (ready, terminating, listed; named target ports through
// sidecars; zones), while the fields sync does not read are gone.
func TestTransformKeepsWhatEndpointsRead(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web")}},
	}}
	ready := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
	gate := corev1.PodCondition{Type: "loadbalancer.networking.openvessel.io/pool.web", Status: corev1.ConditionFalse}
	always := corev1.ContainerRestartPolicyAlways
	mkPod := func(name, ip string, deleting bool, sidecar bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: *heavyMeta.DeepCopy(), Spec: corev1.PodSpec{
			NodeName:       "node-1",
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate.Type}},
			Containers: []corev1.Container{{Name: "app", Image: "registry/app:1", Env: []corev1.EnvVar{{Name: "A", Value: "b"}},
				Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9090}}}, {Name: "log", Image: "registry/log:1"}},
			Volumes: []corev1.Volume{{Name: "v"}},
		}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions:        []corev1.PodCondition{ready, gate},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: 2}}}}
		p.Name = name
		if sidecar {
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always, Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8443}}}}
		} else {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "web", ContainerPort: 8080})
			p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "registry/setup:1", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 1}}}}
		}
		if deleting {
			p.DeletionTimestamp = ptr(metav1.Now())
		}
		return p
	}
	pods := []corev1.Pod{mkPod("a", "10.0.0.1", false, false), mkPod("b", "10.0.0.2", true, false), mkPod("c", "10.0.0.3", false, true)}
	var trimmed []corev1.Pod
	for i := range pods {
		o, err := transformPod(pods[i].DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		trimmed = append(trimmed, *o.(*cachedPod).pod())
	}
	want, err := endpoints.PodEndpoints(svc, 80, pods)
	if err != nil {
		t.Fatal(err)
	}
	got, err := endpoints.PodEndpoints(svc, 80, trimmed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || len(want.Ready) != 2 || len(want.Terminating) != 1 {
		t.Errorf("trimmed pods resolve to %+v, full ones to %+v", got, want)
	}
	p := trimmed[0]
	if p.ManagedFields != nil || p.Annotations != nil || p.Spec.Volumes != nil || p.Status.ContainerStatuses != nil ||
		p.Spec.Containers[0].Image != "" || p.Spec.Containers[0].Env != nil || len(p.Spec.Containers) != 1 || len(p.Spec.InitContainers) != 0 {
		t.Errorf("pod not trimmed: %+v", p)
	}
	if p.UID != pods[0].UID || p.Spec.NodeName != "node-1" || len(p.Spec.ReadinessGates) != 1 || len(p.Status.Conditions) != 2 {
		t.Errorf("pod lost a field sync reads: %+v", p)
	}
	// The readers of gates see the same pods: the gate's condition whole
	// (reason, message, times), Ready and ContainersReady by status.
	gateful := pods[0].DeepCopy()
	gateful.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now(), Reason: "r"},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Message: "gates"},
		{Type: gate.Type, Status: corev1.ConditionFalse, Reason: "MemberNotRegistered", Message: "m",
			LastTransitionTime: metav1.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC)}, // seconds: as JSON carries it
	}
	go1, _ := transformPod(gateful.DeepCopy())
	gp := go1.(*cachedPod).pod()
	wantConds := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}, gateful.Status.Conditions[3]}
	if !equality.Semantic.DeepEqual(gp.Status.Conditions, wantConds) ||
		readinessgate.Registrable(gp, "web") != readinessgate.Registrable(gateful, "web") || !readinessgate.Registrable(gp, "web") {
		t.Errorf("conditions kept %+v, want %+v", gp.Status.Conditions, wantConds)
	}
	// The same pod read as cci/v2 through the dynamic client is cached alike.
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(gateful)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion("cci/v2")
	u.SetKind("Pod")
	uo, err := transformPod(u)
	if err != nil {
		t.Fatal(err)
	}
	if up := uo.(*cachedPod).pod(); !equality.Semantic.DeepEqual(up, gp) {
		t.Errorf("cci/v2 pod cached as\n%+v\nthe typed one as\n%+v", up, gp)
	}
	// Replicas of one template share their labels and kept spec; the API
	// form says what the pod had.
	twin := pods[0].DeepCopy()
	twin.Name, twin.Status.PodIP, twin.Status.PodIPs = "twin", "10.0.0.9", []corev1.PodIP{{IP: "10.0.0.9"}}
	to, _ := transformPod(twin)
	first, _ := transformPod(pods[0].DeepCopy())
	a, b := first.(*cachedPod), to.(*cachedPod)
	if a.spec != b.spec || reflect.ValueOf(a.labels).UnsafePointer() != reflect.ValueOf(b.labels).UnsafePointer() || a.podIPs != nil {
		t.Errorf("replicas share nothing: %+v %+v", a, b)
	}
	// The informer keys and indexes the cached form as it would the pod.
	if key, err := cache.MetaNamespaceKeyFunc(b); err != nil || key != twin.Namespace+"/twin" {
		t.Errorf("key %q, %v; want %s/twin", key, err, twin.Namespace)
	}
	if ns, err := cache.MetaNamespaceIndexFunc(b); err != nil || len(ns) != 1 || ns[0] != twin.Namespace {
		t.Errorf("namespace index %q, %v", ns, err)
	}
	// Its own metadata fields, not a metav1.ObjectMeta: at 100,000 pods
	// each byte here is 100 KB.
	if size := unsafe.Sizeof(cachedPod{}); size > 224 {
		t.Errorf("a cached pod is %d bytes, more than the 224 it was trimmed to", size)
	}
	if tp := b.pod(); tp.Name != "twin" || !reflect.DeepEqual(tp.Status.PodIPs, twin.Status.PodIPs) || tp.Status.PodIP != "10.0.0.9" {
		t.Errorf("twin reads back as %+v", tp)
	}

	// EndpointSlices.
	sl := discoveryv1.EndpointSlice{ObjectMeta: *heavyMeta.DeepCopy(), AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), AppProtocol: ptr("http")}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1", "10.0.0.9"}, Zone: ptr("z1"), NodeName: ptr("n1"), Hostname: ptr("h"),
				Hints:     &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "z1"}}},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "a", Namespace: "ns", UID: "u1", ResourceVersion: "5", FieldPath: "x"}},
			{Addresses: []string{"10.0.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false), Serving: ptr(true), Terminating: ptr(true)}, Zone: ptr("z2")},
			{Addresses: []string{"10.0.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}},
		}}
	sl.Labels = map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io", "app": "web"}
	o, err := transformEndpointSlice(sl.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	cached, ok := o.(*cachedSlice)
	if !ok {
		t.Fatalf("cached as %T", o)
	}
	ts := cached.slice()
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	full, _ := endpoints.SliceEndpoints(svc, 80, []discoveryv1.EndpointSlice{sl})
	small, _ := endpoints.SliceEndpoints(svc, 80, []discoveryv1.EndpointSlice{*ts})
	if !reflect.DeepEqual(full, small) || len(full.Ready) != 1 || len(full.Terminating) != 1 || len(full.Listed) != 1 {
		t.Errorf("trimmed slice resolves to %+v, full one to %+v", small, full)
	}
	fz, _ := endpoints.SliceZoneCounts(svc, 80, []discoveryv1.EndpointSlice{sl})
	sz, _ := endpoints.SliceZoneCounts(svc, 80, []discoveryv1.EndpointSlice{*ts})
	if !reflect.DeepEqual(fz, sz) {
		t.Errorf("zone counts %v, want %v", sz, fz)
	}
	e := ts.Endpoints[0]
	if ts.ManagedFields != nil || ts.Annotations != nil || len(e.Addresses) != 1 || e.Hints != nil || e.Hostname != nil ||
		e.TargetRef != nil || ts.Ports[0].AppProtocol != nil {
		t.Errorf("slice not trimmed: %+v", ts)
	}
	if ts.Name != "x" || ts.Namespace != "ns" || ts.ResourceVersion != "7" || *e.NodeName != "n1" ||
		!reflect.DeepEqual(ts.Labels, map[string]string{discoveryv1.LabelServiceName: "web"}) {
		t.Errorf("slice lost a field sync reads: %+v", ts)
	}
	// Exactly the dropped fields are gone: the slice the cache hands out is
	// the API object without them.
	wantSlice := sl.DeepCopy()
	wantSlice.ObjectMeta = metav1.ObjectMeta{Name: "x", Namespace: "ns", ResourceVersion: "7", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}}
	wantSlice.Ports[0].AppProtocol = nil
	for i := range wantSlice.Endpoints {
		ep := &wantSlice.Endpoints[i]
		ep.Addresses, ep.Hostname, ep.Hints, ep.TargetRef = ep.Addresses[:1], nil, nil, nil
	}
	if !equality.Semantic.DeepEqual(ts, wantSlice) {
		t.Errorf("cached slice reads back as\n%+v\nwantSlice\n%+v", ts, wantSlice)
	}
	// Equal values repeated by endpoints share one pointer.
	other := sl.DeepCopy()
	other.Endpoints = append(make([]discoveryv1.Endpoint, 0, 16), other.Endpoints...) // as the decoder grows them
	o2, _ := transformEndpointSlice(other)
	e2 := o2.(*cachedSlice).slice().Endpoints
	if cap(e2) != len(e2) {
		t.Errorf("cached endpoints keep room for %d, hold %d", cap(e2), len(e2))
	}
	if e2[0].Zone != e.Zone || e2[0].NodeName != e.NodeName || e2[1].Conditions.Ready != e2[2].Conditions.Ready || *e2[1].Conditions.Ready ||
		!*e2[1].Conditions.Serving || e2[0].Conditions.Ready != nil {
		t.Errorf("endpoint values not shared or changed: %+v", e2)
	}

	// Services keep their annotations (kubernetes.io/elb.id) but not the
	// last-applied one, and no status.
	s := &corev1.Service{ObjectMeta: *heavyMeta.DeepCopy(), Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"10.96.0.9"}, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	so, _ := transformService(s)
	svcOut := so.(*corev1.Service)
	if !reflect.DeepEqual(svcOut.Annotations, map[string]string{"keep": "me"}) || svcOut.ManagedFields != nil || len(svcOut.Status.LoadBalancer.Ingress) != 0 ||
		svcOut.Labels != nil || svcOut.Spec.ClusterIPs != nil || svcOut.Spec.IPFamilies != nil {
		t.Errorf("service not trimmed: %+v", svcOut)
	}
	if svcOut.Name != "x" || svcOut.Namespace != "ns" || svcOut.ResourceVersion != "7" || svcOut.Spec.Type != corev1.ServiceTypeClusterIP ||
		!reflect.DeepEqual(svcOut.Spec.Selector, s.Spec.Selector) || !reflect.DeepEqual(svcOut.Spec.Ports, s.Spec.Ports) {
		t.Errorf("service lost a field sync reads: %+v", svcOut)
	}
}

// A PoolBinding from the dynamic client is cached typed and trimmed.
func TestTransformBindingToTyped(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": lbv1.SchemeGroupVersion.String(), "kind": lbv1.Kind,
		"metadata": map[string]any{"name": "b", "namespace": "ns", "generation": int64(3),
			"annotations":   map[string]any{corev1.LastAppliedConfigAnnotation: "{}", lbv1.WeightAnnotation: "5"},
			"managedFields": []any{map[string]any{"manager": "kubectl"}}},
		"spec": map[string]any{"poolRef": map[string]any{"id": "p"}, "targetRef": map[string]any{"kind": "Service", "name": "web", "port": int64(80)}},
	}}
	o, err := transformBinding(u)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := o.(*lbv1.PoolBinding)
	if !ok {
		t.Fatalf("cached as %T", o)
	}
	if b.Spec.TargetRef.Name != "web" || b.Spec.PoolRef.ID != "p" || b.Generation != 3 || b.ManagedFields != nil ||
		!reflect.DeepEqual(b.Annotations, map[string]string{lbv1.WeightAnnotation: "5"}) {
		t.Errorf("binding %+v", b)
	}
	if keys, _ := bindingServiceIndex(b); !reflect.DeepEqual(keys, []string{"ns/web"}) {
		t.Errorf("service index %v", keys)
	}
	bad := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "b"}, "spec": "not an object"}}
	if _, err := transformBinding(bad); err == nil {
		t.Error("a malformed binding was cached")
	}
}
