package main_test

// End-to-end tests on the CCI 2.0 flavour of the local control plane: the
// cci/v2 API served through the aggregation layer, and ccictl as a CCI 2.0
// tenant, whose endpoint shows cci/v2, PoolBindings and Leases only (no
// core v1, no apps/v1, no EndpointSlices, no kube-system). The flavour is
// started once, by the first test that needs it, beside the Kubernetes one.
// Pods are made Running and Ready by the test, with the admin identity, as
// a kubelet would report them (the control plane has no kubelet).

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/bindingsource"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/testenv"
)

var cci2 struct {
	once   sync.Once
	c      *testenv.Cluster
	admin  kubernetes.Interface
	tenant string // the tenant's cliconfig
	err    error
}

// cci2Cluster starts the CCI 2.0 flavour once; stopCCI2 (TestMain) stops it.
func cci2Cluster(t *testing.T) *testenv.Cluster {
	t.Helper()
	cci2.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cci2.c, cci2.err = testenv.StartCCI2(ctx, filepath.Join(workDir, "cluster-cci2"))
		if cci2.err != nil {
			return
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", cci2.c.Kubeconfig)
		if err != nil {
			cci2.err = err
			return
		}
		if cci2.admin, cci2.err = kubernetes.NewForConfig(cfg); cci2.err != nil {
			return
		}
		// The node the test pods of syncEnv are bound to (the pod garbage
		// collector deletes pods of nodes that do not exist).
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: syncNode}}
		if _, err := cci2.admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			cci2.err = err
			return
		}
		cci2.tenant = cci2.c.CCI2.Kubeconfig
	})
	if cci2.err != nil {
		t.Fatalf("the CCI 2.0 flavour of the local control plane could not start: %v", cci2.err)
	}
	return cci2.c
}

func stopCCI2() {
	if cci2.c != nil {
		cci2.c.Stop()
	}
}

// tenant runs ccictl as the CCI 2.0 tenant.
func tenant(t *testing.T, args ...string) result {
	t.Helper()
	cci2Cluster(t)
	return runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cci2.tenant}, args...)...)
}

// tenantKubectl runs kubectl with the tenant's kubeconfig.
func tenantKubectl(t *testing.T, args ...string) result {
	t.Helper()
	cci2Cluster(t)
	return runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cci2.tenant}, args...)...)
}

// cci2Namespace creates a namespace the vendor's way (a cci/v2 manifest)
// and deletes it at the end of the test.
func cci2Namespace(t *testing.T, name string) {
	t.Helper()
	r := tenant(t, "create", "-f", writeFile(t, "ns.yaml", "apiVersion: cci/v2\nkind: Namespace\nmetadata:\n  name: "+name+"\n"))
	if r.Code != 0 || r.Stdout != "namespace.cci/"+name+" created\n" {
		t.Fatalf("create namespace: %s", r)
	}
	t.Cleanup(func() {
		zero := int64(0)
		_ = cci2.admin.CoreV1().Pods(name).DeleteCollection(context.Background(), metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
		tenant(t, "delete", "namespace", name, "--wait=false", "--ignore-not-found")
	})
}

// cci2SyncEnv is a syncEnv on the CCI 2.0 flavour: ccictl runs as the
// tenant, the test's own reads and pod statuses use the admin identity.
func cci2SyncEnv(t *testing.T, ns string, o elbemulator.Options) *syncEnv {
	t.Helper()
	cci2Cluster(t)
	cci2Namespace(t, ns)
	o.ProjectID, o.Token = syncProject, syncToken
	if o.MemberQuota == 0 {
		o.MemberQuota = 10000
	}
	emu := elbemulator.New(o)
	srv := httptestServer(t, emu)
	return &syncEnv{t: t, ns: ns, emu: emu, url: srv, kube: cci2.admin, config: cci2.tenant}
}

// cci2Apply creates manifests as the tenant.
func cci2Create(t *testing.T, name, manifest string) result {
	t.Helper()
	return mustSucceed(t, tenant(t, "create", "-f", writeFile(t, name, manifest)))
}

// publishReady stands in for a kubelet: every pod in ns matching selector
// is bound to no node, Running and Ready with the next IP of prefix
// (CCI 2.0 pods run on no node the tenant sees).
func publishReady(t *testing.T, ns, selector, ipPrefix string, want int) []string {
	t.Helper()
	var names []string
	eventuallyOK(t, 60*time.Second, fmt.Sprintf("%d pods %s in %s", want, selector, ns), func() bool {
		pods, err := cci2.admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		return err == nil && len(pods.Items) == want
	})
	pods, err := cci2.admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		ip := fmt.Sprintf("%s%d", ipPrefix, i+1)
		now := metav1.Now()
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &now,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			}}
		for _, c := range p.Spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true,
				Started: ptrTo(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
		}
		if _, err := cci2.admin.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("pod %s status: %v", p.Name, err)
		}
		names = append(names, ip)
	}
	return names
}

