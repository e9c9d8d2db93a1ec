package readinessgate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	plbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/endpoints"
)

// ConditionPrefix starts every gate's condition type; the binding's name
// (or its shortened form) follows it.
const ConditionPrefix = plbv1.ReadinessGatePrefix

// PollInterval is the time between two health polls of a binding while
// any of its gates is pending (Result.Pending).
const PollInterval = 2 * time.Second

// MaxPlainNameLength is the longest binding name that appears whole in the
// condition type (see ConditionType).
const MaxPlainNameLength = plbv1.MaxPlainGateName

// Condition reasons.
const (
	ReasonMemberOnline        = "MemberOnline"
	ReasonNoHealthMonitor     = "NoHealthMonitor"
	ReasonMemberNotRegistered = "MemberNotRegistered"
	// ReasonBindingDeleted: the binding is gone, so nothing will ever
	// open the gate; Release sets it True so the pods are not stuck.
	ReasonBindingDeleted = "PoolBindingDeleted"
)

// ConditionType is the pod condition type of the readiness gate of the
// binding named bindingName:
// "loadbalancer.networking.openvessel.io/pool.<bindingName>".
//
// Binding names may be up to 253 characters, but the name part of a
// condition type ("pool.<bindingName>") may have at most 63, so names
// longer than MaxPlainNameLength (58) are shortened: their first 47
// characters, "-", and the first 10 hex digits of the SHA-256 of the
// whole name, 63 characters in all. Two long names that share their first
// 47 characters still get different types. Whatever the length, the
// result is what `ccictl create poolbinding` prints and what the
// controller sets, so users copy it rather than build it.
func ConditionType(bindingName string) corev1.PodConditionType {
	return corev1.PodConditionType(plbv1.ReadinessGateConditionType(bindingName))
}

// HasGate reports whether pod declares the readiness gate of type t.
func HasGate(pod *corev1.Pod, t corev1.PodConditionType) bool {
	return slices.ContainsFunc(pod.Spec.ReadinessGates, func(g corev1.PodReadinessGate) bool { return g.ConditionType == t })
}

// Registrable reports whether pod, which is not Ready only because its
// gates are not all True yet, should have its member registered in the
// pool of the binding named bindingName: it declares that binding's gate,
// is Running, is not terminating, and ContainersReady is True. Without
// this a gated pod could never be registered, and its gate never open.
func Registrable(pod *corev1.Pod, bindingName string) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || !HasGate(pod, ConditionType(bindingName)) {
		return false
	}
	c := condition(pod, corev1.ContainersReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

// Target is one pod that declares a binding's gate, and its member
// endpoint in the binding's pool (pod IPv4 address and member port). An
// empty Address means the pod has no usable address (or no such port)
// yet, so it cannot have a member.
type Target struct {
	Pod      *corev1.Pod
	Endpoint endpoints.Endpoint
}

// Targets returns the pods among pods that svc selects and that declare
// the gate of the binding named bindingName, each with the member endpoint
// port `port` of svc resolves to for it (named targetPorts per pod), by
// the same rules as the sync pass (pkg/endpoints). Terminating pods are
// left out (they are never patched). Where port's number is served in
// several protocols, svc must have the one of the pool chosen
// (endpoints.WithPortProtocol). Without any gated pod there is nothing to
// look up and no error; else an error is one of pkg/endpoints' (no such
// port, several protocols, no selector).
func Targets(bindingName string, svc *corev1.Service, port int32, pods []corev1.Pod) ([]Target, error) {
	gated := GatedPods(bindingName, pods)
	if len(gated) == 0 {
		return nil, nil
	}
	if _, err := endpoints.ServicePort(svc, port); err != nil {
		return nil, err
	}
	var out []Target
	for i := range gated {
		p := &gated[i]
		set, err := endpoints.PodEndpoints(svc, port, gated[i:i+1])
		if err != nil {
			return nil, err
		}
		all := slices.Concat(set.Ready, set.Terminating, set.Listed)
		if len(all) == 0 {
			// Not selected by svc: not a pod of this binding. A selected
			// pod without an address or port is a target without a member.
			if !selects(svc, p) {
				continue
			}
			out = append(out, Target{Pod: p})
			continue
		}
		out = append(out, Target{Pod: p, Endpoint: all[0]})
	}
	return out, nil
}

// GatedPods are the pods among pods that declare the gate of the binding
// named bindingName and are not terminating: the pods whose condition it
// sets, whatever the Service's ports say.
func GatedPods(bindingName string, pods []corev1.Pod) []corev1.Pod {
	t := ConditionType(bindingName)
	var out []corev1.Pod
	for i := range pods {
		if pods[i].DeletionTimestamp == nil && HasGate(&pods[i], t) {
			out = append(out, pods[i])
		}
	}
	return out
}

func selects(svc *corev1.Service, p *corev1.Pod) bool {
	if p.Namespace != "" && svc.Namespace != "" && p.Namespace != svc.Namespace {
		return false
	}
	return labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.Labels))
}

