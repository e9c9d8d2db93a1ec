package synccmd

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/client"
	"github.com/openvessel/ccictl/pkg/cmdutil"
)

// parse runs `sync args...` up to Complete and Validate and returns the
// options (runF stands in for Run), against a cliconfig whose current
// context's namespace is ctx-ns; nothing is sent anywhere.
func parse(t *testing.T, args ...string) (*SyncOptions, error) {
	t.Helper()
	isolateEnv(t)
	cfgPath := filepath.Join(t.TempDir(), "cliconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u", Namespace: "ctx-ns"}
	kc.Contexts["d"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*kc, cfgPath); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLICONFIG", cfgPath)
	conn := &client.ConnectionOptions{}
	f := cmdutil.NewFactory(genericiooptions.NewTestIOStreamsDiscard(), conn)
	var got *SyncOptions
	cmd := NewCmdSync(f, genericiooptions.NewTestIOStreamsDiscard(), func(o *SyncOptions) error { got = o; return nil })
	// -n is a global flag of the root command; the test binds it here.
	cmd.Flags().StringVarP(&conn.Namespace, "namespace", "n", "", "")
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return got, err
}

func TestSyncFlagsToOptions(t *testing.T) {
	o, err := parse(t, "web", "api", "--dry-run", "--exit-code", "-o", "json", "-l", "tier=web", "--concurrency", "3",
		"--timeout", "90s", "--allow-empty", "--prune-orphans", "--no-status", "--member-quota", "-1",
		"--wait-healthy", "--health-timeout", "2m", "--health-interval", "500ms",
		"--elb-endpoint", "https://elb.example", "--region", "cn-north-4", "--project-id", "p0",
		"--elb-endpoints", "cn-south-1=https://elb-south.example", "--elb-project-ids", "cn-south-1=p1",
		"--elb-request-timeout", "4s", "--no-wait-lock", "--lock-namespace", "locks", "--cluster-id", "prod-1", "--subnet-id", "sub-1")
	if err != nil {
		t.Fatal(err)
	}
	want := SyncOptions{Names: []string{"web", "api"}, Namespace: "ctx-ns", LabelSelector: "tier=web",
		DryRun: true, ExitCode: true, AllowEmpty: true, PruneOrphans: true, Concurrency: 3, Timeout: 90 * time.Second,
		Output: "json", NoStatus: true, MemberQuota: -1, WaitHealthy: true, HealthTimeout: 2 * time.Minute, HealthInterval: 500 * time.Millisecond,
		ELBEndpoint: "https://elb.example", Region: "cn-north-4", ProjectID: "p0",
		ELBEndpoints: map[string]string{"cn-south-1": "https://elb-south.example"}, ELBProjectIDs: map[string]string{"cn-south-1": "p1"},
		SubnetCIDRID: "sub-1", ELBRequestTimeout: 4 * time.Second, NoWaitLock: true, LockNamespace: "locks", ClusterID: "prod-1",
		WatchOptions: WatchOptions{Coalesce: 200 * time.Millisecond, ResyncPeriod: 5 * time.Minute, MaxBackoff: time.Minute,
			LeaseName: "ccictl-sync", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, LogFormat: "text"}}
	got := *o
	got.factory, got.IOStreams = nil, genericiooptions.IOStreams{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("options\n got %+v\nwant %+v", got, want)
	}

	// Defaults, and -n over the context's namespace.
	o, err = parse(t, "-n", "given")
	if err != nil {
		t.Fatal(err)
	}
	if o.Namespace != "given" || o.Concurrency != 16 || o.Timeout != 5*time.Minute || o.DryRun || o.Output != "" {
		t.Errorf("defaults: %+v", o)
	}

	// The continuous mode's flags.
	o, err = parse(t, "-A", "-l", "tier=web", "--watch", "--coalesce", "50ms", "--resync-period", "1m", "--max-backoff", "20s",
		"--leader-elect", "--leader-elect-namespace", "ccictl-system", "--leader-elect-name", "lead", "--leader-elect-lease-duration", "30s",
		"--leader-elect-renew-deadline", "20s", "--leader-elect-retry-period", "4s", "--metrics-bind-address", ":9090", "--profiling", "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if want := (WatchOptions{Watch: true, Coalesce: 50 * time.Millisecond, ResyncPeriod: time.Minute, MaxBackoff: 20 * time.Second,
		LeaderElect: true, LeaseNS: "ccictl-system", LeaseName: "lead", LeaseDuration: 30 * time.Second, RenewDeadline: 20 * time.Second,
		RetryPeriod: 4 * time.Second, MetricsAddr: ":9090", Profiling: true, LogFormat: "json"}); o.WatchOptions != want || !o.AllNamespaces {
		t.Errorf("watch options\n got %+v\nwant %+v", o.WatchOptions, want)
	}

	// --all-contexts takes every context of the cliconfig, sorted.
	o, err = parse(t, "--all-contexts")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Contexts, []string{"c", "d"}) {
		t.Errorf("--all-contexts: %v", o.Contexts)
	}
}

// Flag mistakes are usage errors (exit 1 with a hint to -h, as kubectl's),
// found before anything runs.
func TestSyncFlagMistakes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		text string
	}{
		{[]string{"-o", "wide"}, `unknown output format "wide"`},
		{[]string{"--exit-code"}, "--exit-code only applies to --dry-run"},
		{[]string{"-A", "web"}, "a name cannot be combined with --all-namespaces"},
		{[]string{"--concurrency", "0"}, "--concurrency must be at least 1"},
		{[]string{"--elb-request-timeout", "-1s"}, "--elb-request-timeout must not be negative"},
		{[]string{"--member-quota", "0"}, "--member-quota must be a positive number"},
		{[]string{"--health-interval", "0s"}, "--health-timeout and --health-interval must be positive"},
		{[]string{"--context", "c", "--context", "d", "--cluster-id", "x"}, "--cluster-id names one cluster"},
		{[]string{"--context", "c", "--context", "c"}, "--context c is given twice"},
		{[]string{"--elb-endpoints", "North=https://x"}, `--elb-endpoints: "North" is not a region name`},
		{[]string{"--elb-project-ids", "cn-north-4="}, "--elb-project-ids: region cn-north-4 has an empty value"},
		{[]string{"--cluster-id", "has space"}, "invalid --cluster-id"},
		{[]string{"--log-format", "xml"}, `--log-format must be text or json, not "xml"`},
		{[]string{"--watch", "--dry-run"}, "--watch writes: it cannot be combined with --dry-run"},
		{[]string{"--watch", "-o", "json"}, "-o applies to a single pass"},
		{[]string{"--watch", "web"}, "--watch selects bindings with -n, -A and -l, not by name"},
		{[]string{"--watch", "--context", "c", "--context", "d"}, "--watch runs against one cluster"},
		{[]string{"--watch", "--resync-period", "0s"}, "--resync-period and --max-backoff must be positive"},
		{[]string{"--watch", "--profiling"}, "--profiling serves its profiles on --metrics-bind-address"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			o, err := parse(t, tc.args...)
			var fe *cmdutil.FlagError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (options %v), want a usage error", err, o)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q, want it to contain %q", err, tc.text)
			}
			if msg, code := cmdutil.ErrorMessage(err); code != cmdutil.ExitError || !strings.HasSuffix(msg, "See 'sync -h' for help and examples") {
				t.Errorf("exit code %d, message %q; want %d and the hint to -h", code, msg, cmdutil.ExitError)
			}
		})
	}
}
