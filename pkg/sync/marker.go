package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Ownership marker.
//
// Every member sync adds carries, in its `name`, a marker naming the binding:
//
//	ccictl:<namespace>/<name>:<uid>
//
// The uid tells a re-created binding of the same name from the deleted one,
// whose members then become orphans rather than "ours". Kubernetes names
// cannot contain ':' or '/', so the marker parses unambiguously. ELB member
// names may be 255 characters long; a binding name may be 253, so names
// longer than maxMarkerName are shortened to a prefix, '~' (which no
// Kubernetes name contains) and a hash of the full name, keeping every marker
// under 200 characters.
const (
	markerPrefix = "ccictl:"

	maxNamespace  = 63  // DNS-1123 label
	maxObjectName = 253 // DNS-1123 subdomain
	maxUID        = 64  // real UIDs are 36-character UUIDs
	maxMarkerName = 63
	hashLen       = 8
	// MaxMarkerLen bounds len(Marker(o)) for every valid owner.
	MaxMarkerLen = len(markerPrefix) + maxNamespace + 1 + maxMarkerName + 1 + maxUID
)

// Owner identifies the PoolBinding a member belongs to.
type Owner struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
}

func (o Owner) String() string { return o.Namespace + "/" + o.Name }

// ValidateOwner reports whether o can be written into a marker. Name may be
// a full object name or the shortened form ParseMarker returns.
func ValidateOwner(o Owner) error {
	switch {
	case !isLabel(o.Namespace):
		return fmt.Errorf("invalid namespace %q", o.Namespace)
	case !isSubdomain(o.Name) && !isShortened(o.Name):
		return fmt.Errorf("invalid name %q", o.Name)
	case !isUID(o.UID):
		return fmt.Errorf("invalid uid %q", o.UID)
	}
	return nil
}

// Marker returns the member name that marks o's members. It returns "" for
// an owner that ValidateOwner rejects, which matches no member.
func Marker(o Owner) string {
	if ValidateOwner(o) != nil {
		return ""
	}
	return markerPrefix + o.Namespace + "/" + markerName(o.Name) + ":" + o.UID
}

// ParseMarker reads a marker written by Marker. Anything else, including
// names that merely look similar, returns false. For a shortened name the
// returned Owner.Name is the shortened form, so Marker(owner) == name holds
// for every accepted name.
func ParseMarker(name string) (Owner, bool) {
	rest, ok := strings.CutPrefix(name, markerPrefix)
	if !ok {
		return Owner{}, false
	}
	ns, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return Owner{}, false
	}
	n, uid, ok := strings.Cut(rest, ":")
	if !ok {
		return Owner{}, false
	}
	o := Owner{Namespace: ns, Name: n, UID: uid}
	// Only canonical markers are ours: a long unshortened name is not
	// something Marker writes.
	if ValidateOwner(o) != nil || markerName(n) != n {
		return Owner{}, false
	}
	return o, true
}

// markerName is name itself when short enough, else its shortened form.
func markerName(name string) string {
	if len(name) <= maxMarkerName || isShortened(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	keep := maxMarkerName - 1 - hashLen
	return name[:keep] + "~" + hex.EncodeToString(sum[:])[:hashLen]
}

func isShortened(s string) bool {
	keep := maxMarkerName - 1 - hashLen
	if len(s) != maxMarkerName || s[keep] != '~' {
		return false
	}
	return isSubdomainChars(s[:keep]) && isLowerHex(s[keep+1:])
}

func isLabel(s string) bool {
	if len(s) == 0 || len(s) > maxNamespace {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return alnum(s[0]) && alnum(s[len(s)-1])
}

func isSubdomain(s string) bool {
	return len(s) > 0 && len(s) <= maxObjectName && isSubdomainChars(s) && alnum(s[0]) && alnum(s[len(s)-1])
}

func isSubdomainChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func isUID(s string) bool {
	if len(s) == 0 || len(s) > maxUID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'f' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
