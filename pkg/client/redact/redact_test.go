package redact

import (
	"bytes"
	"errors"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"

	"k8s.io/klog/v2"
)

func TestStringMasksRegisteredSecretsLongestFirst(t *testing.T) {
	Register("s3cr3t-value")
	Register("s3cr3t") // a prefix of the other: the longer one must be masked whole
	got := String("a s3cr3t-value b s3cr3t c")
	if got != "a <masked> b <masked> c" {
		t.Fatalf("String = %q", got)
	}
	Register("") // ignored, must not mask everything
	if String("plain") != "plain" {
		t.Fatal("empty secret changed unrelated text")
	}
}

func TestStringMasksHeaderShapes(t *testing.T) {
	cases := map[string]string{
		`X-Auth-Token: abc.def`:              `X-Auth-Token: <masked>`,
		`-H "X-Auth-Token: abc" 'https://x'`: `-H "X-Auth-Token: <masked>" 'https://x'`,
		`{"X-Subject-Token":["tok1"]}`:       `{"X-Subject-Token":["<masked>"]}`,
		`Authorization: SDK-HMAC-SHA256 Access=K, SignedHeaders=host;x-sdk-date, Signature=0a1b2c`: `Authorization: SDK-HMAC-SHA256 Access=K, SignedHeaders=host;x-sdk-date, Signature=<masked>`,
		`Authorization: Bearer xyz`: `Authorization: Bearer <masked>`,
		`nothing here`:              `nothing here`,
	}
	for in, want := range cases {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeader(t *testing.T) {
	h := http.Header{
		"X-Auth-Token":  {"t1"},
		"Authorization": {"SDK-HMAC-SHA256 Access=AKX, SignedHeaders=host;x-sdk-date, Signature=ff00"},
		"Accept":        {"application/json"},
	}
	m := Header(h)
	if m.Get("X-Auth-Token") != Mask || m.Get("Accept") != "application/json" {
		t.Fatalf("Header = %v", m)
	}
	if a := m.Get("Authorization"); strings.Contains(a, "AKX") || strings.Contains(a, "ff00") || !strings.Contains(a, "SignedHeaders=host;x-sdk-date") {
		t.Fatalf("Authorization = %q", a)
	}
	if h.Get("X-Auth-Token") != "t1" {
		t.Fatal("Header modified its argument")
	}
}

func TestError(t *testing.T) {
	Register("pw-123456")
	plain := errors.New("no secret")
	if Error(plain) != plain {
		t.Fatal("error without secret should be returned as is")
	}
	if got := Error(errors.New("bad pw-123456")).Error(); got != "bad <masked>" {
		t.Fatalf("Error = %q", got)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

// The filter must cover every klog entry point: printf-style, print-style and
// structured calls (which is what client-go's debug round tripper uses).
func TestFilterCoversKlogCalls(t *testing.T) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("v", "9")
	buf := &syncBuf{}
	klog.SetOutput(buf)
	defer func() {
		_ = fs.Set("v", "0")
		_ = fs.Set("logtostderr", "true")
	}()
	Install()

	const secret = "klog-secret-value"
	Register(secret)
	klog.Infof("printf %s", secret)
	klog.Info("print ", secret)
	klog.V(9).InfoS("structured "+secret, "k", secret, "err", errors.New("e "+secret),
		"headers", http.Header{"X-Auth-Token": {"short"}}, "stringer", stringer{"x " + secret})
	klog.Background().V(9).Info("logr", "v", []string{secret})
	klog.Flush()

	out := buf.String()
	if strings.Contains(out, secret) || strings.Contains(out, "short") {
		t.Fatalf("secret leaked into klog output:\n%s", out)
	}
	if strings.Count(out, Mask) < 7 {
		t.Fatalf("expected masked values in output:\n%s", out)
	}
}
