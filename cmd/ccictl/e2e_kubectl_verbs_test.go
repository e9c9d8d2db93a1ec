package main_test

// The verbs ccictl takes from kubectl's own packages (wait, patch, label,
// annotate, edit, replace, diff, explain, logs, exec, rollout, scale,
// port-forward, cp, top, auth, cluster-info, events), plugins, the
// impersonation and warning flags and the disk discovery cache, each run side
// by side with kubectl on the real API server: stdout, stderr and exit code
// must be the same.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// pair is one namespace for ccictl and an identical one for kubectl, so a
// mutating command can run once with each tool on equal objects.
type pair struct{ c, k string }

func newPair(t *testing.T, name string) pair {
	t.Helper()
	return pair{c: newNamespace(t, name+"-c"), k: newNamespace(t, name+"-k")}
}

// both creates the manifest (NS stands for the namespace) in both namespaces.
func (p pair) both(t *testing.T, manifest string) {
	t.Helper()
	for _, ns := range []string{p.c, p.k} {
		mustSucceed(t, runIn(t, strings.ReplaceAll(manifest, "NS", ns), nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
	}
}

// same runs args (NS stands for the namespace) with ccictl in p.c and with
// kubectl in p.k, and fails unless stdout, stderr and the exit code are the
// same once ccictl's namespace and name are read as kubectl's.
func (p pair) same(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ours := runIn(t, "", env, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...)
	theirs := runIn(t, "", env, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...)
	assertSame(t, args, p.asKubectl(ours), theirs)
	return ours
}

func (p pair) asKubectl(r result) result {
	rep := strings.NewReplacer(p.c, p.k, "ccictl", "kubectl")
	return result{Stdout: rep.Replace(r.Stdout), Stderr: rep.Replace(r.Stderr), Code: r.Code}
}

func subst(args []string, ns string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "NS", ns)
	}
	return out
}

func assertSame(t *testing.T, args []string, ours, theirs result) {
	t.Helper()
	if ours != theirs {
		t.Errorf("ccictl %s differs from kubectl:\n--- ccictl (names read as kubectl's)\n%s\n--- kubectl\n%s", strings.Join(args, " "), ours, theirs)
	}
}

// sameHere runs the same read-only args with both tools (no namespace pair).
func sameHere(t *testing.T, args ...string) result {
	t.Helper()
	ours, theirs := ccictl(t, args...), kubectl(t, args...)
	ours.Stdout = strings.ReplaceAll(ours.Stdout, "ccictl", "kubectl")
	ours.Stderr = strings.ReplaceAll(ours.Stderr, "ccictl", "kubectl")
	assertSame(t, args, ours, theirs)
	return ours
}

// started is a command running in the background.
type started struct {
	cmd      *exec.Cmd
	out, err syncBuffer
	done     chan result
}