func ptrTo[T any](v T) *T { return &v }

func eventuallyOK(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	eventually(t, d, what, cond, func() string { return "" })
}

// cci2Marker is the ownership marker a tenant's sync writes: the cluster
// identity is derived from the endpoint (no kube-system to read, no IAM
// project with a token).
func cci2Marker(ns, name, uid string) string {
	return "ccictl:" + bindingsource.DerivedClusterID(cci2.c.CCI2.Server, "") + ":" + ns + "/" + name + ":" + uid
}

// The vendor's documents' manifests (seed 000 and the ccictl page: every
// CCI 2.0 object is cci/v2).
const cci2App = `apiVersion: cci/v2
kind: Deployment
metadata:
  name: test-name
  namespace: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels:
      app: test-name
  template:
    metadata:
      labels:
        app: test-name
    spec:
      containers:
      - name: web
        image: nginx:alpine
        ports:
        - name: http
          containerPort: 8080
---
apiVersion: cci/v2
kind: Service
metadata:
  name: test-name
  namespace: %[1]s
spec:
  selector:
    app: test-name
  ports:
  - name: http
    port: 123
    targetPort: http
`

const cci2Binding = `apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: %[2]s
  namespace: %[1]s
spec:
  poolRef:
    id: %[3]s
  targetRef:
    kind: Service
    group: cci/v2
    name: test-name
    port: 123
`

// TestCCI2Discovery: the tenant's client resolves CCI 2.0's resources to
// cci/v2 and sees no core v1, apps/v1 or EndpointSlice API, as kubectl does
// with the same config; kube-system is not the tenant's.
func TestCCI2Discovery(t *testing.T) {
	r := mustSucceed(t, tenant(t, "api-resources"))
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^services\s+svc\s+cci/v2\s+true\s+Service$`),
		regexp.MustCompile(`(?m)^pods\s+po\s+cci/v2\s+true\s+Pod$`),
		regexp.MustCompile(`(?m)^deployments\s+deploy\s+cci/v2\s+true\s+Deployment$`),
		regexp.MustCompile(`(?m)^replicasets\s+rs\s+cci/v2\s+true\s+ReplicaSet$`),
		regexp.MustCompile(`(?m)^namespaces\s+ns\s+cci/v2\s+false\s+Namespace$`),
		regexp.MustCompile(`(?m)^poolbindings\s+plb\s+loadbalancer.networking.openvessel.io/v1\s+true\s+PoolBinding$`),
	} {
		if !want.MatchString(r.Stdout) {
			t.Errorf("api-resources lacks %s:\n%s", want, r.Stdout)
		}
	}
	for _, not := range []string{"endpointslices", "endpoints ", " v1 ", "apps/v1", "nodes"} {
		if strings.Contains(r.Stdout, not) {
			t.Errorf("api-resources shows %q to the tenant:\n%s", not, r.Stdout)
		}
	}
	if k := mustSucceed(t, tenantKubectl(t, "api-resources")); k.Stdout != r.Stdout {
		t.Errorf("api-resources differs from kubectl's:\n%s\nkubectl:\n%s", r.Stdout, k.Stdout)
	}
	if r, k := tenant(t, "api-versions"), tenantKubectl(t, "api-versions"); r.Code != 0 || r.Stdout != k.Stdout || !strings.Contains(r.Stdout, "cci/v2\n") {
		t.Errorf("api-versions: %s\nkubectl: %s", r, k)
	}
	if r := tenant(t, "get", "endpointslices", "-A"); r.Code == 0 || !strings.Contains(r.Stderr, `the server doesn't have a resource type "endpointslices"`) {
		t.Errorf("get endpointslices: %s", r)
	}
	if r := tenant(t, "get", "pods", "-n", "kube-system"); r.Code == 0 || !strings.Contains(r.Stderr, "Forbidden") {
		t.Errorf("get pods -n kube-system: %s", r)
	}
	// A manifest written for core v1 fails, as the vendor's page says.
	r = tenant(t, "create", "--validate=ignore", "-f", writeFile(t, "v1.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: default\n"))
	if r.Code == 0 || !strings.Contains(r.Stderr, `no matches for kind "ConfigMap" in version "v1"`) {
		t.Errorf("create of a v1 manifest: %s", r)
	}
}

