// Package redact keeps credentials out of ccictl's output and logs.
//
// client-go's debugging round tripper (-v=6..9) masks only the Authorization
// header, and it logs the request as it enters the transport chain, i.e.
// before the auth-provider wrapper adds X-Auth-Token or the AK/SK signature.
// Other code paths (an ELB client that wraps the debugger inside the auth
// wrapper, error messages echoing a request, IAM responses) have no such
// guarantee, so this package keeps a process-wide registry of secret values
// and installs a klog filter that replaces them, plus the values of
// credential-bearing headers, with "<masked>" in every log call.
package redact

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// Mask is what a secret is replaced with.
const Mask = "<masked>"

var (
	mu       sync.Mutex
	secrets  = map[string]struct{}{}
	replacer atomic.Pointer[strings.Replacer]
)

// Register adds a secret value (token, AK, SK, password) to the process-wide
// registry. Empty strings are ignored. Registering is cheap to repeat.
func Register(secret string) {
	if secret == "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := secrets[secret]; ok {
		return
	}
	secrets[secret] = struct{}{}
	list := make([]string, 0, len(secrets))
	for s := range secrets {
		list = append(list, s)
	}
	// Longest first: strings.Replacer tries old strings in argument order at
	// each position, so a secret that contains another one is masked whole.
	sort.Slice(list, func(i, j int) bool {
		if len(list[i]) != len(list[j]) {
			return len(list[i]) > len(list[j])
		}
		return list[i] < list[j]
	})
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, Mask)
	}
	replacer.Store(strings.NewReplacer(pairs...))
}

// sensitiveHeaders carry a credential in their whole value.
var sensitiveHeaders = map[string]bool{
	"X-Auth-Token":     true,
	"X-Subject-Token":  true,
	"X-Security-Token": true,
}

var (
	// "X-Auth-Token: v", "X-Auth-Token=v", `"X-Auth-Token":["v"]`, curl's -H 'X-Auth-Token: v'.
	headerValueRE = regexp.MustCompile(`(?i)\b(x-auth-token|x-subject-token|x-security-token)(["']?\s*[:=]\s*[\["']*)([^\s"',\]}]+)`)
	// The HMAC in an SDK-HMAC-SHA256 Authorization header. Signatures are
	// per request, so they are masked by shape rather than registered.
	signatureRE = regexp.MustCompile(`(?i)\b(Signature=)([0-9a-f]+)`)
	// Bearer/Basic credentials, in case a dump bypasses client-go's masking.
	authSchemeRE = regexp.MustCompile(`(?i)\b(authorization["']?\s*[:=]\s*[\["']*(?:bearer|basic)\s+)([^\s"',\]}]+)`)
)

// String returns s with every registered secret and every credential header
// value replaced by "<masked>".
func String(s string) string {
	if s == "" {
		return s
	}
	if r := replacer.Load(); r != nil {
		s = r.Replace(s)
	}
	s = headerValueRE.ReplaceAllString(s, "${1}${2}"+Mask)
	s = signatureRE.ReplaceAllString(s, "${1}"+Mask)
	s = authSchemeRE.ReplaceAllString(s, "${1}"+Mask)
	return s
}

// Error returns err unchanged when its message holds nothing secret, otherwise
// an error with the masked message.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if m := String(msg); m != msg {
		return errors.New(m)
	}
	return err
}

// Header returns a copy of h fit for a debug dump: X-Auth-Token,
// X-Subject-Token and X-Security-Token values become "<masked>", an
// Authorization value keeps only its scheme (and for SDK-HMAC-SHA256 its
// SignedHeaders), and registered secrets are masked everywhere.
func Header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		masked := make([]string, len(vs))
		for i, v := range vs {
			switch {
			case sensitiveHeaders[ck]:
				masked[i] = Mask
			case ck == "Authorization":
				masked[i] = maskAuthorization(v)
			default:
				masked[i] = String(v)
			}
		}
		out[k] = masked
	}
	return out
}

func maskAuthorization(v string) string {
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok {
		return Mask
	}
	if strings.EqualFold(scheme, "SDK-HMAC-SHA256") {
		var signed string
		for _, part := range strings.Split(rest, ",") {
			if p := strings.TrimSpace(part); strings.HasPrefix(p, "SignedHeaders=") {
				signed = ", " + p
			}
		}
		return scheme + " Access=" + Mask + signed + ", Signature=" + Mask
	}
	return scheme + " " + Mask
}

// headerDump renders like client-go's header dumps (one "Key: value" line per
// value, sorted) in text logs and as a map in structured logs.
type headerDump map[string][]string

func (h headerDump) String() string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range h[k] {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (h headerDump) MarshalLog() any { return map[string][]string(h) }

// Value masks one log argument. Values with nothing to mask are returned as
// they are, so log formatting is unchanged in the common case.
func Value(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return String(x)
	case []byte:
		if s := String(string(x)); s != string(x) {
			return s
		}
		return x
	case error:
		return Error(x)
	case http.Header:
		return headerDump(Header(x))
	case map[string][]string:
		return headerDump(Header(http.Header(x)))
	case logr.Marshaler:
		// client-go's headersMap is a Marshaler (and Stringer) over a
		// map[string][]string; mask it by header name, not just by value.
		switch m := marshal(x).(type) {
		case map[string][]string:
			return headerDump(Header(http.Header(m)))
		case http.Header:
			return headerDump(Header(m))
		}
		return maskFormatted(v)
	default:
		return maskFormatted(v)
	}
}

func marshal(m logr.Marshaler) (ret any) {
	defer func() {
		if recover() != nil {
			ret = nil
		}
	}()
	return m.MarshalLog()
}

// maskFormatted renders v and, only if the rendering contains something to
// mask, returns the masked rendering instead of v.
func maskFormatted(v any) (ret any) {
	defer func() {
		if recover() != nil {
			ret = v
		}
	}()
	var s string
	if st, ok := v.(fmt.Stringer); ok {
		s = st.String()
	} else {
		s = fmt.Sprintf("%+v", v)
	}
	if m := String(s); m != s {
		return m
	}
	return v
}

// Filter is a klog.LogFilter that masks secrets in every argument.
type Filter struct{}

var _ klog.LogFilter = Filter{}

// Filter masks the arguments of klog.Info-style calls.
func (Filter) Filter(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = Value(a)
	}
	return out
}

// FilterF masks the format and arguments of klog.Infof-style calls.
func (f Filter) FilterF(format string, args []any) (string, []any) {
	return String(format), f.Filter(args)
}

// FilterS masks the message and key/value pairs of structured calls, which is
// what client-go's debugging round tripper uses (through klog's logr sink).
func (f Filter) FilterS(msg string, kvs []any) (string, []any) {
	return String(msg), f.Filter(kvs)
}

var installOnce sync.Once

// Install sets Filter as klog's log filter. It is idempotent; call it during
// start-up (klog does not synchronise SetLogFilter with concurrent logging).
// Note: a logger installed with klog.SetLogger and used through contextual
// logging (klog.FromContext) bypasses klog's filter.
func Install() {
	installOnce.Do(func() { klog.SetLogFilter(Filter{}) })
}
