package main_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

const (
	e2ePoolID    = "e08f4a6b-1c2d-4e5f-8a9b-0c1d2e3f29c1"
	maskedPoolID = "e08*****-****-****-****-********29c1" // seed 000's pool ID, as printed
)

// postLine matches client-go's -v=6 request log of a POST.
var postLine = regexp.MustCompile(`verb="POST"`)

func poolBindingManifest(ns, name, poolID string) string {
	return `apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: ` + name + `
  namespace: ` + ns + `
spec:
  poolRef:
    id: "` + poolID + `"
  targetRef:
    kind: Service
    group: cci/v2
    name: test-name
    port: 123
`
}

// TestValidateCreateRefusesBeforeServer: a PoolBinding whose targetRef.kind
// is Pod breaks PLB003, a rule the PoolBinding API enforces too; create
// reports the rule with file and line and sends nothing. A masked pool ID
// (PLB008) is a warning: the server accepts it, so create sends it and says
// why it will not work.
func TestValidateCreateRefusesBeforeServer(t *testing.T) {
	ns := newNamespace(t, "validate-refuse")
	bad := writeFile(t, "pod.yaml", strings.Replace(poolBindingManifest(ns, "pod", e2ePoolID), "kind: Service", "kind: Pod", 1))

	r := ccictl(t, "-v=6", "create", "-f", bad)
	if r.Code != 1 || r.Stdout != "" {
		t.Fatalf("want exit 1 and nothing created: %s", r)
	}
	for _, want := range []string{bad + ":10: error PLB003 PoolBinding/" + ns + "/pod spec.targetRef.kind: ", "not sent"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r)
		}
	}
	if postLine.MatchString(r.Stderr) {
		t.Errorf("a POST reached the server for a refused object: %s", r)
	}
	if got := mustSucceed(t, ccictl(t, "get", "plb", "-n", ns, "-o", "name")); got.Stdout != "" {
		t.Errorf("objects exist after a refused create: %q", got.Stdout)
	}
	// The server refuses it as well when the rules are switched off: the
	// rule is an error because the API's schema makes it one.
	if r := ccictl(t, "create", "-f", bad, "--validate=ignore"); r.Code != 1 || !strings.Contains(r.Stderr, "spec.targetRef.kind") {
		t.Errorf("--validate=ignore with kind Pod: %s", r)
	}

	// Control: at the same verbosity a good object's POST is logged, so the
	// absence above means something.
	good := writeFile(t, "good.yaml", poolBindingManifest(ns, "good", e2ePoolID))
	r = mustSucceed(t, ccictl(t, "-v=6", "create", "-f", good))
	if !postLine.MatchString(r.Stderr) || !strings.Contains(r.Stderr, "/namespaces/"+ns+"/poolbindings") {
		t.Errorf("-v=6 does not log the POST of a good object: %s", r)
	}

	// The masked ID of the docs is a warning: sent, with the finding on stderr.
	masked := writeFile(t, "masked.yaml", poolBindingManifest(ns, "masked", maskedPoolID))
	r = mustSucceed(t, ccictl(t, "create", "-f", masked))
	if r.Stdout != plbResource+"/masked created\n" || !strings.Contains(r.Stderr, "Warning: "+masked+":8: warning PLB008 PoolBinding/"+ns+"/masked spec.poolRef.id: ") {
		t.Errorf("masked pool ID: %s", r)
	}
}

// TestValidateOffline: `validate` needs no config file and no server: HOME
// is empty and no --cliconfig is given.
func TestValidateOffline(t *testing.T) {
	const stripped = "testdata/validate/invalid/seed000-poolbinding-stripped.yaml"
	r := runIn(t, "", nil, ccictlBin, "validate", "-f", stripped)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, stripped+":8: warning PLB008 ") ||
		r.Stderr != "0 errors, 1 warning in 1 object\n" {
		t.Errorf("masked pool ID: %s", r)
	}
	if r := runIn(t, "", nil, ccictlBin, "validate", "--strict", "-f", stripped); r.Code != 1 {
		t.Errorf("masked pool ID with --strict: %s", r)
	}
	// The valid corpus has no findings, but for the hint that seed 003's
	// OpenYurt annotations do nothing on CCI 2.0 (PLB019).
	r = runIn(t, "", nil, ccictlBin, "validate", "-f", "testdata/validate/valid", "-o", "json")
	var rep struct {
		Files []struct {
			Findings []struct{ RuleID, Source string } `json:"findings"`
		} `json:"files"`
		Findings []struct{ RuleID, Source string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); r.Code != 0 || err != nil {
		t.Errorf("valid corpus: %v %s", err, r)
	}
	hints := 0
	check := func(fs []struct{ RuleID, Source string }) {
		for _, f := range fs {
			if f.RuleID != "PLB019" || !strings.Contains(f.Source, "seed003-") {
				t.Errorf("valid corpus: finding %s in %s", f.RuleID, f.Source)
			}
			hints++
		}
	}
	check(rep.Findings)
	for _, f := range rep.Files {
		check(f.Findings)
	}
	if hints != 4 {
		t.Errorf("valid corpus: %d PLB019 hints, want 4 (two annotations in each of two seed 003 Services)\n%s", hints, r.Stdout)
	}
	r = runIn(t, poolBindingManifest("offline-ns", "offline", maskedPoolID), []string{"CCICTL_DISABLE_RULE=PLB008"}, ccictlBin, "validate", "--strict", "-f", "-")
	if r.Code != 0 || r.Stdout != "" {
		t.Errorf("CCICTL_DISABLE_RULE=PLB008: %s", r)
	}
}

