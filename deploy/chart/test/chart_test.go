package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/openvessel/ccictl/deploy/chart/test/chartrender"
	"github.com/openvessel/ccictl/internal/manifests"
	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server the chart is applied to.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

// variant is one install of the chart: a release name, its namespace and
// the values given (nil: the defaults).
type variant struct {
	name, release, namespace string
	values                   map[string]any
}

// watchNamespace is the namespace the variant's controller watches; "" for
// every namespace.
func (v variant) watchNamespace() string {
	s, _ := v.values["watchNamespace"].(string)
	return s
}

func (v variant) clusterID() string {
	s, _ := v.values["clusterID"].(string)
	return s
}

func (v variant) serviceAccount() string {
	if sa, ok := v.values["serviceAccount"].(map[string]any); ok && sa["name"] != nil {
		return sa["name"].(string)
	}
	if strings.Contains(v.release, "ccictl") {
		return v.release
	}
	return v.release + "-ccictl"
}

// variants cover every switch of values.yaml that changes an object or the
// RBAC: scope (every namespace, one namespace with and without a cluster
// ID), leader election, metrics and ServiceMonitor, placement, extra args,
// resources, credentials, image and ServiceAccount names.
var variants = []variant{
	{name: "defaults", release: "ccictl", namespace: "ccictl-system"},
	{name: "one namespace, cluster ID given", release: "shop-lb", namespace: "shop-lb-system", values: map[string]any{
		"watchNamespace": "shop", "clusterID": "prod-east",
	}},
	{name: "one namespace, cluster ID from kube-system", release: "team", namespace: "team-ops", values: map[string]any{
		"watchNamespace": "team-apps",
	}},
	{name: "one replica without leader election", release: "solo", namespace: "solo-system", values: map[string]any{
		"replicas": 1, "leaderElection": map[string]any{"enabled": false},
		"metrics": map[string]any{"annotations": false, "service": map[string]any{"enabled": false}},
	}},
	{name: "everything changed", release: "edge", namespace: "edge-system", values: map[string]any{
		"replicas":    3,
		"image":       map[string]any{"repository": "registry.example.com/mirror/ccictl", "tag": "v0.2.0", "pullPolicy": "Always"},
		"clusterID":   "edge-1",
		"credentials": map[string]any{"secretName": "elb-edge"},
		"metrics": map[string]any{"port": 9090, "serviceMonitor": map[string]any{
			"enabled": true, "interval": "15s", "labels": map[string]any{"release": "kube-prometheus"}}},
		"resources":    map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "512Mi"}},
		"goMemLimit":   "380MiB",
		"extraArgs":    []any{"--resync-period=10m", "--wait-healthy"},
		"extraEnv":     []any{map[string]any{"name": "GODEBUG", "value": "madvdontneed=1"}},
		"nodeSelector": map[string]any{"kubernetes.io/os": "linux", "node-role.example.com/infra": "true"},
		"tolerations":  []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}},
		"affinity": map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
			"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{
				"key": "kubernetes.io/arch", "operator": "In", "values": []any{"amd64", "arm64"}}}}}}}},
		"spreadAcrossNodes":   false,
		"podAnnotations":      map[string]any{"example.com/team": "platform"},
		"podLabels":           map[string]any{"example.com/cost-center": "net"},
		"podDisruptionBudget": map[string]any{"minAvailable": 2},
		"serviceAccount":      map[string]any{"name": "elb-controller", "annotations": map[string]any{"example.com/owner": "platform"}},
		"imagePullSecrets":    []any{map[string]any{"name": "mirror-pull"}},
	}},
}

func kubectl(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return manifests.Kubectl(t, cluster.Kubeconfig, stdin, args...)
}

var (
	toYAML = manifests.ToYAML
	pick   = manifests.Pick
)

func objects(t *testing.T, rendered string) []*unstructured.Unstructured {
	t.Helper()
	return manifests.Objects(t, []byte(rendered))
}

