package cmdutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
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
// precedence: flag > CCICTL_* env > settings file > flag default.
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
	s.v.SetEnvPrefix(EnvPrefix)
	s.v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	s.v.AutomaticEnv()
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

// ApplyToFlags writes settings into every flag the user did not set on the
// command line, so each command's Options stay the one source of truth.
// Keys are flag names ("request-timeout", env CCICTL_REQUEST_TIMEOUT).
// skip lists flags that must only come from the command line.
func (s *Settings) ApplyToFlags(flags *pflag.FlagSet, skip map[string]bool) error {
	var errs []error
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed || skip[f.Name] {
			return
		}
		_ = s.v.BindEnv(f.Name)
		if !s.v.IsSet(f.Name) {
			return
		}
		val := s.v.Get(f.Name)
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
				errs = append(errs, fmt.Errorf("setting %q: %w", f.Name, err))
			}
			return
		}
		if err := f.Value.Set(fmt.Sprint(val)); err != nil {
			errs = append(errs, fmt.Errorf("setting %q from %s: %w", f.Name, s.source(f.Name), err))
		}
	})
	return errors.Join(errs...)
}

func (s *Settings) source(key string) string {
	if _, ok := os.LookupEnv(EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(key))); ok {
		return "environment"
	}
	if s.file != "" {
		return s.file
	}
	return "settings"
}

// GetString returns a setting that has no flag.
func (s *Settings) GetString(key string) string {
	_ = s.v.BindEnv(key)
	return s.v.GetString(key)
}
