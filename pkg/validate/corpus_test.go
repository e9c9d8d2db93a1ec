package validate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openvessel/ccictl/pkg/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata/validate/expected.json from the current findings")

const corpusDir = "../../testdata/validate"

// goldenFinding is what the golden file pins per finding.
type goldenFinding struct {
	Rule  string `json:"rule"`
	Field string `json:"field,omitempty"`
	Line  int    `json:"line,omitempty"`
}

// corpusPlatforms reads a "# platforms: a,b" line from the head of a YAML
// corpus file; JSON files (and files without it) use the default set.
func corpusPlatforms(t *testing.T, data []byte) []string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "#") {
			break
		}
		if rest, ok := strings.CutPrefix(line, "# platforms:"); ok {
			var ps []string
			for _, p := range strings.Split(rest, ",") {
				ps = append(ps, strings.TrimSpace(p))
			}
			if err := CheckOptions(Options{Platforms: ps}); err != nil {
				t.Fatal(err)
			}
			return ps
		}
	}
	return nil
}

func corpusFindings(t *testing.T) map[string][]Finding {
	t.Helper()
	out := map[string][]Finding{}
	for _, sub := range []string{"valid", "invalid"} {
		files, err := filepath.Glob(filepath.Join(corpusDir, sub, "*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no corpus files in %s", sub)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rel := filepath.ToSlash(filepath.Join(sub, filepath.Base(f)))
			docs := manifest.Decode(rel, data)
			out[rel] = Validate(docs, Options{Platforms: corpusPlatforms(t, data)})
		}
	}
	return out
}

func TestCorpus(t *testing.T) {
	got := corpusFindings(t)
	golden := map[string][]goldenFinding{}
	for file, fs := range got {
		g := []goldenFinding{}
		for _, f := range fs {
			g = append(g, goldenFinding{Rule: f.RuleID, Field: f.Field, Line: f.Line})
		}
		golden[file] = g
		// The split itself is an assertion independent of the golden file.
		if strings.HasPrefix(file, "valid/") && len(fs) > 0 {
			t.Errorf("%s is in valid/ but has findings:\n%s", file, findingsText(fs))
		}
		if strings.HasPrefix(file, "invalid/") && len(fs) == 0 {
			t.Errorf("%s is in invalid/ but has no findings", file)
		}
	}
	path := filepath.Join(corpusDir, "expected.json")
	if *update {
		b, err := json.MarshalIndent(golden, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/validate -update to create it)", err)
	}
	var want map[string][]goldenFinding
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for file := range want {
		if _, ok := golden[file]; !ok {
			t.Errorf("%s is in expected.json but not in the corpus", file)
		}
	}
	for file, g := range golden {
		w, ok := want[file]
		if !ok {
			t.Errorf("%s has no entry in expected.json (run -update and review the diff)", file)
			continue
		}
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s: findings differ from expected.json\n got: %s\nwant: %s\nfull:\n%s", file, gb, wb, findingsText(got[file]))
		}
	}
}

// TestSeedExamples pins what the issue says about the seeds' own examples,
// independently of the golden file.
func TestSeedExamples(t *testing.T) {
	got := corpusFindings(t)
	rules := func(file string) map[string]int {
		m := map[string]int{}
		for _, f := range got[file] {
			m[f.RuleID]++
		}
		return m
	}
	// Seed 001's request example is valid.
	if fs := got["valid/seed001-create-service-request.json"]; len(fs) != 0 {
		t.Errorf("seed 001 request: want no findings, got\n%s", findingsText(fs))
	}
	// Seed 000 without its comments: only the masked pool ID is wrong.
	for _, f := range []string{"invalid/seed000-poolbinding-stripped.yaml", "invalid/seed000-poolbinding-stripped.json"} {
		fs := got[f]
		if len(fs) != 1 || fs[0].RuleID != "PLB008" || fs[0].Field != "spec.poolRef.id" ||
			!strings.Contains(fs[0].Message, "not a backend server group ID (UUID)") {
			t.Errorf("%s: want exactly PLB008 on spec.poolRef.id saying not a backend server group ID (UUID), got\n%s", f, findingsText(fs))
		}
	}
	// Seed 000 as printed: the decoder reports every "//" comment.
	for _, f := range []string{"invalid/seed000-poolbinding-as-printed.yaml", "invalid/seed000-poolbinding-as-printed.json"} {
		r := rules(f)
		if r[ManifestRuleID] != 7 || len(r) != 1 {
			t.Errorf("%s: want 7 MAN001 findings (one per // comment), got\n%s", f, findingsText(got[f]))
		}
	}
	if fs := got["invalid/seed000-poolbinding-as-printed.yaml"]; len(fs) > 0 {
		if fs[0].Line != 4 || fs[0].Field != "metadata.name" || !strings.Contains(fs[0].Message, `"test-c1       //Name of`) {
			t.Errorf("first finding should name line 4, metadata.name and the value: %s", fs[0])
		}
	}
	// Seed 002 as printed is not valid YAML.
	if fs := got["invalid/seed002-direct-access-as-printed.yaml"]; len(fs) != 1 || fs[0].RuleID != ManifestRuleID || fs[0].Line != 3 ||
		!strings.Contains(fs[0].Message, "invalid YAML") {
		t.Errorf("seed 002 as printed: want one MAN001 invalid YAML finding on line 3, got\n%s", findingsText(fs))
	}
}

func findingsText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// TestDocListsEveryRule keeps docs/validate.md in step with Rules().
func TestDocListsEveryRule(t *testing.T) {
	b, err := os.ReadFile("../../docs/validate.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules() {
		if !strings.Contains(string(b), "| "+r.ID+" | "+r.Platform+" | "+r.Severity+" |") {
			t.Errorf("docs/validate.md has no table row for %s (%s, %s)", r.ID, r.Platform, r.Severity)
		}
	}
}
