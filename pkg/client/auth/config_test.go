package auth

import (
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromProviderModes(t *testing.T) {
	base := map[string]string{KeyIAMEndpoint: "https://iam.cn-north-4.myhuaweicloud.com", KeyDomainName: "acct"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	c, err := ConfigFromProvider(with(KeyAK, "AK1", KeySK, "SK1"), "", Options{Getenv: noEnv})
	if err != nil || c.Mode != ModeAKSK || !c.Cache {
		t.Fatalf("aksk: %+v %v", c.Mode, err)
	}
	// The vendor's project-name defaults to the region, taken from iam-endpoint.
	if c.ProjectName != "cn-north-4" {
		t.Fatalf("project name = %q", c.ProjectName)
	}
	c, err = ConfigFromProvider(with(KeyToken, "T"), "", Options{Getenv: noEnv})
	if err != nil || c.Mode != ModeToken {
		t.Fatalf("token: %v %v", c.Mode, err)
	}
	c, err = ConfigFromProvider(with(KeyUsername, "u", KeyPassword, "p", KeyCache, "false"), "", Options{Getenv: noEnv})
	if err != nil || c.Mode != ModePassword || c.Cache {
		t.Fatalf("password: %v cache=%v %v", c.Mode, c.Cache, err)
	}
}

func TestConfigEnvFallbacks(t *testing.T) {
	env := envOf(map[string]string{EnvAccessKey: "ENVAK", EnvSecretKey: "ENVSK", EnvProjectID: "pid-env", EnvRegionName: "ap-southeast-1"})
	c, err := ConfigFromProvider(map[string]string{}, "", Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	if c.AK != "ENVAK" || c.SK != "ENVSK" || c.ProjectID != "pid-env" || c.ProjectName != "ap-southeast-1" ||
		c.IAMEndpoint != "https://iam.ap-southeast-1.myhuaweicloud.com" {
		t.Fatalf("env fallbacks not applied: ak=%q pid=%q project=%q iam=%q", c.AK, c.ProjectID, c.ProjectName, c.IAMEndpoint)
	}
	// Values in the provider config win over the environment.
	c, err = ConfigFromProvider(map[string]string{KeyAK: "CFGAK", KeySK: "CFGSK", KeyProjectID: "pid-cfg"}, "", Options{Getenv: env})
	if err != nil || c.AK != "CFGAK" || c.SK != "CFGSK" || c.ProjectID != "pid-cfg" {
		t.Fatalf("config should win: ak=%q pid=%q err=%v", c.AK, c.ProjectID, err)
	}
	// A token config does not pick up AK/SK from the environment.
	c, err = ConfigFromProvider(map[string]string{KeyToken: "T"}, "", Options{Getenv: env})
	if err != nil || c.Mode != ModeToken || c.AK != "" {
		t.Fatalf("token mode took env keys: %v ak=%q", err, c.AK)
	}
	// Region from the cluster address when nothing else names it.
	c, err = ConfigFromProvider(map[string]string{KeyAK: "A", KeySK: "S"}, "https://cci.cn-east-3.myhuaweicloud.com", Options{Getenv: noEnv})
	if err != nil || c.ProjectName != "cn-east-3" {
		t.Fatalf("region from cluster: %q %v", c.ProjectName, err)
	}
}

func TestConfigErrorsNameWhatIsMissingAndHideSecrets(t *testing.T) {
	const secret = "Sup3rSecretValue"
	iam := "https://iam.cn-north-4.myhuaweicloud.com"
	cases := []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{KeyIAMEndpoint: iam, KeyAK: "AKX"}, "ak is set but sk is empty"},
		{map[string]string{KeyIAMEndpoint: iam, KeySK: secret}, "sk is set but ak is empty"},
		{map[string]string{KeyIAMEndpoint: iam}, "no credentials"},
		{map[string]string{KeyIAMEndpoint: iam, KeyUsername: "u"}, "username is set but password is empty"},
		{map[string]string{KeyIAMEndpoint: iam, KeyPassword: secret}, "password is set but username is empty"},
		{map[string]string{KeyIAMEndpoint: iam, KeyUsername: "u", KeyPassword: secret}, "needs domain-name"},
		{map[string]string{KeyUsername: "u", KeyPassword: secret, KeyDomainName: "d", KeyProjectID: "pid"}, "iam-endpoint is empty"},
		{map[string]string{KeyIAMEndpoint: "ftp://x", KeyUsername: "u", KeyPassword: secret, KeyDomainName: "d", KeyProjectName: "p"}, "not an http(s) URL"},
		{map[string]string{KeyIAMEndpoint: iam, KeyToken: secret, KeyAK: "A", KeySK: secret}, "set only one of"},
		{map[string]string{KeyIAMEndpoint: iam, KeyAK: "A", KeySK: secret, KeyCache: "maybe"}, "cache must be true or false"},
		{map[string]string{KeyAK: "A", KeySK: secret}, "needs project-id or project-name"},
	}
	for _, tc := range cases {
		_, err := ConfigFromProvider(tc.cfg, "", Options{Getenv: noEnv})
		if err == nil {
			t.Errorf("%v: no error", tc.want)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "iam auth-provider: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("error %q does not say %q", msg, tc.want)
		}
		if strings.Contains(msg, secret) {
			t.Errorf("error %q contains a secret", msg)
		}
	}
}

func TestTokenCachePathIgnoresPassword(t *testing.T) {
	a := Config{IAMEndpoint: "https://i", DomainName: "d", Username: "u", ProjectName: "p", Password: "one"}
	b := a
	b.Password = "two"
	if TokenCachePath("/c", a) != TokenCachePath("/c", b) {
		t.Fatal("cache path depends on the password")
	}
	b.Username = "v"
	if TokenCachePath("/c", a) == TokenCachePath("/c", b) {
		t.Fatal("cache path does not depend on the user")
	}
}