// render installs v client-only and returns its objects and NOTES.txt.
func render(t *testing.T, v variant) ([]*unstructured.Unstructured, string) {
	t.Helper()
	rel, err := chartrender.Install(v.release, v.namespace, v.values)
	if err != nil {
		t.Fatalf("%s: render: %v", v.name, err)
	}
	return objects(t, rel.Manifest), rel.Info.Notes
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	ds := pick(objs, "Deployment")
	if len(ds) != 1 {
		t.Fatalf("%d Deployments rendered, want 1", len(ds))
	}
	y, err := yaml.Marshal(ds[0].Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(y, &d); err != nil {
		t.Fatalf("the Deployment does not decode: %v", err)
	}
	return d
}

// TestChartLints: Helm's own linter (what `helm lint --strict` runs) finds
// nothing above INFO for any variant.
func TestChartLints(t *testing.T) {
	dir, err := chartrender.ChartDir()
	if err != nil {
		t.Fatal(err)
	}
	kv, err := chartutil.ParseKubeVersion(chartrender.KubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		linter := lint.AllWithKubeVersion(dir, v.values, v.namespace, kv)
		for _, m := range linter.Messages {
			if m.Severity > support.InfoSev {
				t.Errorf("%s: helm lint: %s", v.name, m)
			}
		}
	}
	// The linter is live: a values file that breaks the schema is an error.
	linter := lint.AllWithKubeVersion(dir, map[string]any{"replicas": "two"}, "x", kv)
	if linter.HighestSeverity < support.ErrorSev {
		t.Errorf("helm lint accepted replicas: \"two\": %v", linter.Messages)
	}
}

// TestChartRefusesValuesItCannotHonour: values whose RBAC or behaviour the
// chart cannot make right are refused with the value named.
func TestChartRefusesValuesItCannotHonour(t *testing.T) {
	for _, tc := range []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{"leaderElection": map[string]any{"enabled": false}}, "replicas=2 needs leaderElection.enabled=true"},
		{map[string]any{"extraArgs": []any{"--lock-namespace=shop"}}, `extraArgs "--lock-namespace=shop"`},
		{map[string]any{"extraArgs": []any{"-A"}}, `extraArgs "-A"`},
		{map[string]any{"extraArgs": []any{"-nshop"}}, `extraArgs "-nshop": give flags in their long form`},
		{map[string]any{"extraArgs": []any{"--all-namespaces=true"}}, `extraArgs "--all-namespaces=true"`},
		{map[string]any{"extraArgs": []any{"--leader-elect-namespace=kube-system"}}, "--leader-elect-namespace"},
		{map[string]any{"metrics": map[string]any{"service": map[string]any{"enabled": false}, "serviceMonitor": map[string]any{"enabled": true}}}, "metrics.serviceMonitor.enabled=true needs metrics.service.enabled=true"},
		{map[string]any{"replicas": "two"}, "replicas"},
		{map[string]any{"replica": 2}, "replica"},
		{map[string]any{"watchNamespace": "Shop_1"}, "watchNamespace"},
		{map[string]any{"clusterID": "has spaces"}, "clusterID"},
		{map[string]any{"extraArgs": []any{"resync-period=1m"}}, "extraArgs"},
	} {
		_, err := chartrender.Install("ccictl", "ccictl-system", tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("values %v: error %v, want one that says %q", tc.values, err, tc.want)
		}
	}
}

// TestDeployIsRenderedFromChart: deploy/ (kustomize) is the chart's
// rendering, and the chart's crds/ the API's CRD; `make generate` writes
// both, and this fails when someone edits one without the other.
func TestDeployIsRenderedFromChart(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := chartrender.KustomizeFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("the chart renders %d files for deploy/, want at least 6", len(files))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, "deploy", name))
		if err != nil || string(got) != want {
			t.Errorf("deploy/%s is not what the chart renders (%v): run `make generate` and commit", name, err)
		}
	}
	const crd = "loadbalancer.networking.openvessel.io_poolbindings.yaml"
	want, err := os.ReadFile(filepath.Join(root, "pkg", "apis", "loadbalancer", "v1", "crd", crd))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "deploy", "chart", "ccictl", "crds", crd))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("deploy/chart/ccictl/crds/%s differs from pkg/apis/loadbalancer/v1/crd (%v): run `make generate`", crd, err)
	}
}

