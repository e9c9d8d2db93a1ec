// Package rolloutlab rolls real Deployments under real traffic: the local
// control plane's kube-controller-manager rolls them, kwok simulates the
// node and the pods' status, a PodRunner serves each pod on the loopback
// twin of its IP, and requests and long-lived connections flow through a
// pool listener of the ELB emulator (a test double) while `ccictl sync
// --watch` keeps the pool in step. It measures what clients saw: requests
// per second by outcome, connections cut, and a timeline of the rollout.
package rolloutlab

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// Setup is how the Deployment's pods are made.
type Setup struct {
	Name string
	// Gate is the readiness gate's condition type ("" = none).
	Gate string
	// PreStop is the preStop sleep (0 = none).
	PreStop time.Duration
	// Grace is terminationGracePeriodSeconds.
	Grace time.Duration
	// Startup is how long the containers take to be ready.
	Startup time.Duration
}

// Deployment is the lab's Deployment: replicas pods labelled app=name on
// node, port 8080, rolled with maxSurge MaxSurgePercent and maxUnavailable 0.
func Deployment(ns, name, node string, replicas int32, s Setup) *appsv1.Deployment {
	surge, unavailable := intstr.FromString(fmt.Sprintf("%d%%", MaxSurgePercent)), intstr.FromInt32(0)
	grace := int64(s.Grace / time.Second)
	c := corev1.Container{Name: "app", Image: "rolloutlab.invalid/app:1",
		Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}
	if s.PreStop > 0 {
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(s.PreStop / time.Second)}}}
	}
	spec := corev1.PodSpec{NodeName: node, Containers: []corev1.Container{c}, TerminationGracePeriodSeconds: &grace}
	if s.Gate != "" {
		spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(s.Gate)}}
	}
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
					"rolloutlab.openvessel.io/startup-ms": fmt.Sprint(s.Startup.Milliseconds())}},
				Spec: spec,
			},
		},
	}
}

// Timeline collects a rollout's events in order.
type Timeline struct {
	mu     sync.Mutex
	events []Event
}

// Add records an event.
func (t *Timeline) Add(e Event) {
	t.mu.Lock()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

// Events returns the events in time order.
func (t *Timeline) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]Event(nil), t.events...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Sample is the pool at one moment.
type Sample struct {
	At       time.Time
	Members  int
	Online   int
	Draining int // members at weight 0, plus connections held by removed members
}

// Observer samples a pool and turns member changes into timeline events:
// member added, weight 0 and removed, sampled every ObservePeriod, and
// ONLINE and OFFLINE as the emulator's health checks decide them
// (elbemulator.OnHealthChange, exact).
type Observer struct {
	Emu      *elbemulator.Emulator
	Pool     string
	Timeline *Timeline

	mu      sync.Mutex
	samples []Sample
}

// ObservePeriod is how often the Observer samples the pool: a member's
// "member+" event is at most this late.
const ObservePeriod = 50 * time.Millisecond

// Run samples until ctx ends.
func (o *Observer) Run(ctx context.Context) {
	o.Emu.OnHealthChange(func(c elbemulator.HealthChange) {
		if c.Pool == o.Pool {
			e := Event{At: c.At, Kind: strings.ToLower(c.Status), Detail: fmt.Sprintf("%s:%d", c.Address, c.Port)}
			if c.Reason != "" {
				e.Detail += " " + c.Reason
			}
			o.Timeline.Add(e)
		}
	})
	defer o.Emu.OnHealthChange(nil)
	last := map[string]int32{} // weight by member address:port
	for {
		now := time.Now()
		ms := o.Emu.Members(o.Pool)
		s := Sample{At: now, Members: len(ms), Draining: o.Emu.Stats(o.Pool).Draining}
		cur := map[string]int32{}
		for _, m := range ms {
			key := fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort)
			if st, _ := m.Health(); st == elb.StatusOnline {
				s.Online++
			}
			if m.Weight == 0 {
				s.Draining++
			}
			cur[key] = m.Weight
			w, ok := last[key]
			switch {
			case !ok:
				o.Timeline.Add(Event{At: now, Kind: EventMemberAdded, Detail: key})
			case w != 0 && m.Weight == 0:
				o.Timeline.Add(Event{At: now, Kind: "weight0", Detail: key})
			}
		}
		for key := range last {
			if _, ok := cur[key]; !ok {
				o.Timeline.Add(Event{At: now, Kind: "member-", Detail: key})
			}
		}
		last = cur
		o.mu.Lock()
		o.samples = append(o.samples, s)
		o.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(ObservePeriod):
		}
	}
}

