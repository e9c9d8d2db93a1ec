package cmdutil

import (
	"bytes"
	"strings"
	"testing"

	"github.com/openvessel/ccictl/pkg/manifest"
)

// The second binding's port breaks PLB007 (an error: the PoolBinding API
// refuses it) on line 17, well below the line where its document starts;
// strict mode must refuse exactly that document.
const twoBindings = `apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: good
  namespace: ns
spec:
  poolRef: {id: 1f0c2a4e-1111-4c8e-9f3a-5d2b7c9a0001}
  targetRef: {kind: Service, group: cci/v2, name: svc, port: 80}
---
apiVersion: loadbalancer.networking.openvessel.io/v1
kind: PoolBinding
metadata:
  name: masked
  namespace: ns
spec:
  poolRef: {id: 1f0c2a4e-1111-4c8e-9f3a-5d2b7c9a0002}
  targetRef: {kind: Service, group: cci/v2, name: svc, port: 0}
`

func TestValidationCheckRefusesTheBreakingDocument(t *testing.T) {
	docs := manifest.Decode("two.yaml", []byte(twoBindings))
	if len(docs) != 2 {
		t.Fatalf("decoded %d documents", len(docs))
	}
	for _, mode := range []string{"strict", "warn", "ignore"} {
		v := &ValidationOptions{Mode: mode}
		var errOut bytes.Buffer
		out, _ := v.Check(docs, &errOut)
		if out[0].Err != nil {
			t.Errorf("%s: the good document was refused: %v", mode, out[0].Err)
		}
		switch mode {
		case "strict":
			if out[1].Err == nil || !strings.Contains(out[1].Err.Error(), "PLB007") || !strings.Contains(out[1].Err.Error(), "two.yaml:17") {
				t.Errorf("strict: second document not refused with PLB007 at line 17: %v", out[1].Err)
			}
		case "warn":
			if out[1].Err != nil || !strings.Contains(errOut.String(), "Warning: two.yaml:17") {
				t.Errorf("warn: err=%v warnings=%q", out[1].Err, errOut.String())
			}
		case "ignore":
			if out[1].Err != nil || errOut.Len() != 0 {
				t.Errorf("ignore: err=%v output=%q", out[1].Err, errOut.String())
			}
		}
	}
}
