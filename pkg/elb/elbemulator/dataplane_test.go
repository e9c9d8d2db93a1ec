package elbemulator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// httpBackend serves on ip (a 127/8 address) and answers every request
// with its name; /healthz answers health.Load(). It returns the port.
func httpBackend(t *testing.T, ip, name string, health *atomic.Int32) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && health != nil {
			w.WriteHeader(int(health.Load()))
			return
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// echoBackend echoes every TCP connection on ip; it returns the port.
func echoBackend(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func openListener(t *testing.T, e *Emulator, poolID string) *Listener {
	t.Helper()
	l, err := e.OpenListener(poolID, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func addMember(t *testing.T, e *Emulator, poolID, addr string, port, weight int) string {
	t.Helper()
	w := int32(weight)
	r := call(t, e, "POST", poolPath(poolID, "/members/batch-add"), map[string]any{
		"members": []map[string]any{{"address": addr, "protocol_port": port, "weight": w}}})
	var a batchAnswer
	r.decode(t, &a)
	if r.Status != 200 || len(a.Members) != 1 {
		t.Fatalf("batch-add %s:%d: %d %s", addr, port, r.Status, r.Body)
	}
	return a.Members[0].ID
}

func setWeight(t *testing.T, e *Emulator, poolID, id string, weight int) {
	t.Helper()
	r := call(t, e, "POST", poolPath(poolID, "/members/batch-update"), map[string]any{
		"members": []map[string]any{{"id": id, "weight": weight}}})
	if r.Status != 200 {
		t.Fatalf("batch-update: %d %s", r.Status, r.Body)
	}
}

func deleteMember(t *testing.T, e *Emulator, poolID, id string) {
	t.Helper()
	r := call(t, e, "POST", poolPath(poolID, "/members/batch-delete"), map[string]any{
		"members": []map[string]any{{"id": id}}})
	if r.Status != 200 {
		t.Fatalf("batch-delete: %d %s", r.Status, r.Body)
	}
}

// get sends n requests over one keep-alive client and counts the bodies
// (and "status NNN" for non-200 answers).
func get(t *testing.T, c *http.Client, url string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := 0; i < n; i++ {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			out["status "+strconv.Itoa(resp.StatusCode)]++
			continue
		}
		out[string(b)]++
	}
	return out
}

func memberStatus(e *Emulator, poolID, id string) (string, *elb.HealthReason) {
	for _, m := range e.Members(poolID) {
		if m.ID == id {
			return m.OperatingStatus, m.Reason
		}
	}
	return "gone", nil
}

// waitStatus waits (generously, for a loaded CI machine) until the member
// reads want, and returns its reason.
func waitStatus(t *testing.T, e *Emulator, poolID, id, want string) *elb.HealthReason {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, reason := memberStatus(e, poolID, id)
		if st == want {
			return reason
		}
		if time.Now().After(deadline) {
			t.Fatalf("member %s stays %s (reason %+v), want %s", id, st, reason, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDataPlaneHTTPWeightsPerRequestOnKeepAlive(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{Protocol: "HTTP"}) // no health monitor: NO_MONITOR members take traffic
	addMember(t, e, p.ID, "10.0.1.1", httpBackend(t, "127.0.1.1", "a", nil), 1)
	addMember(t, e, p.ID, "10.0.1.2", httpBackend(t, "127.0.1.2", "b", nil), 2)
	addMember(t, e, p.ID, "10.0.1.3", httpBackend(t, "127.0.1.3", "c", nil), 3)
	idle := addMember(t, e, p.ID, "10.0.1.4", httpBackend(t, "127.0.1.4", "zero", nil), 0)
	l := openListener(t, e, p.ID)
	c := &http.Client{Timeout: 10 * time.Second} // keep-alive: one client connection carries all requests
	got := get(t, c, "http://"+l.Addr+"/", 600)
	if got["a"] != 100 || got["b"] != 200 || got["c"] != 300 || len(got) != 3 {
		t.Fatalf("600 requests by weights 1:2:3:0 went %v, want a=100 b=200 c=300", got)
	}
	// Weight 0 on c stops its new requests on the same reused connection.
	setWeight(t, e, p.ID, idle, 1)
	for _, m := range e.Members(p.ID) {
		if m.Address == "10.0.1.3" {
			setWeight(t, e, p.ID, m.ID, 0)
		}
	}
	got = get(t, c, "http://"+l.Addr+"/", 400)
	if got["c"] != 0 || got["a"] != 100 || got["b"] != 200 || got["zero"] != 100 {
		t.Fatalf("after c → weight 0: %v, want c=0 a=100 b=200 zero=100", got)
	}
	if st := e.Stats(p.ID); st.Accepted != 1000 || st.NoMember != 0 || st.BackendFailed != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Every member at weight 0: nothing takes new requests.
	for _, m := range e.Members(p.ID) {
		if m.Weight != 0 {
			setWeight(t, e, p.ID, m.ID, 0)
		}
	}
	if got = get(t, c, "http://"+l.Addr+"/", 5); got["status 503"] != 5 {
		t.Fatalf("all members at weight 0: %v, want 5 × 503", got)
	}
}

func TestDataPlaneRoutesOnlyToOnlineMembers(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{Protocol: "HTTP"})
	if _, err := e.SetHealthMonitor(p.ID, &HealthMonitor{Type: "HTTP", Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: 1, URLPath: "/healthz"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	changes := map[string][]string{} // member address → statuses told by OnHealthChange
	e.OnHealthChange(func(c HealthChange) {
		mu.Lock()
		defer mu.Unlock()
		if c.Pool != p.ID || c.At.IsZero() || c.Port == 0 {
			t.Errorf("health change %+v: want pool %s, a time and a port", c, p.ID)
		}
		changes[c.Address] = append(changes[c.Address], strings.TrimSpace(c.Status+" "+c.Reason))
	})
	var okHealth, badHealth atomic.Int32
	okHealth.Store(503)
	badHealth.Store(500)
	a := addMember(t, e, p.ID, "10.0.2.1", httpBackend(t, "127.0.2.1", "a", &okHealth), 1)
	b := addMember(t, e, p.ID, "10.0.2.2", httpBackend(t, "127.0.2.2", "b", &badHealth), 1)
	if st, _ := memberStatus(e, p.ID, a); st != elb.StatusInitial {
		t.Fatalf("member a %s before any check, want INITIAL", st)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	l := openListener(t, e, p.ID)
	waitStatus(t, e, p.ID, a, elb.StatusOffline)
	if got := get(t, c, "http://"+l.Addr+"/", 3); got["status 503"] != 3 {
		t.Fatalf("with no member ONLINE: %v, want 3 × 503", got)
	}
	okHealth.Store(200)
	waitStatus(t, e, p.ID, a, elb.StatusOnline)
	reason := waitStatus(t, e, p.ID, b, elb.StatusOffline)
	if reason == nil || reason.ReasonCode != "RESPONSE_MISMATCH" || *reason.ExpectedResponse != "200" || *reason.HealthcheckResponse != "500" {
		t.Fatalf("b's reason %+v, want RESPONSE_MISMATCH expected 200 got 500", reason)
	}
	if got := get(t, c, "http://"+l.Addr+"/", 50); got["a"] != 50 {
		t.Fatalf("with only a ONLINE: %v, want a=50", got)
	}
	badHealth.Store(200)
	waitStatus(t, e, p.ID, b, elb.StatusOnline)
	if got := get(t, c, "http://"+l.Addr+"/", 50); got["a"] != 25 || got["b"] != 25 {
		t.Fatalf("with a and b ONLINE: %v, want 25 each", got)
	}
	// Each transition was told once, as it happened; repeated checks
	// with the same outcome are not changes.
	mu.Lock()
	defer mu.Unlock()
	want := []string{elb.StatusOffline + " RESPONSE_MISMATCH", elb.StatusOnline}
	for _, addr := range []string{"10.0.2.1", "10.0.2.2"} {
		if !slices.Equal(changes[addr], want) {
			t.Errorf("health changes of %s: %v, want %v", addr, changes[addr], want)
		}
	}
}

// fullBacklogListener listens on ip with a backlog of 0 and fills its
// accept queue, so the kernel drops further SYNs: connecting times out.
func fullBacklogListener(t *testing.T, ip string) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	a := netip.MustParseAddr(ip).As4()
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: a}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	port := sa.(*syscall.SockaddrInet4).Port
	for i := 0; i < 4; i++ { // fill the queue; later connects hang in SYN_SENT
		d := net.Dialer{Timeout: 300 * time.Millisecond}
		if c, err := d.Dial("tcp", net.JoinHostPort(ip, strconv.Itoa(port))); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return port
}

func TestHealthCheckReasons(t *testing.T) {
	closedPort := func(ip string) int {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		return port
	}
	hanging := func(ip string) int { // accepts, reads, never answers
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); io.Copy(io.Discard, c) }()
			}
		}()
		return ln.Addr().(*net.TCPAddr).Port
	}
	var teapot atomic.Int32
	teapot.Store(418)
	cases := []struct {
		name, monitor, ip string
		port              func(ip string) int
		want              string
	}{
		{"refused", "TCP", "127.0.3.1", closedPort, "CONNECT_REFUSED"},
		{"connect hangs", "TCP", "127.0.3.2", func(ip string) int { return fullBacklogListener(t, ip) }, "CONNECT_TIMEOUT"},
		{"no answer", "HTTP", "127.0.3.3", hanging, "RECV_RESPONSE_TIMEOUT"},
		{"wrong code", "HTTP", "127.0.3.4", func(ip string) int { return httpBackend(t, ip, "x", &teapot) }, "RESPONSE_MISMATCH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEmulator(Options{})
			p := e.CreatePool(elb.Pool{Protocol: "TCP"})
			if _, err := e.SetHealthMonitor(p.ID, &HealthMonitor{Type: tc.monitor, Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: 2, URLPath: "/healthz", ExpectedCodes: "200-204"}); err != nil {
				t.Fatal(err)
			}
			id := addMember(t, e, p.ID, "10"+strings.TrimPrefix(tc.ip, "127"), tc.port(tc.ip), 1)
			openListener(t, e, p.ID)
			reason := waitStatus(t, e, p.ID, id, elb.StatusOffline)
			if reason == nil || reason.ReasonCode != tc.want {
				t.Fatalf("reason %+v, want %s", reason, tc.want)
			}
		})
	}
}

// TestHealthTransitionCounts checks max_retries and max_retries_down:
// the consecutive results a member needs to change state.
func TestHealthTransitionCounts(t *testing.T) {
	hm := HealthMonitor{MaxRetries: 2, MaxRetriesDown: 3}
	fail := &elb.HealthReason{ReasonCode: "CONNECT_REFUSED"}
	var cs checkState
	steps := []struct {
		reason *elb.HealthReason
		want   string
	}{
		{nil, ""}, {nil, elb.StatusOnline}, // INITIAL → ONLINE after 2 successes
		{fail, elb.StatusOnline}, {fail, elb.StatusOnline}, {nil, elb.StatusOnline}, // a success restarts the count
		{fail, elb.StatusOnline}, {fail, elb.StatusOnline}, {fail, elb.StatusOffline}, // 3 in a row
		{nil, elb.StatusOffline}, {fail, elb.StatusOffline}, {nil, elb.StatusOffline}, {nil, elb.StatusOnline},
	}
	for i, s := range steps {
		cs.record(s.reason, hm)
		if cs.status != s.want {
			t.Fatalf("step %d: status %q, want %q", i, cs.status, s.want)
		}
	}
}

// TestDataPlaneNeverDialsUnmappedAddresses: a member address without a
// loopback twin, or one the map turns into a non-loopback address, is
// neither health-checked nor sent traffic; only loopback is dialled.
func TestDataPlaneNeverDialsUnmappedAddresses(t *testing.T) {
	e := newTestEmulator(Options{})
	var mu sync.Mutex
	var dialled []string
	e.dp.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, addr)
		mu.Unlock()
		if ap, err := netip.ParseAddrPort(addr); err != nil || !ap.Addr().IsLoopback() {
			return nil, errors.New("test dialer: not dialling beyond loopback")
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	// 10.0.4.x maps through TenToLoopback; 172.16.0.1 maps to a public
	// address by a bad table; 192.0.2.10 has no mapping at all.
	e.SetAddressMap(func(a netip.Addr) (netip.Addr, bool) {
		if a == netip.MustParseAddr("172.16.0.1") {
			return netip.MustParseAddr("192.0.2.99"), true
		}
		return TenToLoopback(a)
	})
	p := e.CreatePool(elb.Pool{Protocol: "TCP"})
	if _, err := e.SetHealthMonitor(p.ID, &HealthMonitor{Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: 1}); err != nil {
		t.Fatal(err)
	}
	port := echoBackend(t, "127.0.4.1")
	good := addMember(t, e, p.ID, "10.0.4.1", port, 1)
	unmapped := addMember(t, e, p.ID, "192.0.2.10", port, 100)
	badTable := addMember(t, e, p.ID, "172.16.0.1", port, 100)
	l := openListener(t, e, p.ID)
	waitStatus(t, e, p.ID, good, elb.StatusOnline)
	for _, id := range []string{unmapped, badTable} {
		if r := waitStatus(t, e, p.ID, id, elb.StatusOffline); r.ReasonCode != "CONNECT_FAILED" {
			t.Fatalf("member %s reason %+v, want CONNECT_FAILED", id, r)
		}
	}
	// With every member routable (NO_MONITOR), traffic picked for the
	// unmapped ones is refused, not dialled.
	if _, err := e.SetHealthMonitor(p.ID, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", l.Addr)
		if err != nil {
			continue // reset before the handshake finished: refused, as wanted
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "hi\n")
		bufio.NewReader(c).ReadString('\n')
		c.Close()
	}
	if st := e.Stats(p.ID); st.BackendFailed == 0 {
		t.Fatalf("no connection was picked for an unmapped member (%+v): the test proves nothing", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dialled) == 0 {
		t.Fatal("nothing dialled at all")
	}
	for _, a := range dialled {
		ap := netip.MustParseAddrPort(a)
		if !ap.Addr().IsLoopback() {
			t.Fatalf("dialled %s, beyond loopback", a)
		}
	}
}

// echoOnce writes a line and reads it back; the error says how the
// connection failed.
func echoOnce(c net.Conn) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "ping\n"); err != nil {
		return err
	}
	s, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && s != "ping\n" {
		err = fmt.Errorf("echoed %q", s)
	}
	return err
}