func start(t *testing.T, bin string, args ...string) *started {
	t.Helper()
	s := &started{done: make(chan result, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s.cmd = exec.CommandContext(ctx, bin, args...)
	s.cmd.Dir = repoRoot
	home := filepath.Join(workDir, "home")
	s.cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.err
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer cancel()
		err := s.cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		s.done <- result{Stdout: s.out.String(), Stderr: s.err.String(), Code: code}
	}()
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	return s
}

func (s *started) wait(t *testing.T) result {
	t.Helper()
	select {
	case r := <-s.done:
		return r
	case <-time.After(90 * time.Second):
		t.Fatalf("%v still running after 90s:\n%s", s.cmd.Args, s.out.String()+s.err.String())
		return result{}
	}
}

// running fails the test if s has already ended.
func (s *started) running(t *testing.T) {
	t.Helper()
	select {
	case r := <-s.done:
		t.Fatalf("%v ended before the condition could be met: %s", s.cmd.Args, r)
	default:
	}
}

// plbStatus writes a PoolBinding's status through the status subresource,
// as `ccictl sync` does.
func plbStatus(t *testing.T, ns, name, synced string, registered int) {
	t.Helper()
	now := time.Now().UTC().Format(time.RFC3339)
	patch := fmt.Sprintf(`{"status":{"registeredMembers":%d,"conditions":[{"type":"Synced","status":%q,"reason":"Test","message":"written by the test","lastTransitionTime":%q}]}}`, registered, synced, now)
	mustSucceed(t, kubectl(t, "patch", "plb", name, "-n", ns, "--subresource=status", "--type=merge", "-p", patch))
}

// TestKubectlVerbsWait: `wait` for a PoolBinding condition and a jsonpath
// value that become true while it waits (status written through the status
// subresource), `--for=delete`, and a timeout, each as kubectl.
func TestKubectlVerbsWait(t *testing.T) {
	ns := newNamespace(t, "e2e-wait")
	createPLBs(t, ns, nil, "test-c1")

	cond := []string{"wait", "--for=condition=Synced", "plb/test-c1", "-n", ns, "--timeout=60s"}
	jp := []string{"wait", "--for=jsonpath={.status.registeredMembers}=3", "plb/test-c1", "-n", ns, "--timeout=60s"}
	waits := []*started{
		start(t, ccictlBin, append([]string{"--cliconfig", cliconfig}, cond...)...),
		start(t, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, cond...)...),
		start(t, ccictlBin, append([]string{"--cliconfig", cliconfig}, jp...)...),
		start(t, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, jp...)...),
	}
	time.Sleep(2 * time.Second)
	for _, w := range waits {
		w.running(t)
	}
	plbStatus(t, ns, "test-c1", "True", 3)
	want := result{Stdout: plbResource + "/test-c1 condition met\n"}
	for _, w := range waits {
		if r := w.wait(t); r != want {
			t.Errorf("%v:\n%s\nwant\n%s", w.cmd.Args, r, want)
		}
	}

	// Already true: returns at once, as kubectl.
	sameHere(t, cond...)
	// A condition that never holds: kubectl's timeout message and exit 1.
	r := sameHere(t, "wait", "--for=condition=Synced=False", "plb/test-c1", "-n", ns, "--timeout=1s")
	if r.Code != 1 {
		t.Errorf("wait timeout exit %d, want 1", r.Code)
	}
	// Not found is an error, as kubectl.
	sameHere(t, "wait", "--for=condition=Synced", "plb/missing", "-n", ns, "--timeout=1s")

	del := []string{"wait", "--for=delete", "plb/test-c1", "-n", ns, "--timeout=60s"}
	dels := []*started{
		start(t, ccictlBin, append([]string{"--cliconfig", cliconfig}, del...)...),
		start(t, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, del...)...),
	}
	time.Sleep(2 * time.Second)
	for _, w := range dels {
		w.running(t)
	}
	mustSucceed(t, ccictl(t, "delete", "plb", "test-c1", "-n", ns))
	ours, theirs := dels[0].wait(t), dels[1].wait(t)
	assertSame(t, del, ours, theirs)
	if ours.Code != 0 || !strings.Contains(ours.Stdout, "test-c1 condition met") {
		t.Errorf("wait --for=delete: %s", ours)
	}
}

// TestKubectlVerbsWaitInterrupted: SIGINT during a wait ends ccictl's as
// it ends kubectl's (exit 1, nothing printed), through the command's
// context rather than kubectl's handler that exits the process.
func TestKubectlVerbsWaitInterrupted(t *testing.T) {
	ns := newNamespace(t, "e2e-wait-int")
	createPLBs(t, ns, nil, "test-c1")
	for _, cond := range []string{"--for=condition=Synced", "--for=jsonpath={.status.registeredMembers}=3", "--for=delete"} {
		args := []string{"wait", cond, "plb/test-c1", "-n", ns, "--timeout=60s"}
		waits := [2]*started{
			start(t, ccictlBin, append([]string{"--cliconfig", cliconfig}, args...)...),
			start(t, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)...),
		}
		time.Sleep(2 * time.Second)
		var ended [2]result
		for i, w := range waits {
			w.running(t)
			if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			select {
			case ended[i] = <-w.done:
			case <-time.After(15 * time.Second):
				t.Fatalf("%v still waiting 15s after SIGINT", w.cmd.Args)
			}
		}
		assertSame(t, args, ended[0], ended[1])
		if want := (result{Code: 1}); ended[0] != want {
			t.Errorf("interrupted %s: %s, want %s", cond, ended[0], want)
		}
	}
}

const svcManifest = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: NS
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
`

const plbVerbsManifest = `apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: web
  namespace: NS
spec:
  poolRef:
    id: e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1
  targetRef:
    kind: Service
    group: cci/v2
    name: web
    port: 80