// TestCCI2SeedWorkflow is seed 000's workflow as a CCI 2.0 tenant runs it:
// the vendor's cci/v2 Deployment and Service, the PoolBinding created,
// listed, synced and deleted with ccictl; get, describe, wait and
// rollout status of the cci/v2 objects, compared with kubectl's output.
func TestCCI2SeedWorkflow(t *testing.T) {
	const ns = "cci2-seed"
	e := cci2SyncEnv(t, ns, elbemulator.Options{})
	e.pool(syncPool)

	r := cci2Create(t, "app.yaml", fmt.Sprintf(cci2App, ns))
	if r.Stdout != "deployment.cci/test-name created\nservice.cci/test-name created\n" {
		t.Errorf("create -f: %q", r.Stdout)
	}
	ips := publishReady(t, ns, "app=test-name", "10.20.0.", 2)

	if r := mustSucceed(t, tenant(t, "rollout", "status", "deployment/test-name", "-n", ns, "--timeout=60s")); !strings.Contains(r.Stdout, `deployment "test-name" successfully rolled out`) {
		t.Errorf("rollout status: %s", r)
	}
	if r := mustSucceed(t, tenant(t, "wait", "--for=condition=Available", "deployment/test-name", "-n", ns, "--timeout=60s")); r.Stdout != "deployment.cci/test-name condition met\n" {
		t.Errorf("wait: %s", r)
	}
	for _, args := range [][]string{
		{"get", "deployments,replicasets,pods,services", "-n", ns},
		{"get", "svc", "test-name", "-n", ns, "-o", "wide"},
		{"get", "deployments.v2.cci", "test-name", "-n", ns, "-o", "yaml"},
		{"get", "pods", "-n", ns, "-l", "app=test-name", "--field-selector", "status.phase=Running", "-o", "name"},
		{"describe", "service", "test-name", "-n", ns},
	} {
		c, k := mustSucceed(t, tenant(t, args...)), mustSucceed(t, tenantKubectl(t, args...))
		if maskAge(c.Stdout) != maskAge(k.Stdout) {
			t.Errorf("ccictl %v differs from kubectl's:\n%s\nkubectl:\n%s", args, c.Stdout, k.Stdout)
		}
	}
	y := mustSucceed(t, tenant(t, "get", "deploy", "test-name", "-n", ns, "-o", "yaml")).Stdout
	if !strings.HasPrefix(y, "apiVersion: cci/v2\nkind: Deployment\n") {
		t.Errorf("get -o yaml:\n%s", y)
	}
	owner := mustSucceed(t, tenant(t, "get", "pods", "-n", ns, "-o", "jsonpath={.items[0].metadata.ownerReferences[0].apiVersion} {.items[0].metadata.ownerReferences[0].kind}")).Stdout
	if owner != "cci/v2 ReplicaSet" {
		t.Errorf("pod owner %q, want cci/v2 ReplicaSet", owner)
	}

	// The PoolBinding, the vendor's commands.
	r = cci2Create(t, "poolbinding.yaml", fmt.Sprintf(cci2Binding, ns, "test-c1", syncPool))
	if r.Stdout != "poolbinding.loadbalancer.networking.openvessel.io/test-c1 created\n" {
		t.Errorf("create poolbinding: %q", r.Stdout)
	}
	uid := mustSucceed(t, tenant(t, "get", "poolbindings", "-n", ns, "test-c1", "-o", "jsonpath={.metadata.uid}")).Stdout
	if r := mustSucceed(t, tenant(t, "get", "poolbindings", "-n", ns, "-oyaml")); !strings.Contains(r.Stdout, "    group: cci/v2\n") {
		t.Errorf("get poolbindings -oyaml:\n%s", r.Stdout)
	}

	wantLine(t, e.sync(), 0, "poolbinding/test-c1: +2 -0 =0 foreign=0")
	marker := cci2Marker(ns, "test-c1", uid)
	e.wantPool(syncPool, owned(marker, ips[0]+":8080", ips[1]+":8080"))
	wantLine(t, e.sync(), 0, "poolbinding/test-c1: +0 -0 =2 foreign=0")
	if st := mustSucceed(t, tenant(t, "get", "plb", "test-c1", "-n", ns, "-o", `jsonpath={.status.registeredMembers} {.status.conditions[?(@.type=="Synced")].status}`)).Stdout; st != "2 True" {
		t.Errorf("status %q", st)
	}

	// Scale down through cci/v2: the next pass follows.
	mustSucceed(t, tenant(t, "scale", "deployment/test-name", "-n", ns, "--replicas=1"))
	eventuallyOK(t, 60*time.Second, "one pod left", func() bool {
		pods, err := cci2.admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=test-name"})
		if err != nil {
			return false
		}
		n := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				n++
			}
		}
		zero := int64(0)
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				_ = cci2.admin.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			}
		}
		return n == 1 && len(pods.Items) == 1
	})
	left := mustSucceed(t, tenant(t, "get", "pods", "-n", ns, "-o", "jsonpath={.items[0].status.podIP}")).Stdout
	wantLine(t, e.sync(), 0, "poolbinding/test-c1: +0 -1 =1 foreign=0")
	e.wantPool(syncPool, owned(marker, left+":8080"))

	if r := mustSucceed(t, tenant(t, "delete", "poolbindings", "-n", ns, "test-c1")); r.Stdout != `poolbinding.loadbalancer.networking.openvessel.io "test-c1" deleted from `+ns+" namespace\n" {
		t.Errorf("delete poolbindings: %q", r.Stdout)
	}
	if r := mustSucceed(t, tenant(t, "delete", "-f", writeFile(t, "app.yaml", fmt.Sprintf(cci2App, ns)))); r.Stdout != `deployment.cci "test-name" deleted from `+ns+" namespace\n"+`service.cci "test-name" deleted from `+ns+" namespace\n" {
		t.Errorf("delete -f: %q", r.Stdout)
	}
}