// Desired is the condition a gate should have.
type Desired struct {
	Status  corev1.ConditionStatus
	Reason  string
	Message string
}

// Decision is the outcome for one gated pod.
type Decision struct {
	Pod     *corev1.Pod
	Desired Desired
	// Changed: the pod's current condition differs from Desired (or is
	// absent), so it needs a patch.
	Changed bool
	// Pending: the gate is not True and a later health poll may open it.
	Pending bool
}

// Patch sets one pod condition.
type Patch struct {
	Namespace string
	Name      string
	// UID of the pod the decision was taken for: the patch fails for a
	// pod re-created under the same name.
	UID       types.UID
	Condition corev1.PodCondition
}

// Result is the outcome of Compute for one binding.
type Result struct {
	// Decisions has one entry per gated pod, in the order of the targets.
	Decisions []Decision
	// Patches are the changed decisions as patches, in the same order.
	Patches []Patch
	// Pending: some gate is not True and a health poll may change that;
	// poll again after PollInterval.
	Pending bool
}

// Compute decides the gate of each target of the binding named
// bindingName, whose pool poolID holds members (as listed, with their
// health), at time now (the lastTransitionTime of a changed status).
// It is pure: it reads its arguments and returns what to write.
func Compute(bindingName, poolID string, targets []Target, members []elb.Member, now time.Time) Result {
	t := ConditionType(bindingName)
	byEndpoint := make(map[endpoints.Endpoint]*elb.Member, len(members))
	for i := range members {
		m := &members[i]
		byEndpoint[endpoints.Endpoint{Address: m.Address, Port: m.ProtocolPort}] = m
	}
	var res Result
	for _, tg := range targets {
		p := tg.Pod
		if p == nil || p.DeletionTimestamp != nil || !HasGate(p, t) {
			continue
		}
		cur := condition(p, t)
		d := Decision{Pod: p}
		switch {
		case cur != nil && cur.Status == corev1.ConditionTrue:
			// Admitted once: later health does not take it back.
			d.Desired = Desired{Status: cur.Status, Reason: cur.Reason, Message: cur.Message}
		case tg.Endpoint.Address == "":
			d.Desired = Desired{Status: corev1.ConditionFalse, Reason: ReasonMemberNotRegistered,
				Message: fmt.Sprintf("pod has no IPv4 address or no member port for pool %s yet", poolID)}
		default:
			m := byEndpoint[tg.Endpoint]
			d.Desired = desired(m, tg.Endpoint, poolID)
			d.Pending = d.Desired.Status != corev1.ConditionTrue && (m != nil || Registrable(p, bindingName))
		}
		d.Changed = cur == nil || cur.Status != d.Desired.Status || cur.Reason != d.Desired.Reason || cur.Message != d.Desired.Message
		res.Decisions = append(res.Decisions, d)
		res.Pending = res.Pending || d.Pending
		if d.Changed {
			c := corev1.PodCondition{Type: t, Status: d.Desired.Status, Reason: d.Desired.Reason, Message: d.Desired.Message,
				LastTransitionTime: metav1.NewTime(now)}
			if cur != nil && cur.Status == d.Desired.Status {
				c.LastTransitionTime = cur.LastTransitionTime
			}
			res.Patches = append(res.Patches, Patch{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Condition: c})
		}
	}
	return res
}