`

// TestKubectlVerbsPatchLabelAnnotate: patch (merge, json, strategic, and
// strategic refused on a custom resource), label and annotate with and
// without --overwrite, and their removal, each as kubectl.
func TestKubectlVerbsPatchLabelAnnotate(t *testing.T) {
	p := newPair(t, "e2e-patch")
	p.both(t, svcManifest)
	p.both(t, plbVerbsManifest)

	for _, args := range [][]string{
		{"patch", "plb", "web", "-n", "NS", "--type=merge", "-p", `{"spec":{"targetRef":{"port":81}}}`},
		{"patch", "plb", "web", "-n", "NS", "--type=merge", "-p", `{"spec":{"targetRef":{"port":81}}}`}, // no change
		{"patch", "plb", "web", "-n", "NS", "--type=json", "-p", `[{"op":"replace","path":"/spec/targetRef/port","value":82}]`},
		{"patch", "plb", "web", "-n", "NS", "--type=json", "-p", `[{"op":"remove","path":"/spec/nothere"}]`},
		{"patch", "plb", "web", "-n", "NS", "-p", `{"spec":{"targetRef":{"port":83}}}`}, // strategic: refused for a CRD
		{"patch", "svc", "web", "-n", "NS", "-p", `{"spec":{"ports":[{"name":"http","port":8081}]}}`},
		{"patch", "svc", "web", "-n", "NS", "--type=strategic", "-p", `{"metadata":{"labels":{"tier":"front"}}}`, "-o", "jsonpath={.spec.ports[0].port} {.metadata.labels.tier}"},
		{"patch", "plb", "missing", "-n", "NS", "--type=merge", "-p", `{}`},
		{"patch", "plb", "web", "-n", "NS", "--type=merge", "-p", `{not json`},
		{"label", "plb", "web", "-n", "NS", "stage=blue"},
		{"label", "plb", "web", "-n", "NS", "stage=green"}, // refused without --overwrite
		{"label", "plb", "web", "-n", "NS", "stage=green", "--overwrite"},
		{"label", "plb", "web", "-n", "NS", "--list"},
		{"label", "plb", "web", "-n", "NS", "stage-"},
		{"annotate", "plb", "web", "-n", "NS", "owner=team-a"},
		{"annotate", "plb", "web", "-n", "NS", "owner=team-b"},
		{"annotate", "plb", "web", "-n", "NS", "owner=team-b", "--overwrite"},
		{"annotate", "plb", "web", "-n", "NS", "--list"},
		{"label", "svc", "--all", "-n", "NS", "swept=yes", "--dry-run=server", "-o", "name"},
		{"get", "plb", "web", "-n", "NS", "-o", "jsonpath={.spec.targetRef.port} {.metadata.labels} {.metadata.annotations}"},
	} {
		p.same(t, nil, args...)
	}
}

// TestKubectlVerbsDiff: diff exits 0 without a change, 1 with one and more
// than 1 on an error, as kubectl documents; the diff itself is kubectl's.
func TestKubectlVerbsDiff(t *testing.T) {
	p := newPair(t, "e2e-diff")
	p.both(t, plbVerbsManifest)
	dir := t.TempDir()
	write := func(name, content string, ns string) string {
		path := filepath.Join(dir, ns+"-"+name)
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(content, "NS", ns)), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A PoolBinding's spec is immutable: a label is a change the server
	// accepts, a new port one it refuses (an error, exit > 1).
	changed := strings.Replace(plbVerbsManifest, "  name: web\n", "  name: web\n  labels:\n    stage: blue\n", 1)
	invalid := strings.Replace(plbVerbsManifest, "port: 80", "port: 8080", 1)
	// The diff names temporary files (LIVE-123/..., MERGED-456/...) and
	// their times; everything else is compared.
	tmpNames := regexp.MustCompile(`(?m)^(\+\+\+|---) .*$|diff -u -N \S+ \S+|(resourceVersion|uid|creationTimestamp): .*$`)
	for _, tc := range []struct {
		file     string
		wantCode int
	}{
		{plbVerbsManifest, 0},
		{changed, 1},
		{invalid, 2},
		{strings.Replace(plbVerbsManifest, "port: 80", "port: 70000", 1), 2},
	} {
		ours := runIn(t, "", nil, ccictlBin, "--cliconfig", cliconfig, "diff", "-f", write("ours.yaml", tc.file, p.c))
		theirs := runIn(t, "", nil, kubectlPath(t), "--kubeconfig", cluster.Kubeconfig, "diff", "-f", write("theirs.yaml", tc.file, p.k))
		ours = p.asKubectl(ours)
		ours.Stdout = tmpNames.ReplaceAllString(ours.Stdout, "$1 FILE")
		theirs.Stdout = tmpNames.ReplaceAllString(theirs.Stdout, "$1 FILE")
		ours.Stderr = strings.ReplaceAll(ours.Stderr, p.k+"-ours", p.k+"-theirs")
		assertSame(t, []string{"diff", "-f", "<file>"}, ours, theirs)
		if ours.Code != tc.wantCode {
			t.Errorf("diff exit %d, want %d:\n%s", ours.Code, tc.wantCode, ours)
		}
		if tc.wantCode == 1 && !strings.Contains(ours.Stdout, "+    stage: blue") {
			t.Errorf("diff does not show the change:\n%s", ours.Stdout)
		}
	}
	// A missing file is an error (> 1).
	r := p.same(t, nil, "diff", "-f", filepath.Join(dir, "missing.yaml"))
	if r.Code <= 1 {
		t.Errorf("diff of a missing file exit %d, want > 1", r.Code)
	}
}

// TestKubectlVerbsEditReplace: edit through $EDITOR and replace -f, as kubectl.
func TestKubectlVerbsEditReplace(t *testing.T) {
	p := newPair(t, "e2e-edit")
	p.both(t, plbVerbsManifest)
	dir := t.TempDir()
	// Adds a label once; a second edit finds nothing to change.
	labeller := writeScript(t, dir, "label.sh", "#!/bin/sh\ngrep -q 'edited:' \"$1\" || sed -i 's/^  name: web$/  name: web\\n  labels:\\n    edited: \"yes\"/' \"$1\"\n")
	env := []string{"EDITOR=" + labeller, "KUBE_EDITOR=" + labeller}
	p.same(t, env, "edit", "plb", "web", "-n", "NS")
	p.same(t, env, "edit", "plb", "web", "-n", "NS") // nothing left to change
	p.same(t, nil, "get", "plb", "web", "-n", "NS", "-o", "jsonpath={.metadata.labels}")
	p.same(t, env, "edit", "plb", "missing", "-n", "NS")
	// A change the server refuses (the spec is immutable): kubectl's report,
	// with the copy of the edit kept in a temporary file (named at random).
	porter := writeScript(t, dir, "port.sh", "#!/bin/sh\nsed -i 's/port: 80$/port: 8088/' \"$1\"\n")
	penv := []string{"EDITOR=" + porter, "KUBE_EDITOR=" + porter}
	copyName := regexp.MustCompile(`kubectl-edit-\d+\.yaml`)
	ours := runIn(t, "", penv, ccictlBin, "--cliconfig", cliconfig, "edit", "plb", "web", "-n", p.c)
	theirs := runIn(t, "", penv, kubectlPath(t), "--kubeconfig", cluster.Kubeconfig, "edit", "plb", "web", "-n", p.k)
	ours = p.asKubectl(ours)
	ours.Stderr = copyName.ReplaceAllString(ours.Stderr, "kubectl-edit-N.yaml")
	theirs.Stderr = copyName.ReplaceAllString(theirs.Stderr, "kubectl-edit-N.yaml")
	assertSame(t, []string{"edit", "(immutable field)"}, ours, theirs)
	if ours.Code != 1 || !strings.Contains(ours.Stderr, "is invalid") {
		t.Errorf("refused edit: %s", ours)
	}

	for _, ns := range []string{p.c, p.k} {
		m := strings.ReplaceAll(strings.Replace(plbVerbsManifest, "port: 80", "port: 9090", 1), "NS", ns)
		if err := os.WriteFile(filepath.Join(dir, ns+".yaml"), []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.same(t, nil, "replace", "-f", filepath.Join(dir, "NS.yaml")) // immutable spec: refused
	for _, ns := range []string{p.c, p.k} {
		m := strings.ReplaceAll(strings.Replace(plbVerbsManifest, "  name: web\n", "  name: web\n  labels:\n    replaced: \"yes\"\n", 1), "NS", ns)
		if err := os.WriteFile(filepath.Join(dir, ns+".yaml"), []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.same(t, nil, "replace", "-f", filepath.Join(dir, "NS.yaml"))
	p.same(t, nil, "get", "plb", "web", "-n", "NS", "-o", "jsonpath={.metadata.labels}")
	p.same(t, nil, "replace", "-f", filepath.Join(dir, "NS.yaml"), "--dry-run=server", "-o", "name")
	p.same(t, nil, "replace", "-f", filepath.Join(dir, "none.yaml"))
}

// TestKubectlVerbsRead: explain, cluster-info, events, api docs for the
// PoolBinding type, as kubectl prints them.
func TestKubectlVerbsRead(t *testing.T) {
	ns := newNamespace(t, "e2e-read")
	createPLBs(t, ns, nil, "test-c1")
	for _, args := range [][]string{
		{"explain", "poolbinding"},
		{"explain", "poolbinding.spec.poolRef"},
		{"explain", "plb.status.conditions", "--recursive"},
		{"explain", "poolbinding.spec.nothere"},
		{"explain", "nothere"},
		{"cluster-info"},
		{"events", "-n", ns},
		{"events", "-n", ns, "--for", "plb/test-c1"},
		{"events", "-n", ns, "--types=Bogus"},
	} {
		sameHere(t, args...)
	}
}

const podManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: NS
  labels:
    app: web
spec:
  automountServiceAccountToken: false
  containers:
  - name: app
    image: registry.example/app:1
`

const deploymentManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: NS
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      automountServiceAccountToken: false
      containers:
      - name: app
        image: registry.example/app:1
`

// bothEventually creates the manifest in both namespaces, retrying while the
// namespace's default ServiceAccount does not exist yet (the controller
// manager creates it just after the namespace).
func (p pair) bothEventually(t *testing.T, manifest string) {
	t.Helper()
	for _, ns := range []string{p.c, p.k} {
		var r result
		ok := waitFor(30*time.Second, func() bool {
			r = runIn(t, strings.ReplaceAll(manifest, "NS", ns), nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-")
			return r.Code == 0
		})
		if !ok {
			t.Fatalf("creating in %s: %s", ns, r)
		}
	}
}

// TestKubectlVerbsRolloutStatusInterrupted: `rollout status` of a
// Deployment that never becomes available (no kubelet) prints kubectl's
// status and, on SIGINT, ends as kubectl's does (exit 1, nothing more), and
// --watch=false prints the status once and exits 0, as kubectl.
func TestKubectlVerbsRolloutStatusInterrupted(t *testing.T) {
	p := newPair(t, "e2e-rollout-int")
	p.bothEventually(t, deploymentManifest)
	p.same(t, nil, "rollout", "status", "deployment/web", "-n", "NS", "--watch=false")
	args := []string{"rollout", "status", "deployment/web", "-n", "NS"}
	tools := [2]*started{
		start(t, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...),
		start(t, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...),
	}
	var ended [2]result
	for i, s := range tools {
		if !waitFor(20*time.Second, func() bool { return strings.Contains(s.out.String(), "Waiting for") }) {
			s.running(t)
			t.Fatalf("%v printed no status: %s%s", s.cmd.Args, s.out.String(), s.err.String())
		}
		s.running(t)
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		select {
		case ended[i] = <-s.done:
		case <-time.After(15 * time.Second):
			t.Fatalf("%v still waiting 15s after SIGINT", s.cmd.Args)
		}
	}
	// The same status line first (a later change of the Deployment's status
	// may reach one tool's watch and not the other's before the signal).
	first := func(r result) result {
		r.Stdout, _, _ = strings.Cut(r.Stdout, "\n")
		return r
	}
	assertSame(t, args, first(p.asKubectl(ended[0])), first(ended[1]))
	if ended[0].Code != 1 || ended[0].Stderr != "" || !strings.HasPrefix(ended[0].Stdout, `Waiting for deployment "web" rollout to finish`) {
		t.Errorf("interrupted rollout status: %s", ended[0])
	}
}

// TestKubectlVerbsWorkloads: rollout and scale on a Deployment, and the verbs
// that need a kubelet (logs, exec, port-forward, cp, top). The test control
// plane has no nodes, so those fail; ccictl must fail exactly as kubectl does
// (message and exit code), which shows the verb is kubectl's, wired to the
// same server.
func TestKubectlVerbsWorkloads(t *testing.T) {
	p := newPair(t, "e2e-work")
	p.bothEventually(t, podManifest)
	p.bothEventually(t, deploymentManifest)
	p.both(t, plbVerbsManifest)

	for _, args := range [][]string{
		{"rollout", "history", "deployment/web", "-n", "NS"},
		{"rollout", "pause", "deployment/web", "-n", "NS"},
		{"rollout", "resume", "deployment/web", "-n", "NS"},
		{"rollout", "status", "deployment/web", "-n", "NS", "--timeout=1s"},
		{"rollout", "undo", "deployment/web", "-n", "NS", "--to-revision=7"},
		{"scale", "deployment/web", "-n", "NS", "--replicas=3"},
		{"scale", "deployment/web", "-n", "NS", "--replicas=2", "--current-replicas=1"},
		{"scale", "plb/web", "-n", "NS", "--replicas=2"},
		{"get", "deployment", "web", "-n", "NS", "-o", "jsonpath={.spec.replicas}"},
	} {
		p.same(t, nil, args...)
	}
	p.same(t, nil, "exec", "missing", "-n", "NS", "--", "true")
	p.same(t, nil, "cp", "/nonexistent-source", "NS/web-0:/tmp/x")
	// exec and cp on a pod without a node: the API server refuses the
	// stream upgrade. kubectl 1.32 prints the refusal as "Error from server
	// (BadRequest): <reason>", kubectl 1.36's stream packages (ccictl's) as
	// "error: unable to upgrade connection: <reason>"; the reason, stdout and
	// the exit code must be the same.
	for _, args := range [][]string{
		{"exec", "web-0", "-n", "NS", "--", "true"},
		{"cp", "NS/web-0:/etc/hostname", filepath.Join(t.TempDir(), "hostname")},
	} {
		ours := p.asKubectl(runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...))
		theirs := runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...)
		const reason = "pod web-0 does not have a host assigned\n"
		if ours.Code != 1 || theirs.Code != 1 || ours.Stdout != theirs.Stdout ||
			ours.Stderr != "error: unable to upgrade connection: "+reason || !strings.HasSuffix(theirs.Stderr, reason) {
			t.Errorf("ccictl %v:\n%s\nkubectl:\n%s", args, ours, theirs)
		}
	}
	for _, args := range [][]string{
		{"logs", "web-0", "-n", "NS"},
		{"logs", "pod/missing", "-n", "NS"},
		{"logs", "-l", "app=nomatch", "-n", "NS"},
		{"port-forward", "pod/web-0", "-n", "NS", "18080:8080"},
		{"top", "pod", "-n", "NS"},
		{"top", "node"},
	} {
		p.same(t, nil, args...)
	}
}

// TestKubectlVerbsImpersonation: --as/--as-group with RBAC that lets one user
// read PoolBindings in one namespace only; auth can-i and whoami answer for
// the impersonated user, as kubectl.
func TestKubectlVerbsImpersonation(t *testing.T) {
	p := newPair(t, "e2e-as")
	p.both(t, plbVerbsManifest)
	p.both(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: plb-reader
  namespace: NS
rules:
- apiGroups: ["loadbalancer.networking.openvessel.io"]
  resources: ["poolbindings"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: alice-reads-plb
  namespace: NS
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: plb-reader
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: alice
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: plb-readers
`)
	for _, args := range [][]string{
		{"get", "plb", "-n", "NS", "--as", "alice", "-o", "name"},
		{"get", "svc", "-n", "NS", "--as", "alice"},
		{"get", "plb", "-n", "default", "--as", "alice"},
		{"delete", "plb", "web", "-n", "NS", "--as", "alice"},
		{"get", "plb", "-n", "NS", "--as", "bob", "--as-group", "plb-readers", "-o", "name"},
		{"get", "plb", "-n", "NS", "--as", "bob", "--as-group", "other", "-o", "name"},
		{"label", "plb", "web", "-n", "NS", "--as", "alice", "x=y"},
		{"auth", "can-i", "list", "poolbindings", "-n", "NS", "--as", "alice"},
		{"auth", "can-i", "delete", "poolbindings", "-n", "NS", "--as", "alice"},
		{"auth", "can-i", "delete", "poolbindings", "-n", "NS", "--as", "alice", "-q"},
		{"auth", "can-i", "list", "poolbindings", "-A", "--as", "alice"},
		{"auth", "can-i", "list", "plb", "-n", "NS", "--as", "bob", "--as-group", "plb-readers"},
		{"auth", "can-i", "--list", "-n", "NS", "--as", "alice"},
		{"auth", "whoami", "--as", "alice", "--as-group", "plb-readers", "--as-uid", "u-1"},
		{"auth", "whoami", "--as", "alice", "-o", "jsonpath={.status.userInfo.username}"},
	} {
		p.same(t, nil, args...)
	}
	if r := ccictl(t, "auth", "can-i", "delete", "poolbindings", "-n", p.c, "--as", "alice"); r.Stdout != "no\n" || r.Code != 1 {
		t.Errorf("auth can-i delete as alice: %s, want no / exit 1", r)
	}
}

