// Command rss measures the peak resident set size (VmHWM) of sync passes
// (issue 5, benchmark 4) in a child process, so the ELB emulator's memory,
// which runs in this parent process, is not counted:
//
//	go run ./hack/rss               # 1×10,000 and 1,000×50, from empty then no-op
//	go run ./hack/rss -concurrency 4
//
// The child builds the targets (PoolBindings and desired endpoints, as
// `ccictl sync` would hold them after reading the cluster), runs
// pkg/poolsync.Run against the emulator over HTTP, and reports its own VmHWM
// from /proc/self/status. (getrusage's maxrss is not used: for a child
// started with vfork+exec, as Go starts them, Linux carries the parent's RSS
// at the fork into it.) The whole command, cluster reads included, is
// measured by cmd/ccictl/e2e_bench_test.go.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

const (
	project = "0123456789abcdef0123456789abcdef"
	token   = "rss-token"
)

type childReport struct {
	Bindings  int     `json:"bindings"`
	Endpoints int     `json:"endpoints"`
	InSync    int     `json:"inSync"`
	Added     int     `json:"added"`
	Seconds   float64 `json:"seconds"`
	VmHWMKiB  int64   `json:"vmHWMKiB"`
	VmRSSKiB  int64   `json:"vmRSSKiB"`
}

func main() {
	child := flag.Bool("child", false, "internal: run one pass and report")
	endpoint := flag.String("endpoint", "", "internal: emulator URL")
	bindings := flag.Int("bindings", 0, "internal")
	endpoints := flag.Int("endpoints", 0, "internal")
	conc := flag.Int("concurrency", 0, "sync concurrency (0 = pkg/poolsync.DefaultConcurrency)")
	flag.Parse()
	if *child {
		if err := runChild(*endpoint, *bindings, *endpoints, *conc); err != nil {
			fmt.Fprintln(os.Stderr, "rss child:", err)
			os.Exit(1)
		}
		return
	}
	if err := runParent(*conc); err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}

func binding(i int) *lbv1.PoolBinding {
	return &lbv1.PoolBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("b-%05d", i),
			UID: types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)), Generation: 1},
		Spec: lbv1.PoolBindingSpec{
			PoolRef:   lbv1.PoolRef{ID: fmt.Sprintf("pool-%05d", i)},
			TargetRef: lbv1.TargetRef{Kind: "Service", Group: "cci/v2", Name: fmt.Sprintf("web-%05d", i), Port: 80},
		},
	}
}

func runParent(conc int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("%-10s %-10s %8s %10s %10s %12s\n", "scenario", "pass", "wall", "VmHWM", "VmRSS", "in sync")
	for _, sc := range []struct{ b, e int }{{1, 10000}, {1000, 50}} {
		ctx, cancel := context.WithCancel(context.Background())
		emu := elbemulator.New(elbemulator.Options{ProjectID: project, Token: token, MemberQuota: 1 << 20})
		for i := 0; i < sc.b; i++ {
			emu.CreatePool(elb.Pool{ID: binding(i).Spec.PoolRef.ID})
		}
		url, err := elbemulator.ListenAndServe(ctx, "127.0.0.1:0", emu)
		if err != nil {
			cancel()
			return err
		}
		for _, pass := range []string{"from-empty", "no-op"} {
			cmd := exec.Command(self, "-child", "-endpoint", url, "-bindings", fmt.Sprint(sc.b), "-endpoints", fmt.Sprint(sc.e), "-concurrency", fmt.Sprint(conc))
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				cancel()
				return fmt.Errorf("%dx%d %s: %w", sc.b, sc.e, pass, err)
			}
			var r childReport
			if err := json.Unmarshal(out, &r); err != nil {
				cancel()
				return fmt.Errorf("child said %q: %w", out, err)
			}
			fmt.Printf("%-10s %-10s %7.2fs %7.1fMiB %7.1fMiB %6d/%-5d\n", fmt.Sprintf("%dx%d", sc.b, sc.e), pass,
				r.Seconds, float64(r.VmHWMKiB)/1024, float64(r.VmRSSKiB)/1024, r.InSync, r.Bindings)
			if r.InSync != r.Bindings {
				cancel()
				return fmt.Errorf("%dx%d %s: %d of %d bindings in sync", sc.b, sc.e, pass, r.InSync, r.Bindings)
			}
		}
		cancel()
	}
	return nil
}

type tokenTransport struct{ next http.RoundTripper }

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Auth-Token", token)
	return t.next.RoundTrip(r)
}

func runChild(endpoint string, nb, ne, conc int) error {
	// As pkg/elb/elbconfig does: one idle connection per concurrent binding.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(conc, poolsync.DefaultConcurrency)
	c, err := elb.New(elb.Config{Endpoint: endpoint, ProjectID: project, Transport: tokenTransport{tr}})
	if err != nil {
		return err
	}
	targets := make([]poolsync.Target, nb)
	for i := range targets {
		eps := make([]poolsync.Endpoint, ne)
		for j := range eps {
			k := j + 1
			eps[j] = poolsync.Endpoint{Address: fmt.Sprintf("10.%d.%d.%d", k>>16&255, k>>8&255, k&255), Port: 8080}
		}
		targets[i] = poolsync.Target{Binding: binding(i), Endpoints: eps}
	}
	start := time.Now()
	results := poolsync.Run(context.Background(), c, targets, poolsync.Options{Policy: poolsync.Policy{Concurrency: conc}})
	r := childReport{Bindings: nb, Endpoints: ne, Seconds: time.Since(start).Seconds()}
	for _, res := range results {
		if res.InSync() {
			r.InSync++
		} else {
			fmt.Fprintln(os.Stderr, res.Line())
		}
		r.Added += res.Added
	}
	r.VmHWMKiB, r.VmRSSKiB = procStatus("VmHWM:"), procStatus("VmRSS:")
	return json.NewEncoder(os.Stdout).Encode(r)
}

// procStatus reads a "Key:   123 kB" line of /proc/self/status.
func procStatus(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb
		}
	}
	return -1
}
