package syncdriver

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/poolsync"
)

// TestWatchLogsPassWarnings: the controller logs a pass's warnings, as the
// one-shot pass prints them on stderr; a quiet resync logs nothing.
func TestWatchLogsPassWarnings(t *testing.T) {
	var logged []string
	ctx := klog.NewContext(context.Background(), funcr.New(func(prefix, args string) {
		logged = append(logged, args)
	}, funcr.Options{}))
	r := NewReconciler(ReconcilerConfig{})
	key := cache.ObjectName{Namespace: "ns", Name: "web"}
	warn := "pool P (TCP) has connection_drain off: 1 member(s) of terminating endpoints drained by weight 0"
	synced := poolsync.Result{Name: "web", State: poolsync.StateSynced, Reason: poolsync.ReasonSynced, Warnings: []string{warn}}
	r.log(ctx, key, reconciled{Result: &synced})
	if !strings.Contains(strings.Join(logged, "\n"), "Warning: "+warn) {
		t.Fatalf("logged %q, want the warning", logged)
	}
	logged = nil
	quiet := synced.Quiet()
	r.log(ctx, key, reconciled{Result: &quiet})
	if len(logged) != 0 {
		t.Fatalf("quiet resync logged %q", logged)
	}
}