// TestKubectlVerbsPlugin: an executable ccictl-<name> on PATH runs as
// `ccictl <name>` with the remaining arguments, and its exit code is
// ccictl's; a built-in command is never shadowed.
func TestKubectlVerbsPlugin(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "ccictl-hello", "#!/bin/sh\necho \"hello $*\"\necho to-stderr >&2\nexit 3\n")
	writeScript(t, dir, "ccictl-get", "#!/bin/sh\necho shadowed\n")
	writeScript(t, dir, "ccictl-create-thing", "#!/bin/sh\necho \"thing $*\"\n")
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}

	r := runIn(t, "", env, ccictlBin, "hello", "world", "--x=1")
	if want := (result{Stdout: "hello world --x=1\n", Stderr: "to-stderr\n", Code: 3}); r != want {
		t.Errorf("plugin run:\n%s\nwant\n%s", r, want)
	}
	r = runIn(t, "", env, ccictlBin, "create", "thing", "a")
	if want := (result{Stdout: "thing a\n"}); r != want {
		t.Errorf("create subcommand plugin:\n%s\nwant\n%s", r, want)
	}
	r = runIn(t, "", env, ccictlBin, "--cliconfig", cliconfig, "get", "ns", "default", "-o", "name")
	if r.Stdout != "namespace/default\n" || r.Code != 0 {
		t.Errorf("the built-in get was shadowed by a plugin:\n%s", r)
	}
	// Flags before a plugin name: kubectl's message and exit code.
	args := []string{"--request-timeout=5s", "hello"}
	ours := runIn(t, "", env, ccictlBin, args...)
	theirs := runIn(t, "", env, kubectlPath(t), args...)
	assertSame(t, args, ours, theirs)
	// Neither a command nor a plugin: kubectl 1.36's words (main prints the
	// error through cmdutil.CheckErr). The kubectl on PATH may be a
	// distribution build that prints through component-base's cli.Run
	// ("Error: ..."), so this one is compared with the upstream text.
	r = runIn(t, "", env, ccictlBin, "nosuchcommand")
	if want := (result{Stderr: "error: unknown command \"nosuchcommand\" for \"ccictl\"\n", Code: 1}); r != want {
		t.Errorf("unknown command:\n%s\nwant\n%s", r, want)
	}
}

