package elbemulator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// Real health checks (the alternative to the timer model of health.go).
//
// Documented (ELB v3 health monitor object): type TCP or HTTP (UDP_CONNECT,
// HTTPS, GRPC are not modelled); delay, the seconds between two checks
// (1–50); timeout, the seconds one check may take (1–50); max_retries, the
// consecutive successes that bring a member from OFFLINE to ONLINE (1–10);
// max_retries_down, the consecutive failures that bring it from ONLINE to
// OFFLINE (1–10, default 3); monitor_port (default: the member's
// protocol_port); url_path (default "/"), expected_codes ("200", "200,202",
// "200-204"; default "200"), http_method (default GET) and domain_name for
// HTTP checks; reason_code values CONNECT_REFUSED, CONNECT_TIMEOUT,
// CONNECT_FAILED, SEND_REQUEST_FAILED, SEND_REQUEST_TIMEOUT,
// RECV_RESPONSE_FAILED, RECV_RESPONSE_TIMEOUT, RESPONSE_FORMAT_ERROR,
// RESPONSE_MISMATCH (the last with expected_response and
// healthcheck_response).
//
// Emulator choices: checks run only while the pool has an open listener
// (OpenListener), every delay seconds for all members at once; a member
// stays INITIAL until its first max_retries successes (ONLINE) or
// max_retries_down failures (OFFLINE). Every member address goes through
// the emulator's address map (SetAddressMap) to a loopback address before
// anything is dialled; an address the map does not turn into a loopback
// address is never dialled and its check fails with CONNECT_FAILED. The
// emulator thereby never opens a connection beyond loopback.

// Health monitor types the emulator checks with.
const (
	MonitorTCP  = "TCP"
	MonitorHTTP = "HTTP"
)

// HealthMonitor is a pool's health check, with the vendor's field names.
type HealthMonitor struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	Delay          int    `json:"delay"`
	Timeout        int    `json:"timeout"`
	MaxRetries     int    `json:"max_retries"`
	MaxRetriesDown int    `json:"max_retries_down"`
	MonitorPort    int    `json:"monitor_port,omitempty"`
	URLPath        string `json:"url_path,omitempty"`
	ExpectedCodes  string `json:"expected_codes,omitempty"`
	HTTPMethod     string `json:"http_method,omitempty"`
	DomainName     string `json:"domain_name,omitempty"`
}

// normalize fills the documented defaults and checks the documented
// ranges.
func (hm *HealthMonitor) normalize() error {
	hm.Type = strings.ToUpper(hm.Type)
	if hm.Type != MonitorTCP && hm.Type != MonitorHTTP {
		return fmt.Errorf("healthmonitor.type %q: elbemulator checks with TCP or HTTP", hm.Type)
	}
	if hm.MaxRetriesDown == 0 {
		hm.MaxRetriesDown = 3
	}
	for _, f := range []struct {
		name     string
		v, lo, h int
	}{{"delay", hm.Delay, 1, 50}, {"timeout", hm.Timeout, 1, 50}, {"max_retries", hm.MaxRetries, 1, 10},
		{"max_retries_down", hm.MaxRetriesDown, 1, 10}, {"monitor_port", hm.MonitorPort, 0, 65535}} {
		if f.v < f.lo || f.v > f.h {
			return fmt.Errorf("healthmonitor.%s %d: must be %d-%d", f.name, f.v, f.lo, f.h)
		}
	}
	if hm.Type == MonitorHTTP {
		if hm.URLPath == "" {
			hm.URLPath = "/"
		}
		if !strings.HasPrefix(hm.URLPath, "/") {
			return fmt.Errorf("healthmonitor.url_path %q: must start with /", hm.URLPath)
		}
		if hm.ExpectedCodes == "" {
			hm.ExpectedCodes = "200"
		}
		if _, err := parseExpectedCodes(hm.ExpectedCodes); err != nil {
			return err
		}
		if hm.HTTPMethod == "" {
			hm.HTTPMethod = http.MethodGet
		}
	}
	if hm.ID == "" {
		hm.ID = newUUID()
	}
	return nil
}

// parseExpectedCodes reads "200", "200,202" or "200-204" into a predicate.
func parseExpectedCodes(s string) (func(int) bool, error) {
	bad := fmt.Errorf("healthmonitor.expected_codes %q: want a code, a comma-separated list or a range such as 200-204", s)
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
			return nil, bad
		}
		return func(c int) bool { return c >= a && c <= b }, nil
	}
	set := map[int]bool{}
	for _, p := range strings.Split(s, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || c < 100 || c > 599 {
			return nil, bad
		}
		set[c] = true
	}
	return func(c int) bool { return set[c] }, nil
}

