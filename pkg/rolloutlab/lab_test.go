package rolloutlab

import (
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

// TestTimeToTrafficIgnoresEarlierPodsAtTheSameAddress: pod IPs are reused,
// so a member event of an earlier pod at the same address must not count
// for the new one.
func TestTimeToTrafficIgnoresEarlierPodsAtTheSameAddress(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r := Report{Events: []Event{
		{At: at(0), Kind: "member+", Detail: "10.77.0.5:8080"}, // an earlier pod
		{At: at(100), Kind: "online", Detail: "10.77.0.5:8080"},
		{At: at(5000), Kind: "restart"},
		{At: at(5100), Kind: EventServing, Pod: "new", Detail: "127.77.0.5:8080"},
		{At: at(6000), Kind: EventContainersReady, Pod: "new"},
		{At: at(6300), Kind: "member+", Detail: "10.77.0.5:8080"},
		{At: at(7000), Kind: "online", Detail: "10.77.0.5:8080"},
		{At: at(8000), Kind: EventReady, Pod: "new"},
		{At: at(8100), Kind: EventFirstRequest, Pod: "new"},
	}}
	ph := r.TimeToTraffic(at(5000))
	want := []time.Duration{300 * time.Millisecond, time.Second, 2 * time.Second, 2100 * time.Millisecond}
	for i, got := range [][]time.Duration{ph.Member, ph.Online, ph.Ready, ph.FirstRequest} {
		if len(got) != 1 || got[0] != want[i] {
			t.Errorf("phase %d: %v, want [%v]", i, got, want[i])
		}
	}
	if p := Percentile([]time.Duration{3, 1, 2, 4}, 50); p != 3 && p != 2 {
		t.Errorf("p50 of 1..4 = %v", p)
	}
	if p := Percentile(nil, 99); p != 0 {
		t.Errorf("p99 of nothing = %v", p)
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
