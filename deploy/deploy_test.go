package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/openvessel/ccictl/internal/manifests"
	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server the manifests are applied to.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

const (
	namespace      = "ccictl-system"
	serviceAccount = "system:serviceaccount:ccictl-system:ccictl"
)

func kubectl(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return manifests.Kubectl(t, cluster.Kubeconfig, stdin, args...)
}

// kustomize renders dir with `kubectl kustomize`, as a user would.
func kustomize(t *testing.T, dir string) []byte {
	t.Helper()
	out, errOut, err := kubectl(t, nil, "kustomize", dir)
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, errOut)
	}
	return []byte(out)
}

var (
	objects = manifests.Objects
	toYAML  = manifests.ToYAML
	pick    = manifests.Pick
)

func typed(t *testing.T, objs []*unstructured.Unstructured, kind string, into any) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			y, err := yaml.Marshal(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(y, into); err != nil {
				t.Fatalf("%s does not decode as %T: %v", kind, into, err)
			}
			return
		}
	}
	t.Fatalf("no %s in the manifests", kind)
}

var (
	nsOnce sync.Once
	nsErr  error
)

// ensureNamespace creates ccictl-system for real from the manifests'
// Namespace (namespaced objects cannot be dry-run into a namespace that
// does not exist), once.
func ensureNamespace(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	nsOnce.Do(func() {
		_, errOut, err := kubectl(t, toYAML(t, pick(objs, "Namespace")), "apply", "-f", "-")
		if err != nil {
			nsErr = err
			t.Logf("apply Namespace: %s", errOut)
		}
	})
	if nsErr != nil {
		t.Fatalf("create namespace %s: %v", namespace, nsErr)
	}
}

// TestManifestsApplyOnServer: `kubectl kustomize deploy/` (and deploy/crd)
// renders, and every object passes the real API server's validation
// (server-side dry run, strict field validation) and the restricted Pod
// Security level without a warning.
func TestManifestsApplyOnServer(t *testing.T) {
	rendered := kustomize(t, ".")
	objs := objects(t, rendered)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind()+"/"+o.GetName())
	}
	slices.Sort(kinds)
	want := []string{"ClusterRole/ccictl-controller", "ClusterRoleBinding/ccictl-controller", "Deployment/ccictl", "Namespace/ccictl-system",
		"PodDisruptionBudget/ccictl", "Role/ccictl-leases", "Role/ccictl-sync-pool-locks", "RoleBinding/ccictl-leases", "RoleBinding/ccictl-sync-pool-locks",
		"Service/ccictl-metrics", "ServiceAccount/ccictl"}
	if !slices.Equal(kinds, want) {
		t.Errorf("rendered objects %v, want %v", kinds, want)
	}
	ensureNamespace(t, objs)
	for name, in := range map[string][]byte{"deploy/": rendered, "deploy/crd/": kustomize(t, "crd")} {
		out, errOut, err := kubectl(t, in, "apply", "--server-side", "--force-conflicts", "--field-manager=ccictl-deploy-test", "--dry-run=server", "--validate=strict", "-f", "-")
		if err != nil {
			t.Fatalf("server dry run of %s: %v\n%s", name, err, errOut)
		}
		if strings.Contains(errOut, "Warning") || strings.Contains(errOut, "warning") {
			t.Errorf("server dry run of %s warned:\n%s", name, errOut)
		}
		if n := strings.Count(out, "(server dry run)"); n != len(objects(t, in)) {
			t.Errorf("server dry run of %s: %d objects answered, want %d:\n%s", name, n, len(objects(t, in)), out)
		}
	}

	// Strict field validation is live: a misspelt field is refused.
	typo := bytes.Replace(rendered, []byte("  replicas: 2\n"), []byte("  replicaz: 2\n"), 1)
	if bytes.Equal(typo, rendered) {
		t.Fatal("no 'replicas: 2' line in the rendered Deployment")
	}
	if _, errOut, err := kubectl(t, typo, "apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-"); err == nil || !strings.Contains(errOut, "replicaz") {
		t.Errorf("a misspelt field passed the server dry run (err %v):\n%s", err, errOut)
	}

	// The namespace's Pod Security warning is live: a pod template that
	// runs as root draws one, so the clean run above means something.
	var d appsv1.Deployment
	typed(t, objs, "Deployment", &d)
	d.Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
	d.Spec.Template.Spec.SecurityContext.RunAsUser = nil
	d.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
	d.APIVersion, d.Kind = "apps/v1", "Deployment"
	bad, err := yaml.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := kubectl(t, bad, "apply", "--dry-run=server", "-f", "-"); err != nil || !strings.Contains(errOut, "violate PodSecurity") {
		t.Errorf("a root pod template drew no Pod Security warning (err %v):\n%s", err, errOut)
	}
}