// TestChartValues: each value lands where docs/deploy.md says.
func TestChartValues(t *testing.T) {
	objs, notes := render(t, variants[0])
	d := deployment(t, objs)
	c := d.Spec.Template.Spec.Containers[0]
	if want := []string{"sync", "--watch", "-A", "--leader-elect", "--leader-elect-namespace=ccictl-system", "--lock-namespace=ccictl-system",
		"--metrics-bind-address=:8080", "--log-format=json"}; !slices.Equal(c.Args, want) {
		t.Errorf("default args %q, want %q", c.Args, want)
	}
	if c.Image != "ghcr.io/openvessel/ccictl:latest" || *d.Spec.Replicas != 2 {
		t.Errorf("defaults: image %s, replicas %d", c.Image, *d.Spec.Replicas)
	}
	if !strings.Contains(notes, "kubectl -n ccictl-system create secret generic ccictl-elb-credentials") ||
		!strings.Contains(notes, "rollout status deployment/ccictl") {
		t.Errorf("NOTES.txt does not give the next step:\n%s", notes)
	}

	objs, notes = render(t, variants[1])
	d = deployment(t, objs)
	c = d.Spec.Template.Spec.Containers[0]
	if want := []string{"sync", "--watch", "--namespace=shop", "--leader-elect", "--leader-elect-namespace=shop-lb-system", "--lock-namespace=shop-lb-system",
		"--cluster-id=prod-east", "--metrics-bind-address=:8080", "--log-format=json"}; !slices.Equal(c.Args, want) {
		t.Errorf("one namespace: args %q, want %q", c.Args, want)
	}
	if n := len(pick(objs, "ClusterRole", "ClusterRoleBinding")); n != 0 {
		t.Errorf("one namespace with a cluster ID: %d cluster-scoped RBAC objects, want none", n)
	}
	if !strings.Contains(notes, "-n shop -w") {
		t.Errorf("NOTES.txt of a one-namespace install does not point at that namespace:\n%s", notes)
	}

	objs, _ = render(t, variants[3])
	d = deployment(t, objs)
	c = d.Spec.Template.Spec.Containers[0]
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--leader-elect") }) || *d.Spec.Replicas != 1 {
		t.Errorf("one replica without leader election: args %q, replicas %d", c.Args, *d.Spec.Replicas)
	}
	if n := len(pick(objs, "Service", "PodDisruptionBudget", "ServiceMonitor")); n != 0 || d.Spec.Template.Annotations["prometheus.io/scrape"] != "" {
		t.Errorf("metrics Service off, one replica: %d Service/PDB/ServiceMonitor objects, annotations %v", n, d.Spec.Template.Annotations)
	}

	objs, _ = render(t, variant{name: "no RBAC", release: "ccictl", namespace: "ccictl-system", values: map[string]any{"rbac": map[string]any{"create": false}}})
	if n := len(pick(objs, "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")); n != 0 || len(pick(objs, "ServiceAccount", "Deployment")) != 2 {
		t.Errorf("rbac.create=false: %d RBAC objects, want none (and the ServiceAccount and Deployment still)", n)
	}

	v := variants[4]
	objs, _ = render(t, v)
	d = deployment(t, objs)
	pod := d.Spec.Template.Spec
	c = pod.Containers[0]
	if c.Image != "registry.example.com/mirror/ccictl:v0.2.0" || c.ImagePullPolicy != "Always" || len(pod.ImagePullSecrets) != 1 {
		t.Errorf("image %s %s, pull secrets %v", c.Image, c.ImagePullPolicy, pod.ImagePullSecrets)
	}
	if *d.Spec.Replicas != 3 || pod.ServiceAccountName != "elb-controller" {
		t.Errorf("replicas %d, serviceAccount %s", *d.Spec.Replicas, pod.ServiceAccountName)
	}
	if !slices.Contains(c.Args, "--resync-period=10m") || !slices.Contains(c.Args, "--wait-healthy") || !slices.Contains(c.Args, "--metrics-bind-address=:9090") ||
		!slices.Contains(c.Args, "--cluster-id=edge-1") || c.Ports[0].ContainerPort != 9090 {
		t.Errorf("args %q, ports %v", c.Args, c.Ports)
	}
	if pod.NodeSelector["node-role.example.com/infra"] != "true" || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "dedicated" ||
		pod.Affinity == nil || pod.Affinity.NodeAffinity == nil || len(pod.TopologySpreadConstraints) != 0 {
		t.Errorf("placement: nodeSelector %v, tolerations %v, affinity %v, spread %v", pod.NodeSelector, pod.Tolerations, pod.Affinity, pod.TopologySpreadConstraints)
	}
	if c.Resources.Limits.Memory().String() != "512Mi" || c.Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("resources %v", c.Resources)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name
		} else {
			env[e.Name] = e.Value
		}
	}
	if env["HW_ACCESS_KEY"] != "secret:elb-edge" || env["HW_SECRET_KEY"] != "secret:elb-edge" || env["GOMEMLIMIT"] != "380MiB" || env["GODEBUG"] != "madvdontneed=1" {
		t.Errorf("env %v", env)
	}
	if d.Spec.Template.Labels["example.com/cost-center"] != "net" || d.Spec.Template.Annotations["example.com/team"] != "platform" {
		t.Errorf("pod labels %v, annotations %v", d.Spec.Template.Labels, d.Spec.Template.Annotations)
	}
	sms := pick(objs, "ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(sms))
	}
	sm := sms[0]
	if sm.GetLabels()["release"] != "kube-prometheus" {
		t.Errorf("ServiceMonitor labels %v", sm.GetLabels())
	}
	svc := pick(objs, "Service")[0]
	selector, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, want := range selector {
		if svc.GetLabels()[k] != want {
			t.Errorf("the ServiceMonitor selects %s=%s; the metrics Service has %v", k, want, svc.GetLabels())
		}
	}
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 || endpoints[0].(map[string]any)["port"] != "metrics" || endpoints[0].(map[string]any)["interval"] != "15s" {
		t.Errorf("ServiceMonitor endpoints %v", endpoints)
	}
	pdb := pick(objs, "PodDisruptionBudget")
	if len(pdb) != 1 {
		t.Fatalf("%d PDBs, want 1", len(pdb))
	}
	if min, _, _ := unstructured.NestedFieldNoCopy(pdb[0].Object, "spec", "minAvailable"); fmt.Sprint(min) != "2" {
		t.Errorf("PDB minAvailable %v, want 2", min)
	}
}

