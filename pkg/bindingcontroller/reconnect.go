package bindingcontroller

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reconnectInterval is how often a read waits for the API server to
// accept connections again.
const reconnectInterval = 250 * time.Millisecond

// ReconnectingTransport makes the reads of the controller's caches (GET:
// lists and watches) wait for an API server that cannot be reached, trying
// again every 250 ms until it answers or the request's context ends.
//
// Without it, each informer's reflector backs off exponentially on
// connection failures, up to 30 s between tries: after a 20 s restart of
// the API server the caches came back 20–50 s after the server, and a
// change made meanwhile reached its pool only then. Here a reflector sees
// at most the failure that broke its watch; its next list waits in this
// transport and is answered as soon as the server is back. Only
// connection failures (refused, reset, cut short) and the answers of a
// server that is starting (503, 429; a Retry-After is honoured up to 1 s)
// are retried; any other answer, and every write, is passed on as it is.
func ReconnectingTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return reconnecting{next}
}

type reconnecting struct{ next http.RoundTripper }

func (rt reconnecting) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return rt.next.RoundTrip(req)
	}
	for {
		resp, err := rt.next.RoundTrip(req)
		wait := reconnectInterval
		switch {
		case req.Context().Err() != nil:
			return resp, err
		case err != nil && !connectionFailed(err):
			return resp, err
		case err == nil && !starting(resp):
			return resp, nil
		case err == nil:
			// Drain the answer so the connection is reused.
			if ra, convErr := strconv.Atoi(resp.Header.Get("Retry-After")); convErr == nil && ra > 0 {
				wait = min(time.Duration(ra)*time.Second, maxStartingWait)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
			err = fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
		}
		t := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// maxStartingWait bounds a Retry-After of a server that is starting.
const maxStartingWait = time.Second

// starting reports whether resp is the answer of an API server that is
// not ready to serve yet (503 while it starts, or 429 while it catches
// up): asked again shortly, not after an informer's backoff.
func starting(resp *http.Response) bool {
	return resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests
}

// connectionFailed reports whether err says the server could not be
// reached or dropped the connection before answering.
func connectionFailed(err error) bool {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	// HTTP/2 reports a connection that went away in words only.
	s := err.Error()
	return strings.Contains(s, "http2: client connection lost") || strings.Contains(s, "http2: server sent GOAWAY")
}
