// Package testenv starts the local control plane (etcd, kube-apiserver,
// kube-controller-manager: the real thing, built from the Kubernetes module
// by the localcluster module) for end-to-end tests. It never skips: when the
// control plane cannot start, the caller gets an error that says why.
package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EnvBinary names a prebuilt ccictl-localcluster to use instead of building one.
const EnvBinary = "CCICTL_LOCALCLUSTER_BIN"

// Cluster is a running local control plane.
type Cluster struct {
	Server     string `json:"server"`
	Kubeconfig string `json:"kubeconfig"`
	Token      string `json:"token"`
	CAFile     string `json:"caFile"`
	Dir        string `json:"-"`
	// CCI2 is the tenant's endpoint and identity of the CCI 2.0 flavour
	// (StartCCI2); nil on the Kubernetes flavour.
	CCI2 *Tenant `json:"cci2,omitempty"`

	cmd  *exec.Cmd
	done chan error
}

// RepoRoot is the directory holding go.mod of the ccictl module.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the repository")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary returns the ccictl-localcluster binary, building it (cached by the
// module's hash) unless $CCICTL_LOCALCLUSTER_BIN names one.
func Binary() (string, error) {
	if b := os.Getenv(EnvBinary); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, b, err)
		}
		return b, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(root, "hack", "localcluster-bin.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building ccictl-localcluster: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// Start runs a control plane in dir with the CRD manifests of crdDir
// installed, and returns once the API server is ready.
func Start(ctx context.Context, dir, crdDir string) (*Cluster, error) {
	return start(ctx, dir, crdDir)
}

func start(ctx context.Context, dir, crdDir string, extra ...string) (*Cluster, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "localcluster.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"up", "--dir", dir}, extra...)
	if crdDir != "" {
		args = append(args, "--crds", crdDir)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &Cluster{Dir: dir, cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait(); logf.Close() }()

	statePath := filepath.Join(dir, "state.json")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if data, err := os.ReadFile(statePath); err == nil {
			if err := json.Unmarshal(data, c); err != nil {
				c.Stop()
				return nil, fmt.Errorf("read %s: %w", statePath, err)
			}
			return c, nil
		}
		select {
		case err := <-c.done:
			return nil, fmt.Errorf("local control plane exited before it was ready (%v); its log:\n%s", err, tail(logPath, dir))
		case <-ctx.Done():
			c.Stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			return nil, fmt.Errorf("local control plane not ready after 3m; its log:\n%s", tail(logPath, dir))
		}
	}
}

// CRDDir is the directory of the repository's CRD manifests (PoolBinding).
func CRDDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "pkg", "apis", "loadbalancer", "v1", "crd"), nil
}

// StartWithCRDs is Start with the repository's CRDs installed.
func StartWithCRDs(ctx context.Context, dir string) (*Cluster, error) {
	crds, err := CRDDir()
	if err != nil {
		return nil, err
	}
	return Start(ctx, dir, crds)
}

// RunTests is the TestMain of a package whose tests talk to the real API
// server: it starts one control plane (with the repository's CRDs) for the
// whole package, hands it to use, runs the tests and stops it. When the
// control plane cannot start the package fails (exit code 1); it never skips.
// Use it as os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c })).
func RunTests(m *testing.M, use func(*Cluster)) int {
	if fuzzing() {
		// Fuzzing runs only the package's fuzz target, in a coordinator
		// and one worker process per CPU, each of which would start its
		// own control plane; no fuzz target talks to the API server.
		use(nil)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ccictl-testenv-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c, err := StartWithCRDs(ctx, filepath.Join(dir, "cluster"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: FAIL: the local kube-apiserver could not start, so these tests cannot run:", err)
		return 1
	}
	defer c.Stop()
	use(c)
	return m.Run()
}

// fuzzing reports whether the test binary runs a fuzz target (go test
// -fuzz: the coordinator, or one of its workers).
func fuzzing() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return true
	}
	w := flag.Lookup("test.fuzzworker")
	return w != nil && w.Value.String() == "true"
}

// Stop ends the control plane and its children.
func (c *Cluster) Stop() {
	if c == nil || c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// tail returns the last lines of the launcher log and of each component log.
func tail(launcherLog, dir string) string {
	var b strings.Builder
	files := []string{launcherLog}
	more, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	files = append(files, more...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		fmt.Fprintf(&b, "==> %s <==\n%s\n", f, strings.Join(lines, "\n"))
	}
	return b.String()
}

// Proxy is a plain-HTTP reverse proxy on loopback in front of the real API
// server, adding the cluster's bearer token. It forwards every request
// unchanged except those intercept answers itself (intercept returns true):
// a way to inject a fault the real server cannot produce, or to record
// what a client sent, without inventing Kubernetes answers. Close it after use.
func (c *Cluster) Proxy(intercept func(http.ResponseWriter, *http.Request) bool) (*httptest.Server, error) {
	upstream, err := url.Parse(c.Server)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s", c.CAFile)
	}
	rp := &httputil.ReverseProxy{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Header.Set("Authorization", "Bearer "+c.Token)
		},
		// Watches stream: pass each event on as it arrives.
		FlushInterval: -1,
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if intercept != nil && intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	})), nil
}

// RestartAPIServer restarts the control plane's kube-apiserver alone (same
// flags, port, credentials and etcd; the controller manager keeps running)
// and returns once it is ready again, with how long it was down as this
// process saw it (from the signal to ready).
func (c *Cluster) RestartAPIServer(ctx context.Context) (time.Duration, error) {
	if c == nil || c.cmd == nil || c.cmd.Process == nil {
		return 0, errors.New("no control plane to restart")
	}
	counter := filepath.Join(c.Dir, "apiserver-restarts")
	count := func() int {
		data, _ := os.ReadFile(counter)
		n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		return n
	}
	before, start := count(), time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return 0, err
	}
	for count() == before {
		select {
		case err := <-c.done:
			c.done <- err
			return 0, fmt.Errorf("local control plane exited while restarting kube-apiserver (%v); its log:\n%s", err, tail(filepath.Join(c.Dir, "localcluster.log"), c.Dir))
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return time.Since(start), nil
}