// TestKubectlVerbsWarnings: a server warning (a deprecated API) prints as
// kubectl prints it, "Warning: ..." on stderr, and --warnings-as-errors
// turns it into kubectl's error and exit code.
func TestKubectlVerbsWarnings(t *testing.T) {
	p := newPair(t, "e2e-warn")
	p.both(t, svcManifest)
	const warning = "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n"
	for _, args := range [][]string{
		{"get", "endpoints", "-n", "NS", "-o", "name"},
		{"label", "endpoints", "web", "-n", "NS", "a=b"},
		{"get", "svc", "-n", "NS", "-o", "name", "--warnings-as-errors"},
	} {
		r := p.same(t, nil, args...)
		if args[1] == "endpoints" && !strings.HasPrefix(r.Stderr, warning) {
			t.Errorf("no server warning on stderr: %s", r)
		}
	}
	// --warnings-as-errors: the command's output, the warning, then kubectl
	// 1.36's error line and exit 1 (its main ends with cmdutil.CheckErr; a
	// distribution kubectl that ends through component-base's cli.Run logs
	// the same error as a klog line instead, so that line is compared with
	// the upstream text).
	klogLine := regexp.MustCompile(`(?m)^E\d{4} .*"command failed" err="(.*)"\n`)
	for _, tc := range []struct {
		args   []string
		stdout string
	}{
		{[]string{"get", "endpoints", "-n", "NS", "-o", "name", "--warnings-as-errors"}, "endpoints/web\n"},
		{[]string{"label", "endpoints", "web", "-n", "NS", "a=c", "--overwrite", "--warnings-as-errors"}, "endpoints/web labeled\n"},
	} {
		ours := runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(tc.args, p.c)...)...)
		theirs := runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(tc.args, p.k)...)...)
		theirs.Stderr = klogLine.ReplaceAllString(theirs.Stderr, "error: $1\n")
		assertSame(t, tc.args, p.asKubectl(ours), theirs)
		if want := (result{Stdout: tc.stdout, Stderr: warning + "error: 1 warning received\n", Code: 1}); ours != want {
			t.Errorf("ccictl %v:\n%s\nwant\n%s", tc.args, ours, want)
		}
	}
}

