package poollock

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server whose Leases these tests take; the
// package fails, never skips, if it cannot start.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

// newNamespace creates namespace ns on the test cluster and returns a
// client of it.
func newNamespace(t *testing.T, ns string) kubernetes.Interface {
	t.Helper()
	cfg := &rest.Config{Host: cluster.Server, BearerToken: cluster.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: cluster.CAFile}}
	kube := kubernetes.NewForConfigOrDie(cfg)
	if _, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return kube
}

func slots(l *LeaseLocker) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.local)
}

// Two writers of one pool in one process take turns; once neither holds
// or waits, the process keeps no slot for the pool (a controller that
// wrote to 10,000 pools kept 10,000 of them), and neither does a waiter
// that gave up.
func TestLeaseLockerLocalTurnsAreReleased(t *testing.T) {
	const ns = "poollock-slots"
	kube, ctx := newNamespace(t, ns), context.Background()
	l := &LeaseLocker{Leases: kube.CoordinationV1(), Identity: "unit", PollInterval: 10 * time.Millisecond}

	_, release, err := l.Lock(ctx, ns, "pool-a")
	if err != nil {
		t.Fatal(err)
	}
	second := make(chan func(), 1)
	go func() {
		held, release2, err := l.Lock(ctx, ns, "pool-a")
		if err != nil {
			t.Errorf("second Lock: %v", err)
			second <- func() {}
			return
		}
		if !Contended(held) {
			t.Errorf("second Lock waited for the first but is not marked contended")
		}
		second <- release2
	}()
	select {
	case <-second:
		t.Fatal("second writer of the pool got the lock while the first held it")
	case <-time.After(100 * time.Millisecond):
	}
	// A waiter that gives up leaves the slot to the others.
	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := l.Lock(waitCtx, ns, "pool-a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Lock: %v, want the deadline", err)
	}
	if n := slots(l); n != 1 {
		t.Errorf("%d local slots while pool-a is held and waited for, want 1", n)
	}
	release()
	release2 := <-second
	if n := slots(l); n != 1 {
		t.Errorf("%d local slots while pool-a is held, want 1", n)
	}
	release2()
	if n := slots(l); n != 0 {
		t.Errorf("%d local slots after every writer released, want 0", n)
	}
	// A lock that fails to be acquired leaves none either.
	if _, _, err := l.Lock(ctx, "no-such-namespace", "pool-b"); err == nil {
		t.Fatal("Lock in a missing namespace succeeded")
	}
	if n := slots(l); n != 0 {
		t.Errorf("%d local slots after a failed Lock, want 0", n)
	}
}
