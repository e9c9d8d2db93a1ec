package bindingcontroller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// EventComponent is the source component of the controller's Events.
const EventComponent = "ccictl"

// newEventRecorder builds an EventBroadcaster writing to sink (client-go's
// correlator aggregates repeats and rate-limits per object) and a recorder
// that knows PoolBindings, so that Events on them name the right kind and
// API version.
func newEventRecorder(sink record.EventSink) (record.EventBroadcaster, record.EventRecorder) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = lbv1.AddToScheme(scheme)
	b := record.NewBroadcaster()
	b.StartRecordingToSink(sink)
	return b, b.NewRecorder(scheme, corev1.EventSource{Component: EventComponent})
}

// eventSink is the core/v1 Events API, or where the platform serves Events
// under another group/version (CCI 2.0: cci/v2, core v1's fields) that
// resource through the dynamic client.
func eventSink(kube kubernetes.Interface, dyn dynamic.Interface, res schema.GroupVersionResource) record.EventSink {
	if res.Empty() || res.Group == "" {
		return &typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")}
	}
	return &dynamicEventSink{dyn: dyn, res: res}
}

// dynamicEventSink writes core/v1 Events as objects of res.
type dynamicEventSink struct {
	dyn dynamic.Interface
	res schema.GroupVersionResource
}

func (s *dynamicEventSink) Create(e *corev1.Event) (*corev1.Event, error) {
	u, err := s.toUnstructured(e)
	if err != nil {
		return nil, err
	}
	out, err := s.dyn.Resource(s.res).Namespace(e.Namespace).Create(context.TODO(), u, metav1.CreateOptions{})
	return fromUnstructuredEvent(out, err)
}

func (s *dynamicEventSink) Update(e *corev1.Event) (*corev1.Event, error) {
	u, err := s.toUnstructured(e)
	if err != nil {
		return nil, err
	}
	out, err := s.dyn.Resource(s.res).Namespace(e.Namespace).Update(context.TODO(), u, metav1.UpdateOptions{})
	return fromUnstructuredEvent(out, err)
}

func (s *dynamicEventSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	out, err := s.dyn.Resource(s.res).Namespace(e.Namespace).Patch(context.TODO(), e.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
	return fromUnstructuredEvent(out, err)
}

func (s *dynamicEventSink) toUnstructured(e *corev1.Event) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(e)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(s.res.GroupVersion().String())
	u.SetKind("Event")
	return u, nil
}

func fromUnstructuredEvent(u *unstructured.Unstructured, err error) (*corev1.Event, error) {
	if err != nil {
		return nil, err
	}
	var e corev1.Event
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &e); err != nil {
		return nil, fmt.Errorf("cannot read the Event the server returned: %w", err)
	}
	return &e, nil
}
