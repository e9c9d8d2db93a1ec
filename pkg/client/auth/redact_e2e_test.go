package auth_test

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/transport"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/client/auth"
	"github.com/openvessel/ccictl/pkg/client/redact"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// verbose9 routes klog to a buffer at -v=9, as `ccictl -v=9` would log.
// client-go decides to add its debugging round tripper when a transport is
// built, so clients must be created after this.
func verbose9(t *testing.T) *logBuf {
	t.Helper()
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for k, v := range map[string]string{"v": "9", "logtostderr": "false", "alsologtostderr": "false"} {
		if err := fs.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	buf := &logBuf{}
	klog.SetOutput(buf)
	t.Cleanup(func() {
		_ = fs.Set("v", "0")
		_ = fs.Set("logtostderr", "true")
		klog.SetLogFilter(redact.Filter{})
	})
	return buf
}

func assertNoSecrets(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("secret %q... appears in the -v=9 log", s[:4])
		}
	}
}

// Through rest.Config: client-go puts its debugging round tripper outside the
// auth provider's wrapper, so it logs requests before X-Auth-Token or the
// signature is added; the test proves nothing leaks in any mode and that the
// request was logged (curl command) and authenticated.
func TestNoSecretsInVerboseLogThroughRestConfig(t *testing.T) {
	modes := []struct {
		name string
		cfg  func(e *env) map[string]string
	}{
		{"aksk", func(e *env) map[string]string { return e.providerConfig("ak", alice.AK, "sk", alice.SK) }},
		{"token", func(e *env) map[string]string { return e.providerConfig("token", e.iam.IssueToken(alice)) }},
		{"password", func(e *env) map[string]string {
			return e.providerConfig("username", alice.Name, "password", alice.Password)
		}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t)
			log := verbose9(t)
			exercise(t, e.clientset(t, m.cfg(e)))
			klog.Flush()
			out := log.String()
			if !strings.Contains(out, "curl -v -XGET") {
				t.Fatalf("no v=9 request log captured:\n%s", out)
			}
			secrets := append([]string{alice.AK, alice.SK, alice.Password, upstreamBearer}, e.iam.IssuedTokens()...)
			assertNoSecrets(t, out, secrets...)
			c := e.iam.Calls()
			if c.VerifiedAKSK+c.VerifiedToken < 4 || c.Rejected != 0 {
				t.Fatalf("requests not authenticated: %+v", c)
			}
			e.checkForwarded(t, 4)
		})
	}
}

// Where a client puts client-go's debugging round tripper inside our wrapper
// (as an ELB client over its own http.Client might), the logger does see
// X-Auth-Token and the signature; redact's klog filter must mask them. The
// control run without the filter shows the test would catch a leak.
func TestNoSecretsWhenDebugLoggerSeesAuthHeaders(t *testing.T) {
	for _, mode := range []string{"token", "aksk"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			var cfg map[string]string
			if mode == "token" {
				cfg = e.providerConfig("token", e.iam.IssueToken(alice))
			} else {
				cfg = e.providerConfig("ak", alice.AK, "sk", alice.SK, "project-id", alice.ProjectID)
			}
			creds, err := auth.CredentialsFromProviderConfig(cfg, auth.Options{CacheDir: e.cacheDir})
			if err != nil {
				t.Fatal(err)
			}
			run := func() string {
				log := verbose9(t)
				inner := transport.NewDebuggingRoundTripper(http.DefaultTransport, transport.DebugByContext)
				hc := &http.Client{Transport: creds.WrapTransport(inner)}
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.gateway.URL+"/api/v1/namespaces/a", nil)
				resp, err := hc.Do(req)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("request: %v %v", resp, err)
				}
				resp.Body.Close()
				klog.Flush()
				return log.String()
			}
			secrets := append([]string{alice.AK}, e.iam.IssuedTokens()...)

			if mode == "token" {
				// Control without the filter. (For AK/SK there is none to
				// run: client-go masks an Authorization header of an unknown
				// scheme entirely, so the signature never shows.)
				klog.SetLogFilter(nil)
				leaky := run()
				leaked := false
				for _, s := range secrets {
					leaked = leaked || strings.Contains(leaky, s)
				}
				if !leaked {
					t.Fatalf("control run did not show the token; the test would not catch a leak:\n%s", leaky)
				}
			}

			klog.SetLogFilter(redact.Filter{})
			out := run()
			assertNoSecrets(t, out, append(secrets, alice.SK)...)
			if !strings.Contains(out, redact.Mask) {
				t.Fatalf("nothing masked:\n%s", out)
			}
			if mode == "aksk" && strings.Contains(out, "Signature=") && !strings.Contains(out, "Signature="+redact.Mask) {
				t.Fatalf("signature logged unmasked:\n%s", out)
			}
		})
	}
}
