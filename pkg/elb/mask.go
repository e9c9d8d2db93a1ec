package elb

import (
	"net/http"
	"strings"

	"github.com/openvessel/ccictl/pkg/client/redact"
)

// credentialHeaders carry a credential in their whole value.
var credentialHeaders = []string{"X-Auth-Token", "X-Security-Token", "X-Subject-Token"}

// minMasked is the shortest credential part masked by value: shorter
// strings (a one-letter value in a misconfigured test) would otherwise mask
// ordinary words of the message. Real tokens, access keys and signatures
// are far longer.
const minMasked = 8

// sentCredentials returns the credential values req carried: token headers,
// and from Authorization its whole value plus, for SDK-HMAC-SHA256, the
// access key and the signature, and for Bearer/Basic the credential.
func sentCredentials(req *http.Request) []string {
	if req == nil {
		return nil
	}
	var out []string
	add := func(v string) {
		if v = strings.TrimSpace(v); len(v) >= minMasked {
			out = append(out, v)
		}
	}
	for _, h := range credentialHeaders {
		for _, v := range req.Header.Values(h) {
			add(v)
		}
	}
	for _, v := range req.Header.Values("Authorization") {
		add(v)
		scheme, rest, _ := strings.Cut(v, " ")
		if !strings.EqualFold(scheme, "SDK-HMAC-SHA256") {
			add(rest)
			continue
		}
		for _, part := range strings.Split(rest, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k == "Access" || k == "Signature" {
				add(val)
			}
		}
	}
	return out
}

// maskSentCredentials returns body with every credential req carried, and
// every secret package redact knows, replaced by redact.Mask.
func maskSentCredentials(body []byte, req *http.Request) []byte {
	if len(body) == 0 {
		return body
	}
	s := string(body)
	for _, v := range sentCredentials(req) {
		s = strings.ReplaceAll(s, v, redact.Mask)
	}
	if m := redact.String(s); m != string(body) {
		return []byte(m)
	}
	return body
}