func TestDataPlaneTCPWeightZeroAndConnectionDrain(t *testing.T) {
	for _, drain := range []bool{false, true} {
		t.Run(fmt.Sprintf("drain=%v", drain), func(t *testing.T) {
			e := newTestEmulator(Options{})
			// The documented range is 10–4000 s; 1 s keeps the test short
			// (the admin API does not validate it).
			p := e.CreatePool(elb.Pool{Protocol: "TCP", ConnectionDrain: &elb.ConnectionDrain{Enable: drain, Timeout: 1}})
			a := addMember(t, e, p.ID, "10.0.5.1", echoBackend(t, "127.0.5.1"), 1)
			l := openListener(t, e, p.ID)
			old, err := net.Dial("tcp", l.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			if err := echoOnce(old); err != nil {
				t.Fatal(err)
			}
			b := addMember(t, e, p.ID, "10.0.5.2", echoBackend(t, "127.0.5.2"), 1)
			setWeight(t, e, p.ID, a, 0)
			// New connections all go to b.
			before := e.Stats(p.ID).PerMember[b]
			for i := 0; i < 5; i++ {
				c, err := net.Dial("tcp", l.Addr)
				if err != nil {
					t.Fatal(err)
				}
				if err := echoOnce(c); err != nil {
					t.Fatal(err)
				}
				c.Close()
			}
			if st := e.Stats(p.ID); st.PerMember[b]-before != 5 || st.PerMember[a] != 1 {
				t.Fatalf("after a → weight 0: per member %v, want 5 new on b, a still 1", st.PerMember)
			}
			// The old connection survives weight 0 for a while either way.
			time.Sleep(300 * time.Millisecond)
			if err := echoOnce(old); err != nil {
				t.Fatalf("connection on a weight-0 member cut at once: %v", err)
			}
			if drain {
				// After connection_drain.timeout it is reset.
				time.Sleep(2 * time.Second)
				if err := echoOnce(old); err == nil || !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
					t.Fatalf("after the drain timeout: %v, want the connection reset", err)
				}
				if st := e.Stats(p.ID); st.Cut != 1 {
					t.Fatalf("cut %d, want 1", st.Cut)
				}
				return
			}
			// Without draining, weight 0 never cuts; removing the member does, at once.
			time.Sleep(1500 * time.Millisecond)
			if err := echoOnce(old); err != nil {
				t.Fatalf("weight 0 without connection_drain cut the connection: %v", err)
			}
			if st := e.Stats(p.ID); st.Draining != 1 {
				t.Fatalf("draining %d, want 1", st.Draining)
			}
			deleteMember(t, e, p.ID, a)
			time.Sleep(500 * time.Millisecond)
			if err := echoOnce(old); err == nil {
				t.Fatal("connection to a removed member still works without connection_drain")
			}
			if st := e.Stats(p.ID); st.Cut != 1 {
				t.Fatalf("cut %d, want 1", st.Cut)
			}
		})
	}
}

