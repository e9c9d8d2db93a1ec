package poollock

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A Lock with MaxWait gives up on a pool another writer holds once it has
// waited that long, with ErrBusy naming the holder, instead of waiting
// until its context ends: a controller's worker asks again through its
// queue rather than sitting out another writer's long pass.
func TestLeaseLockerMaxWait(t *testing.T) {
	const ns = "poollock-maxwait"
	kube, ctx := newNamespace(t, ns), context.Background()
	holder := &LeaseLocker{Leases: kube.CoordinationV1(), Identity: "ci-pass", Duration: time.Hour}
	_, release, err := holder.Lock(ctx, ns, "pool-a")
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	const maxWait = 700 * time.Millisecond
	waiter := &LeaseLocker{Leases: kube.CoordinationV1(), Identity: "controller", Duration: time.Hour,
		PollInterval: 100 * time.Millisecond, MaxWait: maxWait}
	// The context allows far longer than MaxWait: without the bound the
	// Lock would wait for it and fail with its deadline instead.
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err = waiter.Lock(wctx, ns, "pool-a")
	took := time.Since(start)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder != "ci-pass" {
		t.Fatalf("Lock = %v after %v, want a BusyError naming ci-pass", err, took)
	}
	if took < maxWait {
		t.Errorf("gave up after %v, before MaxWait %v", took, maxWait)
	}
	if wctx.Err() != nil {
		t.Errorf("gave up only when the context ended (%v)", took)
	}
}
