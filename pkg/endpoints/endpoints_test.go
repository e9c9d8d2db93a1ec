package endpoints

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptr[T any](v T) *T { return &v }

func service(targetPort intstr.IntOrString) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Annotations: map[string]string{ELBIDAnnotation: "lb-1"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9091)},
				{Name: "http", Port: 80, TargetPort: targetPort},
			},
		},
	}
}

func readyPod(name, ip string, mods ...func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web", "tier": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
			{Name: "web", ContainerPort: 8080}, {Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
		}}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, m := range mods {
		m(&p)
	}
	return p
}

func TestFromPods(t *testing.T) {
	now := metav1.Now()
	pods := []corev1.Pod{
		readyPod("b", "10.0.0.10"),
		readyPod("a", "10.0.0.9"),
		readyPod("dup", "10.0.0.9"),
		readyPod("pending", "10.0.0.1", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }),
		readyPod("unready", "10.0.0.2", func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }),
		readyPod("nocond", "10.0.0.3", func(p *corev1.Pod) { p.Status.Conditions = nil }),
		readyPod("noip", ""),
		readyPod("deleting", "10.0.0.4", func(p *corev1.Pod) { p.DeletionTimestamp = &now }),
		readyPod("otherapp", "10.0.0.5", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "api"} }),
		readyPod("otherns", "10.0.0.6", func(p *corev1.Pod) { p.Namespace = "other" }),
		readyPod("v6only", "fd00::7"),
		readyPod("dual", "fd00::8", func(p *corev1.Pod) {
			p.Status.PodIPs = []corev1.PodIP{{IP: "fd00::8"}, {IP: "10.0.0.8"}}
		}),
	}
	got, err := FromPods(service(intstr.FromInt32(8080)), 80, pods)
	if err != nil {
		t.Fatal(err)
	}
	want := []Endpoint{{"10.0.0.8", 8080}, {"10.0.0.9", 8080}, {"10.0.0.10", 8080}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	// A pod being deleted that is still Running and Ready is serving but
	// terminating; one that is no longer Ready is nothing; a deleted pod at
	// the address of a ready one (IP reused) does not make it terminating.
	pods = append(pods,
		readyPod("deleting-unready", "10.0.0.11", func(p *corev1.Pod) {
			p.DeletionTimestamp = &now
			p.Status.Conditions[0].Status = corev1.ConditionFalse
		}),
		readyPod("deleting-reused", "10.0.0.9", func(p *corev1.Pod) { p.DeletionTimestamp = &now }),
		readyPod("deleting-2", "10.0.0.12", func(p *corev1.Pod) { p.DeletionTimestamp = &now }),
		readyPod("deleting-other", "10.0.0.13", func(p *corev1.Pod) { p.DeletionTimestamp = &now; p.Labels = map[string]string{"app": "api"} }),
	)
	set, err := PodEndpoints(service(intstr.FromInt32(8080)), 80, pods)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(set.Ready, want) {
		t.Fatalf("ready %v, want %v", set.Ready, want)
	}
	if wantT := []Endpoint{{"10.0.0.4", 8080}, {"10.0.0.12", 8080}}; !reflect.DeepEqual(set.Terminating, wantT) {
		t.Fatalf("terminating %v, want %v", set.Terminating, wantT)
	}
	// Listed: selected, with an address and the port, but not serving
	// (pending, unready, no Ready condition, deleting and unready).
	if wantL := []Endpoint{{"10.0.0.1", 8080}, {"10.0.0.2", 8080}, {"10.0.0.3", 8080}, {"10.0.0.11", 8080}}; !reflect.DeepEqual(set.Listed, wantL) {
		t.Fatalf("listed %v, want %v", set.Listed, wantL)
	}
}

