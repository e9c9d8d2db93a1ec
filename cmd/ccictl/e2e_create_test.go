package main_test

// `create -f`, which is kubectl's create with ccictl's checks before it,
// side by side with kubectl on the real API server.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// createObjects is a ConfigMap, a Service and a PoolBinding for that
// Service, in namespace NS.
const createObjects = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: NS
data:
  mode: blue
---
apiVersion: v1
kind: Service
metadata:
  name: test-name
  namespace: NS
  labels:
    app: web
spec:
  selector:
    app: web
  ports:
  - port: 123
    targetPort: 8080
---
apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: test-c1
  namespace: NS
  labels:
    app: web
spec:
  poolRef:
    id: "` + e2ePoolID + `"
  targetRef:
    kind: Service
    group: cci/v2
    name: test-name
    port: 123
`

// serverFields are the values the server makes up for each object.
var serverFields = regexp.MustCompile(`(?m)^(\s*(?:uid|creationTimestamp|resourceVersion)): .*$`)

// serverJSONFields are the same, in compact JSON.
var serverJSONFields = regexp.MustCompile(`("(?:uid|creationTimestamp|resourceVersion)":)"[^"]*"`)

// TestCreateLikeKubectl: create -f of several objects, the same again
// (AlreadyExists for each, exit 1), --dry-run=server -o yaml, -o name with
// -l, -R over a directory and --save-config, -k, --edit and --raw, each
// compared with kubectl.
func TestCreateLikeKubectl(t *testing.T) {
	p := newPair(t, "create-k")
	objects := filepath.Join(p.files(t, map[string]string{"objects.yaml": createObjects}), "objects.yaml")

	// Several objects: each printed with kubectl's words.
	r := p.same(t, nil, "create", "-f", objects)
	want := "configmap/settings created\nservice/test-name created\n" + plbResource + "/test-c1 created\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("create -f of three objects: %s, want stdout %q", r, want)
	}
	// Again: each one AlreadyExists, named with its file; exit 1.
	r = p.same(t, nil, "create", "-f", objects)
	if r.Code != 1 || r.Stdout != "" || strings.Count(r.Stderr, "Error from server (AlreadyExists): error when creating \"") != 3 {
		t.Errorf("create -f of existing objects: %s", r)
	}

	// The object as the server would store it, without storing it.
	second := filepath.Join(p.files(t, map[string]string{"second.yaml": poolBindingManifest("NS", "test-c2", e2ePoolID)}), "second.yaml")
	args := []string{"create", "-f", second, "--dry-run=server", "-o", "yaml"}
	ours := runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...)
	theirs := runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...)
	ours = p.asKubectl(ours)
	ours.Stdout = serverFields.ReplaceAllString(ours.Stdout, "$1: X")
	theirs.Stdout = serverFields.ReplaceAllString(theirs.Stdout, "$1: X")
	assertSame(t, args, ours, theirs)
	if ours.Code != 0 || !strings.Contains(ours.Stdout, "kind: PoolBinding") || !strings.Contains(ours.Stdout, "uid: X") {
		t.Errorf("--dry-run=server -o yaml: %s", ours)
	}
	if g := ccictl(t, "get", "plb", "test-c2", "-n", p.c); g.Code != 1 {
		t.Errorf("a server dry run stored the object: %s", g)
	}

	// A directory, -R, -l and -o name: only the labelled objects of the
	// nested file.
	dir := t.TempDir()
	for _, ns := range []string{p.c, p.k} {
		nested := filepath.Join(dir, ns, "nested", "more")
		if err := os.MkdirAll(nested, 0o700); err != nil {
			t.Fatal(err)
		}
		other := strings.NewReplacer("NS", ns, "settings", "settings-2", "test-name", "web-2", "test-c1", "test-c3").Replace(createObjects)
		if err := os.WriteFile(filepath.Join(nested, "objects.yaml"), []byte(other), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r = p.same(t, nil, "create", "-f", filepath.Join(dir, "NS"), "-R", "-l", "app=web", "-o", "name", "--save-config")
	if r.Code != 0 || r.Stdout != "service/web-2\n"+plbResource+"/test-c3\n" {
		t.Errorf("create -f DIR -R -l -o name: %s", r)
	}
	// --save-config: the annotation kubectl's apply reads later.
	r = p.same(t, nil, "get", "plb", "test-c3", "-n", "NS", "-o", `jsonpath={.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}`)
	if !strings.Contains(r.Stdout, `"name":"test-c3"`) {
		t.Errorf("--save-config left no last-applied annotation: %s", r)
	}

	// -k: a kustomization, created; again, AlreadyExists.
	noNS := func(m string) string { return strings.Replace(m, "  namespace: NS\n", "", 1) }
	kust := p.files(t, map[string]string{
		"kustomization.yaml": kustomization,
		"svc.yaml":           noNS(svcManifest),
		"plb.yaml":           noNS(plbVerbsManifest),
	})
	r = p.same(t, nil, "create", "-k", kust)
	if r.Code != 0 || r.Stdout != "service/web created\n"+plbResource+"/web created\n" {
		t.Errorf("create -k: %s", r)
	}
	if r = p.same(t, nil, "create", "-k", kust); r.Code != 1 {
		t.Errorf("create -k again: %s", r)
	}

	// --edit: the editor's change is what is created.
	edit := filepath.Join(p.files(t, map[string]string{"edit.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: edited\n  namespace: NS\ndata:\n  mode: blue\n"}), "edit.yaml")
	r = p.same(t, []string{"EDITOR=sed -i s/blue/red/"}, "create", "-f", edit, "--edit", "-n", "NS")
	if r.Code != 0 || r.Stdout != "configmap/edited created\n" {
		t.Errorf("create --edit: %s", r)
	}
	if r = p.same(t, nil, "get", "configmap", "edited", "-n", "NS", "-o", "jsonpath={.data.mode}"); r.Stdout != "red" {
		t.Errorf("the edited ConfigMap: %s", r)
	}

	// --raw: the file POSTed as it is (JSON: the server reads no YAML
	// there, for either tool), the server's answer printed.
	raw := filepath.Join(p.files(t, map[string]string{"raw.json": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw","namespace":"NS"}}`}), "raw.json")
	args = []string{"create", "--raw", "/api/v1/namespaces/NS/configmaps", "-f", raw}
	ours = p.asKubectl(runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...))
	theirs = runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...)
	ours.Stdout, theirs.Stdout = serverJSONFields.ReplaceAllString(ours.Stdout, "$1X"), serverJSONFields.ReplaceAllString(theirs.Stdout, "$1X")
	assertSame(t, args, ours, theirs)
	if ours.Code != 0 || !strings.Contains(ours.Stdout, `"name":"raw"`) {
		t.Errorf("create --raw: %s", ours)
	}
}

// TestCreateRefusedSendsNothing: a file whose objects break a platform rule
// makes no request that writes (a counting proxy sees no POST), and the
// server holds none of them; the file and line of each are reported.
func TestCreateRefusedSendsNothing(t *testing.T) {
	ns := newNamespace(t, "create-refused")
	bad := strings.Replace(poolBindingManifest(ns, "kind-pod", e2ePoolID), "kind: Service", "kind: Pod", 1) +
		"---\n" + strings.Replace(poolBindingManifest(ns, "port-zero", e2ePoolID), "port: 123", "port: 0", 1)
	file := writeFile(t, "refused.yaml", bad)
	rc := newRequestCounter(t)
	cfg := rc.cliconfig(t)
	for _, extra := range [][]string{nil, {"--raw", "/apis/loadbalancer.networking.openvessel.io/v1/namespaces/" + ns + "/poolbindings"}} {
		rc.reset()
		r := runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cfg, "create", "-f", file}, extra...)...)
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, file+":10: error PLB003") || !strings.Contains(r.Stderr, file+":") {
			t.Errorf("create -f %v of refused objects: %s", extra, r)
		}
		counts, _ := rc.snapshot()
		if counts["POST"] != 0 || counts["PUT"] != 0 || counts["PATCH"] != 0 {
			t.Errorf("create -f %v of refused objects wrote to the server: %v", extra, counts)
		}
	}
	if g := mustSucceed(t, ccictl(t, "get", "plb", "-n", ns, "-o", "name")); g.Stdout != "" {
		t.Errorf("the server holds refused objects: %q", g.Stdout)
	}
}
