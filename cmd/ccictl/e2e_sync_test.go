package main_test

// End-to-end tests of `ccictl sync`: the built binary against the real API
// server (pods, EndpointSlices published by the real EndpointSlice
// controller) and the ELB v3 emulator served from this test process.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

const (
	// syncToken is the ELB token handed to ccictl; it must never be printed.
	syncToken   = "e2e-elb-token-7d1f0c9a4b2e"
	syncProject = "0123456789abcdef0123456789abcdef"
	syncPool    = "e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1"
	syncNode    = "e2e-sync-node"
)

// syncEnv is one test's namespace, emulator and API clients.
type syncEnv struct {
	t    *testing.T
	ns   string
	emu  *elbemulator.Emulator
	url  string
	kube kubernetes.Interface
	// extraEnv is added to every ccictl run (e.g. AK/SK instead of the token).
	extraEnv []string
	// config is the cliconfig ccictl uses (the Pod-path test swaps it).
	config string
}

var (
	kubeOnce   sync.Once
	kubeClient kubernetes.Interface
	kubeErr    error
)

// kubeFor returns a clientset on the test cluster and makes sure the Node
// the test pods are bound to exists: the EndpointSlice controller only
// publishes pods whose node it knows.
func kubeFor(t *testing.T) kubernetes.Interface {
	t.Helper()
	kubeOnce.Do(func() {
		cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
		if err != nil {
			kubeErr = err
			return
		}
		cfg.QPS, cfg.Burst = 200, 400
		kubeClient, kubeErr = kubernetes.NewForConfig(cfg)
		if kubeErr != nil {
			return
		}
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: syncNode}}
		_, err = kubeClient.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			kubeErr = err
		}
	})
	if kubeErr != nil {
		t.Fatalf("kube client: %v", kubeErr)
	}
	return kubeClient
}

func newSyncEnv(t *testing.T, ns string) *syncEnv {
	t.Helper()
	return newSyncEnvWith(t, ns, elbemulator.Options{MemberQuota: 10000})
}

// newSyncEnvWith is newSyncEnv with the emulator's options (quota, health
// delay); project and token are set here.
func newSyncEnvWith(t *testing.T, ns string, o elbemulator.Options) *syncEnv {
	t.Helper()
	kube := kubeFor(t)
	newNamespace(t, ns)
	// Pods of a node without a kubelet never finish terminating: remove them
	// outright so the namespace can go (runs before the namespace delete).
	t.Cleanup(func() {
		zero := int64(0)
		_ = kube.CoreV1().Pods(ns).DeleteCollection(context.Background(),
			metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
	})
	o.ProjectID, o.Token = syncProject, syncToken
	emu := elbemulator.New(o)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &syncEnv{t: t, ns: ns, emu: emu, url: srv.URL, kube: kube, config: cliconfig}
}

func (e *syncEnv) ctx() context.Context { return context.Background() }

// pool creates a pool; lbs are the load balancers it belongs to.
func (e *syncEnv) pool(id string, lbs ...string) {
	p := elb.Pool{ID: id, Name: "pool-" + id[:8]}
	for _, lb := range lbs {
		p.Loadbalancers = append(p.Loadbalancers, elb.Ref{ID: lb})
	}
	e.emu.CreatePool(p)
}

// syncArgs are the arguments of a sync run of this env's namespace.
func (e *syncEnv) syncArgs(args ...string) []string {
	return append([]string{"--cliconfig", e.config, "sync", "-n", e.ns,
		"--elb-endpoint", e.url, "--project-id", syncProject}, args...)
}

func (e *syncEnv) syncEnvVars() []string {
	if e.extraEnv != nil {
		return e.extraEnv
	}
	return []string{"CCICTL_ELB_TOKEN=" + syncToken}
}

// sync runs `ccictl sync -n NS` against the emulator.
func (e *syncEnv) sync(args ...string) result {
	e.t.Helper()
	return runIn(e.t, "", e.syncEnvVars(), ccictlBin, e.syncArgs(args...)...)
}

// start runs sync in the background, for the concurrency and kill tests.
func (e *syncEnv) start(stdout, stderr io.Writer, args ...string) *exec.Cmd {
	e.t.Helper()
	home := filepath.Join(workDir, "home")
	_ = os.MkdirAll(home, 0o700)
	cmd := exec.Command(ccictlBin, e.syncArgs(args...)...)
	cmd.Dir = repoRoot
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, e.syncEnvVars()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	return cmd
}

func (e *syncEnv) service(name string, port int32, target intstr.IntOrString, selector map[string]string, annotations map[string]string) {
	e.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Annotations: annotations},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: port, TargetPort: target, Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := e.kube.CoreV1().Services(e.ns).Create(e.ctx(), svc, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create service: %v", err)
	}
}

// binding creates a PoolBinding with ccictl and returns its uid.
func (e *syncEnv) binding(name, poolID, svc string, port int32) string {
	e.t.Helper()
	m := fmt.Sprintf(`apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: %s
  namespace: %s
spec:
  poolRef:
    id: %s
  targetRef:
    kind: Service
    group: cci/v2
    name: %s
    port: %d
`, name, e.ns, poolID, svc, port)
	mustSucceed(e.t, ccictl(e.t, "create", "-f", writeFile(e.t, name+".yaml", m)))
	return e.jsonpath(name, "{.metadata.uid}")
}

func (e *syncEnv) jsonpath(binding, expr string) string {
	e.t.Helper()
	return mustSucceed(e.t, ccictl(e.t, "get", "plb", "-n", e.ns, binding, "-o", "jsonpath="+expr)).Stdout
}

// podSpec describes one test pod; the pod is bound to syncNode.
type podSpec struct {
	name  string
	ip    string
	ready bool
	ports []corev1.ContainerPort
}

