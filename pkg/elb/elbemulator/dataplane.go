package elbemulator

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// Data plane: listeners that carry real traffic to members.
//
// Documented: a listener forwards to its pool's members by lb_algorithm
// (ROUND_ROBIN and LEAST_CONNECTIONS by weight; SOURCE_IP by client
// address, ignoring weights) and only to members whose health check
// passes (ONLINE), or to all members when the pool has no health monitor
// (NO_MONITOR); weight 0 means no new requests. connection_drain (TCP, UDP
// and QUIC pools) keeps the connections of a member that is removed, fails
// its health check or is set to weight 0 for timeout seconds; HTTP pools
// have no deregistration delay.
//
// Emulator choices:
//   - Listeners bind loopback only; members are reached through the
//     address map (healthcheck.go) and nothing else is ever dialled.
//   - HTTP pools: each request (also on a reused keep-alive connection)
//     picks a member; no member to pick answers 503, a member that cannot
//     be reached or answers nothing 502. Requests already sent to a member
//     that is removed finish.
//   - TCP pools: each connection picks a member and is spliced to it; no
//     member, or a member that refuses, resets the client's connection.
//   - A TCP connection whose member is removed is reset at once without
//     connection_drain, and after connection_drain.timeout with it. One
//     whose member is set to weight 0 or goes OFFLINE is reset after
//     connection_drain.timeout with draining enabled, and otherwise left
//     alone: the vendor's pages disagree for weight 0 without draining
//     (cut at once, or closed after the idle timeout), and the emulator
//     takes the reading that does not cut connections early.
//   - With a real health monitor (SetHealthMonitor) members are INITIAL
//     until checked; with only the timer model a member is eligible once
//     its derived status is ONLINE.

// dataPlane is the emulator-wide data plane state.
type dataPlane struct {
	sync.Mutex
	addrMap AddressMap
	// dial replaces net.Dialer.DialContext (tests record what is dialled).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// onHealth, if set, is told of every status a real check changes.
	onHealth func(HealthChange)
}

// poolPlane is one pool's traffic state; it exists while the pool has an
// open listener.
type poolPlane struct {
	listeners int
	stop      context.CancelFunc
	mu        sync.Mutex
	current   map[string]int // smooth weighted round robin state by member ID
	active    map[string]int // open connections / requests in flight by member ID
	conns     map[*tcpConn]bool
	stats     PlaneStats
}

// PlaneStats counts what a pool's listeners did since the pool's first
// listener opened.
type PlaneStats struct {
	// Accepted is TCP connections accepted or HTTP requests received.
	Accepted int `json:"accepted"`
	// NoMember is connections reset or requests answered 503 because no
	// member could take them.
	NoMember int `json:"no_member"`
	// BackendFailed is connections reset or requests answered 502 because
	// the chosen member could not be reached or did not answer.
	BackendFailed int `json:"backend_failed"`
	// Cut is TCP connections reset because their member was removed, or
	// its drain timeout passed.
	Cut int `json:"cut"`
	// Draining is TCP connections open now to a member that is removed,
	// weight 0 or OFFLINE.
	Draining int `json:"draining"`
	// PerMember is connections or requests routed, by member ID.
	PerMember map[string]int `json:"per_member"`
}

// tcpConn is one spliced connection of a TCP pool.
type tcpConn struct {
	client, backend net.Conn
	memberID        string
	drainSince      time.Time // zero = not draining
}

// Listener is a pool's open listener: a real socket on loopback.
type Listener struct {
	ID   string
	Addr string // host:port on loopback
	e    *Emulator
	ps   *poolState
	ln   net.Listener
	srv  *http.Server
	once sync.Once
	done chan struct{}
}

