package root

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openvessel/ccictl/pkg/signals"
	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server the streaming tests talk to.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}

// lockedBuffer is written by the command and read by the test.
type lockedBuffer struct {
	ch  chan struct{}
	buf bytes.Buffer
}

func newLockedBuffer() *lockedBuffer {
	b := &lockedBuffer{ch: make(chan struct{}, 1)}
	b.ch <- struct{}{}
	return b
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	<-b.ch
	defer func() { b.ch <- struct{}{} }()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	<-b.ch
	defer func() { b.ch <- struct{}{} }()
	return b.buf.String()
}

// TestInterruptedStreamsReturnToMain runs `logs -f` (waiting for a pod of a
// Deployment without any, under kubectl's interrupt handler), `events -w`,
// and `exec` and `port-forward` waiting for such a pod, in this process, as
// main() runs them, and sends the process SIGINT or SIGTERM. Had
// kubectl's os.Exit(1) been reachable, the test binary would be gone; Main
// returns instead, with exit code 1 and nothing printed on stderr.
func TestInterruptedStreamsReturnToMain(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	ns := fmt.Sprintf("streams-%d", time.Now().UnixNano()%100000)
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: none
  namespace: %[1]s
spec:
  replicas: 0
  selector:
    matchLabels: {app: none}
  template:
    metadata:
      labels: {app: none}
    spec:
      containers:
      - name: app
        image: registry.example/web:1
---
apiVersion: v1
kind: Event
metadata:
  name: none.1
  namespace: %[1]s
involvedObject: {apiVersion: apps/v1, kind: Deployment, name: none, namespace: %[1]s}
reason: ScalingReplicaSet
message: scaled
type: Normal
lastTimestamp: "2020-01-01T00:00:00Z"
`, ns)
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"--kubeconfig", cluster.Kubeconfig, "create", "-f", "-"},
		genericiooptions.IOStreams{In: strings.NewReader(manifest), Out: &out, ErrOut: &errb}); code != 0 {
		t.Fatalf("create: exit %d: %s", code, errb.String())
	}
	for _, tc := range []struct {
		args  []string
		sig   syscall.Signal
		ready func(stdout string) bool
	}{
		{[]string{"logs", "-f", "deploy/none"}, syscall.SIGINT, func(string) bool { return true }},
		{[]string{"events", "-w"}, syscall.SIGINT, func(stdout string) bool { return strings.Contains(stdout, "ScalingReplicaSet") }},
		// exec and port-forward wait (--pod-running-timeout, 1m) for a pod
		// of the Deployment; the signal ends the wait.
		{[]string{"exec", "deploy/none", "--", "true"}, syscall.SIGINT, func(string) bool { return true }},
		{[]string{"exec", "deploy/none", "--", "true"}, syscall.SIGTERM, func(string) bool { return true }},
		{[]string{"port-forward", "deploy/none", "8080"}, syscall.SIGINT, func(string) bool { return true }},
		{[]string{"port-forward", "deploy/none", "8080"}, syscall.SIGTERM, func(string) bool { return true }},
	} {
		t.Run(tc.args[0]+"/"+tc.sig.String(), func(t *testing.T) {
			ctx, stop := signals.NotifyContext(context.Background())
			defer stop()
			stdout, stderr := newLockedBuffer(), newLockedBuffer()
			done := make(chan int, 1)
			go func() {
				done <- Main(ctx, append([]string{"--kubeconfig", cluster.Kubeconfig, "-n", ns}, tc.args...),
					genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: stdout, ErrOut: stderr})
			}()
			deadline := time.Now().Add(20 * time.Second)
			for !tc.ready(stdout.String()) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(2 * time.Second) // well inside kubectl's handler
			select {
			case code := <-done:
				t.Fatalf("%v ended before the signal: exit %d\n%s%s", tc.args, code, stdout, stderr)
			default:
			}
			if err := syscall.Kill(os.Getpid(), tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != 1 || stderr.String() != "" || !tc.ready(stdout.String()) {
					t.Errorf("interrupted %v: exit %d, stdout %q, stderr %q; want 1 and nothing on stderr", tc.args, code, stdout, stderr)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("%v still running 15s after %v", tc.args, tc.sig)
			}
			if context.Cause(ctx) != signals.ErrInterrupted {
				t.Errorf("context ended by %v", context.Cause(ctx))
			}
		})
	}
}
