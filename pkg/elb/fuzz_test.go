package elb

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// addRecordedSeeds adds the recorded vendor answers of testdata/ as seeds.
func addRecordedSeeds(f *testing.F, add func([]byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	html, _ := filepath.Glob(filepath.Join("testdata", "*.html"))
	for _, p := range append(files, html...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzParseAPIError: any status, header and body give an *APIError with
// that status and something to show (a code or a message), and a printable
// excerpt (≤ 200 runes + "…") when the body is not an error object.
func FuzzParseAPIError(f *testing.F) {
	addRecordedSeeds(f, func(b []byte) { f.Add(429, "req-1", b) })
	f.Add(500, "", []byte(`{"error":{"code":12,"message":"x"}}`))
	f.Add(404, "", []byte(`{"code":null,"error_code":"","error_msg":""}`))
	f.Add(502, "", []byte("<html>\x00\xff bad gateway</html>"))
	f.Add(0, "", []byte(nil))
	f.Fuzz(func(t *testing.T, status int, reqID string, body []byte) {
		h := http.Header{}
		if reqID != "" {
			h.Set("X-Request-Id", reqID)
		}
		e := ParseAPIError(status, h, body)
		if e == nil {
			t.Fatal("nil error")
		}
		if e.StatusCode != status {
			t.Fatalf("status %d, want %d", e.StatusCode, status)
		}
		if e.Code == "" && e.Message == "" && http.StatusText(status) != "" {
			t.Fatalf("neither code nor message for status %d body %q", status, body)
		}
		if e.Error() == "" {
			t.Fatal("empty Error()")
		}
		if msg := excerpt(body); utf8.RuneCountInString(msg) > 201 {
			t.Fatalf("excerpt of %d runes", utf8.RuneCountInString(msg))
		}
		// The classifiers must agree with the fields.
		if IsNotFound(e) != (status == http.StatusNotFound) {
			t.Fatal("IsNotFound disagrees with the status")
		}
		_ = IsThrottled(e)
		_ = IsQuotaExceeded(e)
	})
}

// bodyTransport answers every request with the same status and body.
type bodyTransport struct {
	status int
	body   []byte
	calls  int
}

func (b *bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b.calls++
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: b.status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(b.body)),
		Request:    r,
	}, nil
}

// FuzzDecodeAnswers: the client's decoding of every operation's answer
// (pool, member pages, batch results, error bodies) over arbitrary bytes
// never panics, never loops, and never reports success for an answer that
// does not account for the request: a batch "succeeds" only with one known
// ret_status per member, a pool read only with a pool.
func FuzzDecodeAnswers(f *testing.F) {
	addRecordedSeeds(f, func(b []byte) {
		for op := byte(0); op < 4; op++ {
			f.Add(op, uint16(200), uint8(2), b)
		}
	})
	f.Add(byte(1), uint16(200), uint8(0), []byte(`{"page_info":{"next_marker":"a","current_count":1},"members":[]}`))
	f.Add(byte(2), uint16(200), uint8(1), []byte(`{"members":[{"id":"x","ret_status":"existed"}]}`))
	f.Add(byte(3), uint16(200), uint8(3), []byte(`{"members":[{"ret_status":"not found"},{"ret_status":"successful"},{"ret_status":"deleted"}]}`))
	f.Add(byte(0), uint16(200), uint8(0), []byte(`{"pool":null}`))
	f.Add(byte(1), uint16(429), uint8(0), []byte(`{"error_code":"APIG.0308","error_msg":"throttled"}`))
	f.Fuzz(func(t *testing.T, op byte, status uint16, n uint8, body []byte) {
		st := int(status)%500 + 100
		tr := &bodyTransport{status: st, body: body}
		c, err := New(Config{Endpoint: "http://elb.test", ProjectID: "p", Transport: tr, Retry: RetryPolicy{MaxAttempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		count := int(n)%MaxBatch + 1
		okStatus := st >= 200 && st < 300
		switch op % 4 {
		case 0:
			p, err := c.GetPool(ctx, "pool")
			if err == nil && (p == nil || !okStatus) {
				t.Fatalf("GetPool: pool %v, status %d, no error", p, st)
			}
		case 1:
			ms, err := c.ListMembers(ctx, "pool")
			if err == nil && (ms == nil || !okStatus) {
				t.Fatalf("ListMembers: %v members, status %d, no error", ms, st)
			}
			// A constant answer either ends paging at once or repeats its
			// marker on the second call.
			if tr.calls > 2 {
				t.Fatalf("ListMembers made %d calls for a constant answer", tr.calls)
			}
		case 2:
			add := make([]NewMember, count)
			for i := range add {
				add[i] = NewMember{Address: "10.0.0.1", ProtocolPort: int32(i + 1)}
			}
			res, err := c.BatchAddMembers(ctx, "pool", add)
			checkBatchAnswer(t, res, err, count, okStatus)
		case 3:
			ids := make([]string, count)
			for i := range ids {
				ids[i] = "m" + strings.Repeat("x", i%3)
			}
			res, err := c.BatchDeleteMembers(ctx, "pool", ids)
			checkBatchAnswer(t, res, err, count, okStatus)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error text")
		}
	})
}

func checkBatchAnswer(t *testing.T, res []BatchResult, err error, want int, okStatus bool) {
	t.Helper()
	if err != nil {
		return
	}
	if !okStatus {
		t.Fatal("batch succeeded on a non-2xx answer")
	}
	if len(res) != want {
		t.Fatalf("batch succeeded with %d results for %d members", len(res), want)
	}
	for _, r := range res {
		switch r.RetStatus {
		case RetSuccessful, RetExisted, RetNotFound:
		default:
			t.Fatalf("batch succeeded with ret_status %q", r.RetStatus)
		}
	}
}