// OpenListener opens a listener for a pool on a loopback address
// ("127.0.0.1:0" when empty), adds it to the pool's listeners, and starts
// the pool's health checks when it has a health monitor. The pool's
// protocol says what it carries: HTTP requests for HTTP pools, TCP
// connections for TCP pools. Close it when done.
func (e *Emulator) OpenListener(poolID, addr string) (*Listener, error) {
	ps := e.pool(poolID)
	if ps == nil {
		return nil, fmt.Errorf("elbemulator: pool %q not found", poolID)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("elbemulator: listener address %q: %w", addr, err)
	}
	if a, err := netip.ParseAddr(host); err != nil || !a.IsLoopback() {
		return nil, fmt.Errorf("elbemulator: listener address %q: only loopback addresses are served", addr)
	}
	ps.mu.Lock()
	proto := strings.ToUpper(ps.pool.Protocol)
	ps.mu.Unlock()
	if proto != "TCP" && proto != "HTTP" {
		return nil, fmt.Errorf("elbemulator: pool %s: protocol %s has no data plane (TCP and HTTP have)", poolID, proto)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{ID: newUUID(), Addr: ln.Addr().String(), e: e, ps: ps, ln: ln, done: make(chan struct{})}

	ps.mu.Lock()
	ps.pool.Listeners = append(ps.pool.Listeners, elb.Ref{ID: l.ID})
	if ps.plane == nil {
		ctx, cancel := context.WithCancel(context.Background())
		ps.plane = &poolPlane{stop: cancel, current: map[string]int{}, active: map[string]int{},
			conns: map[*tcpConn]bool{}, stats: PlaneStats{PerMember: map[string]int{}}}
		go e.runChecks(ctx, ps)
		go e.sweepDrains(ctx, ps, ps.plane)
	}
	ps.plane.listeners++
	plane := ps.plane
	ps.mu.Unlock()

	if proto == "HTTP" {
		l.srv = &http.Server{Handler: e.httpHandler(ps, plane), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			_ = l.srv.Serve(ln)
			close(l.done)
		}()
	} else {
		go func() {
			e.serveTCP(ln, ps, plane)
			close(l.done)
		}()
	}
	return l, nil
}

// Close stops accepting, removes the listener from its pool, and when it
// was the pool's last one stops the health checks and resets the pool's
// open TCP connections.
func (l *Listener) Close() error {
	l.once.Do(func() {
		if l.srv != nil {
			_ = l.srv.Close()
		} else {
			_ = l.ln.Close()
		}
		<-l.done
		ps := l.ps
		ps.mu.Lock()
		for i, r := range ps.pool.Listeners {
			if r.ID == l.ID {
				ps.pool.Listeners = append(ps.pool.Listeners[:i:i], ps.pool.Listeners[i+1:]...)
				break
			}
		}
		plane := ps.plane
		last := plane != nil && plane.listeners == 1
		if plane != nil {
			plane.listeners--
		}
		if last {
			ps.plane = nil
		}
		ps.mu.Unlock()
		if last {
			plane.stop()
			plane.mu.Lock()
			for c := range plane.conns {
				c.reset()
			}
			plane.mu.Unlock()
		}
	})
	return nil
}

// Stats returns what the pool's listeners did (zero when none is open).
func (e *Emulator) Stats(poolID string) PlaneStats {
	ps := e.pool(poolID)
	if ps == nil {
		return PlaneStats{}
	}
	ps.mu.Lock()
	plane := ps.plane
	ps.mu.Unlock()
	if plane == nil {
		return PlaneStats{}
	}
	plane.mu.Lock()
	defer plane.mu.Unlock()
	out := plane.stats
	out.PerMember = map[string]int{}
	for k, v := range plane.stats.PerMember {
		out.PerMember[k] = v
	}
	out.Draining = 0
	for c := range plane.conns {
		if !c.drainSince.IsZero() {
			out.Draining++
		}
	}
	return out
}

// candidate is a member that may take new traffic.
type candidate struct {
	id, addr string
	port     int
	weight   int
}

// eligible returns the members that may take a new connection or request
// (caller holds nothing). weighted=false for algorithms that ignore
// weights, where weight 0 members stay eligible (documented).
func (e *Emulator) eligible(ps *poolState) (out []candidate, algo string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	algo = ps.pool.LBAlgorithm
	ignoreWeight := ps.pool.WeightIgnored()
	now := time.Now()
	for id, m := range ps.byID {
		st := e.view(ps, m, now).OperatingStatus
		if st != elb.StatusOnline && st != elb.StatusNoMonitor {
			continue
		}
		if m.Weight <= 0 && !ignoreWeight {
			continue
		}
		out = append(out, candidate{id, m.Address, int(m.ProtocolPort), int(m.Weight)})
	}
	return out, algo
}

// pick chooses a member by the pool's algorithm; ok=false when none may
// take traffic.
func (e *Emulator) pick(ps *poolState, plane *poolPlane, client string) (candidate, bool) {
	cs, algo := e.eligible(ps)
	if len(cs) == 0 {
		return candidate{}, false
	}
	plane.mu.Lock()
	defer plane.mu.Unlock()
	var chosen candidate
	switch algo {
	case elb.AlgorithmSourceIP, elb.AlgorithmQUICCID:
		// Stable per client address: sort by ID, hash the client.
		sortCandidates(cs)
		h := fnv.New32a()
		_, _ = h.Write([]byte(client))
		chosen = cs[int(h.Sum32()%uint32(len(cs)))]
	case "LEAST_CONNECTIONS":
		sortCandidates(cs)
		best := -1.0
		for _, c := range cs {
			load := float64(plane.active[c.id]+1) / float64(c.weight)
			if best < 0 || load < best {
				best, chosen = load, c
			}
		}
	default:
		// Smooth weighted round robin: every member gains its weight, the
		// largest wins and pays the total.
		sortCandidates(cs)
		total, best := 0, -1
		for i, c := range cs {
			plane.current[c.id] += c.weight
			total += c.weight
			if best < 0 || plane.current[c.id] > plane.current[cs[best].id] {
				best = i
			}
		}
		chosen = cs[best]
		plane.current[chosen.id] -= total
	}
	plane.stats.PerMember[chosen.id]++
	plane.active[chosen.id]++
	return chosen, true
}

func sortCandidates(cs []candidate) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].id < cs[j-1].id; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

