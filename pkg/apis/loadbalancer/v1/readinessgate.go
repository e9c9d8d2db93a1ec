package v1

import (
	"crypto/sha256"
	"encoding/hex"
)

// ReadinessGatePrefix starts the pod condition type of every PoolBinding's
// readiness gate; the binding's name (or its shortened form) follows it.
const ReadinessGatePrefix = GroupName + "/pool."

// MaxPlainGateName is the longest binding name that appears whole in its
// gate's condition type: a condition type is a qualified name whose part
// after the "/" has at most 63 characters, and "pool." takes 5.
const MaxPlainGateName = 63 - len("pool.")

// gateHashDigits is how many hex digits of the name's SHA-256 a shortened
// condition type keeps.
const gateHashDigits = 10

// ReadinessGateConditionType is the pod condition type of the readiness
// gate of the PoolBinding named bindingName (pods declare it in
// spec.readinessGates; `ccictl sync --watch` sets it):
// "loadbalancer.networking.openvessel.io/pool.<bindingName>".
//
// Binding names may be up to 253 characters, the name part of a condition
// type at most 63, so a name longer than MaxPlainGateName (58) is
// shortened to its first 47 characters, "-", and the first 10 hex digits
// of the SHA-256 of the whole name: 63 characters, and distinct for long
// names that share their first 47 characters.
func ReadinessGateConditionType(bindingName string) string {
	if len(bindingName) <= MaxPlainGateName {
		return ReadinessGatePrefix + bindingName
	}
	sum := sha256.Sum256([]byte(bindingName))
	keep := MaxPlainGateName - 1 - gateHashDigits
	return ReadinessGatePrefix + bindingName[:keep] + "-" + hex.EncodeToString(sum[:])[:gateHashDigits]
}
