package bindingcontroller

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// A read to a server that refuses connections waits until it listens, and
// a read answered 503 or 429 (a server starting) is asked again; other
// answers, writes, and the end of the request's context pass through.
func TestReconnectingTransport(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused until the server below starts

	var calls atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.URL.Path == "/missing":
			http.NotFound(w, r)
		case n == 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "starting", http.StatusServiceUnavailable)
		case n == 2:
			http.Error(w, "catching up", http.StatusTooManyRequests)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})}
	defer srv.Close()
	listen := make(chan struct{})
	go func() {
		<-listen
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		_ = srv.Serve(l)
	}()

	client := &http.Client{Transport: ReconnectingTransport(nil)}
	get := func(ctx context.Context, path string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.ReadAll(resp.Body)
		return resp.StatusCode, nil
	}
	// A write is not retried: refused at once.
	if resp, err := client.Post("http://"+addr+"/x", "text/plain", nil); err == nil {
		resp.Body.Close()
		t.Fatal("a write to a closed port succeeded")
	}
	// A read whose context ends while the server is away returns then.
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := get(short, "/"); err == nil {
		t.Fatal("a read succeeded before the server listened")
	}
	// A read sent while the server is away is answered once it listens.
	go func() { time.Sleep(300 * time.Millisecond); close(listen) }()
	code, err := get(context.Background(), "/")
	if err != nil || code != http.StatusOK {
		t.Fatalf("read: %d %v, want 200 once the server listens and is ready", code, err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d requests reached the server, want 3 (503, 429, 200)", n)
	}
	if code, err := get(context.Background(), "/missing"); err != nil || code != http.StatusNotFound {
		t.Errorf("404: %d %v, want the answer passed on", code, err)
	}
}
