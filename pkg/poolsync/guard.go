package poolsync

import (
	"fmt"

	"github.com/openvessel/ccictl/pkg/elb"
)

// The plan's guard: what it withholds of the changes ComputePlan computed,
// and why (Plan.Blocked).

// readProblem says why the member list cannot be a consistent read of the
// pool, or "": known, what the caller found (PlanOptions.InconsistentRead);
// an ID repeated or missing; or two members at one address+port. The API
// holds one member per address+port, so a list that shows two is not a
// consistent read of the pool (whoever owns them): a member that moved to
// a new ID between two pages shows at both, and removing "the extra one"
// may remove the live one.
func readProblem(cur []elb.Member, known string) string {
	switch {
	case known != "":
		return known
	case !consistentIDs(cur):
		return "the member list repeats or lacks a member id"
	}
	seen := make(map[memberKey]bool, len(cur))
	for _, m := range cur {
		k := keyOf(m.Address, m.ProtocolPort)
		if seen[k] {
			return fmt.Sprintf("the member list shows two members at %s", Endpoint{Address: k.addr, Port: k.port})
		}
		seen[k] = true
	}
	return ""
}

// planChanges are the writes a plan computed beyond additions: removals,
// weight changes and re-marks.
type planChanges struct {
	remove []elb.Member
	update []WeightUpdate
	rename []Rename
}

// planGuard is what the guard knows about the pass: whether the desired
// set is complete, whether the member list is a consistent read, whether
// the pool refuses removals, and whether nothing is desired.
type planGuard struct {
	incomplete        bool
	readProblem       string
	deletionProtected bool
	nothingDesired    bool
	allowEmpty        bool
}

// apply returns the changes the guard lets through, those it withholds,
// and why (a Blocked* reason; "" when it withholds nothing). Additions are
// never withheld. A guard that withholds removals withholds weight
// changes and re-marks too: a pass that cannot trust what it read changes
// nothing but adds, and draining every member to weight 0 empties a pool
// as surely as removing them.
func (g planGuard) apply(ch planChanges) (allowed, withheld planChanges, blocked string) {
	switch {
	case g.incomplete:
		return planChanges{}, ch, BlockedIncomplete
	case g.readProblem != "":
		return planChanges{}, ch, BlockedInconsistentRead
	case g.deletionProtected && len(ch.remove) > 0:
		// The API refuses removals; weight changes still go through.
		return planChanges{update: ch.update, rename: ch.rename}, planChanges{remove: ch.remove}, BlockedDeletionProtected
	case g.nothingDesired && (len(ch.remove) > 0 || len(ch.update) > 0) && !g.allowEmpty:
		// Covers orphans too: pruning them with nothing desired would also
		// empty the pool, which is exactly what AllowEmpty guards.
		return planChanges{}, ch, BlockedEmptyRefused
	}
	return ch, planChanges{}, ""
}

func consistentIDs(ms []elb.Member) bool {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if m.ID == "" || seen[m.ID] {
			return false
		}
		seen[m.ID] = true
	}
	return true
}