// SetHealthMonitor gives a pool a real health check (nil removes it, and
// its members read NO_MONITOR). The pool's healthmonitor_id follows.
func (e *Emulator) SetHealthMonitor(poolID string, hm *HealthMonitor) (*HealthMonitor, error) {
	ps := e.pool(poolID)
	if ps == nil {
		return nil, fmt.Errorf("elbemulator: pool %q not found", poolID)
	}
	var c *HealthMonitor
	if hm != nil {
		v := *hm
		if err := v.normalize(); err != nil {
			return nil, fmt.Errorf("elbemulator: pool %s: %w", poolID, err)
		}
		c = &v
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.monitor = c
	ps.checks = map[string]*checkState{}
	ps.pool.HealthmonitorID = ""
	if c != nil {
		ps.pool.HealthmonitorID = c.ID
		r := *c
		return &r, nil
	}
	return nil, nil
}

// checkState is one member's health as the checks saw it.
type checkState struct {
	status   string
	reason   *elb.HealthReason
	ok, fail int // consecutive
	inflight bool
}

// checkedView fills a member's status from its checks (caller holds
// ps.mu, ps.monitor is set).
func checkedView(ps *poolState, id string) (string, *elb.HealthReason) {
	cs := ps.checks[id]
	if cs == nil || cs.status == "" {
		return elb.StatusInitial, nil
	}
	return cs.status, cs.reason
}

// AddressMap turns a member address into the loopback address its test
// server listens on; ok=false means the address has no loopback twin.
type AddressMap func(netip.Addr) (netip.Addr, bool)

// TenToLoopback maps 10.a.b.c to 127.a.b.c and keeps 127.0.0.0/8 as is:
// pod IPs handed out from 10.0.0.0/8 (EndpointSlice validation refuses
// loopback endpoint addresses) reach test servers bound on loopback.
func TenToLoopback(a netip.Addr) (netip.Addr, bool) {
	a = a.Unmap()
	if !a.Is4() {
		return netip.Addr{}, false
	}
	b := a.As4()
	switch b[0] {
	case 127:
		return a, true
	case 10:
		b[0] = 127
		return netip.AddrFrom4(b), true
	}
	return netip.Addr{}, false
}

// SetAddressMap replaces the member address map (nil = TenToLoopback).
// Whatever the map answers, only loopback addresses are ever dialled.
func (e *Emulator) SetAddressMap(m AddressMap) {
	if m == nil {
		m = TenToLoopback
	}
	e.dp.Lock()
	e.dp.addrMap = m
	e.dp.Unlock()
}

// errNotLoopback is the refusal of an address with no loopback twin.
var errNotLoopback = errors.New("elbemulator: member address has no loopback mapping; not dialled")

// loopbackFor maps a member's address and port to the loopback address to
// dial, or refuses.
func (e *Emulator) loopbackFor(address string, port int) (string, error) {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return "", errNotLoopback
	}
	e.dp.Lock()
	m := e.dp.addrMap
	e.dp.Unlock()
	if m == nil {
		m = TenToLoopback
	}
	to, ok := m(a)
	if !ok || !to.IsLoopback() || port <= 0 || port > 65535 {
		return "", errNotLoopback
	}
	return netip.AddrPortFrom(to, uint16(port)).String(), nil
}

// dialMember is the only way the emulator connects to a member.
func (e *Emulator) dialMember(ctx context.Context, address string, port int) (net.Conn, error) {
	to, err := e.loopbackFor(address, port)
	if err != nil {
		return nil, err
	}
	e.dp.Lock()
	dial := e.dp.dial
	e.dp.Unlock()
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return dial(ctx, "tcp", to)
}

