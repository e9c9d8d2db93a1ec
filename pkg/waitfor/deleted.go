package waitfor

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// UntilGone wraps the dynamic client kubectl's delete waits with (`delete
// --wait`, its default), so that kubectl's waiting loop, which exits the
// process on SIGINT, is never entered. kubectl's wait for a deleted object
// starts with a GET and is done when that GET finds nothing, or finds an
// object of another UID (deleted and created again). Through UntilGone, a
// GET that finds the object still being deleted (deletionTimestamp set:
// finalizers, a grace period) returns only once it is gone or replaced,
// waiting on a watch that ends with ctx; by then kubectl's check holds at
// once. timeout is kubectl's (--timeout; 0 means a week): when it passes,
// the GET fails with kubectl's timeout error; when ctx is cancelled, with
// context.Canceled.
func UntilGone(ctx context.Context, client dynamic.Interface, timeout time.Duration) dynamic.Interface {
	if timeout == 0 {
		timeout = 168 * time.Hour
	}
	return goneClient{Interface: client, ctx: ctx, timeout: timeout}
}

type goneClient struct {
	dynamic.Interface
	ctx     context.Context
	timeout time.Duration
}

func (c goneClient) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	r := c.Interface.Resource(gvr)
	return goneResource{NamespaceableResourceInterface: r, gone: gone{ResourceInterface: r, c: c, resource: gvr.Resource}}
}

type goneResource struct {
	dynamic.NamespaceableResourceInterface
	gone
}

func (r goneResource) Namespace(ns string) dynamic.ResourceInterface {
	return gone{ResourceInterface: r.NamespaceableResourceInterface.Namespace(ns), c: r.c, resource: r.resource}
}

func (r goneResource) Get(ctx context.Context, name string, options metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error) {
	return r.gone.Get(ctx, name, options, subresources...)
}

// gone is one resource (in one namespace) whose Get waits out a deletion.
type gone struct {
	dynamic.ResourceInterface
	c        goneClient
	resource string
}

func (g gone) Get(ctx context.Context, name string, options metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error) {
	obj, err := g.ResourceInterface.Get(ctx, name, options, subresources...)
	if err != nil || obj.GetDeletionTimestamp() == nil || len(subresources) > 0 {
		return obj, err
	}
	uid := obj.GetUID()
	wctx, cancel := context.WithTimeout(g.c.ctx, g.c.timeout)
	defer cancel()
	var last *unstructured.Unstructured
	var lastErr error
	err = onChange(wctx, g.ResourceInterface, name, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Error {
			return false, nil // the watch is closed and started again
		}
		last, lastErr = g.ResourceInterface.Get(wctx, name, options)
		switch {
		case apierrors.IsNotFound(lastErr):
			return true, nil
		case lastErr != nil:
			return false, nil // a failed read: the next change reads again
		}
		return last.GetUID() != uid, nil
	})
	if err != nil {
		return nil, endError(wctx, err, g.resource, name)
	}
	return last, lastErr
}
