package bindingcontroller

import (
	"errors"
	"io"
	"net"
	"net/http"
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
// connection failures are retried (refused, reset, cut short); any answer
// of the server, and every write, is passed on as it is.
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
		if err == nil || !connectionFailed(err) || req.Context().Err() != nil {
			return resp, err
		}
		t := time.NewTimer(reconnectInterval)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
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
