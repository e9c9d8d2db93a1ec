package test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/testenv"
)

const (
	elbToken   = "chart-e2e-elb-token-51c0e7"
	elbProject = "0123456789abcdef0123456789abcdef"
	elbPool    = "7f3e2a10-4b5c-4d6e-8f90-a1b2c3d4e5f6"
)

var (
	buildOnce sync.Once
	ccictlBin string
	buildErr  error
)

// ccictl builds the ccictl binary once, as the image's build does.
func ccictl(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := testenv.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "ccictl-chart-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		ccictlBin = filepath.Join(dir, "ccictl")
		cmd := exec.Command("go", "build", "-trimpath", "-o", ccictlBin, "./cmd/ccictl")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/ccictl: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return ccictlBin
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the
// variant's ServiceAccount, with a token the API server issues for it (what
// the kubelet mounts in the pod).
func serviceAccountKubeconfig(t *testing.T, v variant) string {
	t.Helper()
	expiry := int64(3600)
	tok, err := kubeClient(t).CoreV1().ServiceAccounts(v.namespace).CreateToken(context.Background(), v.serviceAccount(),
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for ServiceAccount %s/%s: %v", v.namespace, v.serviceAccount(), err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: sa
  user: {token: %q}
contexts:
- name: sa
  context: {cluster: test, user: sa, namespace: %q}
current-context: sa
`, cluster.Server, cluster.CAFile, tok.Status.Token, v.namespace)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedBuffer collects the controller's log while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var plbGVR = schema.GroupVersionResource{Group: plbGroup, Version: "v1", Resource: "poolbindings"}

// TestControllerRunsUnderChartRBAC runs `ccictl sync --watch` with the
// arguments of each rendered Deployment, authenticated as the chart's
// ServiceAccount (a token the API server issued for it) and nothing else:
// a binding in the watched namespace gets its members, its finalizer and a
// Synced status; deleting it removes the members and the finalizer. A
// permission the chart forgot makes the controller fail a request, which
// this test sees in the log (no "forbidden" allowed) or in a binding that
// never gets there.
func TestControllerRunsUnderChartRBAC(t *testing.T) {
	dyn, err := dynamic.NewForConfig(adminConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	kube := kubeClient(t)
	bin := ccictl(t)
	for i, v := range variants[:3] {
		t.Run(v.name, func(t *testing.T) {
			ctx := context.Background()
			objs, _ := render(t, v)
			applyRBAC(t, v, objs)
			ns := v.watchNamespace()
			if ns == "" {
				ns = fmt.Sprintf("chart-e2e-%d", i)
				ensureNamespace(t, ns)
			}
			emu := elbemulator.New(elbemulator.Options{ProjectID: elbProject, Token: elbToken, MemberQuota: 100})
			srv := httptest.NewServer(emu)
			defer srv.Close()
			emu.CreatePool(elb.Pool{ID: elbPool, Name: "pool-chart"})

			// A selectorless Service whose EndpointSlice the test writes.
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
			if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			name, port, proto, ready := "http", int32(8080), corev1.ProtocolTCP, true
			slice := &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Name: "web-manual", Namespace: ns, Labels: map[string]string{
					discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "ccictl-chart-test"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
				Endpoints: []discoveryv1.Endpoint{
					{Addresses: []string{"10.40.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
					{Addresses: []string{"10.40.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
				},
			}
			if _, err := kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			binding := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": plbGroup + "/v1", "kind": "PoolBinding",
				"metadata": map[string]any{"name": "web", "namespace": ns},
				"spec": map[string]any{"poolRef": map[string]any{"id": elbPool},
					"targetRef": map[string]any{"kind": "Service", "group": "cci/v2", "name": "web", "port": int64(80)}},
			}}
			if _, err := dyn.Resource(plbGVR).Namespace(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}

			// The Deployment's arguments, with metrics on a free loopback
			// port and the emulator as the ELB endpoint.
			c := deployment(t, objs).Spec.Template.Spec.Containers[0]
			args := []string{"--kubeconfig", serviceAccountKubeconfig(t, v)}
			for _, a := range c.Args {
				if strings.HasPrefix(a, "--metrics-bind-address=") {
					a = "--metrics-bind-address=127.0.0.1:0"
				}
				args = append(args, a)
			}
			args = append(args, "--elb-endpoint", srv.URL, "--project-id", elbProject, "--coalesce=100ms")
			var log lockedBuffer
			cmd := exec.Command(bin, args...)
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "CCICTL_ELB_TOKEN=" + elbToken}
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			stopped := false
			stop := func() error {
				if stopped {
					return nil
				}
				stopped = true
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case err := <-done:
					return err
				case <-time.After(30 * time.Second):
					_ = cmd.Process.Kill()
					return fmt.Errorf("did not stop within 30s of SIGTERM")
				}
			}
			defer stop()

			eventually := func(what string, cond func() bool) {
				t.Helper()
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) {
					if cond() {
						return
					}
					select {
					case err := <-done:
						done <- err
						t.Fatalf("%s: the controller exited (%v):\n%s", what, err, log.String())
					case <-time.After(200 * time.Millisecond):
					}
				}
				t.Fatalf("%s: not within 60s; controller log:\n%s", what, log.String())
			}
			members := func() []string {
				var out []string
				for _, m := range emu.Members(elbPool) {
					out = append(out, fmt.Sprintf("%s:%d", m.Address, m.ProtocolPort))
				}
				slices.Sort(out)
				return out
			}
			eventually("members added", func() bool {
				return slices.Equal(members(), []string{"10.40.0.1:8080", "10.40.0.2:8080"})
			})
			eventually("status Synced=True and the finalizer", func() bool {
				got, err := dyn.Resource(plbGVR).Namespace(ns).Get(ctx, "web", metav1.GetOptions{})
				if err != nil {
					return false
				}
				conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
				synced := false
				for _, c := range conds {
					m := c.(map[string]any)
					synced = synced || (m["type"] == "Synced" && m["status"] == "True")
				}
				return synced && slices.Contains(got.GetFinalizers(), plbGroup+"/members")
			})
			if slices.Contains(c.Args, "--leader-elect") {
				lease, err := kube.CoordinationV1().Leases(v.namespace).Get(ctx, "ccictl-sync", metav1.GetOptions{})
				if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
					t.Errorf("leader-election Lease in %s: %v %+v", v.namespace, err, lease)
				}
			}

			if err := dyn.Resource(plbGVR).Namespace(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually("members removed after delete", func() bool { return len(members()) == 0 })
			eventually("binding gone (finalizer removed)", func() bool {
				_, err := dyn.Resource(plbGVR).Namespace(ns).Get(ctx, "web", metav1.GetOptions{})
				return apierrors.IsNotFound(err)
			})
			if err := stop(); err != nil {
				t.Errorf("sync --watch after SIGTERM: %v\n%s", err, log.String())
			}
			if l := strings.ToLower(log.String()); strings.Contains(l, "forbidden") {
				t.Errorf("the controller was refused a request under the chart's RBAC:\n%s", log.String())
			}
			if strings.Contains(log.String(), elbToken) {
				t.Error("the controller logged the ELB token")
			}
		})
	}
}
