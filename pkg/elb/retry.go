package elb

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RetryPolicy bounds the retries of one call. Throttling (HTTP 429, e.g.
// APIG.0308), 5xx answers and connection failures are retried with jittered
// exponential backoff; other 4xx answers are not. The context deadline bounds
// the whole call in addition to MaxAttempts. Retrying batch calls is safe: the
// API is idempotent by address+port on add ("existed") and by id on delete
// ("not found"), and batch-update sets values, so a repeat sets the same ones.
type RetryPolicy struct {
	// MaxAttempts is the total number of tries, first included (default 6; 1 = no retry).
	MaxAttempts int
	// Initial is the backoff before the second try (default 200ms); it doubles per try.
	Initial time.Duration
	// Max caps one backoff (default 5s). A larger Retry-After from the
	// server is honoured up to MaxRetryAfter.
	Max time.Duration
	// MaxRetryAfter is the longest Retry-After the call waits out itself
	// (default 30s). A server asking for more ends the call at once with
	// a *RetryAfterError: the caller decides when to come back (the watch
	// controller puts the binding back in its queue) instead of a caller
	// blocked for as long as the server likes.
	MaxRetryAfter time.Duration
}

// RetryAfterError is a retryable answer (429, 5xx) whose Retry-After was
// longer than RetryPolicy.MaxRetryAfter: the call gave up without waiting.
type RetryAfterError struct {
	// After is how long the server asked to wait, from its answer.
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (the server asks to retry in %v)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter is how long err (or an error it wraps) asks the caller to
// wait before trying again: the Retry-After of a *RetryAfterError, else 0.
func RetryAfter(err error) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After
	}
	return 0
}

// DefaultRetryPolicy is used for zero fields of Config.Retry.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 6, Initial: 200 * time.Millisecond, Max: 5 * time.Second, MaxRetryAfter: 30 * time.Second}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.Initial <= 0 {
		p.Initial = d.Initial
	}
	if p.Max <= 0 {
		p.Max = d.Max
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = d.MaxRetryAfter
	}
	return p
}

// backoff is the wait after the given (1-based) failed attempt: the capped
// exponential step, jittered uniformly into [step/2, step] so that many
// clients throttled together do not come back in lock-step.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	step := p.Initial
	for i := 1; i < attempt && step < p.Max; i++ {
		step *= 2
	}
	if step > p.Max {
		step = p.Max
	}
	half := step / 2
	if half <= 0 {
		return step
	}
	return half + rand.N(step-half+1)
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// retryAfter reads a Retry-After header (seconds or HTTP date); 0 if absent.
func retryAfter(h http.Header) time.Duration {
	return ParseRetryAfter(h.Get("Retry-After"), time.Now())
}

// ParseRetryAfter is the wait a Retry-After value asks for at now: delay
// seconds or an HTTP date (RFC 9110 allows both); 0 when absent, invalid
// or past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// retryableTransportError reports whether a failed exchange is a connection
// problem worth another try (reset, refused, cut short, network timeout), as
// opposed to e.g. a malformed request or an authentication failure raised by
// the Transport.
func retryableTransportError(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // *url.Error itself implements net.Error; look inside it
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTemporary || dnsErr.IsTimeout
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