// desired is the condition for a pod whose member is m (nil: none).
func desired(m *elb.Member, ep endpoints.Endpoint, poolID string) Desired {
	if m == nil {
		return Desired{Status: corev1.ConditionFalse, Reason: ReasonMemberNotRegistered,
			Message: fmt.Sprintf("pool %s has no member %s", poolID, ep)}
	}
	status, code := m.Health()
	switch status {
	case elb.StatusOnline:
		return Desired{Status: corev1.ConditionTrue, Reason: ReasonMemberOnline,
			Message: fmt.Sprintf("member %s of pool %s is ONLINE", ep, poolID)}
	case elb.StatusNoMonitor:
		return Desired{Status: corev1.ConditionTrue, Reason: ReasonNoHealthMonitor,
			Message: fmt.Sprintf("member %s of pool %s is registered; the pool has no health check (NO_MONITOR)", ep, poolID)}
	}
	if status == "" {
		status = elb.StatusUnknown
	}
	reason := code
	if reason == "" {
		reason = "Member" + titleCase(status)
	}
	msg := fmt.Sprintf("member %s of pool %s is %s", ep, poolID, status)
	if code != "" {
		msg += ": " + code
		if r := memberReason(m); r != nil && r.ExpectedResponse != nil && r.HealthcheckResponse != nil {
			msg += fmt.Sprintf(" (expected %s, got %s)", clip(*r.ExpectedResponse), clip(*r.HealthcheckResponse))
		}
	}
	return Desired{Status: corev1.ConditionFalse, Reason: reason, Message: msg}
}

// memberReason is the HealthReason behind Member.Health's reason code.
func memberReason(m *elb.Member) *elb.HealthReason {
	status, code := m.Health()
	if len(m.Status) == 0 {
		return m.Reason
	}
	for _, s := range m.Status {
		if s.OperatingStatus == status && s.Reason != nil && s.Reason.ReasonCode == code {
			return s.Reason
		}
	}
	return nil
}

// clip bounds a health-check response quoted in a message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// titleCase turns "OFFLINE" into "Offline", "NO_MONITOR" into "NoMonitor".
func titleCase(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(strings.ToLower(s), "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// Release returns the patches that set the gate of the binding named
// bindingName True on every target not already True, for a binding that
// is being deleted: nothing would open those gates any more, and pods
// must not stay NotReady because their binding is gone.
func Release(bindingName string, targets []Target, now time.Time) []Patch {
	t := ConditionType(bindingName)
	var out []Patch
	for _, tg := range targets {
		p := tg.Pod
		if p == nil || p.DeletionTimestamp != nil || !HasGate(p, t) {
			continue
		}
		if cur := condition(p, t); cur != nil && cur.Status == corev1.ConditionTrue {
			continue
		}
		out = append(out, Patch{Namespace: p.Namespace, Name: p.Name, UID: p.UID, Condition: corev1.PodCondition{
			Type: t, Status: corev1.ConditionTrue, Reason: ReasonBindingDeleted,
			Message:            fmt.Sprintf("PoolBinding %s is being deleted; the gate no longer waits for its pool", bindingName),
			LastTransitionTime: metav1.NewTime(now)}})
	}
	return out
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// Snippet is the readinessGates stanza a pod template (spec.template.spec)
// declares to wait for the pool of the binding named bindingName, each
// line indented by indent.
func Snippet(bindingName, indent string) string {
	return indent + "readinessGates:\n" + indent + "- conditionType: " + string(ConditionType(bindingName)) + "\n"
}
