package elb

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// Error codes with a documented meaning.
const (
	// CodeThrottled is API Gateway's throttling code (HTTP 429).
	CodeThrottled = "APIG.0308"
	// CodeQuotaExceeded is ELB's quota error (HTTP 409).
	CodeQuotaExceeded = "ELB.8905"
	// CodeNotFound is ELB's own "not found" code (with HTTP 404 for a pool
	// or project it does not have; the ELB "Error Codes" page lists it).
	CodeNotFound = "ELB.9903"
	// CodeNoAPI is API Gateway's answer for a path it does not route
	// ("the API does not exist or has not been published", HTTP 404): a
	// wrong endpoint, region or path, never a statement about a pool.
	CodeNoAPI = "APIGW.0101"
)

// errorBody covers the error shapes the vendor SDK understands:
// {error_code,error_msg,request_id}, {code,message}, and either of those
// nested under "error".
type errorBody struct {
	ErrorCode string          `json:"error_code"`
	ErrorMsg  string          `json:"error_msg"`
	Code      json.RawMessage `json:"code"` // string in some services, number in others
	Message   string          `json:"message"`
	RequestID string          `json:"request_id"`
	Error     *errorBody      `json:"error"`
}

// ParseAPIError builds the *APIError of a non-2xx answer from its status,
// headers and body. It never fails: an unreadable body leaves Code empty and
// uses a short, printable excerpt of the body (or the status text) as Message.
func ParseAPIError(status int, h http.Header, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		fill(e, &b)
		if b.Error != nil {
			fill(e, b.Error)
		}
	}
	if e.RequestID == "" && h != nil {
		e.RequestID = h.Get("X-Request-Id")
	}
	if e.Code == "" && e.Message == "" {
		e.Message = excerpt(body)
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	return e
}

func fill(e *APIError, b *errorBody) {
	if e.Code == "" {
		e.Code = b.ErrorCode
	}
	if e.Code == "" && len(b.Code) > 0 {
		var s string
		if json.Unmarshal(b.Code, &s) == nil {
			e.Code = s
		} else {
			e.Code = strings.TrimSpace(string(b.Code))
			if e.Code == "null" {
				e.Code = ""
			}
		}
	}
	if e.Message == "" {
		e.Message = b.ErrorMsg
	}
	if e.Message == "" {
		e.Message = b.Message
	}
	if e.RequestID == "" {
		e.RequestID = b.RequestID
	}
}

// excerpt returns at most 200 printable characters of a non-JSON body, so a
// proxy's HTML error page does not flood the message.
func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// AsAPIError returns the *APIError inside err, if any.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports whether err is an API answer with HTTP 404, whoever
// gave it (the ELB, or API Gateway for a path it does not route). Whether a
// pool is gone is IsPoolNotFound.
func IsNotFound(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.StatusCode == http.StatusNotFound
}

// IsPoolNotFound reports whether err is the ELB's own answer that the
// addressed resource does not exist: HTTP 404 with error_code ELB.9903.
// Any other 404 — API Gateway's APIGW.0101 for a wrong endpoint or region,
// a proxy's page without a code, another code — says nothing about the
// pool, and is an error to retry and report.
func IsPoolNotFound(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.StatusCode == http.StatusNotFound && e.Code == CodeNotFound
}

// IsGatewayNotFound reports whether err is API Gateway's 404 for an API it
// does not route (APIGW.0101).
func IsGatewayNotFound(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.StatusCode == http.StatusNotFound && e.Code == CodeNoAPI
}

// IsThrottled reports whether err is a throttling answer (HTTP 429 or APIG.0308).
func IsThrottled(err error) bool {
	e, ok := AsAPIError(err)
	return ok && (e.StatusCode == http.StatusTooManyRequests || e.Code == CodeThrottled)
}

// IsQuotaExceeded reports whether err is ELB's quota error (ELB.8905).
func IsQuotaExceeded(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.Code == CodeQuotaExceeded
}