// TestKubectlVerbsWarmGetOneRequest: with the discovery cache on disk
// (<cache dir>/discovery/<host>, <cache dir>/http), a second `get` sends
// exactly one request to the API server, as warm kubectl does; a type the
// cache does not know yet is still found.
func TestKubectlVerbsWarmGetOneRequest(t *testing.T) {
	ns := newNamespace(t, "e2e-cache")
	createPLBs(t, ns, nil, "test-c1")
	rc := newRequestCounter(t)
	cfg := rc.cliconfig(t)
	home := t.TempDir()
	env := []string{"HOME=" + home}

	get := func() (result, map[string]int) {
		rc.reset()
		r := mustSucceed(t, runIn(t, "", env, ccictlBin, "--cliconfig", cfg, "get", "plb", "-n", ns, "-o", "name"))
		_, paths := rc.snapshot()
		return r, paths
	}
	r, cold := get()
	if r.Stdout != plbResource+"/test-c1\n" {
		t.Fatalf("get: %s", r)
	}
	if total(cold) < 2 {
		t.Errorf("a cold get made %d requests (%v); discovery was not fetched", total(cold), cold)
	}
	_, warm := get()
	if total(warm) != 1 || warm["GET /apis/loadbalancer.networking.openvessel.io/v1/namespaces/*/poolbindings"] != 1 {
		t.Errorf("a warm get made %d requests, want exactly the list: %v", total(warm), warm)
	}
	host := strings.TrimPrefix(rc.url, "http://")
	disc := filepath.Join(home, ".kubev2", "cache", "discovery", strings.ReplaceAll(host, ":", "_"))
	for _, dir := range []string{disc, filepath.Join(home, ".kubev2", "cache", "http")} {
		if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
			t.Errorf("cache directory %s is missing or empty (%v)", dir, err)
		}
	}
	// A type installed after the cache was written is still found: the
	// unknown name invalidates the cache and discovery is fetched again.
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: cachetests.e2e.ccictl.test
spec:
  group: e2e.ccictl.test
  scope: Namespaced
  names: {plural: cachetests, singular: cachetest, kind: CacheTest}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object}
