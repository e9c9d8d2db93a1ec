package main_test

// `apply` is kubectl's apply (k8s.io/kubectl/pkg/cmd/apply) with ccictl's
// platform rules in front: each case runs side by side with kubectl on the
// real API server, each tool in its own namespace, and stdout, stderr and
// the exit code must be the same; what ccictl adds (refusing a bad object
// before anything is sent) is asserted on its own.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// files writes each named manifest (NS stands for the namespace) once per
// namespace of p, under dir/<namespace>/, and returns dir/NS, which subst
// turns into either tool's directory.
func (p pair) files(t *testing.T, manifests map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, ns := range []string{p.c, p.k} {
		if err := os.MkdirAll(filepath.Join(dir, ns), 0o700); err != nil {
			t.Fatal(err)
		}
		for name, m := range manifests {
			if err := os.WriteFile(filepath.Join(dir, ns, name), []byte(strings.ReplaceAll(m, "NS", ns)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(dir, "NS")
}

// liveFields are what differs between two objects created apart: uid,
// resourceVersion, creation time and the Service's cluster IP.
var liveFields = regexp.MustCompile(`("?(uid|resourceVersion|creationTimestamp)"?: )\S+|10\.\d+\.\d+\.\d+`)

// klogHeader is the time and pid of a klog line.
var klogHeader = regexp.MustCompile(`(?m)^([IWE])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ `)

// sameLive is pair.same for printed objects, with liveFields masked.
func (p pair) sameLive(t *testing.T, args ...string) result {
	t.Helper()
	ours := runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...)
	theirs := runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...)
	masked := p.asKubectl(ours)
	masked.Stdout = liveFields.ReplaceAllString(masked.Stdout, "${1}X")
	theirs.Stdout = liveFields.ReplaceAllString(theirs.Stdout, "${1}X")
	assertSame(t, args, masked, theirs)
	return ours
}

func labelled(m, labels string) string {
	return strings.Replace(m, "  namespace: NS\n", "  namespace: NS\n  labels:\n"+labels, 1)
}

// TestApplyClientSide: apply is client-side by default: created, unchanged,
// configured, the last-applied annotation, a dry run that prints the merged
// object, the server's refusal of a changed (immutable) spec, and
// --server-side on the same object, all as kubectl.
func TestApplyClientSide(t *testing.T) {
	p := newPair(t, "e2e-apply")
	dir := p.files(t, map[string]string{
		"plb.yaml":       plbVerbsManifest,
		"labelled.yaml":  labelled(plbVerbsManifest, "    stage: blue\n"),
		"immutable.yaml": strings.Replace(plbVerbsManifest, "port: 80", "port: 8080", 1),
		"svc.yaml":       svcManifest,
		"svc-more.yaml":  labelled(svcManifest, "    tier: front\n"),
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	for _, step := range []struct {
		args []string
		out  string
	}{
		{[]string{"apply", "-f", f("plb.yaml")}, plbResource + "/web created\n"},
		{[]string{"apply", "-f", f("plb.yaml")}, plbResource + "/web unchanged\n"},
		{[]string{"apply", "-f", f("labelled.yaml")}, plbResource + "/web configured\n"},
		{[]string{"apply", "-f", f("labelled.yaml"), "-o", "name"}, plbResource + "/web\n"},
		{[]string{"apply", "-f", f("plb.yaml"), "--dry-run=server"}, plbResource + "/web configured (server dry run)\n"},
		{[]string{"apply", "-f", f("svc.yaml"), "-f", f("plb.yaml"), "--dry-run=client"}, "service/web created (dry run)\n" + plbResource + "/web configured (dry run)\n"},
		{[]string{"get", "plb", "web", "-n", "NS", "-o", `jsonpath={.metadata.labels} {.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}`}, ""},
		{[]string{"apply", "-f", f("svc.yaml")}, "service/web created\n"},
		{[]string{"apply", "-f", f("svc-more.yaml")}, "service/web configured\n"},
		{[]string{"apply", "-f", f("plb.yaml"), "--server-side", "--dry-run=client"}, ""},
		{[]string{"apply", "-f", f("plb.yaml"), "--force-conflicts"}, ""},
	} {
		r := p.same(t, nil, step.args...)
		if step.out != "" && p.asKubectl(r).Stdout != step.out {
			t.Errorf("ccictl %v: stdout %q, want %q (%s)", step.args, r.Stdout, step.out, r)
		}
	}
	// The annotation records what was applied, so the next apply can remove
	// what the file no longer has.
	r := mustSucceed(t, ccictl(t, "get", "plb", "web", "-n", p.c, "-o", `jsonpath={.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}`))
	if !strings.Contains(r.Stdout, `"labels":{"stage":"blue"}`) || !strings.Contains(r.Stdout, `"namespace":"`+p.c+`"`) {
		t.Errorf("last-applied annotation: %s", r.Stdout)
	}
	if r := p.same(t, nil, "apply", "-f", f("immutable.yaml")); r.Code != 1 || !strings.Contains(r.Stderr, "spec is immutable") {
		t.Errorf("apply of a changed spec: %s", r)
	}
	if r := p.same(t, nil, "apply", "-f", f("labelled.yaml"), "--server-side"); p.asKubectl(r).Stdout != plbResource+"/web serverside-applied\n" {
		t.Errorf("apply --server-side: %s", r)
	}
	// ccictl's own field manager: after --server-side the client-side
	// manager's fields were migrated to it, as kubectl migrates to "kubectl".
	managers := `jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}`
	if r := mustSucceed(t, ccictl(t, "get", "plb", "web", "-n", p.c, "--show-managed-fields", "-o", managers)); r.Stdout != "ccictl/Apply " {
		t.Errorf("field managers after apply and apply --server-side: %q", r.Stdout)
	}
}

// TestApplyDryRunClientPrintsMergedObject: --dry-run=client -o yaml|json
// prints the live object with the file's change merged in (uid,
// resourceVersion, the server-assigned clusterIP, the new label, the
// updated annotation), not the input: exactly what the server itself makes
// of the same apply (--dry-run=server), which is compared with kubectl's.
// Nothing changes on the server. kubectl 1.32 printed the live object
// without the change here; this is kubectl 1.36's apply (ccictl's), which
// prints the merged object.
func TestApplyDryRunClientPrintsMergedObject(t *testing.T) {
	p := newPair(t, "e2e-apply-dry")
	dir := p.files(t, map[string]string{
		"svc.yaml":      svcManifest,
		"svc-more.yaml": labelled(svcManifest, "    tier: front\n"),
		"plb.yaml":      plbVerbsManifest,
		"plb-more.yaml": labelled(plbVerbsManifest, "    stage: blue\n"),
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	p.same(t, nil, "apply", "-f", f("svc.yaml"))
	p.same(t, nil, "apply", "-f", f("plb.yaml"))
	managers := `jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}`
	if r := mustSucceed(t, ccictl(t, "get", "svc", "web", "-n", p.c, "--show-managed-fields", "-o", managers)); r.Stdout != "ccictl-client-side-apply/Update " {
		t.Errorf("field managers after a client-side apply: %q", r.Stdout)
	}
	for _, out := range []string{"yaml", "json"} {
		input := []string{"apply", "-f", f("svc-more.yaml"), "-f", f("plb-more.yaml"), "-o", out}
		client := mustSucceed(t, ccictl(t, subst(append(input, "--dry-run=client"), p.c)...))
		server := p.sameLive(t, append(input, "--dry-run=server")...)
		if client.Stdout != server.Stdout {
			t.Errorf("apply --dry-run=client -o %s is not the object the server would make of it:\n--- client\n%s--- server\n%s", out, client.Stdout, server.Stdout)
		}
		unquoted := strings.ReplaceAll(client.Stdout, `\"`, `"`)
		for _, want := range []string{"tier", "front", "stage", "blue", "uid", "resourceVersion", "clusterIP", `"labels":{"tier":"front"}`, `"labels":{"stage":"blue"}`} {
			if !strings.Contains(unquoted, want) {
				t.Errorf("apply --dry-run=client -o %s lacks %s of the merged live object:\n%s", out, want, client.Stdout)
			}
		}
	}
	// Nothing was changed by the dry runs.
	for _, typ := range []string{"svc", "plb"} {
		if r := mustSucceed(t, ccictl(t, "get", typ, "web", "-n", p.c, "-o", "jsonpath={.metadata.labels}")); r.Stdout != "" {
			t.Errorf("a dry run changed %s/web: labels %s", typ, r.Stdout)
		}
	}
}

// TestApplyAfterKubectl: an object last applied by kubectl is re-applied by
// ccictl (unchanged, then configured), and kubectl's next apply sees
// ccictl's annotation: the same outputs as kubectl applying every step.
func TestApplyAfterKubectl(t *testing.T) {
	p := newPair(t, "e2e-apply-mix")
	dir := p.files(t, map[string]string{
		"plb.yaml":      plbVerbsManifest,
		"labelled.yaml": labelled(plbVerbsManifest, "    stage: blue\n"),
	})
	kubectlIn := func(ns string, args ...string) result {
		return runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, ns)...)...)
	}
	for _, step := range []struct {
		tool string // which tool applies in p.c; kubectl applies in p.k
		args []string
		out  string
	}{
		{"kubectl", []string{"apply", "-f", filepath.Join(dir, "plb.yaml")}, "created"},
		{"ccictl", []string{"apply", "-f", filepath.Join(dir, "plb.yaml")}, "unchanged"},
		{"ccictl", []string{"apply", "-f", filepath.Join(dir, "labelled.yaml")}, "configured"},
		{"kubectl", []string{"apply", "-f", filepath.Join(dir, "plb.yaml")}, "configured"},
		{"ccictl", []string{"apply", "-f", filepath.Join(dir, "plb.yaml")}, "unchanged"},
	} {
		var ours result
		if step.tool == "ccictl" {
			ours = p.asKubectl(runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(step.args, p.c)...)...))
		} else {
			ours = p.asKubectl(kubectlIn(p.c, step.args...))
		}
		theirs := kubectlIn(p.k, step.args...)
		assertSame(t, append([]string{step.tool}, step.args...), ours, theirs)
		if want := plbResource + "/web " + step.out + "\n"; ours.Stdout != want {
			t.Errorf("%s %v: %q, want %q", step.tool, step.args, ours.Stdout, want)
		}
	}
	// kubectl's apply removed the label ccictl's apply had added: it read
	// ccictl's last-applied annotation.
	if r := p.same(t, nil, "get", "plb", "web", "-n", "NS", "-o", "jsonpath={.metadata.labels}"); r.Stdout != "" {
		t.Errorf("labels after kubectl re-applied the unlabelled file: %q", r.Stdout)
	}
}

const kustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: NS
labels:
- pairs:
    app: kust
resources:
- svc.yaml
- plb.yaml
`

// TestApplyKustomize: -k applies what the kustomization builds, as kubectl;
// an object it builds that breaks a platform rule is refused before
// anything is sent for it, and the others are applied.
func TestApplyKustomize(t *testing.T) {
	p := newPair(t, "e2e-apply-k")
	noNS := func(m string) string { return strings.Replace(m, "  namespace: NS\n", "", 1) }
	dir := p.files(t, map[string]string{
		"kustomization.yaml": kustomization,
		"svc.yaml":           noNS(svcManifest),
		"plb.yaml":           noNS(plbVerbsManifest),
	})
	r := p.same(t, nil, "apply", "-k", dir)
	if want := "service/web created\n" + plbResource + "/web created\n"; p.asKubectl(r).Stdout != want {
		t.Errorf("apply -k: %s", r)
	}
	p.same(t, nil, "apply", "-k", dir)
	r = p.same(t, nil, "get", "svc,plb", "-n", "NS", "-l", "app=kust", "-o", "name")
	if strings.Count(r.Stdout, "\n") != 2 {
		t.Errorf("objects labelled by the kustomization: %s", r)
	}
	p.same(t, nil, "apply", "-k", filepath.Join(dir, "missing"))
	p.same(t, nil, "apply", "-k", dir, "-f", filepath.Join(dir, "svc.yaml"))

	// A PoolBinding whose pool ID carries a documentation comment: refused
	// by ccictl (the kustomization is named, there is no file line), the
	// Service of the same kustomization is still applied, exit 1.
	bad := p.files(t, map[string]string{
		"kustomization.yaml": strings.Replace(kustomization, "app: kust", "app: kust-bad", 1),
		"svc.yaml":           strings.Replace(noNS(svcManifest), "name: web", "name: web-bad", 1),
		"plb.yaml":           strings.Replace(strings.Replace(noNS(plbVerbsManifest), "name: web", "name: web-bad", 2), "29c1", "29c1 //ID of the pool", 1),
	})
	r = runIn(t, "", nil, ccictlBin, "--cliconfig", cliconfig, "-v=6", "apply", "-k", strings.ReplaceAll(bad, "NS", p.c))
	if r.Code != 1 || !strings.Contains(r.Stdout, "service/web-bad created\n") || strings.Contains(r.Stdout, "poolbinding") ||
		!strings.Contains(r.Stderr, strings.ReplaceAll(bad, "NS", p.c)+" (PoolBinding web-bad): spec.poolRef.id") || !strings.Contains(r.Stderr, `"//" comment`) {
		t.Errorf("apply -k of a binding with a // comment: %s", r)
	}
	if strings.Contains(r.Stderr, "poolbindings/web-bad") {
		t.Errorf("a request was sent for the refused binding:\n%s", r.Stderr)
	}
}

// TestApplyPrune: --prune with -l deletes the labelled objects of the
// allowed types that are no longer in the input (kubectl's default types,
// and a PoolBinding through --prune-allowlist), with --wait; and when an
// object of the input is refused, nothing is pruned.
func TestApplyPrune(t *testing.T) {
	p := newPair(t, "e2e-apply-prune")
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: NS\n  labels:\n    app: prune\ndata:\n  k: v\n"
	}
	plb := labelled(plbVerbsManifest, "    app: prune\n")
	dir := p.files(t, map[string]string{
		"a.yaml":   cm("a"),
		"b.yaml":   cm("b"),
		"plb.yaml": plb,
		"bad.yaml": strings.Replace(cm("a"), "k: v", "k: v //the value", 1) + "---\n" + plb,
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	p.same(t, nil, "apply", "-f", f("a.yaml"), "-f", f("b.yaml"), "-f", f("plb.yaml"))
	for _, step := range []struct {
		args []string
		out  string
	}{
		{[]string{"apply", "-f", f("a.yaml"), "-f", f("plb.yaml"), "--prune"}, ""}, // no -l, no --all: refused
		{[]string{"apply", "-f", f("a.yaml"), "-f", f("plb.yaml"), "--prune", "-l", "app=prune", "--dry-run=client"},
			"configmap/a unchanged (dry run)\n" + plbResource + "/web unchanged (dry run)\nconfigmap/b pruned (dry run)\n"},
		{[]string{"apply", "-f", f("a.yaml"), "-f", f("plb.yaml"), "--prune", "-l", "app=prune", "--wait"},
			"configmap/a unchanged\n" + plbResource + "/web unchanged\nconfigmap/b pruned\n"},
		{[]string{"apply", "-f", f("a.yaml"), "--prune", "-l", "app=prune", "--prune-allowlist=loadbalancer.networking.openvessel.io/v1/PoolBinding"},
			"configmap/a unchanged\n" + plbResource + "/web pruned\n"},
		{[]string{"get", "cm,plb", "-n", "NS", "-l", "app=prune", "-o", "name"}, "configmap/a\n"},
		{[]string{"apply", "-f", f("plb.yaml"), "--prune", "--all", "--server-side"}, ""}, // kubectl refuses
	} {
		ours := p.asKubectl(runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(step.args, p.c)...)...))
		theirs := runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(step.args, p.k)...)...)
		// Pruning logs kubectl's deprecation note through klog, whose
		// header (time, pid) differs from run to run.
		for _, r := range []*result{&ours, &theirs} {
			r.Stderr = klogHeader.ReplaceAllString(r.Stderr, "$1 ")
		}
		// kubectl 1.32 calls an object a client dry run leaves as it is
		// "configured (dry run)"; kubectl 1.36's apply (ccictl's) calls it
		// "unchanged (dry run)".
		theirs.Stdout = strings.ReplaceAll(theirs.Stdout, " configured (dry run)", " unchanged (dry run)")
		assertSame(t, step.args, ours, theirs)
		if step.out != "" && ours.Stdout != step.out {
			t.Errorf("ccictl %v: %q, want %q (%s)", step.args, ours.Stdout, step.out, ours)
		}
	}

	// A refused object in the input: the rest is applied, nothing pruned,
	// the refusal named with its file and line, exit 1.
	mustSucceed(t, ccictl(t, "apply", "-f", strings.ReplaceAll(f("b.yaml"), "NS", p.c)))
	bad := strings.ReplaceAll(f("bad.yaml"), "NS", p.c)
	r := ccictl(t, "apply", "-f", bad, "--prune", "-l", "app=prune")
	if r.Code != 1 || r.Stdout != plbResource+"/web created\n" || !strings.Contains(r.Stderr, bad+":9: data.k") ||
		!strings.Contains(r.Stderr, "Warning: nothing pruned: 1 object(s) of the input were refused\n") {
		t.Errorf("apply --prune with a refused object: %s", r)
	}
	if r := mustSucceed(t, ccictl(t, "get", "cm", "-n", p.c, "-l", "app=prune", "-o", "name")); r.Stdout != "configmap/a\nconfigmap/b\n" {
		t.Errorf("objects pruned although the input had a refused object: %s", r)
	}
}

// TestApplyRefusesBadObjectsKeepsGood: -f with one object the rules refuse
// (no kind) applies the others; the refused one is named with its file and
// line and nothing is sent for it; -l leaves out objects without the label.
func TestApplyRefusesBadObjectsKeepsGood(t *testing.T) {
	ns := newNamespace(t, "e2e-apply-bad")
	f := writeFile(t, "mixed.yaml", strings.ReplaceAll(mustRead(t, "testdata/bad/mixed.yaml"), "test-ns", ns))
	r := ccictl(t, "apply", "-f", f)
	if r.Code != 1 || r.Stdout != plbResource+"/mixed-a created\n"+plbResource+"/mixed-c created\n" ||
		!strings.Contains(r.Stderr, f+":11") || !strings.Contains(r.Stderr, "kind") {
		t.Errorf("apply of a file with one bad object: %s", r)
	}
	r = ccictl(t, "apply", "-f", f)
	if r.Code != 1 || r.Stdout != plbResource+"/mixed-a unchanged\n"+plbResource+"/mixed-c unchanged\n" {
		t.Errorf("second apply: %s", r)
	}
	// All refused: nothing sent, exit 1, kubectl's "no objects" not said.
	r = ccictl(t, "apply", "-f", "testdata/bad/seed000-doc-comments.yaml", "-n", "test-ns")
	if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "testdata/bad/seed000-doc-comments.yaml:4") || strings.Contains(r.Stderr, "no objects passed") {
		t.Errorf("apply of a refused file: %s", r)
	}
	// The stdin input is read once, by ccictl, and applied.
	r = runIn(t, plbManifest(t, ns, "from-stdin"), nil, ccictlBin, "--cliconfig", cliconfig, "apply", "-f", "-")
	if r.Code != 0 || r.Stdout != plbResource+"/from-stdin created\n" {
		t.Errorf("apply -f -: %s", r)
	}
	// -l: only the labelled objects are applied, and only they are
	// checked: an object the rules would refuse (a label value that YAML
	// reads as a boolean) is left out with the rest, not refused.
	picked := strings.Replace(plbManifest(t, ns, "picked"), "  namespace: "+ns+"\n", "  namespace: "+ns+"\n  labels:\n    pick: \"yes\"\n", 1)
	other := strings.Replace(plbManifest(t, ns, "other"), "  namespace: "+ns+"\n", "  namespace: "+ns+"\n  labels:\n    flag: yes\n", 1)
	sel := writeFile(t, "sel.yaml", picked+"---\n"+other)
	r = ccictl(t, "apply", "-f", sel, "-l", "pick=yes")
	if r.Code != 0 || r.Stdout != plbResource+"/picked created\n" {
		t.Errorf("apply -l: %s", r)
	}
	r = ccictl(t, "apply", "-f", sel)
	if r.Code != 1 || r.Stdout != plbResource+"/picked unchanged\n" || !strings.Contains(r.Stderr, sel+":") || !strings.Contains(r.Stderr, "K8S002") {
		t.Errorf("apply without -l: %s", r)
	}
}
