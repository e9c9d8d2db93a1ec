package elb

import (
	"fmt"
	"net/http"
	"testing"
)

// TestIsPoolNotFound: only the ELB's own 404 not-found answer says a pool
// is gone; API Gateway's 404 for an API it does not route (a wrong
// endpoint or region), a 404 without a code (a proxy's page), another
// code or another status are errors to retry and report.
func TestIsPoolNotFound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		gone    bool
		gateway bool
	}{
		{"ELB not found", 404, `{"error_code":"ELB.9903","error_msg":"pool x could not be found","request_id":"r"}`, true, false},
		{"ELB not found nested", 404, `{"error":{"code":"ELB.9903","message":"not found"}}`, true, false},
		{"gateway: no such API", 404, `{"error_code":"APIGW.0101","error_msg":"The API does not exist or has not been published in the environment"}`, false, true},
		{"404 without a code", 404, `<html><body>404 Not Found</body></html>`, false, false},
		{"404 with another ELB code", 404, `{"error_code":"ELB.1003","error_msg":"The load balancer does not exist."}`, false, false},
		{"not-found code with another status", 400, `{"error_code":"ELB.9903","error_msg":"?"}`, false, false},
		{"server error", 500, `{"error_code":"ELB.0004","error_msg":"?"}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fmt.Errorf("elb: GetPool: %w", ParseAPIError(tc.status, http.Header{}, []byte(tc.body)))
			if got := IsPoolNotFound(err); got != tc.gone {
				t.Errorf("IsPoolNotFound = %v, want %v", got, tc.gone)
			}
			if got := IsGatewayNotFound(err); got != tc.gateway {
				t.Errorf("IsGatewayNotFound = %v, want %v", got, tc.gateway)
			}
		})
	}
	if IsPoolNotFound(fmt.Errorf("dial tcp: connection refused")) {
		t.Error("a transport error is not a pool that is gone")
	}
}
