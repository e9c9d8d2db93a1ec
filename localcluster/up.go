package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// State is written to DIR/state.json once the control plane is ready, so that
// test harnesses and the demo can find it without parsing logs.
type State struct {
	Server     string `json:"server"`
	Kubeconfig string `json:"kubeconfig"`
	Token      string `json:"token"`
	CAFile     string `json:"caFile"`
	PID        int    `json:"pid"`
	// CCI2 is the tenant's endpoint and identity (--flavour cci2 only).
	CCI2 *CCI2State `json:"cci2,omitempty"`
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("dir", "", "working directory for data, certificates, kubeconfig and logs (required)")
	crds := fs.String("crds", "", "directory of CustomResourceDefinition manifests to install once the API server is ready")
	port := fs.Int("port", 0, "API server port on 127.0.0.1 (0 picks a free one)")
	controllers := fs.Bool("controller-manager", true, "also run kube-controller-manager (namespace deletion, EndpointSlices, garbage collection)")
	flavour := fs.String("flavour", flavourKubernetes, `"kubernetes", or "cci2": also serve the CCI 2.0 API (cci/v2) through the aggregation layer and write DIR/kubeconfig-cci2 for a tenant that sees only cci/v2, PoolBindings and Leases`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validFlavour(*flavour); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	for _, d := range []string{"etcd", "certs", "logs"} {
		if err := os.MkdirAll(filepath.Join(absDir, d), 0o700); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// etcd runs in this process: the upstream commands do not need it in theirs.
	etcdClient, etcdPeer := freePort(), freePort()
	ecfg := embed.NewConfig()
	ecfg.Dir = filepath.Join(absDir, "etcd")
	ecfg.LogLevel = "error"
	ecfg.LogOutputs = []string{filepath.Join(absDir, "logs", "etcd.log")}
	cu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(etcdClient))
	pu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(etcdPeer))
	ecfg.ListenClientUrls, ecfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	ecfg.ListenPeerUrls, ecfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	ecfg.InitialCluster = ecfg.Name + "=" + pu.String()
	etcd, err := embed.StartEtcd(ecfg)
	if err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	defer etcd.Close()
	select {
	case <-etcd.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		return errors.New("etcd did not become ready within 60s")
	}

	saKey, saPub, err := writeServiceAccountKeys(filepath.Join(absDir, "certs"))
	if err != nil {
		return err
	}
	token := randomHex(16)
	tokenFile := filepath.Join(absDir, "certs", "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		return err
	}
	apiPort := *port
	if apiPort == 0 {
		apiPort = freePort()
	}
	server := "https://127.0.0.1:" + strconv.Itoa(apiPort)

	self, err := os.Executable()
	if err != nil {
		return err
	}
	var cci *cci2Setup
	var flavourArgs []string
	if *flavour == flavourCCI2 {
		if cci, flavourArgs, err = prepareCCI2(filepath.Join(absDir, "certs"), tokenFile); err != nil {
			return err
		}
	}
	apiLog := filepath.Join(absDir, "logs", "kube-apiserver.log")
	apiArgs := append(flavourArgs,
		"--etcd-servers="+cu.String(),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+filepath.Join(absDir, "certs"),
		"--token-auth-file="+tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		// Pods in tests are created right after their namespace; waiting for the
		// service-account controller to create "default" first adds nothing here.
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
	)
	apiserver, err := startChild(self, "apiserver", apiLog, apiArgs...)
	if err != nil {
		return err
	}
	defer func() { stopChild(apiserver) }()

	caFile := filepath.Join(absDir, "certs", "apiserver.crt")
	if err := waitReady(ctx, server, token, 120*time.Second, apiserver); err != nil {
		return fmt.Errorf("%w (see %s)", err, filepath.Join(absDir, "logs", "kube-apiserver.log"))
	}
	kubeconfig := filepath.Join(absDir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, caFile, token); err != nil {
		return err
	}

	if *controllers {
		cm, err := startChild(self, "controller-manager", filepath.Join(absDir, "logs", "kube-controller-manager.log"),
			"--kubeconfig="+kubeconfig,
			"--authentication-kubeconfig="+kubeconfig,
			"--authorization-kubeconfig="+kubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port="+strconv.Itoa(freePort()),
			"--leader-elect=false",
			"--service-account-private-key-file="+saKey,
			"--root-ca-file="+caFile,
			"--use-service-account-credentials=false",
			// Test nodes have no kubelet; the lifecycle controller would taint them
			// and evict their pods a few minutes in.
			"--controllers=*,-node-lifecycle-controller,-nodelifecycle",
		)
		if err != nil {
			return err
		}
		defer stopChild(cm)
	}

	if *crds != "" {
		if err := installCRDs(ctx, server, caFile, token, *crds); err != nil {
			return err
		}
	}

	st := State{Server: server, Kubeconfig: kubeconfig, Token: token, CAFile: caFile, PID: os.Getpid()}
	if cci != nil {
		c, tenant, err := startCCI2(ctx, cci, self, absDir, server, caFile, token)
		if err != nil {
			return fmt.Errorf("%w (see %s)", err, filepath.Join(absDir, "logs", "cci-apiserver.log"))
		}
		defer stopChild(c)
		st.CCI2 = tenant
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := filepath.Join(absDir, "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(absDir, "state.json")); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "local cluster ready at %s (kubeconfig %s)\n", server, kubeconfig)

	// SIGHUP restarts kube-apiserver alone (same flags, port, credentials
	// and etcd), as an upgrade or a crash of the API server does: for
	// tests of clients that must recover from it. DIR/apiserver-restarts
	// counts the restarts completed.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for restarts := 1; ; restarts++ {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
		}
		stopChild(apiserver)
		if apiserver, err = startChild(self, "apiserver", apiLog, apiArgs...); err != nil {
			return err
		}
		if err := waitReady(ctx, server, token, 120*time.Second, apiserver); err != nil {
			return fmt.Errorf("restart: %w (see %s)", err, apiLog)
		}
		fmt.Fprintf(os.Stderr, "kube-apiserver restarted (%d)\n", restarts)
		if err := os.WriteFile(filepath.Join(absDir, "apiserver-restarts"), []byte(strconv.Itoa(restarts)), 0o600); err != nil {
			return err
		}
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func writeServiceAccountKeys(dir string) (keyFile, pubFile string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	keyFile, pubFile = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	return keyFile, pubFile, os.WriteFile(pubFile, pubPEM, 0o600)
}

type child struct {
	cmd  *exec.Cmd
	done chan error
}

func startChild(self, sub, logFile string, args ...string) (*child, error) {
	lf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{sub}, args...)...)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Children die with us even if we are killed without a chance to clean up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", sub, err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait(); lf.Close() }()
	return c, nil
}

func stopChild(c *child) {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func insecureClient() *http.Client {
	// Only used to poll /readyz before the kubeconfig exists; the CA is read
	// from disk for every real request.
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

func waitReady(ctx context.Context, server, token string, timeout time.Duration, c *child) error {
	hc := insecureClient()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			return fmt.Errorf("kube-apiserver exited before it was ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		req, _ := http.NewRequest(http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("kube-apiserver not ready after %s", timeout)
}

func writeKubeconfig(path, server, caFile, token string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: local
  context:
    cluster: local
    user: admin
current-context: local
`, server, b64(ca), token)
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
