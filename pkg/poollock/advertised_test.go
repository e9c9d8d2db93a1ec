package poollock

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A controller that locks in its own namespace waits for a pass that took
// the pool's lock in the binding's namespace (before the binding
// advertised the controller's namespace), looks there only once per
// advertisement, and sees a lock whose holder died expire.
func TestAdvertisedLocker(t *testing.T) {
	const shop, system = "poollock-adv-shop", "poollock-adv-system"
	kube, ctx := newNamespace(t, shop), context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: system}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pass := &LeaseLocker{Leases: kube.CoordinationV1(), Identity: "one-shot", Duration: 2 * time.Second}
	ctl := &AdvertisedLocker{
		Locker:    &LeaseLocker{Leases: kube.CoordinationV1(), Namespace: system, Identity: "controller", NoWait: true},
		Namespace: system, Leases: kube.CoordinationV1(),
	}

	_, releasePass, err := pass.Lock(ctx, shop, "pool-a")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = ctl.Lock(ctx, shop, "pool-a")
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder != "one-shot" || busy.Lease != shop+"/"+LeaseName("pool-a") {
		t.Fatalf("controller's Lock while the pass holds the lock in the binding's namespace: %v, want Busy naming one-shot and %s/%s", err, shop, LeaseName("pool-a"))
	}
	// Its own Lease was given back: another writer in its namespace is not held up.
	if _, err := kube.CoordinationV1().Leases(system).Get(ctx, LeaseName("pool-a"), metav1.GetOptions{}); err == nil {
		t.Error("the controller kept its own Lease after finding the pool busy")
	}
	releasePass()
	_, release, err := ctl.Lock(ctx, shop, "pool-a")
	if err != nil {
		t.Fatalf("controller's Lock once the pass released: %v", err)
	}
	release()

	// Once clear, a later lock in the binding's namespace is not looked
	// for (passes then read the advertisement and lock in system)…
	_, releasePass, err = pass.Lock(ctx, shop, "pool-a")
	if err != nil {
		t.Fatal(err)
	}
	if _, release, err = ctl.Lock(ctx, shop, "pool-a"); err != nil {
		t.Fatalf("controller's second Lock: %v, want no second look", err)
	}
	release()
	// …until the advertisement is written again.
	ctl.Advertise(shop, "pool-a")
	if _, _, err = ctl.Lock(ctx, shop, "pool-a"); !errors.Is(err, ErrBusy) {
		t.Fatalf("controller's Lock after Advertise: %v, want Busy", err)
	}

	releasePass()

	// A pass that died leaves its Lease: unchanged for its whole duration
	// (as this process sees it), it no longer counts.
	id, secs, now := "dead-pass", int32(1), metav1.NewMicroTime(time.Now())
	if _, err := kube.CoordinationV1().Leases(shop).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: LeaseName("pool-b")},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: &secs, RenewTime: &now},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err = ctl.Lock(ctx, shop, "pool-b"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "dead-pass") {
		t.Fatalf("controller's first Lock of pool-b: %v, want Busy naming dead-pass", err)
	}
	time.Sleep(1200 * time.Millisecond)
	if _, release, err = ctl.Lock(ctx, shop, "pool-b"); err != nil {
		t.Fatalf("controller's Lock once the dead pass's Lease went unrenewed for its duration: %v", err)
	}
	release()
}

// A pass locks in the namespace of the binding it syncs, which may be
// another binding of the pool than the one the controller reconciles: the
// controller reads the pool's Lease in every namespace of the pool's
// bindings it knows of.
func TestAdvertisedLockerReadsEveryNamespaceOfThePool(t *testing.T) {
	const shop, web, system = "poollock-advp-shop", "poollock-advp-web", "poollock-advp-system"
	kube, ctx := newNamespace(t, shop), context.Background()
	for _, ns := range []string{web, system} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pass := &LeaseLocker{Leases: kube.CoordinationV1(), Identity: "one-shot", Duration: 2 * time.Second}
	ctl := &AdvertisedLocker{
		Locker:    &LeaseLocker{Leases: kube.CoordinationV1(), Namespace: system, Identity: "controller", NoWait: true},
		Namespace: system, Leases: kube.CoordinationV1(),
		PoolNamespaces: func(string) []string { return []string{shop, web} },
	}
	// The pass syncs the pool's binding in shop; the controller reconciles
	// the one in web.
	_, releasePass, err := pass.Lock(ctx, shop, "pool-c")
	if err != nil {
		t.Fatal(err)
	}
	var busy *BusyError
	if _, _, err = ctl.Lock(ctx, web, "pool-c"); !errors.As(err, &busy) || busy.Lease != shop+"/"+LeaseName("pool-c") {
		t.Fatalf("controller's Lock for the binding in %s while the pass holds the pool's lock in %s: %v, want Busy naming that Lease", web, shop, err)
	}
	releasePass()
	_, release, err := ctl.Lock(ctx, web, "pool-c")
	if err != nil {
		t.Fatalf("controller's Lock once the pass released: %v", err)
	}
	release()
}
