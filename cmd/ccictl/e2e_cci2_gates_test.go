package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// TestCCI2GatePatchRefused: CCI 2.0 does not document whether a tenant may
// patch pod status. Here the controller runs as a tenant whose RBAC allows
// every cci/v2 resource but pods/status: the gated pod's member is
// registered and the binding is Synced, its gate stays closed, and its
// status says why (ReadinessGates False, GatePatchRefused, with the
// server's answer). Once pods/status may be patched, the gate opens and
// the condition goes.
func TestCCI2GatePatchRefused(t *testing.T) {
	const ns = "cci2-gate-refused"
	e := cci2SyncEnv(t, ns, elbemulator.Options{HealthDelay: time.Second})
	e.emu.CreatePool(elb.Pool{ID: syncPool, Name: "gated", HealthmonitorID: "hm-1"})
	cci2Create(t, "svc.yaml", fmt.Sprintf("apiVersion: cci/v2\nkind: Service\nmetadata:\n  name: web\n  namespace: %s\nspec:\n  selector: {app: web}\n  ports:\n  - {port: 80, targetPort: 8080}\n", ns))
	uid := e.zonedBindingAs(cci2.tenant, "b1", syncPool, "web", 80, nil)
	marker := cci2Marker(ns, "b1", uid)

	token := e.tenantWithoutPodStatus("no-pod-status")
	e.watch()
	e.gatedPods("web", "b1", "10.23.0.2")

	readinessGates := func() (status, reason, message string) {
		r := tenant(t, "get", "plb", "b1", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="ReadinessGates")].status}|{.status.conditions[?(@.type=="ReadinessGates")].reason}|{.status.conditions[?(@.type=="ReadinessGates")].message}`)
		f := strings.SplitN(r.Stdout, "|", 3)
		if r.Code != 0 || len(f) != 3 {
			t.Fatalf("get plb: %s", r)
		}
		return f[0], f[1], f[2]
	}
	eventuallyOK(t, 60*time.Second, "the condition ReadinessGates False", func() bool {
		s, _, _ := readinessGates()
		return s == "False"
	})
	_, reason, msg := readinessGates()
	if reason != lbv1.ReasonGatePatchRefused {
		t.Errorf("reason %q, want %s", reason, lbv1.ReasonGatePatchRefused)
	}
	for _, want := range []string{"pods/status", "pod " + ns + "/web-gated-1", "403 Forbidden", `cannot patch resource "pods/status" in API group "cci"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, token) {
		t.Errorf("the condition's message holds the identity's token: %q", msg)
	}
	// The pass is not failed by the refusal: the member is registered and
	// the binding is Synced; the gate stays closed.
	e.wantPool(syncPool, owned(marker, "10.23.0.2:8080"))
	if st := mustSucceed(t, tenant(t, "get", "plb", "b1", "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Synced")].status}`)).Stdout; st != "True" {
		t.Errorf("Synced %q, want True", st)
	}
	gate := corev1.PodConditionType(lbv1.ReadinessGateConditionType("b1"))
	if c := e.podCondition("web-gated-1", gate); c != nil {
		t.Errorf("the gate was written: %+v", c)
	}

	// pods/status allowed: the binding tries again (GateRefusedRetry), the
	// gate opens and the condition is removed.
	grantPodStatus(t, "no-pod-status", ns)
	eventuallyOK(t, 90*time.Second, "the gate opened", func() bool {
		c := e.podCondition("web-gated-1", gate)
		return c != nil && c.Status == corev1.ConditionTrue
	})
	eventuallyOK(t, 30*time.Second, "the condition ReadinessGates removed", func() bool {
		s, _, _ := readinessGates()
		return s == ""
	})
}

// tenantWithoutPodStatus makes e's ccictl run as a tenant (a service
// account of e's namespace, through the tenant's endpoint) that RBAC allows
// every cci/v2 resource but pods/status, PoolBindings and Leases; it
// returns its token.
func (e *syncEnv) tenantWithoutPodStatus(name string) string {
	t := e.t
	admin := cci2.admin
	ctx := e.ctx()
	resources, err := admin.Discovery().ServerResourcesForGroupVersion("cci/v2")
	if err != nil {
		t.Fatal(err)
	}
	var cci []string
	for _, r := range resources.APIResources {
		if r.Name != "pods/status" {
			cci = append(cci, r.Name)
		}
	}
	if !slices.Contains(cci, "pods") || slices.Contains(cci, "pods/status") {
		t.Fatalf("cci/v2 resources %v", cci)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"cci"}, Resources: cci, Verbs: []string{"*"}},
		{APIGroups: []string{lbv1.SchemeGroupVersion.Group}, Resources: []string{"*"}, Verbs: []string{"*"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"*"}},
	}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}}
	if _, err := admin.CoreV1().ServiceAccounts(e.ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind(t, role, name, e.ns)
	expiry := int64(3600)
	tr, err := admin.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok := tr.Status.Token
	cfg := filepath.Join(t.TempDir(), "cliconfig-"+name)
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: cci
  cluster: {server: %q, certificate-authority: %q}
contexts:
- name: cci
  context: {cluster: cci, user: %s, namespace: %s}
current-context: cci
users:
- name: %s
  user: {token: %q}
`, cci2.c.CCI2.Server, cci2.c.CCI2.CAFile, name, e.ns, name, tok), 0o600); err != nil {
		t.Fatal(err)
	}
	e.config = cfg
	return tok
}

// grantPodStatus lets the service account name of ns patch cci/v2 pod status.
func grantPodStatus(t *testing.T, name, ns string) {
	t.Helper()
	bind(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + name + "-granted"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"cci"}, Resources: []string{"pods/status"}, Verbs: []string{"get", "patch", "update"}},
	}}, name, ns)
}

// bind creates role and binds it to the service account name of ns; both
// go at the end of the test.
func bind(t *testing.T, role *rbacv1.ClusterRole, name, ns string) {
	t.Helper()
	ctx := t.Context()
	rbac := cci2.admin.RbacV1()
	if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = rbac.ClusterRoleBindings().Delete(ctx, role.Name, metav1.DeleteOptions{})
		_ = rbac.ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
	})
}
