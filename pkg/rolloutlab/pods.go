package rolloutlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// PodRunner plays the kubelet's part that kwok does not: for every pod of
// a namespace that has an IP it runs a small HTTP server on the pod's
// loopback twin (elbemulator.TenToLoopback) and port, following the
// pod's lifecycle, and it keeps the pod's Ready condition to the kubelet's
// rule once its containers are ready (Ready = containers ready and every
// readiness gate True). kwok writes the rest of the status.
//
// A pod's server starts when the pod gets its IP (before its containers
// are reported ready, as an app that is listening before its readiness
// probe passes); when the pod is deleted it keeps serving for the
// preStop sleep, then stops accepting (SIGTERM: it closes its listener and
// idle connections and lets requests in flight finish), and is killed —
// every connection closed — when the grace period ends.
type PodRunner struct {
	Kube      kubernetes.Interface
	Namespace string
	// Events, if set, receives the runner's timeline entries.
	Events func(Event)

	mu      sync.Mutex
	servers map[types.UID]*podServer
}

// Event is one entry of a rollout's timeline.
type Event struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Pod    string    `json:"pod,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Event kinds the pod runner reports.
const (
	EventServing  = "serving"  // the pod's server listens
	EventReady    = "ready"    // Ready turned True
	EventSIGTERM  = "sigterm"  // the pod's server stopped accepting
	EventKilled   = "killed"   // grace period over, connections closed
	EventGateTrue = "gatetrue" // every readiness gate is True
	// EventContainersReady: the runner saw ContainersReady True.
	EventContainersReady = "containersready"
	// EventFirstRequest: the pod's server got its first request (not a
	// health check).
	EventFirstRequest = "firstrequest"
)

type podServer struct {
	name     string
	srv      *http.Server
	ip       string // the pod IP served (on its loopback twin)
	addr     string
	stopping bool
	// readyNoted: the Ready event was reported.
	readyNoted bool
	crNoted    bool
	killed     chan struct{}
	once       sync.Once
}

func (r *PodRunner) emit(kind, pod, detail string) {
	if r.Events != nil {
		r.Events(Event{At: time.Now(), Kind: kind, Pod: pod, Detail: detail})
	}
}

// Run watches the namespace's pods until ctx ends, then kills every
// server.
func (r *PodRunner) Run(ctx context.Context) error {
	r.mu.Lock()
	r.servers = map[types.UID]*podServer{}
	r.mu.Unlock()
	f := informers.NewSharedInformerFactoryWithOptions(r.Kube, 0, informers.WithNamespace(r.Namespace))
	inf := f.Core().V1().Pods().Informer()
	queue := make(chan *corev1.Pod, 1024)
	handle := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok {
			queue <- p
		}
	}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, obj any) { handle(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				r.kill(p.UID)
			}
		},
	})
	if err != nil {
		return err
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	for {
		select {
		case <-ctx.Done():
			r.mu.Lock()
			uids := make([]types.UID, 0, len(r.servers))
			for uid := range r.servers {
				uids = append(uids, uid)
			}
			r.mu.Unlock()
			for _, uid := range uids {
				r.kill(uid)
			}
			return nil
		case p := <-queue:
			r.sync(ctx, p)
		}
	}
}

// sync brings one pod's server and Ready condition in line with it.
func (r *PodRunner) sync(ctx context.Context, p *corev1.Pod) {
	if p.Status.PodIP == "" {
		return
	}
	r.mu.Lock()
	s := r.servers[p.UID]
	r.mu.Unlock()
	if s != nil && s.ip != p.Status.PodIP && p.DeletionTimestamp == nil {
		// kwok may write a pod's first status twice, with two IPs: the
		// server follows the IP the pod has now.
		r.kill(p.UID)
		s = nil
	}
	if s == nil && p.DeletionTimestamp == nil {
		var err error
		if s, err = r.start(p); err != nil {
			r.emit("error", p.Name, err.Error())
			return
		}
	}
	if s != nil && p.DeletionTimestamp != nil && !s.stopping {
		s.stopping = true
		go r.terminate(p, s)
	}
	if p.DeletionTimestamp == nil {
		r.applyReadyRule(ctx, p)
	}
}

// start listens on the pod's loopback twin and port.
func (r *PodRunner) start(p *corev1.Pod) (*podServer, error) {
	ip, err := netip.ParseAddr(p.Status.PodIP)
	if err != nil {
		return nil, err
	}
	lo, ok := elbemulator.TenToLoopback(ip)
	if !ok {
		return nil, fmt.Errorf("pod IP %s has no loopback twin (want 10.0.0.0/8)", ip)
	}
	port := containerPort(p)
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo, uint16(port)).String())
	if err != nil {
		return nil, err
	}
	s := &podServer{name: p.Name, ip: p.Status.PodIP, addr: ln.Addr().String(), killed: make(chan struct{})}
	var first sync.Once
	served := func() { first.Do(func() { r.emit(EventFirstRequest, p.Name, "") }) }
	s.srv = &http.Server{Handler: podHandler(p.Name, s.killed, served), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	r.mu.Lock()
	r.servers[p.UID] = s
	r.mu.Unlock()
	r.emit(EventServing, p.Name, s.addr)
	return s, nil
}

// containerPort is the first container's first port (8080 without one).
func containerPort(p *corev1.Pod) int {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			return int(cp.ContainerPort)
		}
	}
	return 8080
}

// podHandler answers / with the pod's name, /healthz with 200, and
// /hold?ms=N with a line every 100ms for N ms: a long-lived connection
// that ends cleanly with its last chunk.
func podHandler(name string, killed <-chan struct{}, served func()) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/hold", func(w http.ResponseWriter, req *http.Request) {
		served()
		ms, _ := strconv.Atoi(req.URL.Query().Get("ms"))
		end := time.Now().Add(time.Duration(ms) * time.Millisecond)
		fl, _ := w.(http.Flusher)
		for time.Now().Before(end) {
			fmt.Fprintf(w, "%s\n", name)
			if fl != nil {
				fl.Flush()
			}
			select {
			case <-req.Context().Done():
				return
			case <-killed:
				panic(http.ErrAbortHandler) // killed: the connection is cut
			case <-time.After(100 * time.Millisecond):
			}
		}
		fmt.Fprintf(w, "done\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		served()
		fmt.Fprintln(w, name)
	})
	return mux
}

// terminate runs the pod's shutdown: preStop sleep, SIGTERM, kill at the
// end of the grace period.
func (r *PodRunner) terminate(p *corev1.Pod, s *podServer) {
	deadline := time.Now().Add(30 * time.Second)
	if p.DeletionTimestamp != nil {
		deadline = p.DeletionTimestamp.Time
	}
	if d := preStopSleep(p); d > 0 {
		select {
		case <-time.After(d):
		case <-s.killed:
			return
		}
	}
	r.emit(EventSIGTERM, p.Name, s.addr)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		r.emit("error", p.Name, err.Error())
	}
}

// preStopSleep is the first container's lifecycle.preStop.sleep.
func preStopSleep(p *corev1.Pod) time.Duration {
	for _, c := range p.Spec.Containers {
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			return time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		}
	}
	return 0
}

// kill closes the pod's server and all its connections.
func (r *PodRunner) kill(uid types.UID) {
	r.mu.Lock()
	s := r.servers[uid]
	delete(r.servers, uid)
	r.mu.Unlock()
	if s == nil {
		return
	}
	s.once.Do(func() {
		close(s.killed)
		_ = s.srv.Close()
		r.emit(EventKilled, s.name, s.addr)
	})
}

// applyReadyRule sets Ready to what the kubelet would: True when
// ContainersReady is True and every readiness gate's condition is True.
// kwok's stages write Ready for pods without gates; pods with gates get it
// here (and only once their containers are ready).
func (r *PodRunner) applyReadyRule(ctx context.Context, p *corev1.Pod) {
	if c := condition(p, corev1.ContainersReady); c != nil && c.Status == corev1.ConditionTrue {
		r.note(p, func(s *podServer) *bool { return &s.crNoted }, EventContainersReady)
	}
	if len(p.Spec.ReadinessGates) == 0 {
		if c := condition(p, corev1.PodReady); c != nil && c.Status == corev1.ConditionTrue {
			r.noteReady(p)
		}
		return
	}
	cr := condition(p, corev1.ContainersReady)
	if cr == nil || cr.Status != corev1.ConditionTrue {
		return
	}
	want := corev1.ConditionTrue
	for _, g := range p.Spec.ReadinessGates {
		if c := condition(p, g.ConditionType); c == nil || c.Status != corev1.ConditionTrue {
			want = corev1.ConditionFalse
		}
	}
	have := condition(p, corev1.PodReady)
	if have != nil && have.Status == want {
		if want == corev1.ConditionTrue {
			r.noteReady(p)
		}
		return
	}
	if want == corev1.ConditionTrue {
		r.emit(EventGateTrue, p.Name, "")
	}
	reason := ""
	if want == corev1.ConditionFalse {
		reason = "ReadinessGatesNotReady"
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []map[string]any{{
		"type": corev1.PodReady, "status": want, "reason": reason, "lastTransitionTime": metav1.Now(),
	}}}})
	if _, err := r.Kube.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil && ctx.Err() == nil {
		r.emit("error", p.Name, "patch Ready: "+err.Error())
	}
}

func (r *PodRunner) noteReady(p *corev1.Pod) {
	r.note(p, func(s *podServer) *bool { return &s.readyNoted }, EventReady)
}

// note emits kind once per pod, flag remembering it did.
func (r *PodRunner) note(p *corev1.Pod, flag func(*podServer) *bool, kind string) {
	r.mu.Lock()
	s := r.servers[p.UID]
	first := s != nil && !*flag(s)
	if first {
		*flag(s) = true
	}
	r.mu.Unlock()
	if first {
		r.emit(kind, p.Name, "")
	}
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