// checkMember runs one check and returns nil or the failure's reason.
func (e *Emulator) checkMember(ctx context.Context, hm HealthMonitor, address string, port int) *elb.HealthReason {
	if hm.MonitorPort != 0 {
		port = hm.MonitorPort
	}
	timeout := time.Duration(hm.Timeout) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := e.dialMember(ctx, address, port)
	if err != nil {
		return &elb.HealthReason{ReasonCode: connectReason(err)}
	}
	defer conn.Close()
	if hm.Type == MonitorTCP {
		return nil
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	host := hm.DomainName
	if host == "" {
		host = address
	}
	req, err := http.NewRequest(hm.HTTPMethod, "http://"+host+hm.URLPath, nil)
	if err != nil {
		return &elb.HealthReason{ReasonCode: "SEND_REQUEST_FAILED"}
	}
	req.Close = true
	req.Header.Set("User-Agent", "elbemulator-healthcheck")
	if err := req.Write(conn); err != nil {
		if isTimeout(err) {
			return &elb.HealthReason{ReasonCode: "SEND_REQUEST_TIMEOUT"}
		}
		return &elb.HealthReason{ReasonCode: "SEND_REQUEST_FAILED"}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	switch {
	case err != nil && isTimeout(err):
		return &elb.HealthReason{ReasonCode: "RECV_RESPONSE_TIMEOUT"}
	case err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "EOF")):
		return &elb.HealthReason{ReasonCode: "RECV_RESPONSE_FAILED"}
	case err != nil:
		return &elb.HealthReason{ReasonCode: "RESPONSE_FORMAT_ERROR"}
	}
	resp.Body.Close()
	match, _ := parseExpectedCodes(hm.ExpectedCodes)
	if !match(resp.StatusCode) {
		want, got := hm.ExpectedCodes, strconv.Itoa(resp.StatusCode)
		return &elb.HealthReason{ReasonCode: "RESPONSE_MISMATCH", ExpectedResponse: &want, HealthcheckResponse: &got}
	}
	return nil
}

func connectReason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "CONNECT_REFUSED"
	case isTimeout(err):
		return "CONNECT_TIMEOUT"
	}
	return "CONNECT_FAILED"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// runChecks checks every member of ps every delay seconds until ctx ends.
func (e *Emulator) runChecks(ctx context.Context, ps *poolState) {
	for {
		ps.mu.Lock()
		hm := ps.monitor
		type target struct {
			id, addr string
			port     int
		}
		var todo []target
		if hm != nil {
			for id, m := range ps.byID {
				cs := ps.checks[id]
				if cs == nil {
					cs = &checkState{}
					ps.checks[id] = cs
				}
				if !cs.inflight {
					cs.inflight = true
					todo = append(todo, target{id, m.Address, int(m.ProtocolPort)})
				}
			}
			for id := range ps.checks {
				if ps.byID[id] == nil {
					delete(ps.checks, id)
				}
			}
		}
		checks := ps.checks
		ps.mu.Unlock()
		delay := time.Second
		if hm != nil {
			delay = time.Duration(hm.Delay) * time.Second
			for _, t := range todo {
				go func() {
					reason := e.checkMember(ctx, *hm, t.addr, t.port)
					ps.mu.Lock()
					defer ps.mu.Unlock()
					cs := checks[t.id]
					if cs == nil || ps.monitor != hm {
						return // member removed or monitor replaced meanwhile
					}
					cs.inflight = false
					if ctx.Err() != nil {
						return
					}
					was := cs.status
					cs.record(reason, *hm)
					if cs.status != was {
						c := HealthChange{Pool: ps.pool.ID, Member: t.id, Address: t.addr, Port: t.port, Status: cs.status, At: time.Now()}
						if cs.reason != nil {
							c.Reason = cs.reason.ReasonCode
						}
						e.healthChanged(c)
					}
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// HealthChange is a member's status changed by a real health check.
type HealthChange struct {
	Pool, Member, Address string
	Port                  int
	// Status is ONLINE or OFFLINE; Reason the failed check's reason_code
	// (OFFLINE).
	Status, Reason string
	At             time.Time
}

// OnHealthChange sets f to be told, as it happens, of every status change
// a real health check makes (nil: none). Sampling Members cannot time a
// transition closer than its polling period; the rollout lab times steps
// to a new member's first request with this. f runs with the pool locked:
// it must not call the emulator.
func (e *Emulator) OnHealthChange(f func(HealthChange)) {
	e.dp.Lock()
	e.dp.onHealth = f
	e.dp.Unlock()
}

func (e *Emulator) healthChanged(c HealthChange) {
	e.dp.Lock()
	f := e.dp.onHealth
	e.dp.Unlock()
	if f != nil {
		f(c)
	}
}

// record applies one check's result to the member's state.
func (cs *checkState) record(reason *elb.HealthReason, hm HealthMonitor) {
	if reason == nil {
		cs.ok, cs.fail = cs.ok+1, 0
		if cs.status != elb.StatusOnline && cs.ok >= hm.MaxRetries {
			cs.status, cs.reason = elb.StatusOnline, nil
		}
		return
	}
	cs.ok, cs.fail = 0, cs.fail+1
	if cs.status == elb.StatusOffline {
		cs.reason = reason
	} else if cs.fail >= hm.MaxRetriesDown {
		cs.status, cs.reason = elb.StatusOffline, reason
	}
}