// TestDataPlaneDrainOnRemove: with connection_drain a removed member's
// connection keeps working until the timeout.
func TestDataPlaneDrainOnRemove(t *testing.T) {
	e := newTestEmulator(Options{})
	p := e.CreatePool(elb.Pool{Protocol: "TCP", ConnectionDrain: &elb.ConnectionDrain{Enable: true, Timeout: 2}})
	a := addMember(t, e, p.ID, "10.0.6.1", echoBackend(t, "127.0.6.1"), 1)
	l := openListener(t, e, p.ID)
	c, err := net.Dial("tcp", l.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := echoOnce(c); err != nil {
		t.Fatal(err)
	}
	deleteMember(t, e, p.ID, a)
	time.Sleep(500 * time.Millisecond)
	if err := echoOnce(c); err != nil {
		t.Fatalf("removed member's connection cut before connection_drain.timeout: %v", err)
	}
	if st := e.Stats(p.ID); st.Draining != 1 || st.Cut != 0 {
		t.Fatalf("stats %+v, want 1 draining, 0 cut", st)
	}
	time.Sleep(2500 * time.Millisecond)
	if err := echoOnce(c); err == nil {
		t.Fatal("connection still works after connection_drain.timeout")
	}
	// A new connection finds no member and is reset.
	n, err := net.Dial("tcp", l.Addr)
	if err == nil {
		if err := echoOnce(n); err == nil {
			t.Fatal("a pool without members carried a connection")
		}
		n.Close()
	}
	if st := e.Stats(p.ID); st.Cut != 1 || st.NoMember != 1 {
		t.Fatalf("stats %+v, want 1 cut, 1 without member", st)
	}
}