// Samples returns what Run saw.
func (o *Observer) Samples() []Sample {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Sample(nil), o.samples...)
}

// Restart rolls the Deployment as `kubectl rollout restart` does: a new
// template annotation.
func Restart(ctx context.Context, kube kubernetes.Interface, ns, name string) error {
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`,
		time.Now().Format(time.RFC3339Nano))
	_, err := kube.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	return err
}

// WaitSettled waits until the Deployment's rollout is complete, no other
// pod of it exists, and the pool holds exactly its pods' members, all
// ONLINE at full weight.
func WaitSettled(ctx context.Context, kube kubernetes.Interface, emu *elbemulator.Emulator, ns, name, pool string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	why := ""
	for time.Now().Before(deadline) {
		why = settled(ctx, kube, emu, ns, name, pool)
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("deployment %s/%s not settled within %s: %s", ns, name, timeout, why)
}

func settled(ctx context.Context, kube kubernetes.Interface, emu *elbemulator.Emulator, ns, name, pool string) string {
	d, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	want := *d.Spec.Replicas
	st := d.Status
	if st.ObservedGeneration < d.Generation || st.UpdatedReplicas != want || st.AvailableReplicas != want || st.Replicas != want {
		return fmt.Sprintf("rollout: %d updated, %d available, %d total of %d", st.UpdatedReplicas, st.AvailableReplicas, st.Replicas, want)
	}
	pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return err.Error()
	}
	ips := map[string]bool{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			return "pod " + p.Name + " terminating"
		}
		ips[fmt.Sprintf("%s:8080", p.Status.PodIP)] = true
	}
	if len(ips) != int(want) {
		return fmt.Sprintf("%d pods, want %d", len(ips), want)
	}
	ms := emu.Members(pool)
	if len(ms) != len(ips) {
		return fmt.Sprintf("%d members, want %d", len(ms), len(ips))
	}
	for _, m := range ms {
		st, _ := m.Health()
		if !ips[fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort)] || st != elb.StatusOnline || m.Weight == 0 {
			return fmt.Sprintf("member %s:%d %s weight %d", m.Address, m.ProtocolPort, st, m.Weight)
		}
	}
	return ""
}

// Report is one rollout's result.
type Report struct {
	Scenario string `json:"scenario"`
	Pods     int    `json:"pods"`
	// Rate is the request clients' rate (each kind's).
	Rate int `json:"rate"`
	// Restart is when the rollout started; Duration how long until the
	// pool was settled.
	Restart  time.Time     `json:"restart"`
	Duration time.Duration `json:"duration"`
	// LoadStart and LoadEnd are when the load started and stopped (the
	// first and last seconds are partial).
	LoadStart time.Time `json:"loadStart"`
	LoadEnd   time.Time `json:"loadEnd"`
	Totals    Totals    `json:"totals"`
	// Clients are the totals by client kind (Client* constants).
	Clients map[string]Totals `json:"clients"`
	// Writes are the ELB member writes the rollout made.
	Writes   Writes `json:"writes"`
	Examples map[string]string
	Seconds  []Second
	Samples  []Sample
	Events   []Event
}

// Lines is the report's one-line-per-second timeline.
func (r Report) Lines(start time.Time) []string {
	var out []string
	byS := map[int64]Sample{}
	for _, s := range r.Samples {
		byS[s.At.Unix()] = s
	}
	for _, s := range r.Seconds {
		failed := 0
		var kinds []string
		for k, v := range s.Failed {
			failed += v
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(kinds)
		p := byS[s.At.Unix()]
		gates := 0 // readiness gates opened so far
		for _, e := range r.Events {
			if e.Kind == EventGateTrue && e.At.Unix() <= s.At.Unix() {
				gates++
			}
		}
		out = append(out, fmt.Sprintf("t=%3ds ok=%4d failed=%3d %-24s members=%d online=%d draining=%d gates-opened=%d",
			int(s.At.Sub(start.Truncate(time.Second))/time.Second), s.OK, failed, strings.Join(kinds, ","), p.Members, p.Online, p.Draining, gates))
	}
	return out
}

// Steps are, for the pods a rollout created, the time each took from
// its containers being ready to its first request, step by step, one
// value per pod that reached both ends of a step:
//
//   - Member: containers ready → its member in the pool;
//   - Online: member in the pool → ONLINE (the health check's verdict);
//   - Gate: ONLINE → readiness gate True (pods with a gate);
//   - First: ONLINE → first request served (the ELB routes to ONLINE
//     members; the gate holds the Deployment, not the traffic, so the
//     first request usually comes before the gate opens);
//   - Total: containers ready → first request served.
type Steps struct {
	Member, Online, Gate, First, Total []time.Duration
}

// EventMemberAdded is the Observer's event for a member that appeared.
const EventMemberAdded = "member+"

// TimeToTraffic reads the steps from the timeline of the pods that
// started serving after since (the restart): the pod runner's events
// (containers ready, gate True, first request) by pod, the Observer's
// (member added, ONLINE) by the pod's address. A member is in the pool no
// later than it turns ONLINE, which bounds the sampled "member+".
func (r Report) TimeToTraffic(since time.Time) Steps {
	type podTimes struct {
		containers, gate, first, member, online time.Time
	}
	pods := map[string]*podTimes{}
	byAddr := map[string]*podTimes{}
	for _, e := range r.Events {
		if e.Kind == EventServing && e.At.After(since) {
			// The member's address is the pod IP: the 10.x twin of the
			// loopback address served.
			addr := "10." + strings.SplitN(e.Detail, ".", 2)[1]
			pt := &podTimes{}
			pods[e.Pod], byAddr[addr] = pt, pt
		}
	}
	for _, e := range r.Events {
		if e.At.Before(since) {
			continue // an address may have served an earlier pod
		}
		pt := pods[e.Pod]
		if e.Pod == "" {
			pt = byAddr[e.Detail]
		}
		if pt == nil {
			continue
		}
		set := func(t *time.Time) {
			if t.IsZero() {
				*t = e.At
			}
		}
		switch e.Kind {
		case EventContainersReady:
			set(&pt.containers)
		case EventGateTrue:
			set(&pt.gate)
		case EventFirstRequest:
			set(&pt.first)
		case EventMemberAdded:
			set(&pt.member)
		case "online":
			set(&pt.online)
		}
	}
	var st Steps
	for _, pt := range pods {
		if !pt.online.IsZero() && (pt.member.IsZero() || pt.online.Before(pt.member)) {
			pt.member = pt.online
		}
		add := func(to *[]time.Duration, from, until time.Time) {
			if !from.IsZero() && !until.IsZero() {
				*to = append(*to, until.Sub(from))
			}
		}
		add(&st.Member, pt.containers, pt.member)
		add(&st.Online, pt.member, pt.online)
		add(&st.Gate, pt.online, pt.gate)
		add(&st.First, pt.online, pt.first)
		add(&st.Total, pt.containers, pt.first)
	}
	for _, ds := range []*[]time.Duration{&st.Member, &st.Online, &st.Gate, &st.First, &st.Total} {
		slices.Sort(*ds)
	}
	return st
}

// Add is st and o together (o's values appended).
func (st Steps) Add(o Steps) Steps {
	return Steps{Member: append(slices.Clone(st.Member), o.Member...), Online: append(slices.Clone(st.Online), o.Online...),
		Gate: append(slices.Clone(st.Gate), o.Gate...), First: append(slices.Clone(st.First), o.First...),
		Total: append(slices.Clone(st.Total), o.Total...)}
}

// P50P99 is "p50 / p99" of ds in seconds, "—" when empty.
func P50P99(ds []time.Duration) string {
	if len(ds) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f / %.2f s", Percentile(ds, 50).Seconds(), Percentile(ds, 99).Seconds())
}

// Line is the steps' p50/p99 on one line.
func (st Steps) Line() string {
	return fmt.Sprintf("time to traffic p50 / p99 (%d pods): containers ready → member %s; → ONLINE %s; ONLINE → gate True %s; ONLINE → first request %s; total %s",
		len(st.Total), P50P99(st.Member), P50P99(st.Online), P50P99(st.Gate), P50P99(st.First), P50P99(st.Total))
}

// Percentile is the p-th percentile (0–100) of ds, 0 when empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1)*p/100 + 0.5)
	return s[i]
}