// pods creates pods labelled app=app and gives them the status a kubelet
// would have written: Running, Ready as asked, with their pod IP.
func (e *syncEnv) pods(app string, specs ...podSpec) {
	e.t.Helper()
	for _, s := range specs {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: e.ns, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				NodeName:   syncNode,
				Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", Ports: s.ports}},
			},
		}
		if _, err := e.kube.CoreV1().Pods(e.ns).Create(e.ctx(), p, metav1.CreateOptions{}); err != nil {
			e.t.Fatalf("create pod %s: %v", s.name, err)
		}
		e.setPodStatus(s.name, s.ip, s.ready)
	}
}

func (e *syncEnv) setPodStatus(name, ip string, ready bool) {
	e.t.Helper()
	p, err := e.kube.CoreV1().Pods(e.ns).Get(e.ctx(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	now := metav1.Now()
	p.Status = corev1.PodStatus{
		Phase:  corev1.PodRunning,
		PodIP:  ip,
		PodIPs: []corev1.PodIP{{IP: ip}},
		HostIP: "192.168.0.10",
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: cond, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: cond, LastTransitionTime: now},
		},
	}
	if _, err := e.kube.CoreV1().Pods(e.ns).UpdateStatus(e.ctx(), p, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("update status of pod %s: %v", name, err)
	}
}

func (e *syncEnv) deletePod(name string, grace int64) {
	e.t.Helper()
	if err := e.kube.CoreV1().Pods(e.ns).Delete(e.ctx(), name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		e.t.Fatal(err)
	}
}

// waitSlices waits until the EndpointSlices of svc list exactly want
// ("ip:port") as ready, non-terminating endpoints. A terminating endpoint
// that still serves may be listed besides; tests of draining rely on that.
func (e *syncEnv) waitSlices(svc string, want ...string) {
	e.t.Helper()
	e.waitEndpoints(svc, "ready", func(c discoveryv1.EndpointConditions) bool {
		return c.Ready != nil && *c.Ready && (c.Terminating == nil || !*c.Terminating)
	}, want)
}

// waitServing waits until the serving endpoints of svc, terminating ones
// included, are exactly want: a deleted pod can linger as
// terminating-but-serving for a moment, which sync drains instead of
// removing, so a test that means "gone" waits for this.
func (e *syncEnv) waitServing(svc string, want ...string) {
	e.t.Helper()
	e.waitEndpoints(svc, "serving", func(c discoveryv1.EndpointConditions) bool {
		return (c.Serving != nil && *c.Serving) || (c.Serving == nil && (c.Ready == nil || *c.Ready))
	}, want)
}

func (e *syncEnv) waitEndpoints(svc, what string, counts func(discoveryv1.EndpointConditions) bool, want []string) {
	e.t.Helper()
	sort.Strings(want)
	var got []string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		list, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).List(e.ctx(),
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			e.t.Fatal(err)
		}
		got = got[:0]
		for _, s := range list.Items {
			for _, ep := range s.Endpoints {
				if !counts(ep.Conditions) {
					continue
				}
				for _, p := range s.Ports {
					got = append(got, fmt.Sprintf("%s:%d", ep.Addresses[0], *p.Port))
				}
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("EndpointSlices of %s: %s endpoints %v, want %v", svc, what, got, want)
}

// manualSlice makes a selectorless Service whose one EndpointSlice the test
// writes itself: hundreds of endpoints without hundreds of pods.
func (e *syncEnv) manualSlice(svc string, port, target int32, addrs []string) {
	e.t.Helper()
	if _, err := e.kube.CoreV1().Services(e.ns).Get(e.ctx(), svc, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: e.ns},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromInt32(target)}}},
		}
		if _, err := e.kube.CoreV1().Services(e.ns).Create(e.ctx(), s, metav1.CreateOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}
	ready, name, proto := true, "http", corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-manual", Namespace: e.ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "e2e-sync-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &target, Protocol: &proto}},
	}
	for _, a := range addrs {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	cur, err := e.kube.DiscoveryV1().EndpointSlices(e.ns).Get(e.ctx(), slice.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = e.kube.DiscoveryV1().EndpointSlices(e.ns).Create(e.ctx(), slice, metav1.CreateOptions{})
	case err == nil:
		slice.ResourceVersion = cur.ResourceVersion
		_, err = e.kube.DiscoveryV1().EndpointSlices(e.ns).Update(e.ctx(), slice, metav1.UpdateOptions{})
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// addrs returns n addresses prefix.0.1, prefix.0.2, … (prefix is "a.b").
func addrs(prefix string, from, n int) []string {
	out := make([]string, n)
	for i := range out {
		k := from + i + 1
		out[i] = fmt.Sprintf("%s.%d.%d", prefix, k/250, k%250+1)
	}
	return out
}

func withPort(as []string, port int) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a + ":" + strconv.Itoa(port)
	}
	return out
}

// members is the pool's content as "ip:port" → member name.
func (e *syncEnv) members(poolID string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, m := range e.emu.Members(poolID) {
		k := fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort)
		if _, dup := out[k]; dup {
			e.t.Errorf("pool %s holds %s twice", poolID, k)
		}
		out[k] = m.Name
	}
	return out
}

// wantPool checks the pool holds exactly want (ip:port → member name).
func (e *syncEnv) wantPool(poolID string, want map[string]string) {
	e.t.Helper()
	got := e.members(poolID)
	if len(got) != len(want) {
		e.t.Errorf("pool %s has %d members, want %d", poolID, len(got), len(want))
	}
	for k, name := range want {
		if g, ok := got[k]; !ok {
			e.t.Errorf("pool %s lacks %s", poolID, k)
		} else if g != name {
			e.t.Errorf("pool %s: member %s named %q, want %q", poolID, k, g, name)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			e.t.Errorf("pool %s has unexpected member %s (%s)", poolID, k, got[k])
		}
	}
}