// TestCCI2ApplyAndConflicts: apply (client- and server-side, dry-run), a
// stale update refused with the server's conflict, and validation of cci/v2
// manifests, on the cci/v2 API.
func TestCCI2ApplyAndConflicts(t *testing.T) {
	const ns = "cci2-apply"
	cci2Cluster(t)
	cci2Namespace(t, ns)
	cm := func(v string) string {
		return fmt.Sprintf("apiVersion: cci/v2\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: %s\ndata:\n  mode: %s\n", ns, v)
	}
	if r := mustSucceed(t, tenant(t, "apply", "-f", writeFile(t, "cm.yaml", cm("a")))); r.Stdout != "configmap.cci/settings created\n" {
		t.Errorf("apply: %q", r.Stdout)
	}
	if r := mustSucceed(t, tenant(t, "apply", "-f", writeFile(t, "cm.yaml", cm("b")), "--dry-run=server")); r.Stdout != "configmap.cci/settings configured (server dry run)\n" {
		t.Errorf("apply --dry-run=server: %q", r.Stdout)
	}
	if v := mustSucceed(t, tenant(t, "get", "cm", "settings", "-n", ns, "-o", "jsonpath={.data.mode}")).Stdout; v != "a" {
		t.Errorf("after a dry run mode=%q", v)
	}
	if r := mustSucceed(t, tenant(t, "apply", "-f", writeFile(t, "cm.yaml", cm("b")))); r.Stdout != "configmap.cci/settings configured\n" {
		t.Errorf("apply again: %q", r.Stdout)
	}
	if r := mustSucceed(t, tenant(t, "apply", "--server-side", "--force-conflicts", "-f", writeFile(t, "cm.yaml", cm("c")))); r.Stdout != "configmap.cci/settings serverside-applied\n" {
		t.Errorf("apply --server-side: %q", r.Stdout)
	}
	if v := mustSucceed(t, tenant(t, "get", "cm", "settings", "-n", ns, "-o", "jsonpath={.data.mode}")).Stdout; v != "c" {
		t.Errorf("after server-side apply mode=%q", v)
	}
	// An update from a stale read: the server's conflict, naming cci.
	stale := strings.Replace(mustSucceed(t, tenant(t, "get", "cm", "settings", "-n", ns, "-o", "yaml")).Stdout, "mode: c", "mode: d", 1)
	mustSucceed(t, tenant(t, "label", "cm", "settings", "-n", ns, "touched=yes"))
	r := tenant(t, "replace", "-f", writeFile(t, "stale.yaml", stale))
	if r.Code == 0 || !strings.Contains(r.Stderr, `Operation cannot be fulfilled on configmaps.cci "settings": the object has been modified`) {
		t.Errorf("replace from a stale read: %s", r)
	}

	// Validation knows cci/v2 kinds: the vendor's manifests pass, an
	// apps/v1 Deployment is flagged for CCI 2.0.
	good := writeFile(t, "app.yaml", fmt.Sprintf(cci2App, ns))
	if r := tenant(t, "validate", "-f", good, "--platform=cci", "--strict"); r.Code != 0 {
		t.Errorf("validate of the vendor's cci/v2 manifests: %s", r)
	}
	bad := writeFile(t, "apps.yaml", strings.Replace(fmt.Sprintf(cci2App, ns), "apiVersion: cci/v2\nkind: Deployment", "apiVersion: apps/v1\nkind: Deployment", 1))
	if r := tenant(t, "validate", "-f", bad, "--platform=cci", "--strict"); r.Code != 1 || !strings.Contains(r.Stdout, `Deployment on CCI 2.0 uses apiVersion cci/v2, not "apps/v1"`) {
		t.Errorf("validate of an apps/v1 Deployment: %s", r)
	}
}

