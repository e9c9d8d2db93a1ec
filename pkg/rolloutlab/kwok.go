package rolloutlab

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// EnvKwokBinary names a prebuilt kwok to use instead of hack/kwok-bin.sh.
const EnvKwokBinary = "CCICTL_KWOK_BIN"

//go:embed stages.yaml
var stagesYAML []byte

// KwokBinary returns the kwok binary: $CCICTL_KWOK_BIN, or the one
// hack/kwok-bin.sh builds (from the Go module proxy) and caches.
func KwokBinary(repoRoot string) (string, error) {
	if b := os.Getenv(EnvKwokBinary); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvKwokBinary, b, err)
		}
		return b, nil
	}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(repoRoot, "hack", "kwok-bin.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building kwok: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// Kwok is a running kwok managing one node.
type Kwok struct {
	Node string
	cmd  *exec.Cmd
	done chan error
	log  string
}

// StartKwok creates node (if missing) and runs kwok on it with the lab's
// stages; pods bound to the node get IPs from cidr (inside 10.0.0.0/8, so
// that every pod IP has a loopback twin). dir holds its config and log.
func StartKwok(ctx context.Context, bin, kubeconfig, dir, node, cidr string, kube kubernetes.Interface) (*Kwok, error) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node, Labels: map[string]string{"type": "kwok"}}}
	if _, err := kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create node %s: %w", node, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(cfg, stagesYAML, 0o600); err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "kwok.log")
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--kubeconfig="+kubeconfig, "--config="+cfg,
		"--manage-single-node="+node, "--cidr="+cidr, "--node-ip=10.255.255.1", "--node-port=0")
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start kwok: %w", err)
	}
	k := &Kwok{Node: node, cmd: cmd, done: make(chan error, 1), log: logFile}
	go func() { k.done <- cmd.Wait(); lf.Close() }()
	// Ready once the node's status says so.
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err == nil {
			for _, c := range got.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return k, nil
				}
			}
		}
		select {
		case err := <-k.done:
			return nil, fmt.Errorf("kwok exited (%v); log %s:\n%s", err, logFile, k.tail())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			k.Stop()
			return nil, fmt.Errorf("kwok did not mark node %s Ready within 60s; log %s:\n%s", node, logFile, k.tail())
		}
	}
}

func (k *Kwok) tail() string {
	b, _ := os.ReadFile(k.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop ends kwok.
func (k *Kwok) Stop() {
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(10 * time.Second):
		_ = k.cmd.Process.Kill()
		<-k.done
	}
}
