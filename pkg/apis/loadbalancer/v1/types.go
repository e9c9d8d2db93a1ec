package v1

import (
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of PoolBinding.
const GroupName = "loadbalancer.networking.openvessel.io"

// SchemeGroupVersion is the group and version this package defines.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}

// Resource names as the server serves them.
const (
	Resource  = "poolbindings"
	Kind      = "PoolBinding"
	ShortName = "plb"
)

// PoolBinding binds the endpoints of a target object (a Service port, or a
// Deployment's container port) to an ELB backend server group, so that the
// target's pod endpoints become members of that group.
//
// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type PoolBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PoolBindingSpec   `json:"spec"`
	Status PoolBindingStatus `json:"status,omitempty"`
}

// PoolBindingSpec is fixed at creation: the platform supports create, delete
// and query of bindings, never update.
type PoolBindingSpec struct {
	// PoolRef names the ELB backend server group.
	PoolRef PoolRef `json:"poolRef"`
	// TargetRef names the object whose endpoints fill the pool.
	TargetRef TargetRef `json:"targetRef"`
}

// PoolRef identifies an ELB backend server group by its ID.
type PoolRef struct {
	ID string `json:"id"`
}

// TargetRef identifies the backend object and the port whose endpoints are bound.
type TargetRef struct {
	// Kind is Service or Deployment.
	Kind string `json:"kind"`
	// Group is the group/version of the object, "cci/v2" on CCI 2.0.
	Group string `json:"group"`
	// Name of the object, in the binding's namespace.
	Name string `json:"name"`
	// Namespace, when set, must equal the binding's own namespace.
	Namespace string `json:"namespace,omitempty"`
	// Port is the Service's port (spec.ports[].port) for a Service, or the
	// container port for a Deployment.
	Port int32 `json:"port"`
}

// PoolBindingStatus is written by `ccictl sync` after each pass.
type PoolBindingStatus struct {
	// ObservedGeneration is the metadata.generation the last pass acted on.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Synced, plus Degraded when something needs attention,
	// and ReadinessGates while readiness-gate patches are refused.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// DesiredMembers is the number of ready endpoints the pool should hold.
	DesiredMembers int32 `json:"desiredMembers,omitempty"`
	// RegisteredMembers is the number of desired endpoints present in the pool.
	RegisteredMembers int32 `json:"registeredMembers,omitempty"`
	// ForeignMembers is the number of pool members this binding does not own.
	ForeignMembers int32 `json:"foreignMembers,omitempty"`
	// DrainingMembers is the number of owned members of terminating but
	// still serving endpoints, kept at weight 0 until the endpoint is gone.
	DrainingMembers int32 `json:"drainingMembers,omitempty"`
	// HealthyMembers and UnhealthyMembers count the members at desired
	// endpoints the ELB health check reported ONLINE, and not ONLINE
	// (INITIAL, OFFLINE, UNKNOWN), as the last pass saw them. Both are
	// unset when the pool has no health monitor.
	HealthyMembers   int32 `json:"healthyMembers,omitempty"`
	UnhealthyMembers int32 `json:"unhealthyMembers,omitempty"`
	// Zones counts the desired endpoints per availability zone, as the
	// last pass read them from the EndpointSlices (endpoints without a zone
	// are not listed), sorted by zone.
	Zones []ZoneEndpoints `json:"zones,omitempty"`
	// LastSyncTime is when the last pass finished.
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
}

// ZoneEndpoints is the number of a binding's desired endpoints in one zone.
type ZoneEndpoints struct {
	Zone      string `json:"zone"`
	Endpoints int32  `json:"endpoints"`
}

// WeightAnnotation on a PoolBinding sets the ELB weight of its members,
// an integer 0-100 (0: members take no new connections); without it the
// weight is DefaultWeight, the API's default.
const WeightAnnotation = GroupName + "/weight"

// SubnetAnnotation on a PoolBinding names the subnet_cidr_id of the members
// sync adds for it (ccictl sync --subnet-id overrides it); without either,
// added members are IP-type.
const SubnetAnnotation = GroupName + "/subnet-id"

// LockNamespaceAnnotation is set by the controller of `ccictl sync
// --watch` on the bindings it reconciles: the namespace where it takes
// their pools' locks (coordination.k8s.io Leases named after the pool).
// A one-shot `ccictl sync` without --lock-namespace takes a binding's pool
// lock there too, so that both take turns on the pool wherever the
// controller runs. Absent, both take it in the binding's namespace.
const LockNamespaceAnnotation = GroupName + "/lock-namespace"

// ControllerAnnotation is set by the controller of `ccictl sync --watch`
// with the members finalizer: which controller added it, by the scope and
// selection it runs with ("-A -l team=a", "-n shop"). That controller
// finishes the binding's deletion even after the binding left its -l
// selection; other controllers leave it alone (they may write another ELB
// project, and would find its pool gone or its members not theirs).
const ControllerAnnotation = GroupName + "/controller"

// MembersFinalizer is put on a PoolBinding by the controller of
// `ccictl sync --watch`: deleting the binding first removes the members it
// owns from the pool, then the controller removes the finalizer.
const MembersFinalizer = GroupName + "/members"

// Member weight range and default, as the ELB API documents them.
const (
	MinWeight     = 0
	MaxWeight     = 100
	DefaultWeight = 1
)

// ParseWeight reads a WeightAnnotation value.
func ParseWeight(v string) (int32, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < MinWeight || n > MaxWeight {
		return 0, fmt.Errorf("annotation %s: %q is not an integer from %d to %d", WeightAnnotation, v, MinWeight, MaxWeight)
	}
	return int32(n), nil
}

// Weight returns the member weight the binding asks for: its
// WeightAnnotation, or DefaultWeight without one.
func (b *PoolBinding) Weight() (int32, error) {
	v, ok := b.Annotations[WeightAnnotation]
	if !ok {
		return DefaultWeight, nil
	}
	return ParseWeight(v)
}

// Condition types and reasons written to PoolBindingStatus.Conditions.
const (
	ConditionSynced   = "Synced"
	ConditionDegraded = "Degraded"
	// ConditionReadinessGates is False (ReasonGatePatchRefused) while the
	// API server refuses the controller's readiness-gate patches of pod
	// status, and absent otherwise. Gates are optional: it never makes
	// the binding Synced=False.
	ConditionReadinessGates = "ReadinessGates"
	ReasonGatePatchRefused  = "GatePatchRefused"
)

// PoolBindingList is a list of PoolBindings.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type PoolBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PoolBinding `json:"items"`
}

var (
	// SchemeBuilder registers the types of this package.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &PoolBinding{}, &PoolBindingList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