`
	mustSucceed(t, runIn(t, crd, nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
	t.Cleanup(func() { ccictl(t, "delete", "crd", "cachetests.e2e.ccictl.test", "--ignore-not-found") })
	var r2 result
	if !waitFor(20*time.Second, func() bool {
		r2 = runIn(t, "", env, ccictlBin, "--cliconfig", cfg, "get", "cachetests", "-n", ns)
		return r2.Code == 0
	}) {
		t.Errorf("a type created after the cache was written is not found: %s", r2)
	} else if r2.Stderr != "No resources found in "+ns+" namespace.\n" {
		t.Errorf("get cachetests: %s", r2)
	}

	// kubectl, warm, makes the same single request.
	kenv := []string{"HOME=" + t.TempDir()}
	for i := 0; i < 2; i++ {
		rc.reset()
		mustSucceed(t, runIn(t, "", kenv, kubectlPath(t), "--kubeconfig", cfg, "get", "plb", "-n", ns, "-o", "name"))
	}
	// (kubectl 1.32 also asks for /version; ccictl needs only the list.)
	if _, kwarm := rc.snapshot(); kwarm["GET /apis/loadbalancer.networking.openvessel.io/v1/namespaces/*/poolbindings"] != 1 || total(kwarm) < total(warm) {
		t.Errorf("warm kubectl made %d requests (%v), warm ccictl %d", total(kwarm), kwarm, total(warm))
	} else {
		t.Logf("warm get: ccictl %d request(s) %v, kubectl %d %v", total(warm), warm, total(kwarm), kwarm)
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// acceptEncodingProxy forwards to the test API server and records the
// Accept-Encoding header of every request. It serves TLS: client-go applies
// DisableCompression only to the transports it builds, and a plain-http
// server with no other options gets Go's default transport.
func acceptEncodingProxy(t *testing.T) (cfg string, seen func() []string) {
	t.Helper()
	rc := newRequestCounter(t) // only for its upstream settings and cliconfig
	upstream, err := url.Parse(rc.url)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var values []string
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		values = append(values, r.Header.Get("Accept-Encoding"))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg = writeFile(t, "tls-proxy-cliconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster: {server: %s, insecure-skip-tls-verify: true}
contexts:
- name: proxy
  context: {cluster: proxy, user: nobody}
current-context: proxy
users:
- name: nobody
  user: {token: replaced-by-the-counting-proxy}
`, srv.URL))
	return cfg, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := values
		values = nil
		return out
	}
}