func (p *poolPlane) done(id string) {
	p.mu.Lock()
	p.active[id]--
	if p.active[id] <= 0 {
		delete(p.active, id)
	}
	p.mu.Unlock()
}

func (p *poolPlane) count(f func(s *PlaneStats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

type memberCtxKey struct{}

// httpHandler proxies each request to a member picked for it.
func (e *Emulator) httpHandler(ps *poolState, plane *poolPlane) http.Handler {
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			p, _ := strconv.Atoi(port)
			return e.dialMember(ctx, host, p)
		},
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			c := r.In.Context().Value(memberCtxKey{}).(candidate)
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = net.JoinHostPort(c.addr, strconv.Itoa(c.port))
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			plane.count(func(s *PlaneStats) { s.BackendFailed++ })
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plane.count(func(s *PlaneStats) { s.Accepted++ })
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		c, ok := e.pick(ps, plane, host)
		if !ok {
			plane.count(func(s *PlaneStats) { s.NoMember++ })
			http.Error(w, "no backend server available", http.StatusServiceUnavailable)
			return
		}
		defer plane.done(c.id)
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), memberCtxKey{}, c)))
	})
}

// serveTCP splices each accepted connection to a member.
func (e *Emulator) serveTCP(ln net.Listener, ps *poolState, plane *poolPlane) {
	for {
		client, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		go e.spliceTCP(client, ps, plane)
	}
}

func (e *Emulator) spliceTCP(client net.Conn, ps *poolState, plane *poolPlane) {
	plane.count(func(s *PlaneStats) { s.Accepted++ })
	host, _, _ := net.SplitHostPort(client.RemoteAddr().String())
	c, ok := e.pick(ps, plane, host)
	if !ok {
		plane.count(func(s *PlaneStats) { s.NoMember++ })
		resetConn(client)
		return
	}
	defer plane.done(c.id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	backend, err := e.dialMember(ctx, c.addr, c.port)
	cancel()
	if err != nil {
		plane.count(func(s *PlaneStats) { s.BackendFailed++ })
		resetConn(client)
		return
	}
	tc := &tcpConn{client: client, backend: backend, memberID: c.id}
	plane.mu.Lock()
	plane.conns[tc] = true
	plane.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	go pipe(backend, client)
	go pipe(client, backend)
	wg.Wait()
	_ = client.Close()
	_ = backend.Close()
	plane.mu.Lock()
	delete(plane.conns, tc)
	plane.mu.Unlock()
}

// reset closes both sides with RST, as a load balancer cutting a
// connection does.
func (c *tcpConn) reset() {
	resetConn(c.client)
	resetConn(c.backend)
}

func resetConn(c net.Conn) {
	if t, ok := c.(*net.TCPConn); ok {
		_ = t.SetLinger(0)
	}
	_ = c.Close()
}

// sweepDrains applies connection_drain to the pool's TCP connections
// every 100ms until ctx ends.
func (e *Emulator) sweepDrains(ctx context.Context, ps *poolState, plane *poolPlane) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		type memberNow struct {
			present, idle bool // idle: weight 0 (weights honoured) or OFFLINE
		}
		ps.mu.Lock()
		drains := ps.pool.DrainsOnRemove()
		var timeout time.Duration
		if drains {
			timeout = time.Duration(ps.pool.ConnectionDrain.Timeout) * time.Second
		}
		ignoreWeight := ps.pool.WeightIgnored()
		plane.mu.Lock()
		ids := map[string]memberNow{}
		now := time.Now()
		for c := range plane.conns {
			if _, seen := ids[c.memberID]; seen {
				continue
			}
			m := ps.byID[c.memberID]
			if m == nil {
				ids[c.memberID] = memberNow{}
				continue
			}
			st := e.view(ps, m, now).OperatingStatus
			ids[c.memberID] = memberNow{present: true, idle: (m.Weight == 0 && !ignoreWeight) || st == elb.StatusOffline}
		}
		ps.mu.Unlock()
		for c := range plane.conns {
			m := ids[c.memberID]
			switch {
			case !m.present && !drains:
				c.reset()
				plane.stats.Cut++
				delete(plane.conns, c)
			case !m.present || m.idle:
				if c.drainSince.IsZero() {
					c.drainSince = now
				}
				if drains && now.Sub(c.drainSince) >= timeout {
					c.reset()
					plane.stats.Cut++
					delete(plane.conns, c)
				}
			default:
				c.drainSince = time.Time{}
			}
		}
		plane.mu.Unlock()
	}
}
