package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"k8s.io/klog/v2"

	"github.com/openvessel/ccictl/pkg/client/redact"
)

// Where ccictl's own settings come from (not the cliconfig, which holds
// clusters and credentials).
const (
	EnvPrefix         = "CCICTL"
	EnvSettingsFile   = "CCICTL_SETTINGS"
	settingsFileName  = "config.yaml"
	settingsSubfolder = "ccictl"
)

// Settings wraps one viper instance (never the global one) with ccictl's
// precedence: flag > CCICTL_* env > settings file > flag default, for
// the keys of settingKeys only.
type Settings struct {
	v    *viper.Viper
	file string
}

// NewSettings returns empty settings; Load fills them.
func NewSettings() *Settings { return &Settings{v: viper.New()} }

// DefaultSettingsFile is $XDG_CONFIG_HOME/ccictl/config.yaml (or ~/.config/…).
func DefaultSettingsFile() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, settingsSubfolder, settingsFileName)
}

// File is the settings file that was read, if any.
func (s *Settings) File() string { return s.file }

// Load reads the settings file: explicit (flag or CCICTL_SETTINGS) must exist,
// the default one may be missing.
func (s *Settings) Load(explicit string) error {
	if explicit == "" {
		explicit = os.Getenv(EnvSettingsFile)
	}
	path, required := explicit, explicit != ""
	if path == "" {
		path = DefaultSettingsFile()
	}
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) && !required {
			return nil
		}
		return fmt.Errorf("settings file %s: %w", path, err)
	}
	s.v.SetConfigFile(path)
	s.v.SetConfigType("yaml")
	if err := s.v.ReadInConfig(); err != nil {
		return fmt.Errorf("settings file %s: %w", path, err)
	}
	s.file = path
	return nil
}

// settingSource says where a key may come from besides the command line.
type settingSource int

const (
	// fromEnvAndFile: CCICTL_<KEY> or the settings file.
	fromEnvAndFile settingSource = iota + 1
	// fromEnvOnly: CCICTL_<KEY> only; a credential, never read from a file.
	fromEnvOnly
)

type settingKey struct {
	source settingSource
	secret bool // the value is masked in logs
}

// settingKeys is the allow-list of what CCICTL_* and the settings file may
// set: where to connect and in which namespace, timeouts, output and
// validation defaults, and where the ELB API is. Everything else (guards
// such as --allow-empty and --prune-orphans, --dry-run, selectors, --force,
// TLS verification, credentials, the server address) is taken from the
// command line only, so an inherited environment or a stale settings file
// cannot loosen a safety check or redirect credentials.
var settingKeys = map[string]settingKey{
	"namespace":       {source: fromEnvAndFile},
	"context":         {source: fromEnvAndFile},
	"request-timeout": {source: fromEnvAndFile},
	"cache-dir":       {source: fromEnvAndFile},
	"output":          {source: fromEnvAndFile},
	"no-headers":      {source: fromEnvAndFile},
	"chunk-size":      {source: fromEnvAndFile},
	"platform":        {source: fromEnvAndFile},
	"disable-rule":    {source: fromEnvAndFile},
	"disable":         {source: fromEnvAndFile},
	"strict":          {source: fromEnvAndFile},
	"elb-endpoint":    {source: fromEnvAndFile},
	"elb-endpoints":   {source: fromEnvAndFile},
	"elb-project-ids": {source: fromEnvAndFile},
	"region":          {source: fromEnvAndFile},
	"project-id":      {source: fromEnvAndFile},
	"concurrency":     {source: fromEnvAndFile},
	"timeout":         {source: fromEnvAndFile},
	"elb-token":       {source: fromEnvOnly, secret: true},
}

// SettingKeys returns the keys CCICTL_* and the settings file may set, and
// separately those only the environment may set (credentials), each sorted.
func SettingKeys() (envAndFile, envOnly []string) {
	for k, v := range settingKeys {
		if v.source == fromEnvOnly {
			envOnly = append(envOnly, k)
		} else {
			envAndFile = append(envAndFile, k)
		}
	}
	sort.Strings(envAndFile)
	sort.Strings(envOnly)
	return envAndFile, envOnly
}

// EnvName is the variable that holds key: CCICTL_ + upper case, '-' as '_'.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(key))
}