func owned(marker string, keys ...string) map[string]string {
	m := map[string]string{}
	for _, k := range keys {
		m[k] = marker
	}
	return m
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// markerOf is the ownership marker sync writes in the test cluster:
// ccictl:<cluster-id>:<ns>/<name>:<uid>, the cluster id being the UID of
// its kube-system namespace.
func markerOf(ns, name, uid string) string {
	return "ccictl:" + testClusterID() + ":" + ns + "/" + name + ":" + uid
}

// legacyMarkerOf is the marker of earlier versions, without the cluster.
func legacyMarkerOf(ns, name, uid string) string { return "ccictl:" + ns + "/" + name + ":" + uid }

var (
	clusterIDOnce sync.Once
	clusterID     string
)

// testClusterID is the UID of the test cluster's kube-system namespace
// (kubeFor must have run: every syncEnv does).
func testClusterID() string {
	clusterIDOnce.Do(func() {
		ns, err := kubeClient.CoreV1().Namespaces().Get(context.Background(), metav1.NamespaceSystem, metav1.GetOptions{})
		if err != nil {
			panic("e2e: read namespace kube-system: " + err.Error())
		}
		clusterID = string(ns.UID)
	})
	return clusterID
}

// wantCalls checks the emulator's call counts since the last reset (no
// batch-update expected; see wantCallsUpd).
func (e *syncEnv) wantCalls(get, list, add, del int) {
	e.t.Helper()
	e.wantCallsUpd(get, list, add, 0, del)
}

func wantLine(t *testing.T, r result, code int, line string) {
	t.Helper()
	if r.Code != code || r.Stdout != line+"\n" {
		t.Errorf("want exit %d and stdout %q, got %s", code, line, r)
	}
}

func readyPod(name, ip string) podSpec { return podSpec{name: name, ip: ip, ready: true} }

// TestSyncSeedScenario: the docs' seed objects, three ready pods, one sync
// fills the pool, the binding's status records it, a second sync is a no-op
// with the minimum of ELB calls.
func TestSyncSeedScenario(t *testing.T) {
	e := newSyncEnv(t, "test-ns-sync")
	e.pool(syncPool)
	// The seed Service and binding, in this test's namespace.
	svc := strings.Replace(mustRead(t, filepath.Join(repoRoot, "testdata/service.yaml")), "namespace: test-ns", "namespace: "+e.ns, 1)
	plb := strings.Replace(mustRead(t, filepath.Join(repoRoot, "testdata/poolbinding.yaml")), "namespace: test-ns", "namespace: "+e.ns, 1)
	mustSucceed(t, ccictl(t, "create", "-f", writeFile(t, "svc.yaml", svc)))
	mustSucceed(t, ccictl(t, "create", "-f", writeFile(t, "plb.yaml", plb)))
	uid := e.jsonpath("test-c1", "{.metadata.uid}")
	e.pods("test-name", readyPod("web-1", "10.0.0.11"), readyPod("web-2", "10.0.0.12"), readyPod("web-3", "10.0.0.13"))
	e.waitSlices("test-name", "10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080")

	wantLine(t, e.sync(), 0, "poolbinding/test-c1: +3 -0 =0 foreign=0")
	marker := markerOf(e.ns, "test-c1", uid)
	e.wantPool(syncPool, owned(marker, "10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080"))
	// Empty pool: 1 GetPool, 1 list (⌈max(0,1)/2000⌉), 1 add, no delete.
	e.wantCalls(1, 1, 1, 0)

	st := e.jsonpath("test-c1", `{.status.desiredMembers} {.status.registeredMembers} {.status.observedGeneration} {.status.conditions[?(@.type=="Synced")].status} {.status.conditions[?(@.type=="Synced")].reason}`)
	if st != "3 3 1 True Synced" {
		t.Errorf("status = %q, want desired 3, registered 3, observedGeneration 1, Synced=True/Synced", st)
	}
	if ts := e.jsonpath("test-c1", "{.status.lastSyncTime}"); ts == "" {
		t.Error("status.lastSyncTime not written")
	}
	// The table's MEMBERS and SYNCED columns show the status too.
	if table := mustSucceed(t, ccictl(t, "get", "plb", "-n", e.ns)).Stdout; !regexp.MustCompile(`test-c1\s+\S+\s+\S+\s+123\s+3\s+True`).MatchString(table) {
		t.Errorf("table does not show the synced status:\n%s", table)
	}

	// A second pass changes nothing and writes nothing to the ELB.
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/test-c1: +0 -0 =3 foreign=0")
	e.wantCalls(1, 1, 0, 0)
	e.wantPool(syncPool, owned(marker, "10.0.0.11:8080", "10.0.0.12:8080", "10.0.0.13:8080"))
	if st := e.jsonpath("test-c1", `{.status.conditions[?(@.type=="Synced")].reason}`); st != "InSync" {
		t.Errorf("Synced reason after a no-op pass = %q, want InSync", st)
	}
}

// TestSyncScaleUpAndDown: endpoints added, made unready, deleted (force and
// graceful, the latter staying Terminating) — each next pass converges.
func TestSyncScaleUpAndDown(t *testing.T) {
	e := newSyncEnv(t, "sync-scale")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	e.pods("web", readyPod("p1", "10.1.0.1"), readyPod("p2", "10.1.0.2"))
	e.waitSlices("web", "10.1.0.1:8080", "10.1.0.2:8080")
	wantLine(t, e.sync(), 0, "poolbinding/b1: +2 -0 =0 foreign=0")

	// Scale up 2 → 5 (one new pod is not ready yet and must not be added).
	e.pods("web", readyPod("p3", "10.1.0.3"), readyPod("p4", "10.1.0.4"), readyPod("p5", "10.1.0.5"), podSpec{name: "p6", ip: "10.1.0.6"})
	e.waitSlices("web", "10.1.0.1:8080", "10.1.0.2:8080", "10.1.0.3:8080", "10.1.0.4:8080", "10.1.0.5:8080")
	wantLine(t, e.sync(), 0, "poolbinding/b1: +3 -0 =2 foreign=0")
	e.wantPool(syncPool, owned(marker, withPort([]string{"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5"}, 8080)...))

	// Scale down: p1 unready, p2 force-deleted, p3 deleted gracefully (no
	// kubelet, so it stays Terminating, and still Ready, so the
	// EndpointSlice controller publishes it serving and terminating); p6
	// becomes ready. p3's member drains at weight 0 instead of being removed.
	e.setPodStatus("p1", "10.1.0.1", false)
	e.deletePod("p2", 0)
	e.deletePod("p3", 30)
	e.setPodStatus("p6", "10.1.0.6", true)
	e.waitSlices("web", "10.1.0.4:8080", "10.1.0.5:8080", "10.1.0.6:8080")
	e.waitServing("web", "10.1.0.3:8080", "10.1.0.4:8080", "10.1.0.5:8080", "10.1.0.6:8080")
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +1 -2 =2 foreign=0 draining=1 weights=1")
	e.wantCallsUpd(1, 1, 1, 1, 1)
	e.wantPool(syncPool, owned(marker, withPort([]string{"10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"}, 8080)...))
	if w := e.weights(syncPool)["10.1.0.3:8080"]; w != 0 {
		t.Errorf("terminating p3 at weight %d, want 0", w)
	}
	if st := e.jsonpath("b1", "{.status.desiredMembers} {.status.registeredMembers} {.status.drainingMembers}"); st != "3 3 1" {
		t.Errorf("status counts = %q, want \"3 3 1\"", st)
	}
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -0 =3 foreign=0 draining=1")
	// p3 finally goes: its member is removed.
	e.deletePod("p3", 0)
	e.waitEndpointGone("web", "10.1.0.3")
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -1 =3 foreign=0")
	e.wantPool(syncPool, owned(marker, withPort([]string{"10.1.0.4", "10.1.0.5", "10.1.0.6"}, 8080)...))
}

// TestSyncNamedTargetPort: a named targetPort is resolved per pod from its
// containerPorts; a pod without that port is no endpoint.
func TestSyncNamedTargetPort(t *testing.T) {
	e := newSyncEnv(t, "sync-named")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromString("web"), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	web := func(port int32) []corev1.ContainerPort {
		return []corev1.ContainerPort{{Name: "web", ContainerPort: port, Protocol: corev1.ProtocolTCP}}
	}
	e.pods("web",
		podSpec{name: "a", ip: "10.2.0.1", ready: true, ports: web(8080)},
		podSpec{name: "b", ip: "10.2.0.2", ready: true, ports: web(9090)},
		podSpec{name: "c", ip: "10.2.0.3", ready: true, ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9100}}},
	)
	e.waitSlices("web", "10.2.0.1:8080", "10.2.0.2:9090")
	wantLine(t, e.sync(), 0, "poolbinding/b1: +2 -0 =0 foreign=0")
	e.wantPool(syncPool, owned(markerOf(e.ns, "b1", uid), "10.2.0.1:8080", "10.2.0.2:9090"))
}

