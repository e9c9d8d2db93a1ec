package main_test

// SIGINT while `logs -f` or `events -w` streams: kubectl ends both through
// its interrupt handler (os.Exit(1)); ccictl ends them on the command's
// context through its own error path, and must end them as kubectl does.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// startBoth starts args with ccictl in p.c and kubectl in p.k.
func startBoth(t *testing.T, p pair, args ...string) [2]*started {
	t.Helper()
	return [2]*started{
		start(t, ccictlBin, append([]string{"--cliconfig", cliconfig}, subst(args, p.c)...)...),
		start(t, kubectlPath(t), append([]string{"--kubeconfig", cluster.Kubeconfig}, subst(args, p.k)...)...),
	}
}

// untilShown waits until each tool, still running, has shown
// ready(stdout, stderr).
func untilShown(t *testing.T, tools [2]*started, ready func(out, err string) bool) {
	t.Helper()
	for _, s := range tools {
		if !waitFor(20*time.Second, func() bool { return ready(s.out.String(), s.err.String()) }) {
			s.running(t)
			t.Fatalf("%v: not shown after 20s: %s%s", s.cmd.Args, s.out.String(), s.err.String())
		}
		s.running(t)
	}
}

// interrupt sends SIGINT to each tool and returns how they ended, ccictl's
// with its names read as kubectl's.
func interrupt(t *testing.T, p pair, tools [2]*started) (ours, theirs result) {
	t.Helper()
	var ended [2]result
	for i, s := range tools {
		if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		select {
		case ended[i] = <-s.done:
		case <-time.After(15 * time.Second):
			t.Fatalf("%v still running 15s after SIGINT", s.cmd.Args)
		}
	}
	return p.asKubectl(ended[0]), ended[1]
}

const pendingPodManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: NS
spec:
  containers:
  - name: app
    image: registry.example/web:1
`

const noPodsManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: none
  namespace: NS
spec:
  replicas: 0
  selector:
    matchLabels: {app: none}
  template:
    metadata:
      labels: {app: none}
    spec:
      containers:
      - name: app
        image: registry.example/web:1
`

// TestStreamsLogsFollowInterrupted: this control plane has no kubelet, so
// no log can stream (an unscheduled pod's log is empty, at once). What
// kubectl runs under its interrupt handler and can be observed here is the
// wait for a pod: `logs -f` of a Deployment without pods waits up to
// --pod-running-timeout for one. SIGINT during that wait ends ccictl's as it
// ends kubectl's: exit 1, nothing printed; the wait's own end is kubectl's
// too.
func TestStreamsLogsFollowInterrupted(t *testing.T) {
	p := newPair(t, "e2e-logs-int")
	p.both(t, noPodsManifest)
	p.same(t, nil, "logs", "-f", "deploy/none", "-n", "NS", "--pod-running-timeout=2s")
	for _, args := range [][]string{
		{"logs", "-f", "deploy/none", "-n", "NS"},
		{"logs", "-f", "deployment/none", "-c", "app", "-n", "NS", "--timestamps", "--pod-running-timeout=1m"},
	} {
		tools := startBoth(t, p, args...)
		began := time.Now()
		untilShown(t, tools, func(string, string) bool { return time.Since(began) > 3*time.Second })
		ours, theirs := interrupt(t, p, tools)
		if want := (result{Code: 1}); ours != want {
			t.Errorf("interrupted ccictl %s: %s, want %s", strings.Join(args, " "), ours, want)
		}
		if want := (result{Code: -1}); theirs != want {
			t.Errorf("interrupted kubectl %s: %s, want killed by SIGINT, nothing printed", strings.Join(args, " "), theirs)
		}
	}
}

// eventManifest is a Normal event about pod web, last seen long ago so that
// kubectl's printer shows a stable age.
func eventManifest(name, reason, typ string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Event
metadata:
  name: %s
  namespace: NS
involvedObject:
  apiVersion: v1
  kind: Pod
  name: web
  namespace: NS
reason: %s
message: %s happened
type: %s
source:
  component: e2e
firstTimestamp: "2020-01-01T00:00:00Z"
lastTimestamp: "2020-01-01T00:00:00Z"
count: 1
`, name, reason, reason, typ)
}

// TestStreamsEventsWatchInterrupted: `events -w` prints the events there are
// and those that come, through kubectl's printer and filters, and on SIGINT
// ends as kubectl's (exit 1, nothing more printed).
func TestStreamsEventsWatchInterrupted(t *testing.T) {
	p := newPair(t, "e2e-events-int")
	p.both(t, pendingPodManifest)
	p.both(t, eventManifest("web.1", "Pulling", "Normal"))
	p.both(t, eventManifest("web.2", "BackOff", "Warning"))
	shown := func(out string, words []string) bool {
		for _, w := range words {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return true
	}
	for i, tc := range []struct {
		args       []string
		have, come []string // shown for the events there are / for the one that comes
		notShown   string
	}{
		{[]string{"events", "-w", "-n", "NS"}, []string{"LAST SEEN", "Pulling", "BackOff"}, []string{"Created"}, ""},
		{[]string{"events", "--watch", "-n", "NS", "--types=warning"}, []string{"BackOff"}, nil, "Pulling"},
		{[]string{"events", "-w", "-n", "NS", "--for", "pod/web", "--no-headers"}, []string{"Pulling", "BackOff"}, []string{"Created"}, "LAST SEEN"},
		{[]string{"events", "-w", "-n", "NS", "--for", "pod/other"}, nil, nil, "web"},
		{[]string{"events", "-w", "-n", "NS", "-o", "name"}, []string{"event/web.1", "event/web.2"}, []string{fmt.Sprintf("event/web.3-%d", 4)}, ""},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			tools := startBoth(t, p, tc.args...)
			untilShown(t, tools, func(out, _ string) bool { return shown(out, tc.have) })
			// Once both show what there is, an event comes.
			p.both(t, eventManifest(fmt.Sprintf("web.3-%d", i), "Created", "Normal"))
			untilShown(t, tools, func(out, _ string) bool { return shown(out, tc.come) })
			if tc.come == nil {
				time.Sleep(2 * time.Second) // time to show what it should not
			}
			ours, theirs := interrupt(t, p, tools)
			assertSame(t, tc.args, ours, theirs)
			if ours.Code != 1 || ours.Stderr != "" || !shown(ours.Stdout, append(tc.have, tc.come...)) ||
				(tc.notShown != "" && strings.Contains(ours.Stdout, tc.notShown)) || (tc.come == nil && strings.Contains(ours.Stdout, "Created")) {
				t.Errorf("interrupted %s: %s", strings.Join(tc.args, " "), ours)
			}
		})
	}
}
