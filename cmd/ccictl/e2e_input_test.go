package main_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestBadInput: each bad document is reported with its file (and line where
// known), nothing is sent for it, the good ones still go through, exit 1.
func TestBadInput(t *testing.T) {
	ns := newNamespace(t, "bad-input")
	mustSucceed(t, ccictl(t, "create", "-n", ns, "-f", writeFile(t, "svc.yaml", strings.ReplaceAll(mustRead(t, "testdata/service.yaml"), "test-ns", ns))))

	t.Run("doc comments copied from the vendor docs", func(t *testing.T) {
		// -v=6 logs every request: the proof that nothing was sent is that no
		// POST appears, whatever else the shared cluster holds.
		r := ccictl(t, "-v=6", "create", "-n", "test-ns", "-f", "testdata/bad/seed000-doc-comments.yaml")
		if r.Code != 1 {
			t.Fatalf("want exit 1: %s", r)
		}
		for _, want := range []string{"testdata/bad/seed000-doc-comments.yaml:4", "metadata.name", "//"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("stderr lacks %q: %s", want, r)
			}
		}
		if r.Stdout != "" {
			t.Errorf("something was created: %s", r)
		}
		if strings.Contains(r.Stderr, `verb="POST"`) || strings.Contains(r.Stderr, "POST https://") {
			t.Errorf("a request was sent for a refused document:\n%s", r.Stderr)
		}
	})

	t.Run("several objects one bad", func(t *testing.T) {
		f := writeFile(t, "mixed.yaml", strings.ReplaceAll(mustRead(t, "testdata/bad/mixed.yaml"), "test-ns", ns))
		r := ccictl(t, "create", "-f", f)
		if r.Code != 1 {
			t.Fatalf("want exit 1: %s", r)
		}
		want := plbResource + "/mixed-a created\n" + plbResource + "/mixed-c created\n"
		if r.Stdout != want {
			t.Errorf("stdout = %q, want %q", r.Stdout, want)
		}
		if !strings.Contains(r.Stderr, f+":11") || !strings.Contains(r.Stderr, "kind") {
			t.Errorf("stderr does not name the second document's file:line and the missing kind: %s", r)
		}
		got := mustSucceed(t, ccictl(t, "get", "plb", "-n", ns, "-o", "name"))
		if got.Stdout != plbResource+"/mixed-a\n"+plbResource+"/mixed-c\n" {
			t.Errorf("server holds %q", got.Stdout)
		}
	})

	for _, tc := range []struct {
		file string
		want []string
	}{
		{"testdata/bad/empty.yaml", []string{"testdata/bad/empty.yaml", "no objects"}},
		{"testdata/bad/malformed.yaml", []string{"testdata/bad/malformed.yaml", "5"}},
		{"testdata/bad/unknown-kind.yaml", []string{"testdata/bad/unknown-kind.yaml", "PoolBindingz"}},
		{"testdata/does-not-exist.yaml", []string{`the path "testdata/does-not-exist.yaml" does not exist`}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := ccictl(t, "create", "-f", tc.file)
			if r.Code != 1 || r.Stdout != "" {
				t.Fatalf("want exit 1 and no output: %s", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, r)
				}
			}
		})
	}

	t.Run("flag errors", func(t *testing.T) {
		// create has -k, as kubectl's: kubectl's one line.
		r := sameHere(t, "create")
		if r.Code != 1 || r.Stderr != "error: must specify one of -f and -k\n" {
			t.Errorf("create without -f: %s", r)
		}
		r = ccictl(t, "get")
		if r.Code != 1 || !strings.Contains(r.Stderr, "You must specify the type of resource to get") {
			t.Errorf("get without type: %s", r)
		}
		r = ccictl(t, "get", "widgets")
		if r.Code != 1 || !strings.Contains(r.Stderr, `the server doesn't have a resource type "widgets"`) {
			t.Errorf("unknown type: %s", r)
		}
	})
}