// TestDeploymentShape: what docs/deploy.md promises about the controller's
// Deployment, PDB and metrics Service.
func TestDeploymentShape(t *testing.T) {
	objs := objects(t, kustomize(t, "."))
	var d appsv1.Deployment
	typed(t, objs, "Deployment", &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "ccictl" || len(pod.Containers) != 1 {
		t.Fatalf("pod spec: serviceAccount %q, %d containers", pod.ServiceAccountName, len(pod.Containers))
	}
	c := pod.Containers[0]
	wantArgs := []string{"sync", "--watch", "-A", "--leader-elect", "--leader-elect-namespace=ccictl-system", "--lock-namespace=ccictl-system",
		"--metrics-bind-address=:8080", "--log-format=json"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args %q, want %q", c.Args, wantArgs)
	}
	secretKeys := map[string]bool{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			if e.ValueFrom.SecretKeyRef.Name != "ccictl-elb-credentials" || e.ValueFrom.SecretKeyRef.Key != e.Name {
				t.Errorf("env %s from %+v", e.Name, e.ValueFrom.SecretKeyRef)
			}
			secretKeys[e.Name] = true
		}
	}
	for _, k := range []string{"HW_ACCESS_KEY", "HW_SECRET_KEY", "HW_PROJECT_ID", "HW_REGION_NAME"} {
		if !secretKeys[k] {
			t.Errorf("env %s does not come from the Secret", k)
		}
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "metrics" {
			t.Errorf("%s probe %+v, want GET %s on port metrics", name, p, path)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports %+v", c.Ports)
	}
	if m := c.Resources.Limits.Memory(); m.String() != "256Mi" {
		t.Errorf("memory limit %s, want 256Mi", m)
	}
	// The soft limit leaves room under the hard one for the binary's
	// resident pages (about 66 MiB) and for a heap that outgrows it.
	var soft string
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			soft = e.Value
		}
	}
	softBytes, err := parseGoMemLimit(soft)
	if err != nil {
		t.Errorf("GOMEMLIMIT %q: %v", soft, err)
	} else if hard := c.Resources.Limits.Memory().Value(); softBytes > hard-96<<20 || softBytes < 64<<20 {
		t.Errorf("GOMEMLIMIT %s (%d MiB) against limits.memory %d MiB: want 64 MiB or more, and at least 96 MiB below the limit", soft, softBytes>>20, hard>>20)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("requests %+v", c.Resources.Requests)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("security context: pod %+v, container %+v", pod.SecurityContext, sc)
	}
	var pdb policyv1.PodDisruptionBudget
	typed(t, objs, "PodDisruptionBudget", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("PDB minAvailable %v, want 1", pdb.Spec.MinAvailable)
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("PDB selector %v does not select the controller's pods (%v)", pdb.Spec.Selector, err)
	}
	var svc corev1.Service
	typed(t, objs, "Service", &svc)
	if !labelsMatch(svc.Spec.Selector, d.Spec.Template.Labels) || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "metrics" ||
		svc.Annotations["prometheus.io/scrape"] != "true" {
		t.Errorf("metrics Service %+v", svc)
	}
}

// parseGoMemLimit reads a GOMEMLIMIT value as the Go runtime does: a
// number of bytes with an optional B, KiB, MiB, GiB or TiB suffix.
func parseGoMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	shift := uint(0)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, shift = strings.TrimSuffix(s, u.suffix), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("not a number of bytes with an optional B, KiB, MiB, GiB or TiB suffix")
	}
	return n << shift, nil
}

