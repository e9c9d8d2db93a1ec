package elbemulator

import (
	"crypto/subtle"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

const (
	akskAlgorithm = "SDK-HMAC-SHA256"
	// maxClockSkew is how far X-Sdk-Date may be from the emulator's clock.
	maxClockSkew = 15 * time.Minute
)

// authenticated reports whether r carries the configured X-Auth-Token or a
// valid AK/SK signature. With neither configured, every request passes.
func (e *Emulator) authenticated(r *http.Request, body []byte) bool {
	if e.opts.Token == "" && e.opts.AccessKey == "" {
		return true
	}
	if e.opts.Token != "" {
		if tok := r.Header.Get("X-Auth-Token"); tok != "" &&
			subtle.ConstantTimeCompare([]byte(tok), []byte(e.opts.Token)) == 1 {
			return true
		}
	}
	if e.opts.AccessKey != "" && e.opts.SecretKey != "" {
		return verifyAKSK(r, body, e.opts.AccessKey, e.opts.SecretKey, time.Now())
	}
	return false
}

// verifyAKSK recomputes the request's SDK-HMAC-SHA256 signature with the
// vendor SDK's signer over the same method, path, query, signed headers and
// body, and compares it with the Authorization header.
func verifyAKSK(r *http.Request, body []byte, ak, sk string, now time.Time) bool {
	authz := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(authz, akskAlgorithm+" ")
	if !ok {
		return false
	}
	var access, signed string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Access":
			access = v
		case "SignedHeaders":
			signed = v
		}
	}
	if subtle.ConstantTimeCompare([]byte(access), []byte(ak)) != 1 || signed == "" {
		return false
	}
	date := r.Header.Get(signer.HeaderXDate)
	t, err := time.Parse(signer.BasicDateFormat, date)
	if err != nil {
		return false
	}
	if d := now.Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return false
	}

	b := request.NewHttpRequestBuilder().
		WithEndpoint("http://"+r.Host).
		WithPath(r.URL.Path).
		WithMethod(r.Method).
		WithBody("", string(body))
	for k, vs := range r.URL.Query() {
		// The signer only canonicalises reflect.Value query parameters.
		b.AddQueryParam(k, reflect.ValueOf(vs))
	}
	for _, h := range strings.Split(signed, ";") {
		switch h {
		case "host":
			b.AddHeaderParam("Host", r.Host)
		case "x-sdk-date", "":
		default:
			b.AddHeaderParam(http.CanonicalHeaderKey(h), r.Header.Get(h))
		}
	}
	b.AddHeaderParam(signer.HeaderXDate, date)
	if ct := r.Header.Get("Content-Type"); ct != "" {
		// Not signed, but it decides whether the payload hash is used.
		b.AddHeaderParam("Content-Type", ct)
	}
	want, err := signer.Signer{}.Sign(b.Build(), ak, sk)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want[signer.HeaderAuthorization]), []byte(authz)) == 1
}
