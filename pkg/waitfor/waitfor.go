// Package waitfor runs kubectl's wait conditions (k8s.io/kubectl/pkg/cmd/wait:
// --for=condition=..., jsonpath=..., delete, create) without kubectl's own
// waiting loop. That loop installs a signal handler that ends the process
// (os.Exit(1)) on SIGINT or SIGTERM; here the wait ends when the caller's
// context does, and the caller decides what an interruption means.
//
// Each condition keeps kubectl's meaning because kubectl's own check decides
// it: Watch calls kubectl's condition function in its check-once form
// (Timeout 0: one GET and kubectl's test of the object) first and again
// after every change a watch of the object reports, until the check holds,
// fails for another reason than "not met", or the context ends.
package waitfor

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	kwait "k8s.io/kubectl/pkg/cmd/wait"
)

// Conditions replaces each of o's condition functions by its Watch form, so
// that o.RunWaitContext (kubectl's visiting, printing and errors) waits
// through Watch.
func Conditions(o *kwait.WaitOptions) {
	for i, fn := range o.ConditionFn {
		o.ConditionFn[i] = Watch(fn)
	}
}

// Watch returns check as a condition that waits for it on a watch of the
// object, ending with ctx. A deadline of ctx is kubectl's timeout error
// ("timed out waiting for the condition on poolbindings/x"); a cancelled
// ctx returns context.Canceled.
func Watch(check kwait.ConditionFunc) kwait.ConditionFunc {
	return func(ctx context.Context, info *resource.Info, o *kwait.WaitOptions) (runtime.Object, bool, error) {
		once := *o
		once.Timeout = 0
		obj, done, err := check(ctx, info, &once)
		if done || o.Timeout == 0 || !notMet(err, info) {
			return obj, done, err
		}
		client := o.DynamicClient.Resource(info.Mapping.Resource).Namespace(info.Namespace)
		err = onChange(ctx, client, info.Name, func(ev watch.Event) (bool, error) {
			if ev.Type == watch.Error {
				// As kubectl: say so and keep waiting; the server closes a
				// watch it cannot continue.
				fmt.Fprintf(o.ErrOut, "error: An error occurred while waiting for the condition to be satisfied: %v", apierrors.FromObject(ev.Object))
				return false, nil
			}
			var checkErr error
			obj, done, checkErr = check(ctx, info, &once)
			switch {
			case done:
				return true, nil
			case notMet(checkErr, info):
				return false, nil
			case ev.Type == watch.Deleted && apierrors.IsNotFound(checkErr):
				// A condition on an object that went away: kubectl keeps
				// waiting, for the object may come back.
				return false, nil
			}
			return false, checkErr
		})
		if err != nil {
			return obj, false, endError(ctx, err, info.Mapping.Resource.Resource, info.Name)
		}
		return obj, true, nil
	}
}

// onChange calls until with every change of object name that a watch
// reports (the first being its state when the watch starts) until it
// returns true or an error, or ctx ends.
func onChange(ctx context.Context, client dynamic.ResourceInterface, name string, until watchtools.ConditionFunc) error {
	fieldSelector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
			options.FieldSelector = fieldSelector
			return client.List(ctx, options)
		},
		WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
			options.FieldSelector = fieldSelector
			return client.Watch(ctx, options)
		},
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, until)
	return err
}

// endError is how a wait that ended with err reports it: a cancelled ctx
// as context.Canceled, a deadline as kubectl's timeout error.
func endError(ctx context.Context, err error, resource, name string) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err): // nolint:staticcheck // SA1019, as kubectl
		return TimeoutError(resource, name)
	}
	return err
}

// TimeoutError is kubectl's message for a condition that did not hold in time.
func TimeoutError(resource, name string) error {
	return fmt.Errorf("%s on %s/%s", wait.ErrorInterrupted(nil).Error(), resource, name) // nolint:staticcheck // SA1019, kubectl's words
}

// notMet reports whether err is what kubectl's check-once form returns for
// an object that exists but does not meet the condition yet.
func notMet(err error, info *resource.Info) bool {
	return err != nil && err.Error() == fmt.Sprintf("condition not met for %s", info.ObjectName())
}