// TestCCI2SyncPodsNamedPortsZones: sync as a CCI 2.0 tenant reads cci/v2
// Services and Pods (there are no EndpointSlices), maps a named targetPort
// per pod, and scopes zone bindings by the pods' zone label (pods have no
// node the tenant sees).
func TestCCI2SyncPodsNamedPortsZones(t *testing.T) {
	const ns = "cci2-zones"
	e := cci2SyncEnv(t, ns, elbemulator.Options{})
	e.pool(zonePoolA)
	e.pool(zonePoolB)
	cci2Create(t, "svc.yaml", fmt.Sprintf(`apiVersion: cci/v2
kind: Service
metadata:
  name: web
  namespace: %s
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: web}
`, ns))
	port := func(p int32) []corev1.ContainerPort {
		return []corev1.ContainerPort{{Name: "web", ContainerPort: p, Protocol: corev1.ProtocolTCP}}
	}
	zone := func(z string) map[string]string { return map[string]string{"app": "web", lbv1.ZoneLabel: z} }
	for _, p := range []struct {
		name, ip string
		labels   map[string]string
		port     int32
	}{
		{"a1", "10.21.0.1", zone("cn-north-4a"), 8080},
		{"a2", "10.21.0.2", zone("cn-north-4a"), 9090},
		{"b1", "10.21.0.3", zone("cn-north-4b"), 8080},
		{"nowhere", "10.21.0.4", map[string]string{"app": "web"}, 8080},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: ns, Labels: p.labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", Ports: port(p.port)}}}}
		if _, err := e.kube.CoreV1().Pods(ns).Create(e.ctx(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.setPodStatus(p.name, p.ip, true)
	}
	uidA := e.zonedBindingAs(cci2.tenant, "a", zonePoolA, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4a"})
	uidB := e.zonedBindingAs(cci2.tenant, "b", zonePoolB, "web", 80, map[string]string{lbv1.ZonesAnnotation: "cn-north-4b"})

	r := mustSucceed(t, e.sync())
	if want := "poolbinding/a: +2 -0 =0 foreign=0 unknown-zone=1\npoolbinding/b: +1 -0 =0 foreign=0 unknown-zone=1\n"; r.Stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.Stdout, want)
	}
	if !strings.Contains(r.Stderr, "zone-scoped bindings take the zone from the pods' "+lbv1.ZoneLabel+" label") {
		t.Errorf("no warning that Nodes cannot be read: %s", r.Stderr)
	}
	e.wantPool(zonePoolA, owned(cci2Marker(ns, "a", uidA), "10.21.0.1:8080", "10.21.0.2:9090"))
	e.wantPool(zonePoolB, owned(cci2Marker(ns, "b", uidB), "10.21.0.3:8080"))

	// An explicit --cluster-id re-marks the members (same binding uid),
	// removing none.
	e.emu.ResetCounts()
	r = mustSucceed(t, e.sync("a", "--cluster-id", "tenant-blue"))
	if r.Stdout != "poolbinding/a: +0 -0 =2 foreign=0 unknown-zone=1 remarked=2\n" {
		t.Errorf("with --cluster-id: %s", r)
	}
	e.wantPool(zonePoolA, owned("ccictl:tenant-blue:"+ns+"/a:"+uidA, "10.21.0.1:8080", "10.21.0.2:9090"))
	e.wantCallsUpd(1, 1, 0, 1, 0)
}

// zonedBindingAs is zonedBinding with the given cliconfig.
func (e *syncEnv) zonedBindingAs(cfg, name, poolID, svc string, port int32, annotations map[string]string) string {
	e.t.Helper()
	var ann strings.Builder
	for k, v := range annotations {
		fmt.Fprintf(&ann, "    %s: %q\n", k, v)
	}
	m := fmt.Sprintf("apiVersion: loadbalancer.networking.openvessel.io/v1\nkind: PoolBinding\nmetadata:\n  name: %s\n  namespace: %s\n  annotations:\n%sspec:\n  poolRef:\n    id: %s\n  targetRef:\n    kind: Service\n    group: cci/v2\n    name: %s\n    port: %d\n",
		name, e.ns, ann.String(), poolID, svc, port)
	mustSucceed(e.t, runIn(e.t, "", nil, ccictlBin, "--cliconfig", cfg, "create", "-f", writeFile(e.t, name+".yaml", m)))
	return mustSucceed(e.t, runIn(e.t, "", nil, ccictlBin, "--cliconfig", cfg, "get", "plb", "-n", e.ns, name, "-o", "jsonpath={.metadata.uid}")).Stdout
}

// TestCCI2SyncWatch: sync --watch as a CCI 2.0 tenant, leader-elected on a
// Lease: its informers list and watch cci/v2 Services and Pods, it adds its
// finalizer, follows pods, opens readiness gates by patching cci/v2 pod
// status once the member is ONLINE, and on deletion removes the members
// and the finalizer; one-shot and watch agree on the cluster identity.
func TestCCI2SyncWatch(t *testing.T) {
	const ns = "cci2-watch"
	e := cci2SyncEnv(t, ns, elbemulator.Options{HealthDelay: time.Second})
	e.emu.CreatePool(elb.Pool{ID: syncPool, Name: "gated", HealthmonitorID: "hm-1"})
	cci2Create(t, "svc.yaml", fmt.Sprintf("apiVersion: cci/v2\nkind: Service\nmetadata:\n  name: web\n  namespace: %s\nspec:\n  selector: {app: web}\n  ports:\n  - {port: 80, targetPort: 8080}\n", ns))
	e.pods("web", readyPod("plain", "10.22.0.1"))
	uid := e.zonedBindingAs(cci2.tenant, "b1", syncPool, "web", 80, nil)
	marker := cci2Marker(ns, "b1", uid)

	w := e.watch("--leader-elect")
	eventually(t, 60*time.Second, "the leader's first pass", func() bool {
		return len(e.members(syncPool)) == 1 && e.members(syncPool)["10.22.0.1:8080"] == marker
	}, w.logged)
	if fin := mustSucceed(t, tenant(t, "get", "plb", "b1", "-n", ns, "-o", "jsonpath={.metadata.finalizers}")).Stdout; !strings.Contains(fin, "loadbalancer.networking.openvessel.io") {
		t.Errorf("finalizers %q", fin)
	}
	lease, err := cci2.admin.CoordinationV1().Leases(ns).Get(e.ctx(), "ccictl-sync", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("leader-election Lease: %v %+v", err, lease)
	}

	// A gated pod: registered, its gate opened on cci/v2 pod status.
	e.gatedPods("web", "b1", "10.22.0.2")
	gate := corev1.PodConditionType(lbv1.ReadinessGateConditionType("b1"))
	eventually(t, 60*time.Second, "the gate opened", func() bool {
		c := e.podCondition("web-gated-1", gate)
		return c != nil && c.Status == corev1.ConditionTrue
	}, w.logged)
	e.wantPool(syncPool, owned(marker, "10.22.0.1:8080", "10.22.0.2:8080"))
	// The controller's Events are written as cci/v2 events, which the
	// tenant reads like any other.
	eventually(t, 30*time.Second, "a Synced Event on the binding", func() bool {
		r := tenant(t, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=b1", "-o", "jsonpath={range .items[*]}{.apiVersion} {.reason} {.involvedObject.kind}{\"\\n\"}{end}")
		return r.Code == 0 && strings.Contains(r.Stdout, "cci/v2 Synced PoolBinding\n")
	}, w.logged)
	if strings.Contains(w.logged(), "Server rejected event") {
		t.Errorf("an Event was refused:\n%s", w.logged())
	}
	if !strings.Contains(w.logged(), `"clusterID":"`+bindingsource.DerivedClusterID(cci2.c.CCI2.Server, "")+`"`) {
		t.Errorf("the controller logs another cluster identity:\n%s", w.logged())
	}

	// A pod no longer ready leaves the pool.
	e.setPodStatus("plain", "10.22.0.1", false)
	eventually(t, 60*time.Second, "the unready pod removed", func() bool {
		_, ok := e.members(syncPool)["10.22.0.1:8080"]
		return !ok
	}, w.logged)

	// Deleting the binding removes its members, then its finalizer.
	mustSucceed(t, tenant(t, "delete", "plb", "b1", "-n", ns, "--wait=false"))
	eventually(t, 60*time.Second, "the binding gone with its members", func() bool {
		_, err := cci2.admin.CoreV1().RESTClient().Get().AbsPath("/apis/loadbalancer.networking.openvessel.io/v1/namespaces", ns, "poolbindings", "b1").DoRaw(e.ctx())
		return apierrors.IsNotFound(err) && len(e.members(syncPool)) == 0
	}, w.logged)
	if code, body := w.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d %s", code, body)
	}
	if err, _ := w.stop(); err != nil {
		t.Errorf("sync --watch exit: %v\n%s", err, w.logged())
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
