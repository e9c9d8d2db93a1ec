package rolloutlab

import (
	"fmt"

	"github.com/openvessel/ccictl/pkg/elb"
	"github.com/openvessel/ccictl/pkg/elb/elbemulator"
)

// MaxSurgePercent is the lab Deployment's maxSurge (maxUnavailable is 0).
const MaxSurgePercent = 25

// Writes are the ELB member writes one rollout made (the emulator's
// counters of calls that reached the operation, retries included),
// against the fewest the documented behaviour allows.
type Writes struct {
	Add    int `json:"add"`
	Delete int `json:"delete"`
	Update int `json:"update"`
	// Minimum is MinimumWrites for the rollout; Steps and PerStep how it
	// was reached.
	Minimum int `json:"minimum"`
	Steps   int `json:"steps"`
	PerStep int `json:"perStep"`
}

// WritesOf reads the writes from the emulator's counters and sets the
// minimum for a rollout of pods on a pool with quota (≤ 0: unbounded).
func WritesOf(counts map[string]int, pods, quota int) Writes {
	w := Writes{Add: counts[elbemulator.OpBatchAddMembers], Delete: counts[elbemulator.OpBatchDeleteMembers],
		Update: counts[elbemulator.OpBatchUpdateMembers]}
	w.Steps, w.PerStep = MinimumSteps(pods, quota)
	w.Minimum = 2 * w.Steps
	return w
}

// Total is all member writes.
func (w Writes) Total() int { return w.Add + w.Delete + w.Update }

// Ratio is Total ÷ Minimum (0 when there is no minimum).
func (w Writes) Ratio() float64 {
	if w.Minimum == 0 {
		return 0
	}
	return float64(w.Total()) / float64(w.Minimum)
}

// String is the writes on one line, e.g. "writes 8 (add=4 delete=4
// update=0) ÷ minimum 8 (4 steps of ≤3 pods) = 1.00".
func (w Writes) String() string {
	return fmt.Sprintf("writes %d (add=%d delete=%d update=%d) ÷ minimum %d (%d steps of ≤%d pods) = %.2f",
		w.Total(), w.Add, w.Delete, w.Update, w.Minimum, w.Steps, w.PerStep, w.Ratio())
}

// MinimumSteps is the fewest steps in which a rolling replacement of pods
// (maxSurge MaxSurgePercent, rounded up as Kubernetes does; maxUnavailable
// 0) can pass through a pool with member quota (≤ 0: unbounded), and the
// most pods one step replaces:
//
//   - the Deployment creates at most surge new pods before old ones go,
//     and removes old ones only as new ones become available, which a
//     readiness gate holds until their members are ONLINE;
//   - a pool already holding the pods' members has quota − pods free
//     slots, so a staged pass adds at most that many before it removes
//     (docs/sync.md, quota-aware staging);
//   - one batch call takes at most elb.MaxBatch members.
//
// With at most b = min(surge, free slots, elb.MaxBatch) pods per step,
// the rollout takes ⌈pods ÷ b⌉ steps. The documented cost of a step that
// waits for the pool is one batch-add and one batch-delete (docs/watch.md,
// Performance; docs/sync.md, ELB API calls), and the lab's pool drains
// removed members itself (connection_drain), so no weight write is
// needed: the minimum is 2 × steps. It is a lower bound: new pods that
// turn ready at different moments are more steps for the controller, each
// costing its own add and delete, so a ratio above 1 is the rollout's
// spread as much as the controller's overhead.
func MinimumSteps(pods, quota int) (steps, perStep int) {
	if pods <= 0 {
		return 0, 0
	}
	b := (pods*MaxSurgePercent + 99) / 100
	if quota > 0 {
		b = min(b, max(quota-pods, 1))
	}
	b = min(b, elb.MaxBatch)
	return (pods + b - 1) / b, b
}
