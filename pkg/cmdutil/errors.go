package cmdutil

import (
	"errors"
	"fmt"
	"strings"

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