func TestFromPodsTargetPort(t *testing.T) {
	sidecar := readyPod("sidecar", "10.0.0.3", func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = nil
		p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways),
			Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 15001}}}}
	})
	plainInit := readyPod("init", "10.0.0.4", func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = nil
		p.Spec.InitContainers = []corev1.Container{{Name: "setup", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 1}}}}
	})
	other := readyPod("other", "10.0.0.2", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9000 })
	pods := []corev1.Pod{readyPod("a", "10.0.0.1"), other, sidecar, plainInit}
	for _, tc := range []struct {
		name string
		tp   intstr.IntOrString
		want []Endpoint
	}{
		{"numeric", intstr.FromInt32(7000), []Endpoint{{"10.0.0.1", 7000}, {"10.0.0.2", 7000}, {"10.0.0.3", 7000}, {"10.0.0.4", 7000}}},
		{"zero means port", intstr.FromInt32(0), []Endpoint{{"10.0.0.1", 80}, {"10.0.0.2", 80}, {"10.0.0.3", 80}, {"10.0.0.4", 80}}},
		{"empty means port", intstr.FromString(""), []Endpoint{{"10.0.0.1", 80}, {"10.0.0.2", 80}, {"10.0.0.3", 80}, {"10.0.0.4", 80}}},
		{"numeric string", intstr.FromString("7001"), []Endpoint{{"10.0.0.1", 7001}, {"10.0.0.2", 7001}, {"10.0.0.3", 7001}, {"10.0.0.4", 7001}}},
		// Resolved per pod; a plain init container does not serve.
		{"named", intstr.FromString("web"), []Endpoint{{"10.0.0.1", 8080}, {"10.0.0.2", 9000}, {"10.0.0.3", 15001}}},
		// "dns" is UDP, the Service port TCP: no match.
		{"named wrong protocol", intstr.FromString("dns"), []Endpoint{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromPods(service(tc.tp), 80, pods)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFromPodsErrors(t *testing.T) {
	if _, err := FromPods(service(intstr.FromInt32(1)), 81, nil); !errors.Is(err, ErrPortNotFound) {
		t.Fatalf("missing port: err = %v", err)
	}
	svc := service(intstr.FromInt32(1))
	svc.Spec.Selector = nil
	if _, err := FromPods(svc, 80, []corev1.Pod{readyPod("a", "10.0.0.1")}); !errors.Is(err, ErrNoSelector) {
		t.Fatalf("no selector: err = %v", err)
	}
	if _, err := FromPods(nil, 80, nil); !errors.Is(err, ErrServiceNotFound) {
		t.Fatalf("nil service: err = %v", err)
	}
}

func slice(name, svc string, typ discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
	return discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: typ,
		Ports:       ports,
		Endpoints:   eps,
	}
}

func endpoint(addr string, ready, serving, terminating *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating}}
}

func TestFromEndpointSlices(t *testing.T) {
	T, F := ptr(true), ptr(false)
	httpPort := []discoveryv1.EndpointPort{{Name: ptr("metrics"), Port: ptr(int32(9091))}, {Name: ptr("http"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP)}}
	otherPods := []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(9000))}}
	slices := []discoveryv1.EndpointSlice{
		slice("web-1", "web", discoveryv1.AddressTypeIPv4, httpPort,
			endpoint("10.0.0.10", T, T, F),
			endpoint("10.0.0.1", nil, nil, nil), // unknown counts as ready
			endpoint("10.0.0.2", F, F, F),
			endpoint("10.0.0.3", F, T, T),   // terminating
			endpoint("10.0.0.4", T, F, nil), // publishNotReadyAddresses: ready but not serving
			endpoint("10.0.0.1", T, T, F),   // duplicate
		),
		// A second slice whose pods resolve the named port differently.
		slice("web-2", "web", discoveryv1.AddressTypeIPv4, otherPods, endpoint("10.0.0.5", T, T, F)),
		slice("web-v6", "web", discoveryv1.AddressTypeIPv6, httpPort, endpoint("fd00::1", T, T, F)),
		slice("web-udp", "web", discoveryv1.AddressTypeIPv4,
			[]discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(53)), Protocol: ptr(corev1.ProtocolUDP)}},
			endpoint("10.0.0.6", T, T, F)),
		slice("web-noport", "web", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{{Name: ptr("http")}}, endpoint("10.0.0.7", T, T, F)),
		slice("api-1", "api", discoveryv1.AddressTypeIPv4, httpPort, endpoint("10.0.0.8", T, T, F)),
		func() discoveryv1.EndpointSlice {
			s := slice("web-x", "web", discoveryv1.AddressTypeIPv4, httpPort, endpoint("10.0.0.9", T, T, F))
			s.Namespace = "other"
			return s
		}(),
	}
	got, err := FromEndpointSlices(service(intstr.FromString("web")), 80, slices)
	if err != nil {
		t.Fatal(err)
	}
	want := []Endpoint{{"10.0.0.1", 8080}, {"10.0.0.5", 9000}, {"10.0.0.10", 8080}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Terminating but serving, separately: serving true, or serving unset
	// deferring to ready (unset ready counts as true); not when serving or
	// ready says false, and not when the same endpoint is ready in another
	// slice.
	slices = append(slices, slice("web-3", "web", discoveryv1.AddressTypeIPv4, httpPort,
		endpoint("10.0.0.20", F, F, T), // terminating, no longer serving
		endpoint("10.0.0.21", nil, nil, T),
		endpoint("10.0.0.22", F, nil, T),
		endpoint("10.0.0.23", T, nil, T),
		endpoint("10.0.0.10", F, T, T), // ready in web-1
		endpoint("10.0.0.3", F, T, T),  // duplicate of web-1's
	))
	set, err := SliceEndpoints(service(intstr.FromString("web")), 80, slices)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(set.Ready, want) {
		t.Fatalf("ready %v, want %v", set.Ready, want)
	}
	if wantT := []Endpoint{{"10.0.0.3", 8080}, {"10.0.0.21", 8080}, {"10.0.0.23", 8080}}; !reflect.DeepEqual(set.Terminating, wantT) {
		t.Fatalf("terminating %v, want %v", set.Terminating, wantT)
	}
	// Listed but neither ready nor serving (10.0.0.10 is ready in web-1).
	if wantL := []Endpoint{{"10.0.0.2", 8080}, {"10.0.0.4", 8080}, {"10.0.0.20", 8080}, {"10.0.0.22", 8080}}; !reflect.DeepEqual(set.Listed, wantL) {
		t.Fatalf("listed %v, want %v", set.Listed, wantL)
	}
	// Unnamed single-port Service: slice port name is empty.
	svc := service(intstr.FromInt32(8080))
	svc.Spec.Ports = []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}
	got, err = FromEndpointSlices(svc, 80, []discoveryv1.EndpointSlice{
		slice("s", "web", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{{Name: ptr(""), Port: ptr(int32(8080))}}, endpoint("10.0.0.1", T, T, F)),
	})
	if err != nil || !reflect.DeepEqual(got, []Endpoint{{"10.0.0.1", 8080}}) {
		t.Fatalf("unnamed port: got %v, %v", got, err)
	}
	if _, err := FromEndpointSlices(svc, 81, nil); !errors.Is(err, ErrPortNotFound) {
		t.Fatalf("missing port: err = %v", err)
	}
}

