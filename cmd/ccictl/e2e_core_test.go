package main_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

const plbResource = "poolbinding.loadbalancer.networking.openvessel.io"

// TestSeedScenario walks the platform docs' example: namespace test-ns,
// Service test-name with port 123, PoolBinding test-c1, then the documented
// ccictl commands.
func TestSeedScenario(t *testing.T) {
	ns := "test-ns"
	mustSucceed(t, ccictl(t, "create", "-f", "testdata/namespace.yaml"))
	t.Cleanup(func() { ccictl(t, "delete", "namespace", ns, "--wait=false", "--ignore-not-found") })
	r := mustSucceed(t, ccictl(t, "create", "-f", "testdata/service.yaml"))
	if r.Stdout != "service/test-name created\n" {
		t.Errorf("create service stdout = %q", r.Stdout)
	}

	r = mustSucceed(t, ccictl(t, "create", "-f", "testdata/poolbinding.yaml"))
	if want := plbResource + "/test-c1 created\n"; r.Stdout != want {
		t.Errorf("create stdout = %q, want %q", r.Stdout, want)
	}

	// -o yaml and -o json equal kubectl's, for the list and for the named object.
	for _, args := range [][]string{
		{"get", "poolbindings", "-n", ns, "-oyaml"},
		{"get", "poolbindings", "-n", ns, "-ojson"},
		{"get", "poolbindings", "-n", ns, "test-c1", "-oyaml"},
		{"get", "poolbindings", "-n", ns, "test-c1", "-ojson"},
		{"get", "plb", "-n", ns, "-o", "name"},
		{"get", "plb", "-n", ns, "-o", "jsonpath={.items[*].spec.poolRef.id}"},
		{"get", "plb", "-n", ns, "test-c1", "-o", "jsonpath={.spec.targetRef.port}"},
		{"get", "plb", "-n", ns, "-o", "custom-columns=NAME:.metadata.name,POOL:.spec.poolRef.id"},
		{"get", "svc", "-n", ns, "-o", "go-template={{range .items}}{{.metadata.name}} {{end}}"},
		{"get", "svc,plb", "-n", ns, "-o", "yaml"},
	} {
		ours := mustSucceed(t, ccictl(t, args...))
		theirs := mustSucceed(t, kubectl(t, args...))
		if ours.Stdout != theirs.Stdout {
			t.Errorf("ccictl %v differs from kubectl:\n--- ccictl\n%s\n--- kubectl\n%s", args, ours.Stdout, theirs.Stdout)
		}
	}

	// A list query prints a List; a named one prints the bare object.
	var list map[string]any
	r = mustSucceed(t, ccictl(t, "get", "poolbindings", "-n", ns, "-ojson"))
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil || list["kind"] != "List" {
		t.Errorf("list query kind = %v (err %v)", list["kind"], err)
	}
	r = mustSucceed(t, ccictl(t, "get", "poolbindings", "-n", ns, "test-c1", "-ojson"))
	var one map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &one); err != nil || one["kind"] != "PoolBinding" {
		t.Errorf("named query kind = %v (err %v)", one["kind"], err)
	}

	// The table shows the CRD's printer columns, exactly as kubectl prints them
	// (the AGE value is masked: the two runs can straddle a second).
	ours := mustSucceed(t, ccictl(t, "get", "plb", "-n", ns))
	theirs := mustSucceed(t, kubectl(t, "get", "plb", "-n", ns))
	if ours.Stdout != theirs.Stdout && maskAge(ours.Stdout) != maskAge(theirs.Stdout) {
		t.Errorf("table differs:\n--- ccictl\n%s--- kubectl\n%s", ours.Stdout, theirs.Stdout)
	}
	header := strings.Fields(strings.SplitN(ours.Stdout, "\n", 2)[0])
	if strings.Join(header, " ") != "NAME POOL TARGET PORT MEMBERS HEALTHY SYNCED AGE" {
		t.Errorf("table header = %v", header)
	}
	wide := mustSucceed(t, ccictl(t, "get", "plb", "-n", ns, "-o", "wide"))
	if !strings.Contains(wide.Stdout, "KIND") || !strings.Contains(wide.Stdout, "Service") {
		t.Errorf("-o wide lacks the priority-1 columns:\n%s", wide.Stdout)
	}
	all := mustSucceed(t, ccictl(t, "get", "plb", "-A"))
	if !strings.HasPrefix(all.Stdout, "NAMESPACE") || !strings.Contains(all.Stdout, "test-ns") {
		t.Errorf("-A table lacks the NAMESPACE column:\n%s", all.Stdout)
	}

	// Short names, singular and plural resolve through discovery.
	for _, typ := range []string{"plb", "poolbinding", "poolbindings", "poolbindings.loadbalancer.networking.openvessel.io"} {
		r := mustSucceed(t, ccictl(t, "get", typ, "test-c1", "-n", ns, "-o", "name"))
		if r.Stdout != plbResource+"/test-c1\n" {
			t.Errorf("get %s -o name = %q", typ, r.Stdout)
		}
	}

	r = mustSucceed(t, ccictl(t, "describe", "plb", "test-c1", "-n", ns))
	for _, want := range []string{"Name:         test-c1", "Namespace:    test-ns", "Pool Ref:", "e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1", "Target Ref:"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.Stdout)
		}
	}

	r = mustSucceed(t, ccictl(t, "delete", "poolbindings", "-n", ns, "test-c1"))
	if want := plbResource + " \"test-c1\" deleted from " + ns + " namespace\n"; r.Stdout != want {
		t.Errorf("delete stdout = %q, want %q", r.Stdout, want)
	}

	// Nothing left: the message goes to stderr and the exit code is 0.
	r = mustSucceed(t, ccictl(t, "get", "plb", "-n", ns))
	if r.Stdout != "" || r.Stderr != "No resources found in test-ns namespace.\n" {
		t.Errorf("empty get: %s", r)
	}
	r = ccictl(t, "get", "plb", "test-c1", "-n", ns)
	if r.Code != 1 || r.Stderr != `Error from server (NotFound): poolbindings.loadbalancer.networking.openvessel.io "test-c1" not found`+"\n" {
		t.Errorf("get of a deleted binding: %s", r)
	}
	r = mustSucceed(t, ccictl(t, "get", "plb", "test-c1", "-n", ns, "--ignore-not-found"))
	if r.Stdout != "" || r.Stderr != "" {
		t.Errorf("--ignore-not-found printed something: %s", r)
	}
	r = ccictl(t, "delete", "plb", "test-c1", "-n", ns)
	if r.Code != 1 || !strings.Contains(r.Stderr, `Error from server (NotFound)`) {
		t.Errorf("delete of a missing binding: %s", r)
	}
	mustSucceed(t, ccictl(t, "delete", "plb", "test-c1", "-n", ns, "--ignore-not-found"))
	// An empty -o json list is still a List, like kubectl's.
	ours = mustSucceed(t, ccictl(t, "get", "plb", "-n", ns, "-o", "json"))
	theirs = mustSucceed(t, kubectl(t, "get", "plb", "-n", ns, "-o", "json"))
	if ours.Stdout != theirs.Stdout {
		t.Errorf("empty list differs:\n%s\n%s", ours.Stdout, theirs.Stdout)
	}
}

var ageValue = regexp.MustCompile(`^\d+(s|m|h|d)(\d+(s|m|h))?$|^<unknown>$`)

// maskAge normalises a table for comparison across two runs a second or so
// apart: each line becomes its fields with AGE values (5s, 3m2s, …) masked.
// Field-wise, because a value going from 9s to 10s also widens its column.
// Callers compare the raw outputs first, so identical runs are still
// compared byte for byte.
func maskAge(table string) string {
	lines := strings.Split(table, "\n")
	for i, l := range lines {
		fields := strings.Fields(l)
		for j, f := range fields {
			if i > 0 && ageValue.MatchString(f) {
				fields[j] = "AGE"
			}
		}
		lines[i] = strings.Join(fields, " ")
	}
	return strings.Join(lines, "\n")
}
