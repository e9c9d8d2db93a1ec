package cmdutil

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

// settingsFlags is a flag set with guards, credentials and allowed settings,
// as the command tree has them.
func settingsFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("namespace", "", "")
	fs.String("request-timeout", "0", "")
	fs.String("elb-endpoint", "", "")
	fs.StringSlice("disable-rule", nil, "")
	fs.Int("concurrency", 16, "")
	fs.Bool("allow-empty", false, "")
	fs.Bool("prune-orphans", false, "")
	fs.Bool("dry-run", false, "")
	fs.Bool("insecure-skip-tls-verify", false, "")
	fs.String("token", "", "")
	fs.String("password", "", "")
	fs.String("server", "", "")
	fs.String("selector", "", "")
	fs.String("kubeconfig", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func loadSettings(t *testing.T, file string) *Settings {
	t.Helper()
	s := NewSettings()
	path := ""
	if file != "" {
		path = filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no default settings file
	if err := s.Load(path); err != nil {
		t.Fatal(err)
	}
	return s
}

func value(fs *pflag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

// Guards and credentials keep their command-line value (here: the default)
// whatever CCICTL_* and the settings file say, and the user is told.
func TestSettingsNeverLoosenGuards(t *testing.T) {
	guards := map[string]string{
		"allow-empty": "true", "prune-orphans": "true", "dry-run": "true",
		"insecure-skip-tls-verify": "true", "token": "tok-from-outside",
		"password": "pw-from-outside", "server": "https://attacker.example",
		"selector": "app=x", "kubeconfig": "/tmp/other",
	}
	var file strings.Builder
	for k, v := range guards {
		t.Setenv(EnvName(k), v)
		file.WriteString(k + ": " + v + "\n")
	}
	s := loadSettings(t, file.String())
	fs := settingsFlags(t)
	var warn bytes.Buffer
	if err := s.ApplyToFlags(fs, &warn); err != nil {
		t.Fatal(err)
	}
	for k := range guards {
		if f := fs.Lookup(k); f.Changed || f.Value.String() != f.DefValue {
			t.Errorf("--%s = %q from outside the command line", k, f.Value.String())
		}
		if !strings.Contains(warn.String(), "Warning: "+EnvName(k)+" is ignored: --"+k+" is taken from the command line only\n") {
			t.Errorf("no warning for %s:\n%s", EnvName(k), warn.String())
		}
		if !strings.Contains(warn.String(), "Warning: \""+k+"\" in settings file "+s.File()+" is ignored: --"+k+" is taken from the command line only\n") {
			t.Errorf("no warning for settings key %s:\n%s", k, warn.String())
		}
	}
	for _, secret := range []string{"tok-from-outside", "pw-from-outside"} {
		if strings.Contains(warn.String(), secret) {
			t.Errorf("warning shows a secret value:\n%s", warn.String())
		}
	}
}

// Allowed keys follow flag > environment > settings file > default.
func TestSettingsAllowedKeysPrecedence(t *testing.T) {
	s := loadSettings(t, "namespace: from-file\nrequest-timeout: 7s\nelb-endpoint: http://file\ndisable-rule: [PLB005, SVC015]\nconcurrency: 4\n")
	t.Setenv("CCICTL_ELB_ENDPOINT", "http://env")
	t.Setenv("CCICTL_CONCURRENCY", "")              // empty = unset
	t.Setenv("CCICTL_REQUEST_TIMEOUT", "9s")        // env beats file
	fs := settingsFlags(t, "--namespace=from-flag") // flag beats both
	var warn bytes.Buffer
	if err := s.ApplyToFlags(fs, &warn); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"namespace": "from-flag", "request-timeout": "9s", "elb-endpoint": "http://env",
		"disable-rule": "[PLB005,SVC015]", "concurrency": "4",
	} {
		if got := value(fs, name); got != want {
			t.Errorf("--%s = %q, want %q", name, got, want)
		}
	}
	if warn.Len() != 0 {
		t.Errorf("warnings for allowed keys:\n%s", warn.String())
	}
}

// elb-token is a credential: CCICTL_ELB_TOKEN (documented) is read, the
// settings file never is, and saying so does not print the token.
func TestSettingsELBTokenFromEnvironmentOnly(t *testing.T) {
	s := loadSettings(t, "elb-token: file-secret-token\n")
	var warn bytes.Buffer
	if err := s.ApplyToFlags(settingsFlags(t), &warn); err != nil {
		t.Fatal(err)
	}
	if got := s.GetString("elb-token"); got != "" {
		t.Errorf("elb-token from the settings file: %q", got)
	}
	if w := warn.String(); !strings.Contains(w, `Warning: "elb-token" in settings file `+s.File()+" is ignored: credentials are never read from the settings file; use CCICTL_ELB_TOKEN\n") ||
		strings.Contains(w, "file-secret-token") {
		t.Errorf("warning: %q", w)
	}
	t.Setenv("CCICTL_ELB_TOKEN", "env-token")
	if got := s.GetString("elb-token"); got != "env-token" {
		t.Errorf("CCICTL_ELB_TOKEN: got %q", got)
	}
	// A key outside the allow-list reads as unset, from anywhere.
	t.Setenv("CCICTL_ALLOW_EMPTY", "true")
	if got := s.GetString("allow-empty"); got != "" {
		t.Errorf("GetString(allow-empty) = %q", got)
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A setting taken from outside the command line shows at -v=2 with where it
// came from; a secret's value is masked.
func TestSettingsLoggedAtV2(t *testing.T) {
	gfs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gfs)
	_ = gfs.Set("logtostderr", "false")
	_ = gfs.Set("alsologtostderr", "false")
	buf := &lockedBuf{}
	klog.SetOutput(buf)
	defer func() {
		_ = gfs.Set("v", "0")
		_ = gfs.Set("logtostderr", "true")
		klog.SetOutput(os.Stderr)
	}()

	s := loadSettings(t, "namespace: from-file\n")
	t.Setenv("CCICTL_ELB_TOKEN", "logged-secret-token")
	_ = gfs.Set("v", "1")
	_ = s.ApplyToFlags(settingsFlags(t), nil)
	klog.Flush()
	if out := buf.String(); out != "" {
		t.Errorf("logged below -v=2:\n%s", out)
	}
	_ = gfs.Set("v", "2")
	fs := settingsFlags(t)
	_ = s.ApplyToFlags(fs, nil)
	_ = s.GetString("elb-token")
	klog.Flush()
	out := buf.String()
	if !strings.Contains(out, `"Setting from outside the command line" flag="namespace" value="from-file" from="settings file `+s.File()+`"`) {
		t.Errorf("namespace not logged at -v=2:\n%s", out)
	}
	if !strings.Contains(out, `key="elb-token" value="<redacted>" from="environment CCICTL_ELB_TOKEN"`) || strings.Contains(out, "logged-secret-token") {
		t.Errorf("elb-token log line:\n%s", out)
	}
}

// The allow-list holds no guard, credential or target-changing flag; a new
// key added there has to be a deliberate decision that this test records.
func TestSettingKeysAllowList(t *testing.T) {
	envAndFile, envOnly := SettingKeys()
	want := "cache-dir chunk-size concurrency context disable disable-rule elb-endpoint elb-endpoints elb-project-ids namespace no-headers output platform project-id region request-timeout strict timeout"
	if got := strings.Join(envAndFile, " "); got != want {
		t.Errorf("settable from CCICTL_* and the settings file:\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(envOnly, " "); got != "elb-token" {
		t.Errorf("settable from the environment only: %s", got)
	}
}

// A per-region map in the settings file fills the flag's key=value list;
// the environment gives the same as a string, and beats the file.
func TestSettingsRegionMaps(t *testing.T) {
	s := loadSettings(t, "elb-endpoints:\n  cn-south-1: https://elb.south.example\n  cn-east-3: https://elb.east.example\nelb-project-ids: {cn-south-1: p-south}\n")
	t.Setenv("CCICTL_ELB_PROJECT_IDS", "cn-east-3=p-east")
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	endpoints := fs.StringToString("elb-endpoints", nil, "")
	projects := fs.StringToString("elb-project-ids", nil, "")
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyToFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if len(*endpoints) != 2 || (*endpoints)["cn-south-1"] != "https://elb.south.example" || (*endpoints)["cn-east-3"] != "https://elb.east.example" {
		t.Errorf("elb-endpoints = %v", *endpoints)
	}
	if len(*projects) != 1 || (*projects)["cn-east-3"] != "p-east" {
		t.Errorf("elb-project-ids = %v, want the environment's", *projects)
	}
}
