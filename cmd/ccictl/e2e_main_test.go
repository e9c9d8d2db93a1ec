package main_test

// End-to-end tests: the built ccictl binary, run as a user runs it, against a
// real kube-apiserver with etcd and kube-controller-manager on loopback (see
// pkg/testenv and the localcluster module). They fail, never skip, when the
// control plane cannot start.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/testenv"
)

var (
	ccictlBin string
	cluster   *testenv.Cluster
	cliconfig string
	repoRoot  string
	workDir   string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	repoRoot, err = testenv.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	workDir, err = os.MkdirTemp("", "ccictl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(workDir)

	ccictlBin = filepath.Join(workDir, "ccictl")
	build := exec.Command("go", "build", "-o", ccictlBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building ccictl:", err)
		return 1
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cluster, err = testenv.StartWithCRDs(ctx, filepath.Join(workDir, "cluster"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL: the local kube-apiserver could not start, so no end-to-end test can run:", err)
		return 1
	}
	defer cluster.Stop()
	defer stopCCI2()

	// The vendor's layout: a kubeconfig-shaped "cliconfig" passed by --cliconfig.
	cliconfig = filepath.Join(workDir, "cliconfig")
	data, err := os.ReadFile(cluster.Kubeconfig)
	if err == nil {
		err = os.WriteFile(cliconfig, data, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// result is what one run of a binary produced.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

// runIn runs a binary with a clean environment: HOME in a temp dir so no
// user config is read, and the extra variables given.
func runIn(t *testing.T, stdin string, env []string, bin string, args ...string) result {
	t.Helper()
	home := filepath.Join(workDir, "home")
	_ = os.MkdirAll(home, 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %v: %v", bin, args, err)
	}
	return result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// ccictl runs the binary against the local cluster through --cliconfig.
func ccictl(t *testing.T, args ...string) result {
	t.Helper()
	return runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, args...)...)
}

// kubectl runs the installed kubectl against the same cluster, for
// byte-for-byte comparisons. Its absence is a failure, not a skip.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is required for output comparisons and is not on PATH: %v", err)
	}
	return runIn(t, "", nil, bin, append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)...)
}

// mustSucceed fails the test unless r exited 0.
func mustSucceed(t *testing.T, r result) result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("expected success, got %s", r)
	}
	return r
}

// newNamespace creates a namespace for one test and deletes it afterwards.
func newNamespace(t *testing.T, name string) string {
	t.Helper()
	mustSucceed(t, runIn(t, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", name), nil,
		ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
	t.Cleanup(func() {
		ccictl(t, "delete", "namespace", name, "--wait=false", "--ignore-not-found")
	})
	return name
}

// writeFile writes a manifest for a test and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
