package signals

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/kubectl/pkg/util/interrupt"
)

// helperEnv makes the test binary run signalHelper instead of the tests.
const helperEnv = "CCICTL_SIGNALS_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(signalHelper(mode))
	}
	os.Exit(m.Run())
}

// signalHelper runs in a child process: under kubectl's interrupt handler
// (os.Exit(1) on a signal), with or without Reclaim, it sends itself SIGINT
// and reports on stdout how ccictl's context ended. It returns 0 only if
// the process was still alive to say so.
func signalHelper(mode string) int {
	ctx, stop := NotifyContext(context.Background())
	defer stop()
	err := interrupt.New(nil).Run(func() error {
		if mode != "kubectl" {
			Reclaim()
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			return errors.New("context not cancelled 10s after SIGINT")
		}
		// kubectl's handler, were it still registered, has had the signal
		// as long as ccictl's; give its goroutine time to run.
		time.Sleep(500 * time.Millisecond)
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return 3
	}
	fmt.Printf("context ended: %v\n", context.Cause(ctx))
	if mode == "twice" {
		// The first signal released ccictl's hold: the second one kills.
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
		time.Sleep(5 * time.Second)
		fmt.Println("still alive after a second SIGINT")
	}
	return 0
}

func runHelper(t *testing.T, mode string) (string, *os.ProcessState) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	out, _ := cmd.Output()
	if cmd.ProcessState == nil {
		t.Fatalf("helper %s did not run", mode)
	}
	return string(out), cmd.ProcessState
}

// TestReclaimDisarmsKubectlHandler: a SIGINT during kubectl's interrupt
// handler exits the process with 1 before ccictl can act, unless Reclaim was
// called; then it only cancels ccictl's context, and the process goes on to
// end as ccictl decides.
func TestReclaimDisarmsKubectlHandler(t *testing.T) {
	out, st := runHelper(t, "kubectl")
	if st.ExitCode() != 1 || out != "" {
		t.Fatalf("without Reclaim: exit %d, stdout %q; want kubectl's os.Exit(1) and nothing printed", st.ExitCode(), out)
	}
	out, st = runHelper(t, "reclaim")
	if st.ExitCode() != 0 || out != "context ended: interrupted\n" {
		t.Fatalf("with Reclaim: exit %d, stdout %q; want 0 and the context ended by the signal", st.ExitCode(), out)
	}
}

// TestSecondSignalKills: after the first signal, SIGINT has its default
// action again, as without a handler.
func TestSecondSignalKills(t *testing.T) {
	out, st := runHelper(t, "twice")
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("second SIGINT: %v, stdout %q; want killed by SIGINT", st, out)
	}
	if strings.Contains(out, "still alive") || !strings.Contains(out, "context ended: interrupted") {
		t.Fatalf("second SIGINT: stdout %q", out)
	}
}

// TestStop: stop cancels the context without a signal.
func TestStop(t *testing.T) {
	ctx, stop := NotifyContext(context.Background())
	stop()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Fatalf("cause %v", context.Cause(ctx))
	}
	Reclaim() // no receiver left: restores the defaults only
}
