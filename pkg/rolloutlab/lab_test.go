package rolloutlab

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		code int
		err  string
		want string
	}{
		{200, "", ""},
		{503, "", Fail5xx},
		{502, "", Fail5xx},
		{0, `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`, FailRefused},
		{0, "read tcp 127.0.0.1:2->127.0.0.1:1: read: connection reset by peer", FailReset},
		{0, "EOF", FailReset},
		{0, "net/http: request canceled (Client.Timeout exceeded while awaiting headers)", FailTimeout},
		{0, "something else", FailOther},
	} {
		if got := classify(c.code, c.err); got != c.want {
			t.Errorf("classify(%d, %q) = %q, want %q", c.code, c.err, got, c.want)
		}
	}
}

// TestTimeToTrafficSteps: each step per pod from a synthetic timeline,
// the pods of an earlier rollout at a reused address left out, and p50 /
// p99 over the pods.
func TestTimeToTrafficSteps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	r := Report{Events: []Event{
		{At: at(0), Kind: EventMemberAdded, Detail: "10.77.0.5:8080"}, // a pod of an earlier rollout
		{At: at(100), Kind: "online", Detail: "10.77.0.5:8080"},
		{At: at(200), Kind: EventFirstRequest, Pod: "old"},
		{At: at(5000), Kind: "restart"},
		// a: every step; its first request comes before its gate opens.
		{At: at(5100), Kind: EventServing, Pod: "a", Detail: "127.77.0.5:8080"},
		{At: at(6000), Kind: EventContainersReady, Pod: "a"},
		{At: at(6300), Kind: EventMemberAdded, Detail: "10.77.0.5:8080"},
		{At: at(7000), Kind: "online", Detail: "10.77.0.5:8080"},
		{At: at(7050), Kind: EventFirstRequest, Pod: "a"},
		{At: at(8500), Kind: EventGateTrue, Pod: "a"},
		{At: at(8600), Kind: EventReady, Pod: "a"},
		// b: ONLINE seen (exactly) before the sampled member+: the
		// member was in the pool by then.
		{At: at(5200), Kind: EventServing, Pod: "b", Detail: "127.77.0.6:8080"},
		{At: at(6000), Kind: EventContainersReady, Pod: "b"},
		{At: at(6900), Kind: "online", Detail: "10.77.0.6:8080"},
		{At: at(6940), Kind: EventMemberAdded, Detail: "10.77.0.6:8080"},
		{At: at(7100), Kind: EventFirstRequest, Pod: "b"},
		{At: at(8000), Kind: EventGateTrue, Pod: "b"},
		// c: never got a request; steps up to ONLINE only.
		{At: at(5300), Kind: EventServing, Pod: "c", Detail: "127.77.0.7:8080"},
		{At: at(6000), Kind: EventContainersReady, Pod: "c"},
		{At: at(6500), Kind: EventMemberAdded, Detail: "10.77.0.7:8080"},
		{At: at(7500), Kind: "online", Detail: "10.77.0.7:8080"},
	}}
	st := r.TimeToTraffic(at(5000))
	for _, c := range []struct {
		name      string
		got, want []time.Duration
	}{
		{"containers ready → member", st.Member, ms(300, 500, 900)},
		{"member → ONLINE", st.Online, ms(0, 700, 1000)},
		{"ONLINE → gate True", st.Gate, ms(1100, 1500)},
		{"ONLINE → first request", st.First, ms(50, 200)},
		{"total", st.Total, ms(1050, 1100)},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if got, want := P50P99(st.Member), "0.50 / 0.90 s"; got != want {
		t.Errorf("P50P99(member) = %q, want %q", got, want)
	}
	if got := P50P99(nil); got != "—" {
		t.Errorf("P50P99(nil) = %q", got)
	}
	both := st.Add(st)
	if len(both.Total) != 4 || len(st.Total) != 2 {
		t.Errorf("Add: %d totals (and %d left in the first), want 4 (2)", len(both.Total), len(st.Total))
	}
	// Percentiles over 100 values 1..100 ms: p50 the 51st (rounded rank),
	// p99 the 99th.
	var hundred []time.Duration
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	if p50, p99 := Percentile(hundred, 50), Percentile(hundred, 99); p50 != 51*time.Millisecond || p99 != 99*time.Millisecond {
		t.Errorf("p50, p99 of 1..100 ms = %v, %v; want 51ms, 99ms", p50, p99)
	}
	if p := Percentile(nil, 99); p != 0 {
		t.Errorf("p99 of nothing = %v", p)
	}
}

