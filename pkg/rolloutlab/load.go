package rolloutlab

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Load is the traffic a rollout runs under, all to a loopback listener:
// requests at a fixed rate (vegeta) from clients that open a connection
// per request and from clients that reuse their connections, and
// long-lived connections. The three client kinds run side by side, so
// they see the same rollout; each is counted apart.
type Load struct {
	// Addr is the pool listener's host:port (loopback).
	Addr string
	// Rate is requests per second, each on a new connection.
	Rate int
	// KeepAliveRate is requests per second on reused (HTTP keep-alive)
	// connections.
	KeepAliveRate int
	// Holds is how many long-lived connections stay open at any time;
	// each lives HoldFor and is then replaced.
	Holds   int
	HoldFor time.Duration
}

// Client kinds, as the report names them.
const (
	ClientPerRequest = "one request per connection"
	ClientKeepAlive  = "HTTP keep-alive"
	ClientLongLived  = "long-lived TCP"
)

// Failure kinds of a request.
const (
	FailRefused = "refused"
	FailReset   = "reset"
	Fail5xx     = "5xx"
	FailTimeout = "timeout"
	FailOther   = "other"
)

// Second is what the load saw in one second.
type Second struct {
	At     time.Time      `json:"at"`
	OK     int            `json:"ok"`
	Failed map[string]int `json:"failed,omitempty"`
}

// ConnResult is one long-lived connection.
type ConnResult struct {
	Start, End time.Time
	// Clean: it ended as planned; otherwise it was cut early (Err says how).
	Clean bool
	Err   string
}

// Measurement is what a load run saw.
type Measurement struct {
	mu sync.Mutex
	// Start and End are when the load started and stopped: the first and
	// last seconds are partial.
	Start, End time.Time
	seconds    map[int64]*Second
	// requests are the request totals by client kind.
	requests map[string]*Totals
	Conns    []ConnResult
	// Examples keeps the first error text of each failure kind.
	Examples map[string]string
}

func newMeasurement() *Measurement {
	return &Measurement{Start: time.Now(), seconds: map[int64]*Second{}, requests: map[string]*Totals{}, Examples: map[string]string{}}
}

// record counts one request of a client kind.
func (m *Measurement) record(client string, at time.Time, failure, example string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := at.Unix()
	s := m.seconds[k]
	if s == nil {
		s = &Second{At: time.Unix(k, 0), Failed: map[string]int{}}
		m.seconds[k] = s
	}
	c := m.requests[client]
	if c == nil {
		c = &Totals{ByKind: map[string]int{}}
		m.requests[client] = c
	}
	if failure == "" {
		s.OK++
		c.OK++
		return
	}
	s.Failed[failure]++
	c.Failed++
	c.ByKind[failure]++
	if _, ok := m.Examples[failure]; !ok {
		m.Examples[failure] = example
	}
}

// Clients are the totals by client kind: requests for the request
// clients, connections clean and cut for the long-lived ones.
func (m *Measurement) Clients() map[string]Totals {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Totals{}
	for k, t := range m.requests {
		c := *t
		c.ByKind = maps.Clone(t.ByKind)
		out[k] = c
	}
	if len(m.Conns) > 0 {
		var t Totals
		for _, c := range m.Conns {
			if c.Clean {
				t.ConnClean++
			} else {
				t.ConnCut++
			}
		}
		out[ClientLongLived] = t
	}
	return out
}