// TestGeneratorsRoundTrip: generator output piped into `create -f -` is
// created as is, and generators also create directly.
func TestGeneratorsRoundTrip(t *testing.T) {
	ns := newNamespace(t, "generators")

	svc := mustSucceed(t, ccictl(t, "-n", ns, "create", "service", "loadbalancer", "rt-svc", "--tcp=5678:8080", "--udp=53", "--dry-run=client", "-o", "yaml"))
	r := mustSucceed(t, runIn(t, svc.Stdout, nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
	if r.Stdout != "service/rt-svc created\n" {
		t.Errorf("create -f - of the Service generator's output: %s", r)
	}
	plb := mustSucceed(t, ccictl(t, "-n", ns, "create", "poolbinding", "rt-plb", "--pool-id="+e2ePoolID, "--service=rt-svc", "--port=5678", "--dry-run=client", "-o", "yaml"))
	r = mustSucceed(t, runIn(t, plb.Stdout, nil, ccictlBin, "--cliconfig", cliconfig, "create", "-f", "-"))
	if r.Stdout != plbResource+"/rt-plb created\n" {
		t.Errorf("create -f - of the PoolBinding generator's output: %s", r)
	}
	got := mustSucceed(t, ccictl(t, "get", "plb", "-n", ns, "rt-plb", "-o", "jsonpath={.spec.poolRef.id} {.spec.targetRef.name}:{.spec.targetRef.port}"))
	if got.Stdout != e2ePoolID+" rt-svc:5678" {
		t.Errorf("stored binding: %q", got.Stdout)
	}
	got = mustSucceed(t, ccictl(t, "get", "svc", "-n", ns, "rt-svc", "-o", "jsonpath={.spec.type} {.spec.ports[*].name}"))
	if got.Stdout != "LoadBalancer 5678-8080 udp-53" {
		t.Errorf("stored Service: %q", got.Stdout)
	}

	// Direct creation; the local API server has no cci group, so v1.
	r = mustSucceed(t, ccictl(t, "-n", ns, "create", "service", "loadbalancer", "direct", "--tcp=80:8080"))
	if r.Stdout != "service/direct created\n" {
		t.Errorf("direct Service: %s", r)
	}
	r = mustSucceed(t, ccictl(t, "-n", ns, "create", "poolbinding", "direct", "--pool-id=7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "--service=direct", "--port=80", "-o", "name"))
	if r.Stdout != plbResource+"/direct\n" {
		t.Errorf("direct PoolBinding: %s", r)
	}
	// The readiness gate to add is a hint on stderr; -o name's stdout is
	// unchanged above, and dry runs print no hint.
	if !strings.Contains(r.Stderr, "Hint: for rolling updates to wait until pool 7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d reports a new pod's member ONLINE") ||
		!strings.HasSuffix(r.Stderr, "Service direct:\n  readinessGates:\n  - conditionType: loadbalancer.networking.openvessel.io/pool.direct\n") {
		t.Errorf("direct PoolBinding's gate hint: %s", r)
	}
	// A server dry run is answered but not stored.
	r = mustSucceed(t, ccictl(t, "-n", ns, "create", "poolbinding", "dry", "--pool-id=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "--service=direct", "--port=80", "--dry-run=server"))
	if r.Stdout != plbResource+"/dry created (server dry run)\n" || strings.Contains(r.Stderr, "Hint:") {
		t.Errorf("server dry run: %s", r)
	}
	if got := ccictl(t, "get", "plb", "-n", ns, "dry"); got.Code == 0 {
		t.Errorf("a server dry run stored the object: %s", got)
	}
}

// TestGeneratorRefusesBeforeServer: bad generator flags are refused with the
// rule's message and no POST.
func TestGeneratorRefusesBeforeServer(t *testing.T) {
	ns := newNamespace(t, "generator-refuse")
	r := ccictl(t, "-v=6", "-n", ns, "create", "poolbinding", "bad", "--pool-id="+e2ePoolID, "--service=web", "--port=0")
	if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "error PLB007 PoolBinding/"+ns+"/bad spec.targetRef.port") ||
		!strings.Contains(r.Stderr, "fix --port") {
		t.Errorf("--port=0: %s", r)
	}
	if postLine.MatchString(r.Stderr) {
		t.Errorf("a POST reached the server: %s", r)
	}
	r = ccictl(t, "-n", ns, "create", "service", "loadbalancer", "web", "--tcp=0:8080")
	if r.Code != 1 || !strings.Contains(r.Stderr, "error SVC004 Service/"+ns+"/web spec.ports[0].port: port 0 is out of range") {
		t.Errorf("port 0: %s", r)
	}
	if got := mustSucceed(t, ccictl(t, "get", "svc,plb", "-n", ns, "-o", "name")); got.Stdout != "" {
		t.Errorf("objects exist after refused generators: %q", got.Stdout)
	}
}
