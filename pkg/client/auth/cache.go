package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The on-disk cache lives in CacheDir/iam (mode 0700); each file is 0600 and
// named by a hash of what identifies the credential, never of a secret.
const cacheSubdir = "iam"

func cacheKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// tokenCacheFile is the cache entry of one password login.
type tokenCacheFile struct {
	IAMEndpoint string    `json:"iamEndpoint"`
	Domain      string    `json:"domain"`
	User        string    `json:"user"`
	Project     string    `json:"project"`
	Token       string    `json:"token"`
	ExpiresAt   time.Time `json:"expiresAt"`
	ProjectID   string    `json:"projectID,omitempty"`
}

// TokenCachePath is where the token of a password login is cached: the name
// hashes endpoint, domain, user and project (never the password).
func TokenCachePath(cacheDir string, c Config) string {
	return filepath.Join(cacheDir, cacheSubdir, "token-"+cacheKey("token", c.IAMEndpoint, c.DomainName, c.Username, c.ProjectName, c.ProjectID)+".json")
}

func projectCachePath(cacheDir string, c Config) string {
	return filepath.Join(cacheDir, cacheSubdir, "project-"+cacheKey("project", c.IAMEndpoint, c.AK, c.ProjectName)+".json")
}

func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// writePrivateFile writes v as JSON to path with mode 0600, atomically (temp
// file + rename), creating the directory with mode 0700.
func writePrivateFile(path string, v any) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// The iam subdirectory is ours: tighten it if it was created looser.
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	// CreateTemp already uses 0600; Chmod makes it independent of that detail.
	if err := f.Chmod(0o600); err == nil {
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err == nil {
			return nil
		}
	} else {
		_ = f.Close()
	}
	_ = os.Remove(tmp)
	return err
}

func removeIfExists(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = err // a stale file that cannot be removed is overwritten on the next login
	}
}
