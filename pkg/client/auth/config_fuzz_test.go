package auth

import (
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzConfigFromProvider: the iam auth-provider block of a cliconfig
// (arbitrary YAML decoded as the string map client-go hands the plugin)
// either resolves into a complete Config or is refused with an error that
// says it is the plugin's; an accepted Config always validates.
func FuzzConfigFromProvider(f *testing.F) {
	f.Add([]byte("ak: AK\nsk: SK\nproject-name: cn-north-4\n"), "https://cci.cn-north-4.myhuaweicloud.com")
	f.Add([]byte("token: abc\nproject-id: 0123\n"), "")
	f.Add([]byte("username: u\npassword: p\ndomain-name: d\niam-endpoint: https://iam.x\n"), "")
	f.Add([]byte("cache: maybe\nak: a\n"), "")
	f.Add([]byte("ak: a\ntoken: t\n"), "https://cci.ap-southeast-1_sub.myhuaweicloud.com")
	f.Fuzz(func(t *testing.T, data []byte, cluster string) {
		cfg := map[string]string{}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			return
		}
		env := map[string]string{"HW_ACCESS_KEY": "envak", "HW_SECRET_KEY": "envsk"}
		c, err := ConfigFromProvider(cfg, cluster, Options{CacheDir: t.TempDir(), Getenv: func(k string) string { return env[k] }})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("accepted config does not validate: %v", verr)
		}
	})
}
