package create

import (
	"os"
	"testing"

	"github.com/openvessel/ccictl/pkg/testenv"
)

// cluster is the real API server (etcd, kube-apiserver) the generators send
// to, one for the package; the package fails, never skips, if it cannot
// start.
var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.RunTests(m, func(c *testenv.Cluster) { cluster = c }))
}