func TestServiceFromUnstructured(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cci/v2",
		"kind":       "Service",
		"metadata":   map[string]any{"name": "web", "namespace": "ns", "annotations": map[string]any{ELBIDAnnotation: "lb-9"}},
		"spec": map[string]any{
			"selector": map[string]any{"app": "web"},
			"ports":    []any{map[string]any{"name": "http", "port": int64(80), "targetPort": "web"}},
		},
	}}
	svc, err := ServiceFromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ServicePort(svc, 80)
	if err != nil || sp.TargetPort.StrVal != "web" || ELBID(svc) != "lb-9" {
		t.Fatalf("converted %+v / %v", svc, err)
	}
	bad := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"ports": "nope"}}}
	if _, err := ServiceFromUnstructured(bad); err == nil {
		t.Fatal("malformed service converted")
	}
}

func TestEndpointString(t *testing.T) {
	if s := (Endpoint{"10.0.0.1", 80}).String(); s != "10.0.0.1:80" {
		t.Fatal(s)
	}
}

func TestServicePortByProtocol(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "dns"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(5353)},
			{Name: "dns-tcp", Port: 53, TargetPort: intstr.FromInt32(5354)}, // protocol unset = TCP
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)},
		}},
	}
	if _, err := ServicePort(svc, 53); !errors.Is(err, ErrPortAmbiguous) || !errors.Is(err, ErrPortNotFound) ||
		!strings.Contains(err.Error(), "port 53 as UDP and TCP") {
		t.Fatalf("ambiguous port: %v", err)
	}
	if got := PortProtocols(svc, 53); len(got) != 2 || got[0] != corev1.ProtocolUDP || got[1] != corev1.ProtocolTCP {
		t.Fatalf("protocols %v", got)
	}
	for proto, want := range map[corev1.Protocol]int32{corev1.ProtocolTCP: 5354, corev1.ProtocolUDP: 5353} {
		sp, err := ServicePort(WithPortProtocol(svc, 53, proto), 53)
		if err != nil || sp.TargetPort.IntVal != want {
			t.Errorf("%s: %+v, %v; want targetPort %d", proto, sp, err, want)
		}
	}
	if _, err := ServicePort(WithPortProtocol(svc, 53, corev1.ProtocolSCTP), 53); !errors.Is(err, ErrPortNotFound) {
		t.Errorf("SCTP: %v", err)
	}
	if len(svc.Spec.Ports) != 3 {
		t.Fatal("WithPortProtocol changed the Service")
	}
	if sp, err := ServicePort(svc, 80); err != nil || sp.Name != "http" {
		t.Errorf("single port: %+v, %v", sp, err)
	}
}