// TestSyncPodPath: on a server that does not serve discovery.k8s.io/v1,
// sync reads Pods instead. A proxy in front of the real API server hides
// that group from discovery (the real server cannot turn it off per client)
// and counts any request that would read EndpointSlices anyway.
func TestSyncPodPath(t *testing.T) {
	e := newSyncEnv(t, "sync-pods")
	var sliceReads atomic.Int64
	e.config = discoveryHidingConfig(t, &sliceReads)
	e.pool(syncPool)
	e.service("web", 123, intstr.FromString("web"), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	web := func(port int32) []corev1.ContainerPort {
		return []corev1.ContainerPort{{Name: "web", ContainerPort: port, Protocol: corev1.ProtocolTCP}}
	}
	e.pods("web",
		podSpec{name: "a", ip: "10.3.0.1", ready: true, ports: web(8080)},
		podSpec{name: "b", ip: "10.3.0.2", ready: true, ports: web(9090)},
		podSpec{name: "not-ready", ip: "10.3.0.3", ports: web(8080)},
		podSpec{name: "no-port", ip: "10.3.0.4", ready: true},
		podSpec{name: "leaving", ip: "10.3.0.5", ready: true, ports: web(8080)},
	)
	e.pods("other", podSpec{name: "other", ip: "10.3.0.6", ready: true, ports: web(8080)})
	e.deletePod("leaving", 30) // stays, with a deletionTimestamp

	wantLine(t, e.sync(), 0, "poolbinding/b1: +2 -0 =0 foreign=0")
	marker := markerOf(e.ns, "b1", uid)
	e.wantPool(syncPool, owned(marker, "10.3.0.1:8080", "10.3.0.2:9090"))

	// Pods change; the next pass follows them.
	e.setPodStatus("a", "10.3.0.1", false)
	e.setPodStatus("not-ready", "10.3.0.3", true)
	wantLine(t, e.sync(), 0, "poolbinding/b1: +1 -1 =1 foreign=0")
	e.wantPool(syncPool, owned(marker, "10.3.0.2:9090", "10.3.0.3:8080"))
	if st := e.jsonpath("b1", `{.status.registeredMembers} {.status.conditions[?(@.type=="Synced")].status}`); st != "2 True" {
		t.Errorf("status = %q", st)
	}
	if n := sliceReads.Load(); n != 0 {
		t.Errorf("%d requests reached discovery.k8s.io through the proxy; the Pod path must not read EndpointSlices", n)
	}
}

// discoveryHidingConfig starts a proxy to the test API server that removes
// discovery.k8s.io from /apis and writes a cliconfig pointing at it.
func discoveryHidingConfig(t *testing.T, sliceReads *atomic.Int64) string {
	t.Helper()
	upstream, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(cluster.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	proxy := &httputil.ReverseProxy{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Header.Set("Authorization", "Bearer "+cluster.Token)
			if r.In.URL.Path == "/apis" || r.In.URL.Path == "/apis/" {
				// Legacy (unaggregated) discovery, uncompressed, so the
				// answer can be edited.
				r.Out.Header.Set("Accept", "application/json")
				r.Out.Header.Del("Accept-Encoding")
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			p := resp.Request.URL.Path
			if strings.HasPrefix(p, "/apis/discovery.k8s.io") {
				sliceReads.Add(1)
			}
			if (p != "/apis" && p != "/apis/") || resp.StatusCode != http.StatusOK {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			var groups metav1.APIGroupList
			if err := json.Unmarshal(body, &groups); err != nil {
				return err
			}
			kept := groups.Groups[:0]
			for _, g := range groups.Groups {
				if g.Name != "discovery.k8s.io" {
					kept = append(kept, g)
				}
			}
			groups.Groups = kept
			if body, err = json.Marshal(groups); err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			resp.Header.Set("Content-Type", "application/json")
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster:
    server: %s
contexts:
- name: proxy
  context:
    cluster: proxy
    user: nobody
current-context: proxy
users:
- name: nobody
  user: {}
`, srv.URL)
	return writeFile(t, "proxy-cliconfig", cfg)
}

// TestSyncForeignMembers: members without the binding's marker are
// counted and never removed, also when they sit at a desired endpoint, and
// also when the pool is emptied with --allow-empty.
func TestSyncForeignMembers(t *testing.T) {
	e := newSyncEnv(t, "sync-foreign")
	e.pool(syncPool)
	for _, m := range []elb.Member{
		{Name: "added-by-hand", Address: "192.168.9.9", ProtocolPort: 80},
		{Name: "", Address: "10.4.0.2", ProtocolPort: 8080}, // at a desired endpoint
		{Name: "ccictl:elsewhere/other:6f1b8a52-0000-4000-8000-000000000001", Address: "192.168.9.10", ProtocolPort: 80},
	} {
		if _, err := e.emu.AddMemberDirect(syncPool, m); err != nil {
			t.Fatal(err)
		}
	}
	foreign := map[string]string{
		"192.168.9.9:80":  "added-by-hand",
		"10.4.0.2:8080":   "",
		"192.168.9.10:80": "ccictl:elsewhere/other:6f1b8a52-0000-4000-8000-000000000001",
	}
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	e.pods("web", readyPod("p1", "10.4.0.1"), readyPod("p2", "10.4.0.2"))
	e.waitSlices("web", "10.4.0.1:8080", "10.4.0.2:8080")

	wantLine(t, e.sync(), 0, "poolbinding/b1: +1 -0 =0 foreign=3")
	e.wantPool(syncPool, merge(foreign, owned(marker, "10.4.0.1:8080")))
	if st := e.jsonpath("b1", `{.status.foreignMembers} {.status.registeredMembers} {.status.conditions[?(@.type=="Degraded")].reason}`); st != "3 2 ForeignMemberAtEndpoint" {
		t.Errorf("status = %q, want foreign 3, registered 2, Degraded ForeignMemberAtEndpoint", st)
	}

	// No endpoint at all and --allow-empty: only our member goes.
	e.setPodStatus("p1", "10.4.0.1", false)
	e.setPodStatus("p2", "10.4.0.2", false)
	e.waitSlices("web")
	wantLine(t, e.sync("--allow-empty"), 0, "poolbinding/b1: +0 -1 =0 foreign=3")
	e.wantPool(syncPool, foreign)
}

// TestSyncOrphans: a deleted binding's members stay until --prune-orphans;
// a re-created binding of the same name (new uid) does not adopt them, and
// a live binding's members on the same pool are never pruned.
func TestSyncOrphans(t *testing.T) {
	e := newSyncEnv(t, "sync-orphans")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.service("api", 124, intstr.FromInt32(9090), map[string]string{"app": "api"}, nil)
	uid1 := e.binding("b1", syncPool, "web", 123)
	uidAPI := e.binding("api", syncPool, "api", 124)
	e.pods("web", readyPod("w1", "10.5.0.1"), readyPod("w2", "10.5.0.2"))
	e.pods("api", readyPod("a1", "10.5.1.1"))
	e.waitSlices("web", "10.5.0.1:8080", "10.5.0.2:8080")
	e.waitSlices("api", "10.5.1.1:9090")
	// One binding per run, so each sees the other's members in a known state.
	wantLine(t, e.sync("b1"), 0, "poolbinding/b1: +2 -0 =0 foreign=0")
	wantLine(t, e.sync("api"), 0, "poolbinding/api: +1 -0 =0 foreign=2")
	old := owned(markerOf(e.ns, "b1", uid1), "10.5.0.1:8080", "10.5.0.2:8080")
	api := owned(markerOf(e.ns, "api", uidAPI), "10.5.1.1:9090")
	e.wantPool(syncPool, merge(old, api))

	// Delete and re-create b1; w2 goes away meanwhile.
	mustSucceed(t, ccictl(t, "delete", "plb", "-n", e.ns, "b1"))
	uid2 := e.binding("b1", syncPool, "web", 123)
	if uid2 == uid1 {
		t.Fatalf("re-created binding kept uid %s", uid1)
	}
	e.deletePod("w2", 0)
	e.waitServing("web", "10.5.0.1:8080")

	// Without the flag the orphans stay; 10.5.0.1 is held by an orphan so
	// nothing is added either.
	e.emu.ResetCounts()
	wantLine(t, e.sync("b1"), 0, "poolbinding/b1: +0 -0 =0 foreign=1 orphans=2")
	e.wantPool(syncPool, merge(old, api))
	e.wantCalls(1, 1, 0, 0)

	// With it, the orphan at an undesired endpoint goes; the one at a
	// desired endpoint stays (removing it would drop live traffic), and the
	// live "api" binding's member is untouched.
	wantLine(t, e.sync("b1", "--prune-orphans"), 0, "poolbinding/b1: +0 -1 =0 foreign=1 orphans=2")
	e.wantPool(syncPool, merge(owned(markerOf(e.ns, "b1", uid1), "10.5.0.1:8080"), api))
	// For the api binding that member is an orphan at an endpoint it does
	// not want, so its --prune-orphans pass removes it.
	wantLine(t, e.sync("api", "--prune-orphans"), 0, "poolbinding/api: +0 -1 =1 foreign=0 orphans=1")
	e.wantPool(syncPool, api)
	// Now b1 adds its endpoint under its own marker.
	wantLine(t, e.sync("b1"), 0, "poolbinding/b1: +1 -0 =0 foreign=1")
	e.wantPool(syncPool, merge(api, owned(markerOf(e.ns, "b1", uid2), "10.5.0.1:8080")))
}

// TestSyncPoolConstraint: the pool of the Service's own load balancer is
// refused: exit 1, reported on the binding, nothing written to the ELB.
func TestSyncPoolConstraint(t *testing.T) {
	e := newSyncEnv(t, "sync-constraint")
	e.pool(syncPool, "lb-of-the-service")
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, map[string]string{"kubernetes.io/elb.id": "lb-of-the-service"})
	e.binding("b1", syncPool, "web", 123)
	e.pods("web", readyPod("p1", "10.6.0.1"))
	e.waitSlices("web", "10.6.0.1:8080")
	e.emu.ResetCounts()
	r := e.sync()
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: PoolConstraintViolated: ") {
		t.Errorf("constraint violation: %s", r)
	}
	e.wantCalls(1, 0, 0, 0)
	e.wantPool(syncPool, map[string]string{})
	if st := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].status} {.status.conditions[?(@.type=="Synced")].reason}`); st != "False PoolConstraintViolated" {
		t.Errorf("Synced condition = %q", st)
	}
}

// TestSyncServiceMissing: with the Service gone nothing is removed (and
// the ELB is not even called), exit 1.
func TestSyncServiceMissing(t *testing.T) {
	e := newSyncEnv(t, "sync-nosvc")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	e.pods("web", readyPod("p1", "10.7.0.1"), readyPod("p2", "10.7.0.2"))
	e.waitSlices("web", "10.7.0.1:8080", "10.7.0.2:8080")
	mustSucceed(t, e.sync())
	want := owned(markerOf(e.ns, "b1", uid), "10.7.0.1:8080", "10.7.0.2:8080")

	mustSucceed(t, ccictl(t, "delete", "svc", "-n", e.ns, "web"))
	e.emu.ResetCounts()
	r := e.sync()
	if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/b1:") || !strings.Contains(r.Stdout, "blocked: ServiceNotFound") {
		t.Errorf("service missing: %s", r)
	}
	e.wantCalls(0, 0, 0, 0)
	e.wantPool(syncPool, want)
	// --allow-empty does not change that: a missing Service is not "empty".
	if r := e.sync("--allow-empty"); r.Code != 1 {
		t.Errorf("service missing with --allow-empty: %s", r)
	}
	e.wantPool(syncPool, want)
	if st := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].reason} {.status.registeredMembers}`); st != "ServiceNotFound 2" {
		t.Errorf("status = %q, want reason ServiceNotFound and the last known registered count", st)
	}
}

// TestSyncEmptyEndpoints: no ready endpoint empties the pool only with
// --allow-empty.
func TestSyncEmptyEndpoints(t *testing.T) {
	e := newSyncEnv(t, "sync-empty")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	e.pods("web", readyPod("p1", "10.8.0.1"), readyPod("p2", "10.8.0.2"))
	e.waitSlices("web", "10.8.0.1:8080", "10.8.0.2:8080")
	mustSucceed(t, e.sync())
	want := owned(markerOf(e.ns, "b1", uid), "10.8.0.1:8080", "10.8.0.2:8080")

	e.setPodStatus("p1", "10.8.0.1", false)
	e.deletePod("p2", 0)
	e.waitServing("web")
	e.emu.ResetCounts()
	r := e.sync()
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: EmptyRefused: ") {
		t.Errorf("empty without --allow-empty: %s", r)
	}
	e.wantCalls(1, 1, 0, 0)
	e.wantPool(syncPool, want)
	if st := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].reason}`); st != "EmptyRefused" {
		t.Errorf("Synced reason = %q", st)
	}
	// A dry run shows the refusal too.
	if r := e.sync("--dry-run", "--exit-code"); r.Code != 1 {
		t.Errorf("dry run of a refused empty: %s", r)
	}

	wantLine(t, e.sync("--allow-empty"), 0, "poolbinding/b1: +0 -2 =0 foreign=0")
	e.wantPool(syncPool, map[string]string{})
	// An empty pool and nothing desired is in sync.
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -0 =0 foreign=0")
	e.wantCalls(1, 1, 0, 0)
}

