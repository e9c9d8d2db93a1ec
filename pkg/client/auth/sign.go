package auth

import (
	"bytes"
	"io"
	"net/http"
	"reflect"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

// Header names of the CCI/APIG authentication schemes.
const (
	HeaderAuthToken     = "X-Auth-Token"
	HeaderSubjectToken  = "X-Subject-Token"
	HeaderProjectID     = "X-Project-Id"
	HeaderSdkDate       = signer.HeaderXDate // X-Sdk-Date
	HeaderContentSha256 = "X-Sdk-Content-Sha256"
)

// SignRequest signs req in place with SDK-HMAC-SHA256 using the official
// huaweicloud-sdk-go-v3 signer: it sets X-Sdk-Date, Authorization and, when
// the signer asks for it (non-JSON bodies), X-Sdk-Content-Sha256. If projectID
// is not empty it is set as X-Project-Id first, so it is signed too.
//
// The signed headers are host, x-project-id, x-sdk-date (and
// x-sdk-content-sha256): enough to bind the request to its target, and stable
// under what the Go transport or a proxy adds later (Accept-Encoding, ...).
// The body is read and replaced by a replayable copy.
func SignRequest(req *http.Request, ak, sk, projectID string) error {
	body, err := snapshotBody(req)
	if err != nil {
		return err
	}
	if projectID != "" {
		req.Header.Set(HeaderProjectID, projectID)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	b := request.NewHttpRequestBuilder().
		WithEndpoint(req.URL.Scheme+"://"+host).
		WithPath(req.URL.Path).
		WithMethod(req.Method).
		AddHeaderParam("Host", host)
	if projectID != "" {
		b.AddHeaderParam(HeaderProjectID, projectID)
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		// Not signed (the signer skips content-type) but it decides whether
		// the body is hashed or declared UNSIGNED-PAYLOAD.
		b.AddHeaderParam("Content-Type", ct)
	}
	addQuery(b, req.URL.Query())
	if len(body) > 0 {
		b.WithBody("", string(body))
	}
	sdkReq := b.Build()
	added, err := signer.Signer{}.Sign(sdkReq, ak, sk)
	if err != nil {
		return errf("signing request: %v", err)
	}
	// The signer adds X-Sdk-Content-Sha256 to the request's own header map
	// and returns X-Sdk-Date and Authorization; send all of them.
	for k, v := range sdkReq.GetHeaderParams() {
		if k == "Host" || k == "Content-Type" {
			continue
		}
		req.Header.Set(k, v)
	}
	for k, v := range added {
		req.Header.Set(k, v)
	}
	return nil
}

// addQuery passes query values the way the SDK's own request builder does:
// as reflect.Values (the signer ignores anything else), slices for repeats.
func addQuery(b *request.HttpRequestBuilder, q map[string][]string) {
	for k, vs := range q {
		if len(vs) == 1 {
			b.AddQueryParam(k, reflect.ValueOf(vs[0]))
		} else {
			b.AddQueryParam(k, reflect.ValueOf(append([]string(nil), vs...)))
		}
	}
}

// snapshotBody reads the request body and puts back a replayable copy.
func snapshotBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	data, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, errf("reading request body to sign it: %v", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.ContentLength = int64(len(data))
	return data, nil
}