// lookup returns key's value and where it came from ("environment" or the
// file's path), honouring the allow-list; ok is false when it is unset or
// may not be set from outside the command line.
func (s *Settings) lookup(key string) (val any, from string, ok bool) {
	k, allowed := settingKeys[key]
	if !allowed {
		return nil, "", false
	}
	// An empty variable counts as unset, as viper treats it.
	if v := os.Getenv(EnvName(key)); v != "" {
		return v, "environment " + EnvName(key), true
	}
	if k.source == fromEnvAndFile && s.file != "" && s.v.InConfig(key) {
		return s.v.Get(key), "settings file " + s.file, true
	}
	return nil, "", false
}

// ApplyToFlags writes allowed settings into every flag the user did not set
// on the command line, so each command's Options stay the one source of
// truth. Keys are flag names ("request-timeout", env CCICTL_REQUEST_TIMEOUT).
// A flag of this command that the environment or the settings file tries to
// set although it is not allowed is left alone, with a warning on warn; so
// is a credential in the settings file.
func (s *Settings) ApplyToFlags(flags *pflag.FlagSet, warn io.Writer) error {
	var errs []error
	// An alias shares its flag's Value: once either was given on the command
	// line, neither takes a setting.
	given := map[pflag.Value]bool{}
	flags.Visit(func(f *pflag.Flag) { given[f.Value] = true })
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || given[f.Value] || f.Name == "settings" {
			return
		}
		k, allowed := settingKeys[f.Name]
		if !allowed {
			s.warnIgnored(warn, f.Name)
			return
		}
		if k.source == fromEnvOnly && s.inFile(f.Name) {
			s.warnIgnored(warn, f.Name)
		}
		val, from, ok := s.lookup(f.Name)
		if !ok {
			return
		}
		logged := val
		if k.secret {
			logged = "<redacted>"
		}
		klog.V(2).InfoS("Setting from outside the command line", "flag", f.Name, "value", logged, "from", from)
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			var items []string
			switch t := val.(type) {
			case []any:
				for _, it := range t {
					items = append(items, fmt.Sprint(it))
				}
			case string:
				items = strings.Split(t, ",")
			default:
				items = []string{fmt.Sprint(t)}
			}
			if err := sv.Replace(items); err != nil {
				errs = append(errs, fmt.Errorf("setting %q from %s: %w", f.Name, from, err))
			}
			return
		}
		if m, ok := val.(map[string]any); ok {
			// A map in the settings file (elb-endpoints: {region: url}) is
			// the flag's key=value list.
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			pairs := make([]string, 0, len(keys))
			for _, k := range keys {
				pairs = append(pairs, k+"="+fmt.Sprint(m[k]))
			}
			val = strings.Join(pairs, ",")
		}
		if err := f.Value.Set(fmt.Sprint(val)); err != nil {
			errs = append(errs, fmt.Errorf("setting %q from %s: %w", f.Name, from, err))
		}
	})
	for key, k := range settingKeys {
		if k.source == fromEnvOnly && flags.Lookup(key) == nil && s.inFile(key) {
			s.warnIgnored(warn, key)
		}
	}
	return errors.Join(errs...)
}

func (s *Settings) inFile(key string) bool { return s.file != "" && s.v.InConfig(key) }

// warnIgnored tells the user that a value they set outside the command line
// is not used, so a guard they believe is off is seen to be on.
func (s *Settings) warnIgnored(warn io.Writer, key string) {
	if warn == nil {
		return
	}
	if k, ok := settingKeys[key]; ok && k.source == fromEnvOnly {
		if s.inFile(key) {
			fmt.Fprintf(warn, "Warning: %q in settings file %s is ignored: credentials are never read from the settings file; use %s\n", key, s.file, EnvName(key))
		}
		return
	}
	if os.Getenv(EnvName(key)) != "" {
		fmt.Fprintf(warn, "Warning: %s is ignored: --%s is taken from the command line only\n", EnvName(key), key)
	}
	if s.inFile(key) {
		fmt.Fprintf(warn, "Warning: %q in settings file %s is ignored: --%s is taken from the command line only\n", key, s.file, key)
	}
}

// GetString returns an allowed setting that has no flag (such as
// elb-token, from CCICTL_ELB_TOKEN only); "" for any other key.
func (s *Settings) GetString(key string) string {
	val, from, ok := s.lookup(key)
	if !ok {
		return ""
	}
	str := fmt.Sprint(val)
	logged := str
	if settingKeys[key].secret {
		redact.Register(str)
		logged = "<redacted>"
	}
	klog.V(2).InfoS("Setting from outside the command line", "key", key, "value", logged, "from", from)
	return str
}
