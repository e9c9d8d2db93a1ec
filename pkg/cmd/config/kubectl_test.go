package config

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openvessel/ccictl/internal/golden"
)

// kubectl runs the real kubectl (the one on PATH, which the machine image
// and CI provide, so its absence is a failure, not a skip) on the config
// file in $KUBECONFIG and returns stdout, the error message and whether it
// failed.
func kubectl(t *testing.T, args ...string) result {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is required for this test and is not on PATH: %v", err)
	}
	cmd := exec.Command(path, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running kubectl: %v", err)
	}
	return result{out: out.String(), errOut: errOut.String(), err: err}
}

// sameSetup is the config both tools write: every credential kind and
// cluster option, without auth-provider secrets (which ccictl redacts on
// purpose and kubectl does not).
var sameSetup = [][]string{
	{"set-cluster", "cci", "--server=https://cci.ap-southeast-1.myhuaweicloud.com"},
	{"set-cluster", "local", "--server=https://127.0.0.1:6443", "--certificate-authority=testdata/ca.crt", "--embed-certs"},
	{"set-cluster", "byfile", "--server=https://10.0.0.1", "--certificate-authority=testdata/ca.crt"},
	{"set-cluster", "insecure", "--server=https://10.0.0.2", "--insecure-skip-tls-verify=true"},
	{"set-credentials", "iam-user", "--auth-provider=iam", "--auth-provider-arg=iam-endpoint=https://iam.example", "--auth-provider-arg=cache=true", "--auth-provider-arg=ak=AKID"},
	{"set-credentials", "admin", "--token=TOKEN"},
	{"set-credentials", "basic", "--username=bob", "--password=PW"},
	{"set-credentials", "certs", "--client-certificate=testdata/client.crt", "--client-key=testdata/client.key", "--embed-certs"},
	{"set-credentials", "certfiles", "--client-certificate=testdata/client.crt", "--client-key=testdata/client.key"},
	{"set-credentials", "ex", "--exec-command=/bin/cred", "--exec-api-version=client.authentication.k8s.io/v1", "--exec-arg=a1", "--exec-arg=a2", "--exec-env=A=1"},
	{"set-context", "cci", "--cluster=cci", "--user=iam-user", "--namespace=test-ns"},
	{"set-context", "local", "--cluster=local", "--user=admin"},
	{"set-context", "a-very-long-context-name"},
	{"set-context", "x", "--cluster=insecure", "--user=basic", "--namespace=n"},
	{"use-context", "local"},
	{"set-context", "--current", "--namespace=default"},
	{"delete-context", "x"},
	{"set", "clusters.cci.insecure-skip-tls-verify", "true"},
	{"set", "users.admin.token", "NEWTOKEN"},
	{"set", "contexts.local.namespace", "ns2"},
	{"set", "clusters.byfile.certificate-authority-data", "Y2VydA==", "--set-raw-bytes=false"},
	{"unset", "contexts.local.namespace"},
	{"unset", "users.basic"},
	{"rename-context", "a-very-long-context-name", "renamed"},
}

func TestSameAsKubectl(t *testing.T) {
	home := isolate(t)
	kubePath := filepath.Join(home, "kubectl-config")
	ourPath := filepath.Join(home, "ccictl-config")

	// Same commands, same messages, same file.
	for _, a := range sameSetup {
		t.Setenv("KUBECONFIG", kubePath)
		k := kubectl(t, append([]string{"config"}, a...)...)
		t.Setenv("KUBECONFIG", ourPath)
		c := run(t, append([]string{"config"}, a...)...)
		if (k.err != nil) != (c.err != nil) {
			t.Fatalf("%v: kubectl err %v, ccictl err %v", a, k.err, c.err)
		}
		kout := strings.ReplaceAll(k.out, kubePath, "FILE")
		cout := strings.ReplaceAll(c.out, ourPath, "FILE")
		if kout != cout {
			t.Errorf("%v: stdout differs\n%s", a, golden.Diff(kout, cout))
		}
	}
	if k, c := withoutEmptyPreferences(readFile(t, kubePath)), readFile(t, ourPath); k != c {
		t.Errorf("written files differ\n%s", golden.Diff(k, c))
	}

	// Same output for reading commands, on the same file.
	t.Setenv("KUBECONFIG", kubePath)
	for _, a := range [][]string{
		{"view"},
		{"view", "--raw"},
		{"view", "--minify"},
		{"view", "-o", "json"},
		{"view", "--flatten"},
		{"view", "--context=cci", "--minify", "-o", "yaml"},
		{"view", "-o", "jsonpath={.users[?(@.name == \"basic\")].user.password}"},
		{"get-contexts"},
		{"get-contexts", "--no-headers"},
		{"get-contexts", "-o", "name"},
		{"get-contexts", "cci"},
		{"get-contexts", "cci", "nope"},
		{"current-context"},
		{"use-context", "nope"},
		{"get-users"},
		{"rename-context", "nope", "other"},
		{"rename-context", "renamed", "cci"},
		{"set", "current-context", "renamed"},
		{"unset", "nope.path"},
		{"bogus"},
		{"bogus", "extra"},
	} {
		k := kubectl(t, append([]string{"config"}, a...)...)
		c := run(t, append([]string{"config"}, a...)...)
		if k.out = withoutEmptyPreferences(k.out); k.out != c.out {
			t.Errorf("config %v: stdout differs from kubectl\n%s", a, golden.Diff(k.out, c.out))
		}
		if (k.err != nil) != (c.err != nil) {
			t.Errorf("config %v: kubectl err %v, ccictl err %v", a, k.err, c.err)
		}
		if kmsg := strings.ReplaceAll(strings.TrimSuffix(k.errOut, "\n"), "'kubectl ", "'ccictl "); c.err != nil && kmsg != c.msg() {
			t.Errorf("config %v: error %q, kubectl says %q", a, c.msg(), kmsg)
		}
	}
}

// withoutEmptyPreferences drops the empty `preferences` stanza kubectl 1.32
// writes. client-go 0.36 (ccictl's, and kubectl 1.36's) tags the field
// omitzero, so it is left out; that line is the only version difference.
func withoutEmptyPreferences(s string) string {
	s = strings.ReplaceAll(s, "\npreferences: {}\n", "\n")
	return strings.ReplaceAll(s, "\n    \"preferences\": {},\n", "\n")
}

// Commands that answer with their help: same exit code as kubectl, the help
// on the same stream (config alone: stderr, exit 1).
func TestHelpAnswersAsKubectl(t *testing.T) {
	isolate(t)
	for _, a := range [][]string{{"config"}, {"config", "set", "only-one-arg"}, {"config", "unset"}} {
		k, c := kubectl(t, a...), run(t, a...)
		// root.Main prints the error message on stderr; here it is c.msg().
		if (k.err != nil) != (c.err != nil) || (k.out == "") != (c.out == "") || (k.errOut == "") != (c.errOut+c.msg() == "") {
			t.Errorf("%v: kubectl err %v, stdout %d bytes, stderr %d bytes; ccictl err %v, stdout %d bytes, stderr %d bytes",
				a, k.err, len(k.out), len(k.errOut), c.err, len(c.out), len(c.errOut))
		}
		if c.err != nil && c.msg() != "" && !strings.HasPrefix(c.msg(), "error: ") {
			t.Errorf("%v: message %q", a, c.msg())
		}
	}
}