// TestSyncDryRunAndExitCodes: --dry-run prints the plan and changes
// nothing; exit 0, 2 with --exit-code when there are changes, 0 when none,
// 1 on an error; -o json parses and matches the pool.
func TestSyncDryRunAndExitCodes(t *testing.T) {
	e := newSyncEnv(t, "sync-dryrun")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	e.pods("web", readyPod("p1", "10.9.0.1"), readyPod("p2", "10.9.0.2"))
	e.waitSlices("web", "10.9.0.1:8080", "10.9.0.2:8080")

	e.emu.ResetCounts()
	wantLine(t, e.sync("--dry-run"), 0, "poolbinding/b1: +2 -0 =0 foreign=0 (dry run)")
	wantLine(t, e.sync("--dry-run", "--exit-code"), 2, "poolbinding/b1: +2 -0 =0 foreign=0 (dry run)")
	e.wantCalls(2, 2, 0, 0) // reads only
	e.wantPool(syncPool, map[string]string{})
	if st := e.jsonpath("b1", "{.status}"); st != "" {
		t.Errorf("a dry run wrote status: %s", st)
	}

	// The dry-run JSON plan names exactly what a real pass then adds.
	r := e.sync("--dry-run", "-o", "json")
	var plan struct {
		Kind    string
		DryRun  bool
		Results []struct {
			Binding, State string
			Plan           struct {
				ToAdd []struct {
					Name, Address string
					Port          int32
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &plan); err != nil || r.Code != 0 {
		t.Fatalf("dry-run -o json: %v\n%s", err, r)
	}
	if plan.Kind != "SyncReport" || !plan.DryRun || len(plan.Results) != 1 || plan.Results[0].State != "Pending" || len(plan.Results[0].Plan.ToAdd) != 2 {
		t.Errorf("dry-run report: %+v", plan)
	}

	r = e.sync("-o", "json")
	var rep struct {
		Kind    string `json:"kind"`
		DryRun  bool   `json:"dryRun"`
		Results []struct {
			Binding    string `json:"binding"`
			PoolID     string `json:"poolId"`
			State      string `json:"state"`
			Added      int    `json:"added"`
			Removed    int    `json:"removed"`
			Desired    int    `json:"desired"`
			Registered int    `json:"registered"`
		} `json:"results"`
		Summary struct{ Bindings, InSync, Added int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 0 {
		t.Fatalf("-o json: %v\n%s", err, r)
	}
	got := rep.Results[0]
	if rep.DryRun || got.Binding != e.ns+"/b1" || got.PoolID != syncPool || got.State != "Synced" ||
		got.Added != 2 || got.Removed != 0 || got.Desired != 2 || got.Registered != 2 ||
		rep.Summary.Bindings != 1 || rep.Summary.InSync != 1 || rep.Summary.Added != 2 {
		t.Errorf("-o json report: %s", r.Stdout)
	}
	want := owned(marker, "10.9.0.1:8080", "10.9.0.2:8080")
	e.wantPool(syncPool, want)
	for _, a := range plan.Results[0].Plan.ToAdd {
		if want[fmt.Sprintf("%s:%d", a.Address, a.Port)] != a.Name {
			t.Errorf("planned add %+v is not in the pool as planned", a)
		}
	}

	// In sync: the dry run with --exit-code exits 0; -o yaml works too.
	wantLine(t, e.sync("--dry-run", "--exit-code"), 0, "poolbinding/b1: +0 -0 =2 foreign=0")
	if r := e.sync("--dry-run", "-o", "yaml"); r.Code != 0 || !strings.Contains(r.Stdout, "kind: SyncReport\n") || !strings.Contains(r.Stdout, "state: InSync") {
		t.Errorf("-o yaml: %s", r)
	}
	// Exit 1: a binding whose pool does not exist, next to one that is fine.
	e.binding("b2", "11111111-2222-3333-4444-555555555555", "web", 123)
	r = e.sync("--dry-run", "--exit-code")
	if r.Code != 1 || !strings.Contains(r.Stdout, "poolbinding/b1: +0 -0 =2 foreign=0\n") || !strings.Contains(r.Stdout, "poolbinding/b2: +0 -0 =0 foreign=0 failed: PoolNotFound") {
		t.Errorf("one binding failing: %s", r)
	}
	// Usage errors.
	if r := e.sync("--exit-code"); r.Code != 1 || !strings.Contains(r.Stderr, "--exit-code only applies to --dry-run") {
		t.Errorf("--exit-code without --dry-run: %s", r)
	}
}

// TestSyncConcurrentPasses: two processes syncing the same binding at once
// (slow ELB so they overlap) leave every endpoint exactly once.
func TestSyncConcurrentPasses(t *testing.T) {
	e := newSyncEnv(t, "sync-concurrent")
	e.pool(syncPool)
	e.manualSlice("web", 123, 8080, addrs("10.10", 0, 300))
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	mustSucceed(t, e.sync())
	// Replace half of the endpoints so both passes add and remove.
	next := append(addrs("10.10", 0, 150), addrs("10.11", 0, 250)...)
	e.manualSlice("web", 123, 8080, next)
	e.emu.SetLatency(50 * time.Millisecond)

	var outs, errs [2]bytes.Buffer
	cmds := []*exec.Cmd{e.start(&outs[0], &errs[0]), e.start(&outs[1], &errs[1])}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("pass %d: %v\n%s%s", i, err, outs[i].String(), errs[i].String())
		}
	}
	e.wantPool(syncPool, owned(marker, withPort(next, 8080)...))
	e.emu.SetLatency(0)
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -0 =400 foreign=0")
}

// TestSyncFaults: throttling and 5xx answers are retried and the pool ends
// exactly as desired.
func TestSyncFaults(t *testing.T) {
	for _, tc := range []struct {
		name, ns string
		faults   elbemulator.Faults
		op       string
	}{
		{"throttle", "sync-throttle", elbemulator.Faults{ThrottleEvery: 3}, elbemulator.OpThrottled},
		{"5xx", "sync-5xx", elbemulator.Faults{FailEvery: 2}, elbemulator.OpFaulted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSyncEnv(t, tc.ns)
			e.pool(syncPool)
			e.manualSlice("web", 123, 8080, addrs("10.12", 0, 450))
			uid := e.binding("b1", syncPool, "web", 123)
			marker := markerOf(e.ns, "b1", uid)
			e.emu.SetFaults(tc.faults)
			wantLine(t, e.sync(), 0, "poolbinding/b1: +450 -0 =0 foreign=0")
			e.wantPool(syncPool, owned(marker, withPort(addrs("10.12", 0, 450), 8080)...))

			e.manualSlice("web", 123, 8080, addrs("10.12", 200, 450))
			wantLine(t, e.sync(), 0, "poolbinding/b1: +200 -200 =250 foreign=0")
			e.wantPool(syncPool, owned(marker, withPort(addrs("10.12", 200, 450), 8080)...))
			if n := e.emu.Counts()[tc.op]; n == 0 {
				t.Errorf("no call answered by the fault (%s); the test did not exercise retries", tc.op)
			}
		})
	}
}

// TestSyncKilledMidway: a pass SIGKILLed between its batch calls leaves
// every old member (adds come first) and the next pass converges.
func TestSyncKilledMidway(t *testing.T) {
	e := newSyncEnv(t, "sync-killed")
	e.pool(syncPool)
	old := addrs("10.13", 0, 300)
	e.manualSlice("web", 123, 8080, old)
	uid := e.binding("b1", syncPool, "web", 123)
	marker := markerOf(e.ns, "b1", uid)
	mustSucceed(t, e.sync())

	next := addrs("10.14", 0, 600) // 3 adds, then 2 deletes
	e.manualSlice("web", 123, 8080, next)
	e.emu.SetLatency(500 * time.Millisecond)
	e.emu.ResetCounts()
	var out, errb bytes.Buffer
	cmd := e.start(&out, &errb)
	deadline := time.Now().Add(30 * time.Second)
	for e.emu.Counts()[elbemulator.OpBatchAddMembers] < 1 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("first batch-add never happened\n%s%s", out.String(), errb.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if cmd.ProcessState.Success() {
		t.Fatalf("the pass finished before it was killed\n%s", out.String())
	}
	// Let a batch the emulator was already applying finish; the next one,
	// still in its latency, was dropped with the connection.
	time.Sleep(100 * time.Millisecond)
	got := e.members(syncPool)
	added := 0
	for _, a := range next {
		if _, ok := got[a+":8080"]; ok {
			added++
		}
	}
	for _, a := range old {
		if _, ok := got[a+":8080"]; !ok {
			t.Errorf("old member %s removed before every add was done", a)
		}
	}
	if added < 200 || added >= 600 {
		t.Fatalf("killed pass added %d of 600; expected it to stop midway", added)
	}

	e.emu.SetLatency(0)
	wantLine(t, e.sync(), 0, fmt.Sprintf("poolbinding/b1: +%d -300 =%d foreign=0", 600-added, added))
	e.wantPool(syncPool, owned(marker, withPort(next, 8080)...))
}

// TestSyncCallCounts: one pass costs 1 GetPool + ⌈max(M,1)/2000⌉ lists +
// ⌈A/200⌉ adds + ⌈D/200⌉ deletes, M being the members before the pass; a
// pass with nothing to change makes no write.
func TestSyncCallCounts(t *testing.T) {
	e := newSyncEnv(t, "sync-calls")
	e.pool(syncPool)
	// 2100 foreign members: two pages.
	for i, a := range addrs("172.16", 0, 2100) {
		if _, err := e.emu.AddMemberDirect(syncPool, elb.Member{Name: "other-" + strconv.Itoa(i), Address: a, ProtocolPort: 80}); err != nil {
			t.Fatal(err)
		}
	}
	e.manualSlice("web", 123, 8080, addrs("10.15", 0, 450))
	uid := e.binding("b1", syncPool, "web", 123)
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +450 -0 =0 foreign=2100")
	e.wantCalls(1, 2, 3, 0) // M=2100, A=450

	e.manualSlice("web", 123, 8080, addrs("10.15", 0, 50))
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -400 =50 foreign=2100")
	e.wantCalls(1, 2, 0, 2) // M=2550, D=400

	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +0 -0 =50 foreign=2100")
	e.wantCalls(1, 2, 0, 0) // M=2150, nothing to write

	// A + D across several batches, next to a kept set.
	e.manualSlice("web", 123, 8080, append(addrs("10.15", 0, 50), addrs("10.16", 0, 201)...))
	e.emu.ResetCounts()
	wantLine(t, e.sync(), 0, "poolbinding/b1: +201 -0 =50 foreign=2100")
	e.wantCalls(1, 2, 2, 0) // M=2150, A=201
	e.wantPool(syncPool, merge(func() map[string]string {
		m := map[string]string{}
		for i, a := range addrs("172.16", 0, 2100) {
			m[a+":80"] = "other-" + strconv.Itoa(i)
		}
		return m
	}(), owned(markerOf(e.ns, "b1", uid), withPort(append(addrs("10.15", 0, 50), addrs("10.16", 0, 201)...), 8080)...)))
}

// TestSyncSecretsNotLogged: at -v=9 neither the ELB token nor the AK/SK
// secret (nor the cluster's bearer token) appears in the output.
func TestSyncSecretsNotLogged(t *testing.T) {
	e := newSyncEnv(t, "sync-secrets")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	e.binding("b1", syncPool, "web", 123)
	e.pods("web", readyPod("p1", "10.17.0.1"))
	e.waitSlices("web", "10.17.0.1:8080")

	r := e.sync("-v=9")
	if r.Code != 0 {
		t.Fatalf("token mode: %s", r)
	}
	if !strings.Contains(r.Stderr, "GET") {
		t.Errorf("-v=9 logged no request at all; the check below would prove nothing:\n%s", r.Stderr)
	}
	for _, secret := range []string{syncToken, cluster.Token} {
		if strings.Contains(r.Stdout+r.Stderr, secret) {
			t.Errorf("secret %q printed at -v=9:\n%s", secret[:6]+"…", r)
		}
	}

	// AK/SK mode: a second emulator that only accepts signed requests.
	const ak, sk = "E2EACCESSKEY0000AK01", "e2e-secret-key-9b7a5c3d1e0f2a4b6c8d"
	emu := elbemulator.New(elbemulator.Options{ProjectID: syncProject, AccessKey: ak, SecretKey: sk})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	emu.CreatePool(elb.Pool{ID: syncPool})
	e.emu, e.url = emu, srv.URL
	e.extraEnv = []string{"HW_ACCESS_KEY=" + ak, "HW_SECRET_KEY=" + sk}
	r = e.sync("-v=9")
	if r.Code != 0 || r.Stdout != "poolbinding/b1: +1 -0 =0 foreign=0\n" {
		t.Fatalf("AK/SK mode: %s", r)
	}
	if c := emu.Counts(); c[elbemulator.OpUnauthorized] != 0 || c[elbemulator.OpBatchAddMembers] != 1 {
		t.Errorf("AK/SK calls: %v", c)
	}
	if strings.Contains(r.Stdout+r.Stderr, sk) {
		t.Errorf("secret key printed at -v=9:\n%s", r)
	}
}
