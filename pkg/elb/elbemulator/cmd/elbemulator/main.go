// Command elbemulator runs the ELB v3 test double (package elbemulator) as
// an HTTP server for demos. It is not the Huawei Cloud product.
//
//	go run ./pkg/elb/elbemulator/cmd/elbemulator -addr 127.0.0.1:8089 -token demo
//
// Secrets come from the environment, not flags, so they do not show up in
// process listings: ELBEMU_TOKEN, ELBEMU_AK, ELBEMU_SK (the -token flag is a
// convenience for throwaway demo tokens).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "listen address")
	project := flag.String("project-id", "0123456789abcdef0123456789abcdef", "project ID served")
	token := flag.String("token", os.Getenv("ELBEMU_TOKEN"), "accepted X-Auth-Token (default $ELBEMU_TOKEN; empty with no AK/SK = no auth)")
	quota := flag.Int("quota", elbemulator.DefaultMemberQuota, "per-pool member quota")
	latency := flag.Duration("latency", 0, "latency added to every API call")
	var pools multiFlag
	flag.Var(&pools, "pool", "create a pool with this ID at start (repeatable)")
	flag.Parse()

	e := elbemulator.New(elbemulator.Options{
		ProjectID: *project, Token: *token,
		AccessKey: os.Getenv("ELBEMU_AK"), SecretKey: os.Getenv("ELBEMU_SK"),
		MemberQuota: *quota, Latency: *latency,
	})
	for _, id := range pools {
		e.CreatePool(elb.Pool{ID: id, Name: id})
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

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint([]string(*m)) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
