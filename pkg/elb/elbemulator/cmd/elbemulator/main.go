// Command elbemulator runs the ELB v3 test double (package elbemulator) as
// an HTTP server for demos. It is not the Huawei Cloud product.
//
//	go run ./pkg/elb/elbemulator/cmd/elbemulator -addr 127.0.0.1:8089 -token demo
//
// Secrets come from the environment, not flags, so they do not show up in
// process listings: ELBEMU_TOKEN, ELBEMU_AK, ELBEMU_SK (the -token flag is a
// convenience for throwaway demo tokens).
//
// With -members POOL it instead prints the members of a pool of a running
// emulator (read from its admin endpoint at -endpoint) and exits, so demos
// need no curl:
//
//	go run ./pkg/elb/elbemulator/cmd/elbemulator -endpoint http://127.0.0.1:8089 -members POOL_ID
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "listen address")
	project := flag.String("project-id", "0123456789abcdef0123456789abcdef", "project ID served")
	token := flag.String("token", os.Getenv("ELBEMU_TOKEN"), "accepted X-Auth-Token (default $ELBEMU_TOKEN; empty with no AK/SK = no auth)")
	quota := flag.Int("quota", elbemulator.DefaultMemberQuota, "per-pool member quota")
	latency := flag.Duration("latency", 0, "latency added to every API call")
	healthDelay := flag.Duration("health-delay", 0, "with -health-monitor: how long a new member stays INITIAL before it is ONLINE")
	monitored := flag.Bool("health-monitor", false, "give the pools created with -pool a health monitor (members report INITIAL, then ONLINE)")
	var pools multiFlag
	flag.Var(&pools, "pool", "create a pool with this ID at start (repeatable)")
	members := flag.String("members", "", "print the members of this pool of a running emulator and exit")
	endpoint := flag.String("endpoint", "http://127.0.0.1:8089", "with -members: the running emulator's URL")
	flag.Parse()
	if *members != "" {
		if err := printMembers(os.Stdout, *endpoint, *members); err != nil {
			fmt.Fprintln(os.Stderr, "elbemulator:", err)
			os.Exit(1)
		}
		return
	}

	e := elbemulator.New(elbemulator.Options{
		ProjectID: *project, Token: *token,
		AccessKey: os.Getenv("ELBEMU_AK"), SecretKey: os.Getenv("ELBEMU_SK"),
		MemberQuota: *quota, Latency: *latency, HealthDelay: *healthDelay,
	})
	for _, id := range pools {
		// Behind a load balancer and a listener, as a pool that takes
		// traffic is (sync warns about one that is not).
		p := elb.Pool{ID: id, Name: id, Loadbalancers: []elb.Ref{{ID: "lb-" + id}}, Listeners: []elb.Ref{{ID: "listener-" + id}}}
		if *monitored {
			p.HealthmonitorID = "hm-" + id
		}
		e.CreatePool(p)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	url, err := elbemulator.ListenAndServe(ctx, *addr, e)
	if err != nil {
		fmt.Fprintln(os.Stderr, "elbemulator:", err)
		os.Exit(1)
	}
	// One JSON line on stdout so scripts can pick up the endpoint.
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"endpoint": url, "project_id": e.ProjectID(), "pools": pools})
	<-ctx.Done()
}

// printMembers prints a pool's members as a table, from the admin API.
func printMembers(w io.Writer, endpoint, poolID string) error {
	u := strings.TrimRight(endpoint, "/") + "/_emulator/pools/" + url.PathEscape(poolID) + "/members"
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	var ms []elb.Member
	if err := json.NewDecoder(resp.Body).Decode(&ms); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tPORT\tNAME")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", m.Address, m.ProtocolPort, m.Name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "(%d member(s) in pool %s)\n", len(ms), poolID)
	return err
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint([]string(*m)) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