func labelsMatch(sel, have map[string]string) bool {
	for k, v := range sel {
		if have[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// TestCRDCopyIsCurrent: deploy/crd is a copy of the API's CRD (kustomize
// reads nothing outside its folder); they must not drift.
func TestCRDCopyIsCurrent(t *testing.T) {
	const name = "loadbalancer.networking.openvessel.io_poolbindings.yaml"
	src, err := testenv.CRDDir()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(src, name))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("crd", name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("deploy/crd/%s differs from pkg/apis/loadbalancer/v1/crd/%s: cp pkg/apis/loadbalancer/v1/crd/%s deploy/crd/", name, name, name)
	}
}

// TestRBACLeastPrivilege creates the ServiceAccount and its RBAC for real
// and asks the server (SubjectAccessReview, as the API server authorizes
// the controller's requests) what the ServiceAccount may do.
func TestRBACLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	objs := objects(t, kustomize(t, "."))
	ensureNamespace(t, objs)
	if _, errOut, err := kubectl(t, toYAML(t, pick(objs, "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")), "apply", "-f", "-"); err != nil {
		t.Fatalf("apply RBAC: %v\n%s", err, errOut)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type access struct {
		verb, group, resource, sub, ns, name string
	}
	can := func(a access) bool {
		t.Helper()
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   serviceAccount,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource,
				Subresource: a.sub, Namespace: a.ns, Name: a.name},
		}}
		got, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SubjectAccessReview %+v: %v", a, err)
		}
		return got.Status.Allowed
	}
	const plb = "loadbalancer.networking.openvessel.io"
	allowed := []access{
		{verb: "list", group: plb, resource: "poolbindings"},
		{verb: "watch", group: plb, resource: "poolbindings", ns: "shop"},
		{verb: "patch", group: plb, resource: "poolbindings", ns: "shop", name: "web"},
		{verb: "update", group: plb, resource: "poolbindings", sub: "status", ns: "shop", name: "web"},
		{verb: "update", group: plb, resource: "poolbindings", sub: "finalizers", ns: "shop", name: "web"},
		{verb: "list", resource: "services", ns: "shop"},
		{verb: "watch", group: "discovery.k8s.io", resource: "endpointslices"},
		{verb: "list", resource: "pods"},
		{verb: "patch", resource: "pods", sub: "status", ns: "shop", name: "web-0"},
		{verb: "create", resource: "events", ns: "shop"},
		{verb: "create", group: "events.k8s.io", resource: "events", ns: "shop"},
		{verb: "get", resource: "namespaces", name: "kube-system"},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", ns: namespace},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: namespace, name: "ccictl"},
		{verb: "get", group: "coordination.k8s.io", resource: "leases", ns: namespace, name: "ccictl"},
	}
	denied := []access{
		{verb: "delete", resource: "pods", ns: "shop", name: "web-0"},
		{verb: "patch", resource: "pods", ns: "shop", name: "web-0"},
		{verb: "update", resource: "pods", ns: "shop", name: "web-0"},
		{verb: "create", resource: "pods", ns: namespace},
		{verb: "update", resource: "pods", sub: "status", ns: "shop", name: "web-0"},
		{verb: "get", resource: "secrets", ns: "shop", name: "db-password"},
		{verb: "list", resource: "secrets"},
		{verb: "get", resource: "secrets", ns: namespace, name: "ccictl-elb-credentials"},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", ns: "shop"},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: "kube-system", name: "kube-controller-manager"},
		{verb: "list", group: "coordination.k8s.io", resource: "leases", ns: namespace},
		{verb: "create", group: plb, resource: "poolbindings", ns: "shop"},
		{verb: "delete", group: plb, resource: "poolbindings", ns: "shop", name: "web"},
		{verb: "update", resource: "services", ns: "shop", name: "web"},
		{verb: "patch", group: "discovery.k8s.io", resource: "endpointslices", ns: "shop", name: "web-abc"},
		{verb: "get", resource: "namespaces", name: "default"},
		{verb: "list", resource: "namespaces"},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
		{verb: "impersonate", resource: "serviceaccounts", ns: namespace},
	}
	for _, a := range allowed {
		if !can(a) {
			t.Errorf("the controller may not %+v, which it needs", a)
		}
	}
	for _, a := range denied {
		if can(a) {
			t.Errorf("the controller may %+v, which it does not need", a)
		}
	}
	// One-shot passes (group ccictl:sync) take the pool locks where the
	// controller takes them, and nothing else.
	sync := func(a access) bool {
		t.Helper()
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "ci-job", Groups: []string{"ccictl:sync", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.ns, Name: a.name},
		}}
		got, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SubjectAccessReview %+v: %v", a, err)
		}
		return got.Status.Allowed
	}
	for _, verb := range []string{"get", "create", "update", "delete"} {
		if a := (access{verb: verb, group: "coordination.k8s.io", resource: "leases", ns: namespace, name: "ccictl-pool-x"}); !sync(a) {
			t.Errorf("a one-shot pass in group ccictl:sync may not %+v, which it needs for the controller's pool locks", a)
		}
	}
	for _, a := range []access{
		{verb: "list", group: "coordination.k8s.io", resource: "leases", ns: namespace},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", ns: "kube-system"},
		{verb: "get", resource: "secrets", ns: namespace, name: "ccictl-elb-credentials"},
	} {
		if sync(a) {
			t.Errorf("a one-shot pass in group ccictl:sync may %+v, which it does not need", a)
		}
	}
	// The same answers through `kubectl auth can-i --as`, as docs/deploy.md
	// shows them.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "poolbindings.loadbalancer.networking.openvessel.io", "-A"}, "yes"},
		{[]string{"patch", "pods", "--subresource=status", "-n", "shop"}, "yes"},
		{[]string{"create", "leases.coordination.k8s.io", "-n", namespace}, "yes"},
		{[]string{"create", "leases.coordination.k8s.io", "-n", "shop"}, "no"},
		{[]string{"delete", "pods", "-n", "shop"}, "no"},
		{[]string{"get", "secrets", "-n", "shop"}, "no"},
	} {
		out, errOut, _ := kubectl(t, nil, append([]string{"auth", "can-i", "--as=" + serviceAccount}, tc.args...)...)
		if strings.TrimSpace(out) != tc.want {
			t.Errorf("kubectl auth can-i %v = %q (%s), want %s", tc.args, out, errOut, tc.want)
		}
	}
}