// TestTable: the benchmark's table from synthetic reports — one row per
// client kind, sums over rollouts, the ratio to the unsafe rollout of the
// same size, writes ÷ minimum.
func TestTable(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	events := []Event{
		{At: at(100), Kind: EventServing, Pod: "a", Detail: "127.77.0.5:8080"},
		{At: at(1000), Kind: EventContainersReady, Pod: "a"},
		{At: at(1200), Kind: EventMemberAdded, Detail: "10.77.0.5:8080"},
		{At: at(2000), Kind: "online", Detail: "10.77.0.5:8080"},
		{At: at(2100), Kind: EventFirstRequest, Pod: "a"},
	}
	rep := func(d time.Duration, failed, cut int, adds int) Report {
		return Report{Pods: 10, Rate: 500, Restart: t0, Duration: d, Events: events, LoadStart: t0, LoadEnd: t0.Add(2 * time.Second),
			Writes: Writes{Add: adds, Delete: 4, Minimum: 8},
			Clients: map[string]Totals{
				ClientPerRequest: {OK: 1000 - failed, Failed: failed, ByKind: map[string]int{FailTimeout: failed / 3, FailReset: failed - failed/3}},
				ClientKeepAlive:  {OK: 400}, // the machine sent 40 % of the planned 1,000
				ClientLongLived:  {ConnClean: 50 - cut, ConnCut: cut},
			}}
	}
	got := Table([]Result{
		{Scenario: "unsafe", Pods: 10, Reports: []Report{rep(20*time.Second, 7, 1, 4)}},
		{Scenario: "safe", Pods: 10, Reports: []Report{rep(29*time.Second, 0, 0, 4), rep(31*time.Second, 0, 0, 6)}},
		{Scenario: "quota", Pods: 50, Quota: 56, Reports: []Report{rep(40*time.Second, 0, 0, 4)}},
	})
	for _, want := range []string{
		"| unsafe | 10 | one request per connection, 500 req/s | 1 | 7 of 1,000 (5 reset, 2 timeout) | — | 20.0 s (1.00) | 1.10 / 1.10 s | 8 ÷ 8 = 1.00 |",
		"| unsafe | 10 | long-lived TCP | 1 | — | 1 of 50 | 20.0 s (1.00) |",
		"| safe | 10 | one request per connection, 500 req/s | 2 | 0 of 2,000 | — | 30.0 s (1.50) | 1.10 / 1.10 s | 18 ÷ 16 = 1.12 |",
		"| safe | 10 | HTTP keep-alive, 500 req/s (40 % sent) | 2 | 0 of 800 | — |",
		"| safe | 10 | long-lived TCP | 2 | — | 0 of 100 |",
		"| quota (quota 56) | 50 | one request per connection, 500 req/s | 1 | 0 of 1,000 | — | 40.0 s | ", // no unsafe at 50: no ratio
		"| safe | 10 | 2 | 0.20 / 0.20 s | 0.80 / 0.80 s | — | 0.10 / 0.10 s | 1.10 / 1.10 s |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n| safe | 10 |"); n != 4 {
		t.Errorf("%d rows for safe at 10 pods, want 3 client kinds + 1 steps row:\n%s", n, got)
	}
}

// TestWholeSeconds: the partial first and last seconds of a load are
// left out of the plot.
func TestWholeSeconds(t *testing.T) {
	var secs []Second
	for k := int64(100); k <= 104; k++ {
		secs = append(secs, Second{At: time.Unix(k, 0), OK: 1})
	}
	start, end := time.Unix(100, 400e6), time.Unix(104, 300e6) // 100.4 s – 104.3 s
	got := WholeSeconds(secs, start, end)
	if len(got) != 3 || got[0].At.Unix() != 101 || got[2].At.Unix() != 103 {
		t.Errorf("whole seconds of 100.4–104.3: %v, want 101, 102, 103", got)
	}
	if got := WholeSeconds(secs, time.Unix(100, 0), time.Unix(105, 0)); len(got) != 5 {
		t.Errorf("a load of whole seconds lost some: %v", got)
	}
	if got := WholeSeconds(secs, start, time.Time{}); len(got) != 4 {
		t.Errorf("no end: %v, want 101–104", got)
	}
}

// TestMinimumSteps: maxSurge 25 % rounds up; free quota slots and the
// batch size bound a step.
func TestMinimumSteps(t *testing.T) {
	for _, c := range []struct{ pods, quota, steps, per int }{
		{5, 0, 3, 2},      // surge 2: 2+2+1
		{10, 0, 4, 3},     // surge 3: 3+3+3+1
		{50, 0, 4, 13},    // surge 13
		{100, 0, 4, 25},   // surge 25
		{10, 11, 10, 1},   // one free slot: one pod per step
		{10, 12, 5, 2},    // two free slots
		{10, 100, 4, 3},   // quota above surge: surge bounds
		{10, 10, 10, 1},   // no free slot: still one at a time
		{1000, 0, 5, 200}, // surge 250 > one batch call
		{0, 0, 0, 0},
	} {
		if steps, per := MinimumSteps(c.pods, c.quota); steps != c.steps || per != c.per {
			t.Errorf("MinimumSteps(%d, %d) = %d, %d; want %d, %d", c.pods, c.quota, steps, per, c.steps, c.per)
		}
	}
	w := WritesOf(map[string]int{elbemulator.OpBatchAddMembers: 4, elbemulator.OpBatchDeleteMembers: 5, elbemulator.OpBatchUpdateMembers: 1, elbemulator.OpListMembers: 30}, 10, 0)
	if w.Minimum != 8 || w.Total() != 10 || w.Ratio() != 1.25 {
		t.Errorf("writes %+v: minimum %d total %d ratio %v", w, w.Minimum, w.Total(), w.Ratio())
	}
	if got, want := w.String(), "writes 10 (add=4 delete=5 update=1) ÷ minimum 8 (4 steps of ≤3 pods) = 1.25"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
