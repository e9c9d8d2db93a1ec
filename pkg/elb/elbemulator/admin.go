package elbemulator

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openvessel/ccictl/pkg/elb"
)

// Admin JSON endpoints (not part of the vendor API, unauthenticated, not
// counted), so a shell demo can drive a running emulator:
//
//	GET    /_emulator/                      → {"project_id", "endpoints":[…]}
//	GET    /_emulator/pools                 → [pool…]
//	POST   /_emulator/pools                 {pool}   → 201 pool (CreatePool)
//	GET    /_emulator/pools/{id}/members    → [member…] (Members)
//	POST   /_emulator/pools/{id}/members    {member} → 201 member (AddMemberDirect)
//	GET    /_emulator/counts                → Counts
//	DELETE /_emulator/counts                → 204 (ResetCounts)
//	GET|PUT /_emulator/faults               Faults JSON (SetFaults)
//	GET|PUT /_emulator/latency              {"latency":"50ms"} (SetLatency)
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_emulator"), "/")
	parts := strings.Split(path, "/")
	bad := func(status int, msg string) { writeJSON(w, status, map[string]string{"error": msg}) }
	decode := func(v any) bool {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			bad(http.StatusBadRequest, "invalid JSON body: "+err.Error())
			return false
		}
		return true
	}
	switch {
	case path == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{
			"project_id": e.opts.ProjectID,
			"note":       "elbemulator: a test double of the documented Huawei Cloud ELB v3 member API, not the product",
			"endpoints": []string{
				"GET|POST /_emulator/pools", "GET|POST /_emulator/pools/{id}/members",
				"GET|DELETE /_emulator/counts", "GET|PUT /_emulator/faults", "GET|PUT /_emulator/latency",
			},
		})
	case path == "pools" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.Pools())
	case path == "pools" && r.Method == http.MethodPost:
		var p elb.Pool
		if decode(&p) {
			writeJSON(w, http.StatusCreated, e.CreatePool(p))
		}
	case len(parts) == 3 && parts[0] == "pools" && parts[2] == "members" && r.Method == http.MethodGet:
		ms := e.Members(parts[1])
		if ms == nil {
			bad(http.StatusNotFound, "pool "+parts[1]+" not found")
			return
		}
		writeJSON(w, http.StatusOK, ms)
	case len(parts) == 3 && parts[0] == "pools" && parts[2] == "members" && r.Method == http.MethodPost:
		var m elb.Member
		if !decode(&m) {
			return
		}
		got, err := e.AddMemberDirect(parts[1], m)
		if err != nil {
			bad(http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, got)
	case path == "counts" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, e.Counts())
	case path == "counts" && r.Method == http.MethodDelete:
		e.ResetCounts()
		w.WriteHeader(http.StatusNoContent)
	case path == "faults" && r.Method == http.MethodGet:
		e.mu.Lock()
		f := e.faults
		e.mu.Unlock()
		writeJSON(w, http.StatusOK, f)
	case path == "faults" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var f Faults
		if decode(&f) {
			e.SetFaults(f)
			writeJSON(w, http.StatusOK, f)
		}
	case path == "latency" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"latency": time.Duration(e.latency.Load()).String()})
	case path == "latency" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var v struct {
			Latency string `json:"latency"`
		}
		if !decode(&v) {
			return
		}
		d, err := time.ParseDuration(v.Latency)
		if err != nil || d < 0 {
			bad(http.StatusBadRequest, "latency must be a non-negative Go duration such as \"50ms\"")
			return
		}
		e.SetLatency(d)
		writeJSON(w, http.StatusOK, map[string]string{"latency": d.String()})
	default:
		bad(http.StatusNotFound, "no admin endpoint "+r.Method+" "+r.URL.Path)
	}
}

// ListenAndServe serves e on addr (e.g. "127.0.0.1:0") until ctx is done and
// returns the base URL to use as the ELB endpoint, e.g.
// "http://127.0.0.1:38211". An unspecified listen host is reported as
// 127.0.0.1. Errors after startup are not reported; the server stops
// gracefully (5s) when ctx ends.
func ListenAndServe(ctx context.Context, addr string, e *Emulator) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	tcp := ln.Addr().(*net.TCPAddr)
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)), nil
}
