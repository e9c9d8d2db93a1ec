package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestSettingsCannotLoosenSyncGuards: CCICTL_ALLOW_EMPTY, CCICTL_PRUNE_ORPHANS
// and allow-empty in the settings file do not switch off the guard against
// emptying a pool (EmptyRefused, exit 1, pool untouched), and each is
// reported as ignored; elb-token in the settings file is not a credential;
// an allowed setting from the environment shows at -v=2.
func TestSettingsCannotLoosenSyncGuards(t *testing.T) {
	e := newSyncEnv(t, "settings-guards")
	e.pool(syncPool)
	e.service("web", 123, intstr.FromInt32(8080), map[string]string{"app": "web"}, nil)
	uid := e.binding("b1", syncPool, "web", 123)
	e.pods("web", readyPod("p1", "10.9.0.1"))
	e.waitSlices("web", "10.9.0.1:8080")
	mustSucceed(t, e.sync())
	want := owned(markerOf(e.ns, "b1", uid), "10.9.0.1:8080")

	e.setPodStatus("p1", "10.9.0.1", false)
	e.waitSlices("web")

	settings := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(settings, []byte("allow-empty: true\nprune-orphans: true\nelb-token: "+syncToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(e.syncEnvVars(), "CCICTL_ALLOW_EMPTY=1", "CCICTL_PRUNE_ORPHANS=1", "CCICTL_SETTINGS="+settings)
	e.emu.ResetCounts()
	r := runIn(t, "", env, ccictlBin, e.syncArgs()...)
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: EmptyRefused: ") {
		t.Errorf("CCICTL_ALLOW_EMPTY=1 and allow-empty in the settings file: %s", r)
	}
	for _, w := range []string{
		"Warning: CCICTL_ALLOW_EMPTY is ignored: --allow-empty is taken from the command line only\n",
		"Warning: CCICTL_PRUNE_ORPHANS is ignored: --prune-orphans is taken from the command line only\n",
		`Warning: "allow-empty" in settings file ` + settings + " is ignored: --allow-empty is taken from the command line only\n",
		`Warning: "elb-token" in settings file ` + settings + " is ignored: credentials are never read from the settings file; use CCICTL_ELB_TOKEN\n",
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr lacks %q: %s", w, r)
		}
	}
	e.wantCalls(1, 1, 0, 0)
	e.wantPool(syncPool, want)
	if st := e.jsonpath("b1", `{.status.conditions[?(@.type=="Synced")].reason}`); st != "EmptyRefused" {
		t.Errorf("Synced reason = %q", st)
	}

	// elb-token in the settings file alone gives no ELB credentials, and the
	// token is never printed.
	r = runIn(t, "", []string{"CCICTL_SETTINGS=" + settings}, ccictlBin, e.syncArgs()...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "no ELB credentials") || strings.Contains(r.Stdout+r.Stderr, syncToken) {
		t.Errorf("elb-token from the settings file: %s", r)
	}
	e.wantPool(syncPool, want)

	// Allowed settings still apply, and -v=2 says where they came from; the
	// ELB token's value is masked.
	args := []string{"--cliconfig", e.config, "sync", "-v=2", "--project-id", syncProject}
	r = runIn(t, "", append(e.syncEnvVars(), "CCICTL_ELB_ENDPOINT="+e.url, "CCICTL_NAMESPACE="+e.ns), ccictlBin, args...)
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "poolbinding/b1: +0 -0 =0 foreign=0 blocked: EmptyRefused: ") {
		t.Errorf("CCICTL_ELB_ENDPOINT and CCICTL_NAMESPACE: %s", r)
	}
	for _, w := range []string{
		`"Setting from outside the command line" flag="elb-endpoint" value="` + e.url + `" from="environment CCICTL_ELB_ENDPOINT"`,
		`"Setting from outside the command line" flag="namespace" value="` + e.ns + `" from="environment CCICTL_NAMESPACE"`,
		`"Setting from outside the command line" key="elb-token" value="<redacted>" from="environment CCICTL_ELB_TOKEN"`,
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("-v=2 lacks %s: %s", w, r)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, syncToken) {
		t.Errorf("ELB token printed at -v=2: %s", r)
	}
	e.wantPool(syncPool, want)
}
