package main_test

// `get` is kubectl's get (k8s.io/kubectl/pkg/cmd/get) on ccictl's config
// loading: each case runs side by side with kubectl on the real API server,
// in a namespace of its own per tool, and stdout, stderr and the exit code
// must be the same.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// rankedPLBs creates three PoolBindings in ns whose names, creation order
// and "rank" label order all differ, so a sort is visible.
func rankedPLBs(t *testing.T, ns string) {
	t.Helper()
	for _, b := range []struct{ name, rank string }{{"b-second", "3"}, {"c-third", "1"}, {"a-first", "2"}} {
		createPLBs(t, ns, map[string]string{"rank": `"` + b.rank + `"`}, b.name)
	}
}

// sameTable is pair.same for tables: identical after AGE values are masked
// (the two namespaces' objects are created a moment apart).
func (p pair) sameTable(t *testing.T, args ...string) result {
	t.Helper()
	ours := p.asKubectl(runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...))
	theirs := runIn(t, "", nil, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...)
	if ours.Code != theirs.Code || ours.Stderr != theirs.Stderr || maskAge(ours.Stdout) != maskAge(theirs.Stdout) {
		assertSame(t, args, ours, theirs)
	}
	return ours
}

// TestGetSortBy: --sort-by orders tables (the server's Table, with the
// objects included for the sort), names, custom columns and jsonpath lists;
// a malformed or unknown expression is kubectl's error with exit 1.
func TestGetSortBy(t *testing.T) {
	p := newPair(t, "e2e-sort")
	rankedPLBs(t, p.c)
	rankedPLBs(t, p.k)

	r := p.same(t, nil, "get", "plb", "-n", "NS", "-o", "name", "--sort-by=.metadata.labels.rank")
	if want := plbResource + "/c-third\n" + plbResource + "/a-first\n" + plbResource + "/b-second\n"; r.Stdout != want {
		t.Errorf("--sort-by=.metadata.labels.rank -o name:\n%s\nwant\n%s", r, want)
	}
	r = p.sameTable(t, "get", "plb", "-n", "NS", "--sort-by=.metadata.labels.rank")
	if got := rowNames(r.Stdout); strings.Join(got, " ") != "c-third a-first b-second" {
		t.Errorf("sorted table rows %v:\n%s", got, r.Stdout)
	}
	r = p.same(t, nil, "get", "plb", "-n", "NS", "--sort-by={.metadata.name}", "-o", "custom-columns=NAME:.metadata.name,RANK:.metadata.labels.rank")
	if want := "NAME       RANK\na-first    2\nb-second   3\nc-third    1\n"; r.Stdout != want {
		t.Errorf("--sort-by={.metadata.name} custom-columns:\n%s\nwant\n%s", r, want)
	}
	p.same(t, nil, "get", "plb", "-n", "NS", "--sort-by=.metadata.labels.rank", "-o", "jsonpath={.items[*].metadata.name}")
	// Several types in one table: kubectl sorts the tables themselves and
	// fails (no table has .metadata.name); ccictl gives the same answer.
	p.same(t, nil, "get", "plb,svc", "-n", "NS", "--sort-by=.metadata.name")

	for _, bad := range []string{"--sort-by={.metadata.name", "--sort-by=.spec.nothere", "--sort-by=.metadata.labels[", "--sort-by=.metadata.labels.rank.more"} {
		args := []string{"get", "plb", "-n", "NS", bad, "-o", "name"}
		named := p.same(t, nil, args...)
		if named.Code != 1 || named.Stdout != "" || !strings.HasPrefix(named.Stderr, "error: ") {
			t.Errorf("ccictl %v: want kubectl's error and exit 1: %s", args, named)
		}
		// In a table kubectl (1.32 and 1.36 alike) checks the expression
		// only while printing, drops the printer's error and says "No
		// resources found" with exit 0 although the bindings exist. ccictl
		// reports the error kubectl gives for the same expression with -o
		// name, exit 1.
		for _, output := range [][]string{nil, {"-o", "wide"}} {
			args := append([]string{"get", "plb", "-n", "NS", bad}, output...)
			r := p.asKubectl(runIn(t, "", nil, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...))
			if r != p.asKubectl(named) {
				t.Errorf("ccictl %v:\n%s\nwant what -o name gives:\n%s", args, r, named)
			}
		}
	}
}

