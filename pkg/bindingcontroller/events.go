package bindingcontroller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
)

// EventComponent is the source component of the controller's Events.
const EventComponent = "ccictl"

// newEventRecorder builds an EventBroadcaster writing to the core/v1 Events API
// (client-go's correlator aggregates repeats and rate-limits per object)
// and a recorder that knows PoolBindings, so that Events on them name the
// right kind and API version.
func newEventRecorder(kube kubernetes.Interface) (record.EventBroadcaster, record.EventRecorder) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = lbv1.AddToScheme(scheme)
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return b, b.NewRecorder(scheme, corev1.EventSource{Component: EventComponent})
}
