package iamtest

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Headers of the CCI/APIG authentication schemes, removed before forwarding.
var cciAuthHeaders = []string{
	"X-Auth-Token", "Authorization", "X-Sdk-Date", "X-Sdk-Content-Sha256",
	"X-Project-Id", "X-Security-Token",
}

// NewGatewayProxy returns a handler that authenticates each request with v
// (see Verifier) and forwards accepted ones to upstream through
// upstreamTransport (nil: http.DefaultTransport) with the CCI auth headers
// removed and Authorization: Bearer <bearer> set. A request signed with AK/SK
// must name its user's project in X-Project-Id. Refused requests get a
// CCI-shaped 401 Status (errorCode APIGW.0301, as the gateway answers an
// IAM authentication failure) and are not forwarded.
func NewGatewayProxy(upstream *url.URL, upstreamTransport http.RoundTripper, bearer string, v Verifier) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			for _, h := range cciAuthHeaders {
				pr.Out.Header.Del(h)
			}
			if bearer != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+bearer)
			}
		},
		Transport:     upstreamTransport,
		FlushInterval: -1, // watches stream
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := v.VerifyRequest(r)
		if err == nil && r.Header.Get("X-Auth-Token") == "" {
			if pid := r.Header.Get("X-Project-Id"); pid == "" || pid != u.ProjectID {
				err = errString("X-Project-Id does not name the project of the access key")
			}
		}
		if err != nil {
			unauthorized(w, "Incorrect IAM authentication information: "+err.Error())
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": "Unauthorized", "code": http.StatusUnauthorized,
		"errorCode": "APIGW.0301",
	})
}
