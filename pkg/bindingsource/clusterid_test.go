package bindingsource

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openvessel/ccictl/pkg/poolsync"
)

func TestDerivedClusterID(t *testing.T) {
	a := DerivedClusterID("https://cci.cn-north-4.myhuaweicloud.com", "cn-north-4")
	if err := poolsync.ValidateClusterID(a); err != nil || !strings.HasPrefix(a, "cci-") {
		t.Fatalf("%q: %v", a, err)
	}
	// One endpoint spelled differently is one identity.
	for _, s := range []string{"https://CCI.cn-north-4.myhuaweicloud.com/", "https://cci.cn-north-4.myhuaweicloud.com:443", " https://cci.cn-north-4.myhuaweicloud.com "} {
		if got := DerivedClusterID(s, "cn-north-4"); got != a {
			t.Errorf("%q: %s, want %s", s, got, a)
		}
	}
	// Another project or another region's endpoint is another identity.
	for _, c := range [][2]string{
		{"https://cci.cn-north-4.myhuaweicloud.com", "cn-north-4_dev"},
		{"https://cci.cn-east-3.myhuaweicloud.com", "cn-north-4"},
		{"https://cci.cn-north-4.myhuaweicloud.com:8443", "cn-north-4"},
		{"https://cci.cn-north-4.myhuaweicloud.com", ""},
	} {
		if got := DerivedClusterID(c[0], c[1]); got == a {
			t.Errorf("%v derives the same identity %s", c, got)
		}
	}
}

func TestClusterIdentity(t *testing.T) {
	ctx := context.Background()
	withNS := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "0b7f6c1e-2a55-4c41-9d7e-3b1f0e9c7a10"}})
	refusing := func(err error) *fake.Clientset {
		c := fake.NewClientset()
		c.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, err })
		return c
	}
	gr := schema.GroupResource{Resource: "namespaces"}
	iam := &rest.Config{Host: "https://cci.cn-north-4.myhuaweicloud.com",
		AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "iam", Config: map[string]string{"project-name": "cn-north-4_dev"}}}
	token := &rest.Config{Host: "https://127.0.0.1:6443", BearerToken: "x"}

	cases := []struct {
		name     string
		kube     *fake.Clientset
		override string
		cfg      *rest.Config
		want     string
		wantErr  string
	}{
		{"override wins", withNS, "blue", iam, "blue", ""},
		{"kube-system readable", withNS, "", iam, "0b7f6c1e-2a55-4c41-9d7e-3b1f0e9c7a10", ""},
		{"CCI 2.0: no core v1", refusing(apierrors.NewNotFound(gr, "kube-system")), "", iam, DerivedClusterID(iam.Host, "cn-north-4_dev"), ""},
		{"forbidden", refusing(apierrors.NewForbidden(gr, "kube-system", errors.New("no"))), "", token, DerivedClusterID(token.Host, ""), ""},
		{"default project is the region", refusing(apierrors.NewNotFound(gr, "kube-system")), "",
			&rest.Config{Host: iam.Host, AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "iam", Config: map[string]string{}}},
			DerivedClusterID(iam.Host, "cn-north-4"), ""},
		{"server error is not a default", refusing(apierrors.NewInternalError(errors.New("etcd down"))), "", iam, "", "pass --cluster-id"},
	}
	for _, c := range cases {
		got, err := ClusterIdentity(ctx, c.kube, c.override, c.cfg)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: %q, %v; want error with %q", c.name, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
