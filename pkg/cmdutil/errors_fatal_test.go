package cmdutil

import (
	"testing"
)

// On the command's goroutine a fatal unwinds as a panic Main can recover; on
// another goroutine the fatal goes to Main and that goroutine stops there.
func TestKubectlFatalHandler(t *testing.T) {
	h := NewKubectlFatalHandler()
	h.Bind()
	func() {
		defer func() {
			kf, ok := recover().(*KubectlFatal)
			if !ok || kf.Message != "error: boom" || kf.Code != 1 {
				t.Errorf("recovered %#v, want the fatal", kf)
			}
		}()
		h.Handle("error: boom", 1)
		t.Error("Handle returned on the command's goroutine")
	}()
	select {
	case f := <-h.Other():
		t.Errorf("a fatal on the command's goroutine was sent as another's: %#v", f)
	default:
	}

	after := make(chan struct{}, 1)
	go func() {
		h.Handle("error: from a pipe", 2)
		after <- struct{}{}
	}()
	got := <-h.Other()
	if got.Message != "error: from a pipe" || got.Code != 2 {
		t.Errorf("Other() = %#v", got)
	}
	if msg, code := ErrorMessage(got); msg != "error: from a pipe" || code != 2 {
		t.Errorf("ErrorMessage = %q, %d", msg, code)
	}
	select {
	case <-after:
		t.Error("the failing goroutine went on after its fatal")
	default:
	}
}