// TestSliceEndpointsLaggingRename (issue 9, item 12): the Service port was
// renamed web → http; one slice is rewritten, the other still says web.
// Its endpoints are not taken, but reported as Lagging with the member
// port; a slice that lacks the port for another reason (no port of that
// number) is not lagging.
func TestSliceEndpointsLaggingRename(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("serve")},
			{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090)},
		}},
	}
	mk := func(name string, ports map[string]int32, addrs ...string) discoveryv1.EndpointSlice {
		s := discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
		for n, p := range ports {
			n, p := n, p
			s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: &n, Port: &p})
		}
		for _, a := range addrs {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}})
		}
		return s
	}
	eps := []discoveryv1.EndpointSlice{
		mk("new", map[string]int32{"http": 8080, "metrics": 9090}, "10.0.0.1"),
		mk("old", map[string]int32{"web": 8080, "metrics": 9090}, "10.0.0.2", "10.0.0.3"),
		mk("metrics-only", map[string]int32{"metrics": 9090}, "10.0.0.4"),
	}
	set, err := SliceEndpoints(svc, 80, eps)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(set.Ready, []Endpoint{{"10.0.0.1", 8080}}) {
		t.Errorf("ready %v", set.Ready)
	}
	if !reflect.DeepEqual(set.Lagging, []Endpoint{{"10.0.0.2", 8080}, {"10.0.0.3", 8080}}) || set.LaggingSlices != 1 {
		t.Errorf("lagging %v (%d slices)", set.Lagging, set.LaggingSlices)
	}
	// All slices agree: nothing lags.
	set, _ = SliceEndpoints(svc, 80, eps[:1])
	if len(set.Lagging) != 0 || set.LaggingSlices != 0 {
		t.Errorf("agreeing slices: lagging %v", set.Lagging)
	}
}

// TestSliceEndpointsLaggingRenameOtherNumber: during a rename the named
// targetPort may resolve to another number in the lagging slice than in
// the updated ones (its pods publish the container port under another
// number). A slice port of the same protocol whose name the Service no
// longer has is lagging whatever its number; ports the Service still has
// under their names, and other protocols, are not.
func TestSliceEndpointsLaggingRenameOtherNumber(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("serve")},
			{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090)},
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(5353)},
		}},
	}
	type port struct {
		name  string
		num   int32
		proto corev1.Protocol
	}
	mk := func(name string, ports []port, addrs ...string) discoveryv1.EndpointSlice {
		s := discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
		for _, p := range ports {
			s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr(p.name), Port: ptr(p.num), Protocol: ptr(p.proto)})
		}
		for _, a := range addrs {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}})
		}
		return s
	}
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	updated := mk("new", []port{{"http", 9080, tcp}, {"metrics", 9090, tcp}}, "10.0.0.1")
	for _, tc := range []struct {
		name    string
		other   discoveryv1.EndpointSlice
		lagging []Endpoint
	}{
		{"old name, other number", mk("old", []port{{"web", 8080, tcp}, {"metrics", 9090, tcp}}, "10.0.0.2", "10.0.0.3"),
			[]Endpoint{{"10.0.0.2", 8080}, {"10.0.0.3", 8080}}},
		{"old name, same number", mk("old", []port{{"web", 9080, tcp}}, "10.0.0.2"), []Endpoint{{"10.0.0.2", 9080}}},
		{"unnamed before the rename", mk("old", []port{{"", 8080, tcp}}, "10.0.0.2"), []Endpoint{{"10.0.0.2", 8080}}},
		{"only ports the Service has", mk("metrics-only", []port{{"metrics", 9090, tcp}}, "10.0.0.4"), nil},
		{"old name in another protocol", mk("udp", []port{{"web", 8080, udp}, {"dns", 5353, udp}}, "10.0.0.5"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := SliceEndpoints(svc, 80, []discoveryv1.EndpointSlice{updated, tc.other})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(set.Ready, []Endpoint{{"10.0.0.1", 9080}}) {
				t.Errorf("ready %v", set.Ready)
			}
			if !reflect.DeepEqual(set.Lagging, tc.lagging) || set.LaggingSlices != min(len(tc.lagging), 1) {
				t.Errorf("lagging %v (%d slices), want %v", set.Lagging, set.LaggingSlices, tc.lagging)
			}
		})
	}
}