var (
	nsMu   sync.Mutex
	nsMade = map[string]bool{}
)

// ensureNamespace creates a namespace for real, with the restricted Pod
// Security level enforced and warned (the level deploy/ sets), once.
func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	nsMu.Lock()
	defer nsMu.Unlock()
	if nsMade[name] {
		return
	}
	ns := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n    pod-security.kubernetes.io/warn: restricted\n", name)
	if _, errOut, err := kubectl(t, []byte(ns), "apply", "-f", "-"); err != nil {
		t.Fatalf("create namespace %s: %v\n%s", name, err, errOut)
	}
	nsMade[name] = true
}

var smOnce sync.Once

// installServiceMonitorCRD installs the Prometheus Operator's own
// ServiceMonitor CRD (from its Go module, through the module proxy and
// cache), so that a ServiceMonitor is validated against the real schema.
func installServiceMonitorCRD(t *testing.T) {
	t.Helper()
	const module = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
	smOnce.Do(func() {
		out, err := exec.Command("go", "mod", "download", "-json", module).Output()
		if err != nil {
			t.Fatalf("go mod download %s (the ServiceMonitor CRD): %v", module, err)
		}
		var info struct{ Dir string }
		if err := yaml.Unmarshal(out, &info); err != nil || info.Dir == "" {
			t.Fatalf("go mod download %s: %v %s", module, err, out)
		}
		crd, err := os.ReadFile(filepath.Join(info.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_servicemonitors.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if _, errOut, err := kubectl(t, crd, "apply", "--server-side", "-f", "-"); err != nil {
			t.Fatalf("apply the ServiceMonitor CRD: %v\n%s", err, errOut)
		}
		if _, errOut, err := kubectl(t, nil, "wait", "--for=condition=Established", "--timeout=60s", "crd/servicemonitors.monitoring.coreos.com"); err != nil {
			t.Fatalf("ServiceMonitor CRD not established: %v\n%s", err, errOut)
		}
	})
}

// TestChartAppliesOnServer: every object of every variant, and the chart's
// CRD, pass the real API server's validation (server-side dry run, strict
// field validation) and the restricted Pod Security level without a
// warning.
func TestChartAppliesOnServer(t *testing.T) {
	for _, v := range variants {
		objs, _ := render(t, v)
		ensureNamespace(t, v.namespace)
		if ns := v.watchNamespace(); ns != "" {
			ensureNamespace(t, ns)
		}
		if len(pick(objs, "ServiceMonitor")) > 0 {
			installServiceMonitorCRD(t)
		}
		in := toYAML(t, objs)
		out, errOut, err := kubectl(t, in, "apply", "--server-side", "--force-conflicts", "--field-manager=ccictl-chart-test", "--dry-run=server", "--validate=strict", "-f", "-")
		if err != nil {
			t.Errorf("%s: server dry run: %v\n%s", v.name, err, errOut)
			continue
		}
		if strings.Contains(strings.ToLower(errOut), "warning") {
			t.Errorf("%s: server dry run warned:\n%s", v.name, errOut)
		}
		if n := strings.Count(out, "(server dry run)"); n != len(objs) {
			t.Errorf("%s: %d objects answered, want %d:\n%s", v.name, n, len(objs), out)
		}
	}
	dir, err := chartrender.ChartDir()
	if err != nil {
		t.Fatal(err)
	}
	crd, err := os.ReadFile(filepath.Join(dir, "crds", "loadbalancer.networking.openvessel.io_poolbindings.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := kubectl(t, crd, "apply", "--server-side", "--force-conflicts", "--dry-run=server", "--validate=strict", "-f", "-"); err != nil {
		t.Errorf("chart CRD: server dry run: %v\n%s", err, errOut)
	}
}

// access is one request the controller's ServiceAccount may or may not make.
type access struct {
	verb, group, resource, sub, ns, name string
}

func (a access) String() string {
	s := a.verb + " " + a.resource
	if a.group != "" {
		s += "." + a.group
	}
	if a.sub != "" {
		s += "/" + a.sub
	}
	if a.name != "" {
		s += " " + a.name
	}
	if a.ns != "" {
		s += " in " + a.ns
	} else {
		s += " (all namespaces / cluster)"
	}
	return s
}

const plbGroup = "loadbalancer.networking.openvessel.io"

// expectedAccess is what the controller of v needs (allowed) and what it
// must not have (denied), from its scope, its Lease namespace and whether
// it reads the cluster ID from kube-system.
func expectedAccess(v variant) (allowed, denied []access) {
	w := v.watchNamespace()
	bindingNS := w
	if w == "" {
		bindingNS = "shop"
	}
	lease := v.namespace
	allowed = []access{
		{verb: "list", group: plbGroup, resource: "poolbindings", ns: w},
		{verb: "watch", group: plbGroup, resource: "poolbindings", ns: w},
		{verb: "patch", group: plbGroup, resource: "poolbindings", ns: bindingNS, name: "web"},
		{verb: "update", group: plbGroup, resource: "poolbindings", sub: "status", ns: bindingNS, name: "web"},
		{verb: "update", group: plbGroup, resource: "poolbindings", sub: "finalizers", ns: bindingNS, name: "web"},
		{verb: "list", resource: "services", ns: w},
		{verb: "watch", group: "discovery.k8s.io", resource: "endpointslices", ns: w},
		{verb: "list", resource: "pods", ns: w},
		{verb: "list", group: "cci", resource: "pods", ns: w},
		{verb: "patch", resource: "pods", sub: "status", ns: bindingNS, name: "web-0"},
		{verb: "create", resource: "events", ns: bindingNS},
		{verb: "create", group: "events.k8s.io", resource: "events", ns: bindingNS},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", ns: lease},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: lease, name: "ccictl-sync"},
		{verb: "get", group: "coordination.k8s.io", resource: "leases", ns: lease, name: "ccictl-sync"},
		{verb: "delete", group: "coordination.k8s.io", resource: "leases", ns: lease, name: "pool-lock"},
		// One-shot passes' pool locks taken before the controller advertised
		// its lock namespace: read, to wait for them.
		{verb: "get", group: "coordination.k8s.io", resource: "leases", ns: bindingNS, name: "ccictl-pool-x"},
	}
	denied = []access{
		{verb: "delete", resource: "pods", ns: bindingNS, name: "web-0"},
		{verb: "patch", resource: "pods", ns: bindingNS, name: "web-0"},
		{verb: "update", resource: "pods", sub: "status", ns: bindingNS, name: "web-0"},
		{verb: "create", resource: "pods", ns: lease},
		{verb: "get", resource: "secrets", ns: bindingNS, name: "db-password"},
		{verb: "list", resource: "secrets"},
		{verb: "get", resource: "secrets", ns: lease, name: "ccictl-elb-credentials"},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", ns: bindingNS},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: bindingNS, name: "ccictl-pool-x"},
		{verb: "delete", group: "coordination.k8s.io", resource: "leases", ns: bindingNS, name: "ccictl-pool-x"},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: "kube-system", name: "kube-controller-manager"},
		{verb: "list", group: "coordination.k8s.io", resource: "leases", ns: lease},
		{verb: "create", group: plbGroup, resource: "poolbindings", ns: bindingNS},
		{verb: "delete", group: plbGroup, resource: "poolbindings", ns: bindingNS, name: "web"},
		{verb: "update", resource: "services", ns: bindingNS, name: "web"},
		{verb: "patch", group: "discovery.k8s.io", resource: "endpointslices", ns: bindingNS, name: "web-abc"},
		{verb: "get", resource: "namespaces", name: "default"},
		{verb: "list", resource: "namespaces"},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings", ns: lease},
		{verb: "impersonate", resource: "serviceaccounts", ns: lease},
	}
	if w != "" {
		// Namespace-scoped: nothing of the kind in any other namespace.
		denied = append(denied,
			access{verb: "list", group: plbGroup, resource: "poolbindings"},
			access{verb: "list", group: plbGroup, resource: "poolbindings", ns: "other"},
			access{verb: "watch", resource: "services", ns: "other"},
			access{verb: "list", resource: "pods"},
			access{verb: "patch", resource: "pods", sub: "status", ns: "other", name: "web-0"},
			access{verb: "create", resource: "events", ns: "other"},
		)
	}
	kubeSystem := access{verb: "get", resource: "namespaces", name: "kube-system"}
	if v.clusterID() == "" {
		allowed = append(allowed, kubeSystem)
	} else {
		denied = append(denied, kubeSystem)
	}
	return allowed, denied
}

// applyRBAC creates v's ServiceAccount and RBAC for real.
func applyRBAC(t *testing.T, v variant, objs []*unstructured.Unstructured) {
	t.Helper()
	ensureNamespace(t, v.namespace)
	if ns := v.watchNamespace(); ns != "" {
		ensureNamespace(t, ns)
	}
	rbac := pick(objs, "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
	if _, errOut, err := kubectl(t, toYAML(t, rbac), "apply", "--server-side", "--field-manager=ccictl-chart-test", "-f", "-"); err != nil {
		t.Fatalf("%s: apply RBAC: %v\n%s", v.name, err, errOut)
	}
}

// adminConfig is the test cluster's administrator.
func adminConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func kubeClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	kube, err := kubernetes.NewForConfig(adminConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return kube
}

// TestChartRBACLeastPrivilege creates each variant's ServiceAccount and
// RBAC for real and asks the server (SubjectAccessReview, as the API
// server authorizes the controller's requests) what the ServiceAccount may
// do: everything the controller needs for that variant's flags, nothing
// it does not.
func TestChartRBACLeastPrivilege(t *testing.T) {
	kube := kubeClient(t)
	for _, v := range variants {
		objs, _ := render(t, v)
		applyRBAC(t, v, objs)
		user := "system:serviceaccount:" + v.namespace + ":" + v.serviceAccount()
		can := func(a access) bool {
			t.Helper()
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   user,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + v.namespace, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource,
					Subresource: a.sub, Namespace: a.ns, Name: a.name},
			}}
			got, err := kube.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("SubjectAccessReview %s: %v", a, err)
			}
			return got.Status.Allowed
		}
		allowed, denied := expectedAccess(v)
		for _, a := range allowed {
			if !can(a) {
				t.Errorf("%s: %s may not %s, which it needs", v.name, user, a)
			}
		}
		for _, a := range denied {
			if can(a) {
				t.Errorf("%s: %s may %s, which it does not need", v.name, user, a)
			}
		}
	}
}
