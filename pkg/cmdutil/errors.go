package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	kcmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// Exit codes. Scripts rely on these; docs/exit-codes.md lists them.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitChanges = 2 // `sync --dry-run --exit-code` found changes
)

// ExitError ends the command with Code. When Err is nil nothing is printed
// (the command already said what it needed to).
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitCodeError) Unwrap() error { return e.Err }

// SilentError exits 1 without a message; the command printed its errors itself.
var SilentError = &ExitCodeError{Code: ExitError}

// KubectlFatal is how a verb taken from kubectl ends: kubectl's
// cmdutil.CheckErr has already turned the error into kubectl's message and
// exit code and, instead of exiting the process, hands both to a
// KubectlFatalHandler. Message and Code are printed and returned unchanged.
type KubectlFatal struct {
	Message string
	Code    int
}

func (e *KubectlFatal) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Message
}

// KubectlFatalHandler is the kcmdutil.BehaviorOnFatal handler ccictl
// installs. On the goroutine that runs the command (Bind) it panics with a
// *KubectlFatal, which root.Main recovers. A few kubectl verbs (cp) call
// CheckErr on a goroutine of their own, where a panic cannot be recovered and
// where kubectl exits the process at once: there the fatal is handed to Main
// through Other and that goroutine parks, so nothing runs after the error
// (as in kubectl) and Main still decides the exit.
type KubectlFatalHandler struct {
	goroutine atomic.Uint64
	other     chan *KubectlFatal
}

// NewKubectlFatalHandler returns a handler; call Bind on the command's goroutine.
func NewKubectlFatalHandler() *KubectlFatalHandler {
	return &KubectlFatalHandler{other: make(chan *KubectlFatal, 1)}
}

// Bind marks the calling goroutine as the one that runs the command.
func (h *KubectlFatalHandler) Bind() { h.goroutine.Store(goroutineID()) }

// Handle is passed to kcmdutil.BehaviorOnFatal.
func (h *KubectlFatalHandler) Handle(msg string, code int) {
	fatal := &KubectlFatal{Message: msg, Code: code}
	if goroutineID() == h.goroutine.Load() {
		panic(fatal)
	}
	select {
	case h.other <- fatal:
	default: // another goroutine was first, as its os.Exit would have been
	}
	select {} // kubectl's process would be gone; Main returns the fatal
}

// Other delivers the first fatal raised off the command's goroutine.
func (h *KubectlFatalHandler) Other() <-chan *KubectlFatal { return h.other }

// goroutineID reads the current goroutine's number from its stack header
// ("goroutine 1 [running]:"); the runtime offers no other way.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}

// FlagError is a usage mistake; the message is followed by a hint to see -h.
type FlagError struct {
	Err error
	Cmd string
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// UsageErrorf reports a usage mistake in cmd.
func UsageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...), Cmd: cmd.CommandPath()}
}

// ErrorMessage turns an error into the lines kubectl would print and the exit
// code. It is the only place that decides both, so every command reports
// errors the same way.
func ErrorMessage(err error) (string, int) {
	if err == nil {
		return "", ExitOK
	}
	var ec *ExitCodeError
	if errors.As(err, &ec) {
		if ec.Err == nil {
			return "", ec.Code
		}
		msg, _ := ErrorMessage(ec.Err)
		return msg, ec.Code
	}
	var kf *KubectlFatal
	if errors.As(err, &kf) {
		return kf.Message, kf.Code
	}
	var fe *FlagError
	if errors.As(err, &fe) {
		return fmt.Sprintf("error: %s\nSee '%s -h' for help and examples", fe.Err, fe.Cmd), ExitError
	}
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) {
		var lines []string
		for _, e := range agg.Errors() {
			m, _ := ErrorMessage(e)
			if m != "" {
				lines = append(lines, m)
			}
		}
		return strings.Join(dedupe(lines), "\n"), ExitError
	}
	if msg, ok := kcmdutil.StandardErrorMessage(err); ok {
		return msg, ExitError
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "error: ") {
		msg = "error: " + msg
	}
	return msg, ExitError
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
