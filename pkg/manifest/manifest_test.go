package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestDecodeCases(t *testing.T) {
	cases := []struct {
		name string
		in   string
		// want: one entry per document, "ok:Kind@line" or "err:<substring>@line"
		want []string
	}{
		{"multi-doc yaml", "apiVersion: v1\nkind: A\n---\n# c\n\n---\napiVersion: v1\nkind: B\n", []string{"ok:A@1", "ok:B@7"}},
		{"json stream", `{"apiVersion":"v1","kind":"A"}` + "\n" + `{"apiVersion":"v1","kind":"B"}`, []string{"ok:A@1", "ok:B@2"}},
		{"json list flattened", "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n{\"apiVersion\":\"v1\",\"kind\":\"A\"},\n{\"apiVersion\":\"v1\",\"kind\":\"B\"}]}", []string{"ok:A@2", "ok:B@3"}},
		{"typed list infers kind", "apiVersion: v1\nkind: ServiceList\nitems:\n- metadata:\n    name: a\n", []string{"ok:Service@4"}},
		{"missing kind", "apiVersion: v1\nmetadata:\n  name: a\n", []string{"err:kind: missing@1"}},
		{"missing apiVersion", "kind: A\n", []string{"err:apiVersion: missing@1"}},
		{"kind not a string", "apiVersion: v1\nkind: 3\n", []string{"err:kind: must be a string@2"}},
		{"non-object", "# x\n- a\n- b\n", []string{"err:document is a list, not an object@2"}},
		{"scalar document", "hello\n", []string{"err:document is a string@1"}},
		{"empty", "", []string{`err:no objects found in "in.yaml"@0`}},
		{"only comments and separators", "# a\n---\n---\n", []string{`err:no objects found in "in.yaml"@0`}},
		{"broken yaml keeps neighbours", "apiVersion: v1\nkind: A\n---\napiVersion: v1\n  kind: B\n---\napiVersion: v1\nkind: C\n", []string{"ok:A@1", "err:invalid YAML@5", "ok:C@7"}},
		{"broken json", "{\n\"apiVersion\": \"v1\",\n\"kind\": }\n", []string{"err:invalid JSON@3"}},
		{"yaml doc comment", "apiVersion: v1\nkind: A\nmetadata:\n  name: a   //the name\n", []string{`err:metadata.name: value "a   //the name" contains a "//" comment copied from documentation@4`}},
		{"yaml value starting with //", "apiVersion: v1\nkind: A\nmetadata:\n  namespace:   //the namespace\n", []string{`err:metadata.namespace: value "//the namespace"@4`}},
		{"url is not a comment", "apiVersion: v1\nkind: A\nmetadata:\n  annotations:\n    u: https://x.example//y\n    q: \"a // b\"\n", []string{"ok:A@1"}},
		{"json comment", "{\"apiVersion\": \"v1\",\n \"kind\": \"A\", // kind\n \"x\": \"http://y\"}", []string{`err:kind: contains a "//" comment@2`}},
		{"yaml broken by quoted value and comment", "apiVersion: v1\nkind: A\nmetadata:\n  name: \"a\" // x\n", []string{`err:line 4 contains a "//" comment@4`}},
		{"null document skipped", "null\n---\napiVersion: v1\nkind: A\n", []string{"ok:A@3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs := Decode("in.yaml", []byte(c.in))
			if len(docs) != len(c.want) {
				t.Fatalf("got %d documents, want %d: %+v", len(docs), len(c.want), docs)
			}
			for i, d := range docs {
				w := c.want[i]
				at := strings.LastIndex(w, "@")
				exp, line := w[:at], w[at+1:]
				if d.Index != i {
					t.Errorf("doc %d: Index %d", i, d.Index)
				}
				if kind, ok := strings.CutPrefix(exp, "ok:"); ok {
					if d.Err != nil || d.Object == nil || d.Object.GetKind() != kind || len(d.Raw) == 0 {
						t.Errorf("doc %d: want %s, got kind %v err %v", i, kind, d.Object, d.Err)
					}
				} else {
					sub := strings.TrimPrefix(exp, "err:")
					if d.Err == nil || d.Object != nil || !strings.Contains(d.Err.Error(), sub) {
						t.Errorf("doc %d: want error containing %q, got %v", i, sub, d.Err)
					}
					var me *Error
					if !errors.As(d.Err, &me) {
						t.Errorf("doc %d: error is not a *manifest.Error: %T", i, d.Err)
					} else if got := strings.TrimPrefix(strings.Fields(strings.SplitN(me.Error(), ": ", 2)[0])[0], "in.yaml"); got != ":"+line && !(line == "0" && got == "") {
						t.Errorf("doc %d: error %q not on line %s", i, me.Error(), line)
					}
				}
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Source: "poolbinding.yaml", Line: 4, Field: "metadata.name", Msg: "bad"}
	if e.Error() != "poolbinding.yaml:4: metadata.name: bad" {
		t.Errorf("got %q", e.Error())
	}
	if got := (&Error{Source: "x", Msg: "m"}).Error(); got != "x: m" {
		t.Errorf("got %q", got)
	}
}

func TestFieldLine(t *testing.T) {
	docs := Decode("s.yaml", []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  annotations:\n    kubernetes.io/elb.id: x\nspec:\n  ports:\n  - name: a\n    port: 80\n"))
	d := docs[0]
	for path, want := range map[string]int{
		"metadata.name": 4, "metadata.annotations[kubernetes.io/elb.id]": 6, "spec.ports[0].port": 10,
		"spec.ports[0].targetPort": 9, "spec.clusterIP": 7, "nothing.here": 1,
	} {
		if got := d.FieldLine(path); got != want {
			t.Errorf("FieldLine(%s) = %d, want %d", path, got, want)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	obj := func(k string) string { return "apiVersion: v1\nkind: " + k + "\n" }
	write("a.yaml", obj("A"))
	write("b.json", `{"apiVersion":"v1","kind":"B"}`)
	write("c.yml", obj("C"))
	write("notes.txt", obj("Txt"))
	write("sub/d.yaml", obj("D"))
	kinds := func(docs []Document) string {
		var ks []string
		for _, d := range docs {
			if d.Object != nil {
				ks = append(ks, d.Object.GetKind())
			} else {
				ks = append(ks, "ERR")
			}
		}
		return strings.Join(ks, ",")
	}
	docs, err := Read([]string{dir}, false, nil)
	if err != nil || kinds(docs) != "A,B,C" {
		t.Errorf("dir: got %s, %v", kinds(docs), err)
	}
	docs, err = Read([]string{dir}, true, nil)
	if err != nil || kinds(docs) != "A,B,C,D" {
		t.Errorf("dir -R: got %s, %v", kinds(docs), err)
	}
	docs, err = Read([]string{filepath.Join(dir, "notes.txt"), "-"}, false, strings.NewReader(obj("S")))
	if err != nil || kinds(docs) != "Txt,S" || docs[1].Source != StdinSource {
		t.Errorf("file + stdin: got %s, %v", kinds(docs), err)
	}
	missing := filepath.Join(dir, "nope.yaml")
	if _, err := Read([]string{missing}, false, nil); err == nil || err.Error() != `the path "`+missing+`" does not exist` {
		t.Errorf("missing path: %v", err)
	}
	docs, err = Read([]string{"-"}, false, strings.NewReader("  \n"))
	if err != nil || len(docs) != 1 || docs[0].Err == nil || !strings.Contains(docs[0].Err.Error(), `no objects found in "<stdin>"`) {
		t.Errorf("empty stdin: %v %v", docs, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Read([]string{empty}, false, nil); err == nil {
		t.Error("a directory without manifests must be an error")
	}
}

func TestPaths(t *testing.T) {
	if got := Child(Child("metadata", "annotations"), "kubernetes.io/elb.id"); got != "metadata.annotations[kubernetes.io/elb.id]" {
		t.Error(got)
	}
	if got := Child(Index("spec.ports", 2), "name"); got != "spec.ports[2].name" {
		t.Error(got)
	}
	for p, want := range map[string]string{"spec.ports[2].name": "spec.ports[2]", "spec.ports[2]": "spec.ports", "a[x.y]": "a", "spec": ""} {
		if got := parentPath(p); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", p, got, want)
		}
	}
}

// WithoutLines drops the document's line, its fields' lines and those of
// every error it carries (a "//" comment error among joined ones here).
func TestWithoutLines(t *testing.T) {
	docs := Decode("built", []byte("apiVersion: v1\nkind: A\nmetadata:\n  name: a //the name\n  namespace: b //the namespace\n"))
	if len(docs) != 1 || docs[0].Err == nil || !strings.Contains(docs[0].Err.Error(), "built:4: metadata.name") {
		t.Fatalf("decoded %+v", docs)
	}
	d := docs[0].WithoutLines()
	if d.Line != 0 || d.FieldLine("metadata.name") != 0 {
		t.Errorf("lines left: doc %d, field %d", d.Line, d.FieldLine("metadata.name"))
	}
	msg := d.Err.Error()
	if !strings.Contains(msg, "built: metadata.name: ") || !strings.Contains(msg, "built: metadata.namespace: ") || regexp.MustCompile(`built:\d`).MatchString(msg) {
		t.Errorf("errors still name lines: %s", msg)
	}
}