// TestKubectlVerbsTLSServerNameAndCompression: --tls-server-name checks the
// server certificate against the given name, and --disable-compression stops
// asking for gzip, as in kubectl.
func TestKubectlVerbsTLSServerNameAndCompression(t *testing.T) {
	// The API server's self-signed serving certificate names
	// kubernetes.default among others, never wrong.example.
	for _, name := range []string{"kubernetes.default", "wrong.example"} {
		r := sameHere(t, "get", "ns", "default", "-o", "name", "--tls-server-name="+name)
		if ok := r.Code == 0; ok != (name == "kubernetes.default") {
			t.Errorf("--tls-server-name=%s: %s", name, r)
		}
	}

	cfg, seen := acceptEncodingProxy(t)
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "gzip"},
		{[]string{"--disable-compression"}, ""},
	} {
		for _, bin := range []string{ccictlBin, kubectlPath(t)} {
			flag := "--cliconfig"
			if bin != ccictlBin {
				flag = "--kubeconfig"
			}
			// A fresh HOME: discovery requests are sent too.
			mustSucceed(t, runIn(t, "", []string{"HOME=" + t.TempDir()}, bin, append([]string{flag, cfg, "get", "ns", "default", "-o", "name"}, tc.flags...)...))
			got := seen()
			if len(got) < 2 {
				t.Errorf("%s %v sent %d requests, want discovery and the get", filepath.Base(bin), tc.flags, len(got))
			}
			for _, v := range got {
				if v != tc.want {
					t.Errorf("%s %v: Accept-Encoding %q, want %q (all: %q)", filepath.Base(bin), tc.flags, v, tc.want, got)
					break
				}
			}
		}
	}
}

// TestKubectlVerbsIAMAuth: kubectl's verbs authenticate through ccictl's
// config loading, the iam auth provider (X-Auth-Token through the gateway
// double), and its secret masking holds at -v=9.
func TestKubectlVerbsIAMAuth(t *testing.T) {
	gw := startGateway(t, iamUser)
	ns := newNamespace(t, "e2e-verbs-iam")
	token := gw.iam.IssueToken(iamUser)
	cfg := writeCLIConfig(t, gw.url, gw.caPEM, ns, iamAuthInfo(gw.providerConfig("token", token)))
	run := func(args ...string) result {
		return runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cfg, "--cache-dir", t.TempDir()}, args...)...)
	}
	mustSucceed(t, run("create", "-f", writeFile(t, "plb.yaml", plbManifest(t, ns, "via-iam"))))
	before := gw.iam.Calls().VerifiedToken

	r := mustSucceed(t, run("-v=9", "label", "plb", "via-iam", "ci=yes"))
	if r.Stdout != plbResource+"/via-iam labeled\n" {
		t.Errorf("label through IAM: %s", r)
	}
	assertNoSecrets(t, "label -v=9", r, token)
	r = mustSucceed(t, run("-v=9", "wait", "--for=jsonpath={.metadata.labels.ci}=yes", "plb/via-iam", "--timeout=20s"))
	if r.Stdout != plbResource+"/via-iam condition met\n" {
		t.Errorf("wait through IAM: %s", r)
	}
	assertNoSecrets(t, "wait -v=9", r, token)
	if c := gw.iam.Calls(); c.VerifiedToken <= before || c.Rejected != 0 {
		t.Errorf("the gateway did not see the verbs' requests authenticated by X-Auth-Token: %+v", c)
	}
}