// TestGetMultiTypeEmpty: several types in a namespace that holds none of
// them print nothing on stdout (so `[ -z "$(ccictl get …)" ]` holds) and
// kubectl's "No resources found in NS namespace." on stderr, exit 0.
func TestGetMultiTypeEmpty(t *testing.T) {
	p := newPair(t, "e2e-empty")
	want := result{Stderr: "No resources found in " + p.k + " namespace.\n"}
	for _, args := range [][]string{
		{"get", "svc,plb,secrets", "-n", "NS"},
		{"get", "svc,plb,cm", "-n", "NS", "-l", "app=none"},
		{"get", "svc,plb", "-n", "NS", "-o", "wide"},
	} {
		if r := p.asKubectl(p.same(t, nil, args...)); r != want {
			t.Errorf("ccictl %v:\n%s\nwant\n%s", args, r, want)
		}
	}
	// The namespace's own ConfigMap (kube-root-ca.crt) makes a table; the
	// empty types add nothing to it.
	r := p.sameTable(t, "get", "svc,plb,cm", "-n", "NS")
	if r.Stderr != "" || strings.Count(r.Stdout, "\n") != 2 || !strings.Contains(r.Stdout, "configmap/kube-root-ca.crt") {
		t.Errorf("get svc,plb,cm: %s", r)
	}
	// Names of nothing are nothing, without a message, as in kubectl;
	// structured output of nothing is an empty List.
	if r := p.same(t, nil, "get", "svc,plb", "-n", "NS", "-o", "name"); r != (result{}) {
		t.Errorf("get svc,plb -o name: %s", r)
	}
	p.same(t, nil, "get", "svc,plb", "-n", "NS", "-o", "json")
	p.same(t, nil, "get", "svc,plb", "-n", "NS", "-o", "jsonpath={.items[*].metadata.name}")
}