// Seconds returns the per-second counts in time order.
func (m *Measurement) Seconds() []Second {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Second, 0, len(m.seconds))
	for _, s := range m.seconds {
		c := *s
		c.Failed = map[string]int{}
		for k, v := range s.Failed {
			c.Failed[k] = v
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Totals are the run's requests by outcome and connections cut/clean.
type Totals struct {
	OK        int            `json:"ok"`
	Failed    int            `json:"failed"`
	ByKind    map[string]int `json:"by_kind"`
	ConnClean int            `json:"conn_clean"`
	ConnCut   int            `json:"conn_cut"`
}

// CutReasons lists the connections cut early: when (seconds since the
// load started, start and end) and how.
func (m *Measurement) CutReasons() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, c := range m.Conns {
		if !c.Clean {
			out = append(out, fmt.Sprintf("%.1fs-%.1fs: %s", c.Start.Sub(m.Start).Seconds(), c.End.Sub(m.Start).Seconds(), c.Err))
		}
	}
	return out
}

// Totals sums the run.
func (m *Measurement) Totals() Totals {
	t := Totals{ByKind: map[string]int{}}
	for _, s := range m.Seconds() {
		t.OK += s.OK
		for k, v := range s.Failed {
			t.Failed += v
			t.ByKind[k] += v
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.Conns {
		if c.Clean {
			t.ConnClean++
		} else {
			t.ConnCut++
		}
	}
	return t
}

// classify names a request's failure ("" = success).
func classify(code int, errText string) string {
	lower := strings.ToLower(errText)
	switch {
	case code >= 200 && code < 400 && errText == "":
		return ""
	case code >= 500:
		return Fail5xx
	case strings.Contains(errText, "connection refused"):
		return FailRefused
	case strings.Contains(errText, "reset by peer") || strings.Contains(errText, "EOF") || strings.Contains(errText, "broken pipe"):
		return FailReset
	case strings.Contains(lower, "timeout") || strings.Contains(lower, "deadline exceeded"):
		return FailTimeout
	}
	return FailOther
}

// Run sends the load until ctx ends and returns what it saw.
func (l Load) Run(ctx context.Context) *Measurement {
	m := newMeasurement()
	var wg sync.WaitGroup
	for _, c := range []struct {
		rate      int
		keepAlive bool
		client    string
	}{{l.Rate, false, ClientPerRequest}, {l.KeepAliveRate, true, ClientKeepAlive}} {
		if c.rate <= 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.requests(ctx, m, c.rate, c.keepAlive, c.client)
		}()
	}
	for i := 0; i < l.Holds; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c := l.hold(ctx)
				if ctx.Err() != nil && !c.Clean && c.Err == "stopped" {
					return // the run ended, not the connection
				}
				m.mu.Lock()
				m.Conns = append(m.Conns, c)
				m.mu.Unlock()
				if !c.Clean {
					time.Sleep(100 * time.Millisecond) // no hot loop while nothing serves
				}
			}
		}()
	}
	wg.Wait()
	m.mu.Lock()
	m.End = time.Now()
	m.mu.Unlock()
	return m
}

func (l Load) requests(ctx context.Context, m *Measurement, rate int, keepAlive bool, client string) {
	atk := vegeta.NewAttacker(vegeta.KeepAlive(keepAlive), vegeta.Timeout(5*time.Second),
		vegeta.Workers(8), vegeta.MaxWorkers(512), vegeta.Redirects(0))
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: "http://" + l.Addr + "/"})
	go func() {
		<-ctx.Done()
		atk.Stop()
	}()
	for res := range atk.Attack(tr, vegeta.Rate{Freq: rate, Per: time.Second}, 0, client) {
		m.record(client, res.Timestamp, classify(int(res.Code), res.Error), res.Error)
	}
}

// hold opens one long-lived connection: a streamed /hold response of
// HoldFor, read to its end.
func (l Load) hold(ctx context.Context) ConnResult {
	r := ConnResult{Start: time.Now()}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", l.Addr)
	if err != nil {
		r.End, r.Err = time.Now(), err.Error()
		if ctx.Err() != nil {
			r.Err = "stopped" // the run ended while it dialled: not a cut
		}
		return r
	}
	defer c.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	_ = c.SetDeadline(time.Now().Add(l.HoldFor + 10*time.Second))
	fmt.Fprintf(c, "GET /hold?ms=%d HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", l.HoldFor.Milliseconds())
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		r.End, r.Err = time.Now(), err.Error()
		if ctx.Err() != nil {
			r.Err = "stopped"
		}
		return r
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	last := ""
	for sc.Scan() {
		last = sc.Text()
	}
	r.End = time.Now()
	switch {
	case ctx.Err() != nil && last != "done":
		r.Err = "stopped"
	case sc.Err() != nil:
		r.Err = sc.Err().Error()
	case last != "done":
		r.Err = "ended before its last line"
	default:
		r.Clean = true
	}
	return r
}