// TestDryRunAndApply covers --dry-run on create, apply and delete, server-side
// apply, and the immutable PoolBinding spec.
func TestDryRunAndApply(t *testing.T) {
	ns := newNamespace(t, "dry-run")
	plb := writeFile(t, "plb.yaml", strings.ReplaceAll(mustRead(t, "testdata/poolbinding.yaml"), "test-ns", ns))

	r := mustSucceed(t, ccictl(t, "create", "-f", plb, "--dry-run=client"))
	if r.Stdout != plbResource+"/test-c1 created (dry run)\n" {
		t.Errorf("client dry run: %s", r)
	}
	r = mustSucceed(t, ccictl(t, "create", "-f", plb, "--dry-run=server"))
	if r.Stdout != plbResource+"/test-c1 created (server dry run)\n" {
		t.Errorf("server dry run: %s", r)
	}
	r = mustSucceed(t, ccictl(t, "create", "-f", plb, "--dry-run=client", "-o", "yaml"))
	if !strings.Contains(r.Stdout, "name: test-c1") || !strings.Contains(r.Stdout, "kind: PoolBinding") {
		t.Errorf("client dry run -o yaml: %s", r)
	}
	if got := ccictl(t, "get", "plb", "-n", ns, "-o", "name"); got.Stdout != "" {
		t.Fatalf("dry runs created something: %s", got)
	}

	// apply is client-side by default, as kubectl's; --server-side applies
	// with the field manager "ccictl".
	r = mustSucceed(t, ccictl(t, "apply", "-f", plb))
	if r.Stdout != plbResource+"/test-c1 created\n" {
		t.Errorf("apply: %s", r)
	}
	r = mustSucceed(t, ccictl(t, "apply", "-f", plb, "--server-side"))
	if r.Stdout != plbResource+"/test-c1 serverside-applied\n" {
		t.Errorf("apply --server-side: %s", r)
	}
	r = mustSucceed(t, ccictl(t, "get", "plb", "test-c1", "-n", ns, "-o", "jsonpath={.metadata.managedFields[0].manager}", "--show-managed-fields"))
	if r.Stdout != "ccictl" {
		t.Errorf("field manager = %q, want ccictl", r.Stdout)
	}
	// Applying again is idempotent.
	if r := mustSucceed(t, ccictl(t, "apply", "-f", plb)); !strings.HasSuffix(r.Stdout, " unchanged\n") && !strings.HasSuffix(r.Stdout, " configured\n") {
		t.Errorf("apply again: %s", r)
	}

	// The spec cannot change after creation (CEL rule in the CRD).
	changed := writeFile(t, "changed.yaml", strings.ReplaceAll(mustRead(t, plb), "port: 123", "port: 124"))
	r = ccictl(t, "apply", "-f", changed)
	if r.Code != 1 || !strings.Contains(r.Stderr, "spec is immutable") {
		t.Errorf("changing the spec: %s", r)
	}
	// create of an existing object fails the kubectl way.
	r = ccictl(t, "create", "-f", plb)
	if r.Code != 1 || !strings.Contains(r.Stderr, "Error from server (AlreadyExists)") {
		t.Errorf("create of an existing object: %s", r)
	}

	r = mustSucceed(t, ccictl(t, "delete", "-f", plb, "--dry-run=server"))
	if r.Stdout != plbResource+" \"test-c1\" deleted from "+ns+" namespace (server dry run)\n" {
		t.Errorf("delete dry run: %s", r)
	}
	mustSucceed(t, ccictl(t, "get", "plb", "test-c1", "-n", ns))
	r = mustSucceed(t, ccictl(t, "delete", "-f", plb, "-o", "name"))
	if r.Stdout != plbResource+"/test-c1\n" {
		t.Errorf("delete -o name: %s", r)
	}
	r = mustSucceed(t, ccictl(t, "delete", "plb", "-n", ns, "--all"))
	if r.Stdout != "No resources found\n" {
		t.Errorf("delete --all of nothing: %s", r)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	if !strings.HasPrefix(path, "/") {
		path = repoRoot + "/" + path
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCreateFromURL: -f takes an http(s) URL, as kubectl's does; a URL that
// answers 404 is an error naming the URL, with nothing created.
func TestCreateFromURL(t *testing.T) {
	ns := newNamespace(t, "from-url")
	manifest := strings.ReplaceAll(mustRead(t, "testdata/poolbinding.yaml"), "test-ns", ns)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/poolbinding.yaml" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(manifest))
	}))
	defer srv.Close()

	r := mustSucceed(t, ccictl(t, "create", "-f", srv.URL+"/poolbinding.yaml"))
	if r.Stdout != plbResource+"/test-c1 created\n" {
		t.Errorf("create from URL: %s", r)
	}
	mustSucceed(t, ccictl(t, "get", "plb", "test-c1", "-n", ns))

	r = ccictl(t, "create", "-f", srv.URL+"/missing.yaml")
	if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, srv.URL+"/missing.yaml") || !strings.Contains(r.Stderr, "404") {
		t.Errorf("create from a missing URL: %s", r)
	}
}
