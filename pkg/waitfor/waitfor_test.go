package waitfor

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	kwait "k8s.io/kubectl/pkg/cmd/wait"

	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server the waits watch.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

// env is a ConfigMap "cm" in the default namespace and kubectl's flags
// pointed at the test cluster.
type env struct {
	t      *testing.T
	getter *genericclioptions.ConfigFlags
	client kubernetes.Interface
}

func newEnv(t *testing.T, name string) *env {
	t.Helper()
	kubeconfig, ns := cluster.Kubeconfig, "default"
	getter := genericclioptions.NewConfigFlags(false)
	getter.KubeConfig, getter.Namespace = &kubeconfig, &ns
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"mode": "green"}}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().ConfigMaps(ns).Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return &env{t: t, getter: getter, client: client}
}

// wait runs kubectl's wait options for args, waiting through Conditions.
func (e *env) wait(ctx context.Context, timeout time.Duration, cond string, args ...string) (string, error) {
	e.t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	flags := kwait.NewWaitFlags(e.getter, streams)
	flags.ForCondition, flags.Timeout = []string{cond}, timeout
	o, err := flags.ToOptions(args)
	if err != nil {
		e.t.Fatal(err)
	}
	Conditions(o)
	err = o.RunWaitContext(ctx)
	if errOut.Len() > 0 {
		e.t.Errorf("stderr: %s", errOut)
	}
	return out.String(), err
}

func (e *env) later(d time.Duration, change func(context.Context) error) {
	go func() {
		time.Sleep(d)
		if err := change(context.Background()); err != nil {
			e.t.Error(err)
		}
	}()
}

func TestWaitJSONPathTurnsTrueDuringTheWait(t *testing.T) {
	e := newEnv(t, "jp")
	e.later(time.Second, func(ctx context.Context) error {
		cm, err := e.client.CoreV1().ConfigMaps("default").Get(ctx, "jp", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cm.Data["mode"] = "blue"
		_, err = e.client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	start := time.Now()
	out, err := e.wait(context.Background(), 30*time.Second, "jsonpath={.data.mode}=blue", "configmap/jp")
	if err != nil || out != "configmap/jp condition met\n" {
		t.Fatalf("wait: %q, %v", out, err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("met after %v, before the change was written", took)
	}
}

func TestWaitDeleteDuringTheWait(t *testing.T) {
	e := newEnv(t, "del")
	e.later(time.Second, func(ctx context.Context) error {
		return e.client.CoreV1().ConfigMaps("default").Delete(ctx, "del", metav1.DeleteOptions{})
	})
	out, err := e.wait(context.Background(), 30*time.Second, "delete", "configmap/del")
	if err != nil || out != "configmap/del condition met\n" {
		t.Fatalf("wait --for=delete: %q, %v", out, err)
	}
}

func TestWaitTimeoutIsKubectlsError(t *testing.T) {
	e := newEnv(t, "slow")
	out, err := e.wait(context.Background(), time.Second, "jsonpath={.data.mode}=blue", "configmap/slow")
	if out != "" || err == nil || err.Error() != "timed out waiting for the condition on configmaps/slow" {
		t.Fatalf("timeout: %q, %v", out, err)
	}
	// Timeout 0 checks once, as kubectl: kubectl's own "not met" error.
	if _, err := e.wait(context.Background(), 0, "jsonpath={.data.mode}=blue", "configmap/slow"); err == nil || !strings.Contains(err.Error(), "condition not met") {
		t.Errorf("--timeout=0: %v", err)
	}
}

// A cancelled context (what SIGINT does to the command's) ends the wait
// with context.Canceled; the process is not exited.
func TestWaitEndsWithItsContext(t *testing.T) {
	e := newEnv(t, "int")
	for _, cond := range []string{"jsonpath={.data.mode}=blue", "condition=Ready", "delete"} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(500*time.Millisecond, cancel)
		start := time.Now()
		out, err := e.wait(ctx, time.Minute, cond, "configmap/int")
		if out != "" || !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled: %q, %v", cond, out, err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s ended %v after the cancel", cond, took)
		}
		cancel()
	}
}

// UntilGone: a GET of an object held by a finalizer returns once it is gone;
// with the deadline passed or the context cancelled it fails with kubectl's
// timeout error or context.Canceled; an object not being deleted is
// returned at once.
func TestUntilGone(t *testing.T) {
	e := newEnv(t, "held")
	cms := e.client.CoreV1().ConfigMaps("default")
	ctx := context.Background()
	cm, err := cms.Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Finalizers = []string{"openvessel.io/hold"}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := e.getter.ToRESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
	get := func(ctx context.Context, timeout time.Duration) error {
		_, err := UntilGone(ctx, dyn, timeout).Resource(gvr).Namespace("default").Get(context.Background(), "held", metav1.GetOptions{})
		return err
	}
	if err := get(ctx, time.Second); err != nil {
		t.Fatalf("not being deleted: %v", err)
	}
	if err := cms.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := get(ctx, time.Second); err == nil || err.Error() != "timed out waiting for the condition on configmaps/held" {
		t.Errorf("held past the timeout: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	time.AfterFunc(300*time.Millisecond, cancel)
	if err := get(cancelled, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	e.later(time.Second, func(ctx context.Context) error {
		_, err := cms.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		return err
	})
	if err := get(ctx, 30*time.Second); !apierrors.IsNotFound(err) {
		t.Errorf("released during the wait: %v, want NotFound", err)
	}
}
