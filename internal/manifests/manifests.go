// Package manifests is what the tests of deploy/ and of the Helm chart share:
// kubectl against the test cluster, and rendered YAML as objects.
package manifests

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Kubectl runs the installed kubectl with kubeconfig, stdin as its input and
// a HOME of its own; its absence fails the test.
func Kubectl(t *testing.T, kubeconfig string, stdin []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin, lerr := exec.LookPath("kubectl")
	if lerr != nil {
		t.Fatalf("kubectl is required and is not on PATH: %v", lerr)
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// Objects splits rendered YAML into objects.
func Objects(t *testing.T, rendered []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(rendered), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("decode rendered manifests: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// ToYAML joins objects into one multi-document YAML stream.
func ToYAML(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes()
}

// Pick returns the objects of the given kinds, in order.
func Pick(objs []*unstructured.Unstructured, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if slices.Contains(kinds, o.GetKind()) {
			out = append(out, o)
		}
	}
	return out
}