// TestGetRawAndSubresource: --raw reads an API path through the configured
// transport; --subresource reads one (status) of an object.
func TestGetRawAndSubresource(t *testing.T) {
	p := newPair(t, "e2e-raw")
	createPLBs(t, p.c, nil, "test-c1")
	createPLBs(t, p.k, nil, "test-c1")
	r := sameHere(t, "get", "--raw", "/apis/loadbalancer.networking.openvessel.io/v1")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"name":"poolbindings/status"`) {
		t.Errorf("get --raw: %s", r)
	}
	for _, args := range [][]string{
		{"get", "--raw", "/apis/loadbalancer.networking.openvessel.io/v1/nothere"},
		{"get", "--raw", "/version", "-o", "name"},
		{"get", "plb", "--raw", "/version"},
	} {
		if r := sameHere(t, args...); r.Code != 1 {
			t.Errorf("ccictl %v: want exit 1: %s", args, r)
		}
	}
	plbStatus(t, p.c, "test-c1", "True", 2)
	plbStatus(t, p.k, "test-c1", "True", 2)
	r = p.same(t, nil, "get", "plb", "test-c1", "-n", "NS", "--subresource=status", "-o", "jsonpath={.metadata.name} {.status.registeredMembers}")
	if r.Stdout != "test-c1 2" {
		t.Errorf("--subresource=status: %s", r)
	}
	p.sameTable(t, "get", "plb", "test-c1", "-n", "NS", "--subresource=status")
	p.same(t, nil, "get", "plb", "test-c1", "-n", "NS", "--subresource=bogus")
}

// watchPair runs the same `get -w …` with both tools, each in its own
// namespace of p, and returns them running.
func (p pair) watch(t *testing.T, args ...string) [2]*started {
	t.Helper()
	return [2]*started{
		start(t, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...),
		start(t, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...),
	}
}

// until waits until both watches printed want (NS read as the namespace).
func (p pair) until(t *testing.T, w [2]*started, want string) {
	t.Helper()
	for i, ns := range []string{p.c, p.k} {
		s := w[i]
		text := strings.ReplaceAll(want, "NS", ns)
		if !waitFor(20*time.Second, func() bool { return strings.Contains(s.out.String(), text) }) {
			s.running(t)
			t.Fatalf("%v did not print %q:\n--- stdout\n%s--- stderr\n%s", s.cmd.Args, text, s.out.String(), s.err.String())
		}
	}
}

// interrupt sends SIGINT to both watches and compares how they ended.
func (p pair) interrupt(t *testing.T, w [2]*started, args []string) result {
	t.Helper()
	for _, s := range w {
		s.running(t)
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
	}
	ours, theirs := p.asKubectl(w[0].wait(t)), w[1].wait(t)
	assertSame(t, args, ours, theirs)
	// kubectl's watch ends with exit 1 when interrupted.
	if ours.Code != 1 {
		t.Errorf("an interrupted %v exited %d, want 1: %s", args, ours.Code, ours)
	}
	return ours
}

// TestGetWatch: `get -w` with -o name, jsonpath and --output-watch-events on
// several and on zero objects, and --watch-only, print what kubectl prints
// for the objects that exist and for a create and a delete seen while
// watching; SIGINT ends each with kubectl's exit code 1.
func TestGetWatch(t *testing.T) {
	type step struct {
		args []string
		// with two bindings present, or none
		existing bool
		// what both print once the watch has seen "later" created and
		// "first" deleted (PLB stands for the resource name)
		want string
	}
	jp := `-o=jsonpath={.metadata.name}{"\n"}`
	for i, tc := range []step{
		{[]string{"get", "plb", "-n", "NS", "-w", "-o", "name"}, true,
			"PLB/first\nPLB/second\nPLB/later\nPLB/first\n"},
		{[]string{"get", "plb", "-n", "NS", "-w", "-o", "name"}, false,
			"PLB/later\n"},
		{[]string{"get", "plb", "-n", "NS", "--watch-only", "-o", "name"}, true,
			"PLB/later\nPLB/first\n"},
		{[]string{"get", "plb", "-n", "NS", "-w", jp}, true,
			"first\nsecond\nlater\nfirst\n"},
		{[]string{"get", "plb", "-n", "NS", "-w", jp}, false,
			"later\n"},
		{[]string{"get", "plb", "-n", "NS", "-w", "--output-watch-events", `-o=jsonpath={.type} {.object.metadata.name}{"\n"}`}, true,
			"ADDED first\nADDED second\nADDED later\nDELETED first\n"},
		{[]string{"get", "plb", "-n", "NS", "--watch-only", "--output-watch-events", "-o", "name"}, false,
			"PLB/later\n"},
		{[]string{"get", "plb", "second", "-n", "NS", "-w", "-o", "name"}, true,
			"PLB/second\n"},
	} {
		p := newPair(t, fmt.Sprintf("e2e-getw%d", i))
		names := ""
		if tc.existing {
			names = "first/second"
			createPLBs(t, p.c, nil, "first", "second")
			createPLBs(t, p.k, nil, "first", "second")
		}
		t.Run(strings.Join(tc.args[1:], " ")+" existing="+names, func(t *testing.T) {
			w := p.watch(t, tc.args...)
			if tc.existing && !strings.Contains(strings.Join(tc.args, " "), "--watch-only") {
				p.until(t, w, strings.SplitN(strings.ReplaceAll(tc.want, "PLB", plbResource), "\n", 2)[0])
			} else {
				// Nothing to print yet: give both watches time to start.
				time.Sleep(3 * time.Second)
			}
			createPLBs(t, p.c, nil, "later")
			createPLBs(t, p.k, nil, "later")
			if tc.existing {
				mustSucceed(t, ccictl(t, "delete", "plb", "first", "-n", p.c))
				mustSucceed(t, ccictl(t, "delete", "plb", "first", "-n", p.k))
			}
			want := strings.ReplaceAll(tc.want, "PLB", plbResource)
			lines := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
			p.until(t, w, lines[len(lines)-1]+"\n")
			time.Sleep(500 * time.Millisecond) // nothing more may arrive
			r := p.interrupt(t, w, tc.args)
			if r.Stdout != want || r.Stderr != "" {
				t.Errorf("ccictl %v:\n%s\nwant stdout\n%s", tc.args, r, want)
			}
		})
	}
}

// TestGetWatchTable: the human-readable watch is the server's Table, one
// header, rows for existing and new objects, as kubectl prints it.
func TestGetWatchTable(t *testing.T) {
	p := newPair(t, "e2e-getwt")
	for _, ns := range []string{p.c, p.k} {
		createPLBs(t, ns, nil, "first")
	}
	args := []string{"get", "plb", "-n", "NS", "-w"}
	w := p.watch(t, args...)
	p.until(t, w, "\nfirst ")
	for _, ns := range []string{p.c, p.k} {
		createPLBs(t, ns, nil, "later")
	}
	p.until(t, w, "\nlater ")
	// A longer name widens its own row; a shorter one after it is padded
	// to the widest seen so far: widths are remembered, never shrunk.
	const long = "a-much-longer-binding-name"
	for _, ns := range []string{p.c, p.k} {
		createPLBs(t, ns, nil, long, "z")
	}
	p.until(t, w, "\nz ")
	for _, s := range w {
		_ = s.cmd.Process.Signal(os.Interrupt)
	}
	ours, theirs := p.asKubectl(w[0].wait(t)), w[1].wait(t)
	if ours.Code != 1 || ours.Code != theirs.Code || ours.Stderr != theirs.Stderr || maskAge(ours.Stdout) != maskAge(theirs.Stdout) {
		assertSame(t, args, ours, theirs)
	}
	if strings.Count(ours.Stdout, "NAME ") != 1 || !reflect.DeepEqual(rowNames(ours.Stdout), []string{"first", "later", long, "z"}) {
		t.Errorf("watch table: %s", ours)
	}
	// maskAge folds spaces, so the widths are checked here, for both tools.
	want := []int{len("first") + 3, len("first") + 3, len("later") + 3, len(long) + 3, len(long) + 3}
	for _, r := range []result{ours, theirs} {
		if got := secondColumns(r.Stdout); !reflect.DeepEqual(got, want) {
			t.Errorf("second column of header and rows starts at %v, want %v:\n%s", got, want, r.Stdout)
		}
	}
}

// secondColumns is, for each line of a table, the offset where its second
// column starts (columns are separated by at least two spaces; -1 when the
// line has a single column).
func secondColumns(table string) []int {
	var offs []int
	for _, l := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
		i := strings.Index(l, "  ")
		if i < 0 {
			offs = append(offs, -1)
			continue
		}
		j := i + len(l[i:]) - len(strings.TrimLeft(l[i:], " "))
		offs = append(offs, j)
	}
	return offs
}

// TestGetWatchErrors: a watch over several types, or of a missing object,
// is kubectl's error; --output-watch-events without a watch too.
func TestGetWatchErrors(t *testing.T) {
	p := newPair(t, "e2e-getwe")
	for _, args := range [][]string{
		{"get", "plb,svc", "-n", "NS", "-w"},
		{"get", "plb", "missing", "-n", "NS", "-w"},
		{"get", "plb", "-n", "NS", "--output-watch-events"},
	} {
		if r := p.same(t, nil, args...); r.Code != 1 {
			t.Errorf("ccictl %v: want exit 1: %s", args, r)
		}
	}
	// kubectl 1.36's get (ccictl's) honours --ignore-not-found in a watch
	// of a missing object: nothing printed, exit 0. kubectl 1.32 reported
	// NotFound there.
	r := ccictl(t, "get", "plb", "missing", "-n", p.c, "-w", "--ignore-not-found")
	if r != (result{}) {
		t.Errorf("get -w --ignore-not-found of a missing object: %s", r)
	}
}

// TestGetWatchJSON: `get -w -o json` on several objects prints each object,
// then each event's object, as a stream of JSON documents, as kubectl does
// (the objects' uid, resourceVersion and times masked for the comparison).
func TestGetWatchJSON(t *testing.T) {
	p := newPair(t, "e2e-getwj")
	for _, ns := range []string{p.c, p.k} {
		createPLBs(t, ns, nil, "first", "second")
	}
	args := []string{"get", "plb", "-n", "NS", "-w", "-o", "json"}
	w := p.watch(t, args...)
	p.until(t, w, `"name": "second"`)
	for _, ns := range []string{p.c, p.k} {
		createPLBs(t, ns, nil, "later")
		mustSucceed(t, ccictl(t, "delete", "plb", "first", "-n", ns))
	}
	if !waitFor(20*time.Second, func() bool {
		return strings.Count(w[0].out.String(), `"kind": "PoolBinding"`) == 4 && strings.Count(w[1].out.String(), `"kind": "PoolBinding"`) == 4
	}) {
		t.Fatalf("the watches did not print four objects:\n%s\n%s", w[0].out.String(), w[1].out.String())
	}
	for _, s := range w {
		_ = s.cmd.Process.Signal(os.Interrupt)
	}
	ours, theirs := p.asKubectl(w[0].wait(t)), w[1].wait(t)
	raw := ours.Stdout
	for _, r := range []*result{&ours, &theirs} {
		r.Stdout = liveFields.ReplaceAllString(r.Stdout, "${1}X")
	}
	assertSame(t, args, ours, theirs)
	var names []string
	dec := json.NewDecoder(strings.NewReader(raw))
	for {
		var obj struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		if err := dec.Decode(&obj); err != nil {
			if err != io.EOF {
				t.Errorf("watch -o json is not a JSON stream: %v\n%s", err, raw)
			}
			break
		}
		names = append(names, obj.Metadata.Name)
	}
	if strings.Join(names, " ") != "first second later first" || ours.Code != 1 {
		t.Errorf("watch -o json printed %v, exit %d", names, ours.Code)
	}
}
