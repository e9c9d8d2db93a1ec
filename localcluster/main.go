// Command ccictl-localcluster runs a small but real Kubernetes control plane on
// loopback for ccictl's end-to-end tests and demo: an embedded etcd, the
// kube-apiserver and the kube-controller-manager, all built from the upstream
// Kubernetes module rather than downloaded.
//
// The binary is multi-call. "up" is what people run: it starts etcd in its own
// process, then re-executes itself as "apiserver" and "controller-manager" so
// that the two upstream commands keep their process-global flag and logging
// state to themselves. It writes a kubeconfig and a state file into --dir and
// stays in the foreground until it gets SIGINT or SIGTERM.
package main

import (
	"fmt"
	"os"

	apiapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	cmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	sub, args := os.Args[1], os.Args[2:]
	switch sub {
	case "up":
		if err := up(args); err != nil {
			fmt.Fprintln(os.Stderr, "ccictl-localcluster:", err)
			os.Exit(1)
		}
	case "apiserver":
		cmd := apiapp.NewAPIServerCommand()
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
	case "cci-apiserver":
		if err := cciAPIServer(args); err != nil {
			fmt.Fprintln(os.Stderr, "ccictl-localcluster cci-apiserver:", err)
			os.Exit(1)
		}
	case "controller-manager":
		cmd := cmapp.NewControllerManagerCommand()
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

const usage = `usage: ccictl-localcluster up --dir DIR [--crds DIR] [--port N] [--flavour kubernetes|cci2]

Starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 and
writes DIR/kubeconfig (admin, bearer token) and DIR/state.json. Runs until
interrupted. --flavour cci2 also serves the CCI 2.0 API (cci/v2) and writes
DIR/kubeconfig-cci2, a tenant's view of it.`
