package poolsync

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openvessel/ccictl/pkg/client/redact"
	"github.com/openvessel/ccictl/pkg/elb"
)

// Result is what one binding's pass planned and did. It is the
// machine-readable output of `ccictl sync -o json|yaml`: field order is
// fixed, counts are always present, lists are sorted.
type Result struct {
	// Binding is "namespace/name".
	Binding   string `json:"binding"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
	PoolID    string `json:"poolId"`
	// Region of the pool (the binding's region annotation); "" is the
	// pass's own region.
	Region string `json:"region,omitempty"`
	// Context is the cliconfig context the binding was read from, in a
	// pass over several clusters.
	Context string `json:"context,omitempty"`
	// State is one of the State* values; Reason the condition reason.
	State   string `json:"state"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
	DryRun  bool   `json:"dryRun"`
	// Blocked is the planner's guard reason (Blocked*), if any.
	Blocked string `json:"blocked,omitempty"`

	// Plan is what the pass intended from what it read.
	Plan PlanSummary `json:"plan"`

	// What the pass did (zero on a dry run). Added counts members now
	// present because of this pass, including answers "existed"; Removed
	// includes "not found".
	Added   int `json:"added"`
	Removed int `json:"removed"`
	// Existed and NotFound are the parts of Added and Removed the API
	// reported as already done (e.g. by a concurrent pass).
	Existed  int `json:"existed"`
	NotFound int `json:"notFound"`
	// Updated counts member weights this pass changed (drained to 0, or
	// restored to the binding's weight).
	Updated int `json:"updated"`
	// Renamed counts members this pass re-marked (legacy markers migrated,
	// members handed over to another binding).
	Renamed int `json:"renamed"`

	// The pool after the pass, as far as this pass knows.
	Desired    int `json:"desired"`
	Registered int `json:"registered"`
	Kept       int `json:"kept"`
	Foreign    int `json:"foreign"`
	Orphans    int `json:"orphans"`
	// Draining counts owned members of terminating endpoints kept at weight 0.
	Draining int `json:"draining"`
	// UnknownZone counts ready endpoints a zone-scoped binding skipped
	// because their zone (or node) is not known.
	UnknownZone int `json:"unknownZone"`
	// Zones counts the desired endpoints per zone (Target.ZoneEndpoints).
	Zones map[string]int `json:"zones,omitempty"`

	// Notes say what the pool's settings changed about the pass, e.g. that
	// its lb_algorithm ignores weights so terminating endpoints were removed.
	Notes []string `json:"notes,omitempty"`

	// Rounds is the number of rounds the pass ran (staging, see Stage).
	Rounds int `json:"rounds"`
	// RoundLog says what each round did, when there was more than one.
	RoundLog []RoundReport `json:"roundLog,omitempty"`
	// Health of the members at desired endpoints, when the pool has a
	// health monitor.
	Health *HealthSummary `json:"health,omitempty"`

	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"`

	// PoolRead: the member counts come from a read of the pool (a status
	// keeps its earlier counts otherwise). Not part of the output.
	PoolRead bool `json:"-"`
	// dropped: planned removals a re-check before removing dropped.
	dropped int
	// port and laggingSlices describe an EndpointSlice transition.
	port          int32
	laggingSlices int
	// updated are the members whose batch-update was answered;
	// handoverNote is 1 + the index in Notes of the handover note (0 =
	// none), which settleUpdates corrects to what was done.
	updated      map[string]bool
	handoverNote int
}

// RoundReport is one round of a staged pass: the members it added and
// removed, how long it waited for the new ones to be healthy, and the
// pool's member count after it.
type RoundReport struct {
	Round   int     `json:"round"`
	Added   int     `json:"added"`
	Removed int     `json:"removed"`
	Waited  float64 `json:"waitedSeconds"`
	Members int     `json:"members"`
}

// PlanSummary is the plan part of a Result.
type PlanSummary struct {
	Desired   int `json:"desired"`
	Current   int `json:"current"`
	Add       int `json:"add"`
	Remove    int `json:"remove"`
	Keep      int `json:"keep"`
	Foreign   int `json:"foreign"`
	Orphans   int `json:"orphans"`
	Conflicts int `json:"conflicts"`
	Withheld  int `json:"withheld"`
	// Transition is the number of removals withheld at endpoints of
	// lagging EndpointSlices.
	Transition int `json:"transition"`
	// Prune is the number of orphans among Remove.
	Prune int `json:"prune"`
	// Update is the number of weight changes; Draining the owned members
	// of terminating endpoints kept at weight 0.
	Update   int `json:"update"`
	Draining int `json:"draining"`
	// Quota is the pool's member quota staged against (-1 = unlimited)
	// and QuotaSource where it came from (QuotaFrom*); Rounds the rounds
	// planned and Short the additions that cannot fit.
	Quota       int         `json:"quota"`
	QuotaSource string      `json:"quotaSource,omitempty"`
	Rounds      int         `json:"rounds"`
	Short       int         `json:"short"`
	ToAdd       []MemberRef `json:"toAdd"`
	ToRemove    []MemberRef `json:"toRemove"`
	ToUpdate    []WeightRef `json:"toUpdate"`
	// Rename is the number of members to re-mark; ToRename lists them.
	Rename   int         `json:"rename"`
	ToRename []RenameRef `json:"toRename"`
	Conflict []MemberRef `json:"conflicting"`
}

// RenameRef is a planned re-mark in output: the member, its new name and
// why (Migrate, Handover).
type RenameRef struct {
	MemberRef
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// WeightRef is a planned weight change in output.
type WeightRef struct {
	MemberRef
	From   int32  `json:"from"`
	To     int32  `json:"to"`
	Reason string `json:"reason"`
}

// MemberRef names a pool member in output.
type MemberRef struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
	Port    int32  `json:"port"`
}

// Quiet is r as a pass that found nothing to change would report it: the
// counts of the pool as r left it, without what r did (the watch-mode
// gate polls, which read health only, report their binding this way).
func (r Result) Quiet() Result {
	q := r
	q.setOutcome(StateInSync, ReasonInSync, "")
	q.Added, q.Removed, q.Existed, q.NotFound, q.Updated, q.Renamed = 0, 0, 0, 0, 0, 0
	q.RoundLog, q.Warnings, q.Errors = nil, nil, nil
	return q
}

// InSync reports whether the pool matched the binding after the pass.
func (r Result) InSync() bool { return r.State == StateInSync || r.State == StateSynced }

// Line is the default one-line output, e.g.
// "poolbinding/test-c1: +3 -1 =10 foreign=1". A dry run shows the plan.
func (r Result) Line() string {
	add, rm := r.Added, r.Removed
	if r.DryRun {
		add, rm = r.Plan.Add, r.Plan.Remove
	}
	s := fmt.Sprintf("poolbinding/%s: +%d -%d =%d foreign=%d", r.Name, add, rm, r.Kept, r.Foreign)
	if r.Orphans > 0 {
		s += fmt.Sprintf(" orphans=%d", r.Orphans)
	}
	if r.Draining > 0 {
		s += fmt.Sprintf(" draining=%d", r.Draining)
	}
	if r.UnknownZone > 0 {
		s += fmt.Sprintf(" unknown-zone=%d", r.UnknownZone)
	}
	if rn := r.Renamed; r.DryRun && r.Plan.Rename > 0 || rn > 0 {
		if r.DryRun {
			rn = r.Plan.Rename
		}
		s += fmt.Sprintf(" remarked=%d", rn)
	}
	if up := r.Updated; r.DryRun && r.Plan.Update > 0 || up > 0 {
		if r.DryRun {
			up = r.Plan.Update
		}
		s += fmt.Sprintf(" weights=%d", up)
	}
	if r.Health != nil && r.Health.Monitored {
		s += fmt.Sprintf(" healthy=%d/%d", r.Health.Healthy, r.Health.Healthy+r.Health.Unhealthy)
	}
	if rounds := max(r.Rounds, r.Plan.Rounds*btoi(r.DryRun)); rounds > 1 {
		s += fmt.Sprintf(" rounds=%d", rounds)
	}
	for _, n := range r.Notes {
		s += " (" + n + ")"
	}
	switch r.State {
	case StateInSync, StateSynced:
	case StatePending:
		s += " (dry run)"
	default:
		s += " " + strings.ToLower(r.State) + ": " + r.Reason
		if r.Message != "" {
			s += ": " + r.Message
		}
	}
	return s
}

func newResult(t Target, opts Options) Result {
	r := Result{DryRun: opts.DryRun, Plan: PlanSummary{ToAdd: []MemberRef{}, ToRemove: []MemberRef{}, ToUpdate: []WeightRef{}, ToRename: []RenameRef{}, Conflict: []MemberRef{}}}
	b := t.Binding
	if b == nil {
		return r.setOutcome(StateFailed, ReasonInvalidBinding, "no binding")
	}
	r.Namespace, r.Name, r.UID = b.Namespace, b.Name, string(b.UID)
	r.Binding = b.Namespace + "/" + b.Name
	r.PoolID = b.Spec.PoolRef.ID
	r.Desired = len(validDesired(t.Endpoints))
	r.UnknownZone = t.UnknownZone
	r.Zones = t.ZoneEndpoints
	r.Plan.Desired = r.Desired
	switch err := ValidateOwner(ownerOf(b, opts.ClusterID)); {
	case err != nil:
		r.setOutcome(StateFailed, ReasonInvalidBinding, "binding cannot own members: "+err.Error())
	case r.PoolID == "":
		r.setOutcome(StateFailed, ReasonInvalidBinding, "spec.poolRef.id is empty")
	case !ValidPoolID(r.PoolID):
		r.setOutcome(StateFailed, ReasonInvalidBinding, fmt.Sprintf("spec.poolRef.id %q is not a backend server group ID (a UUID of lowercase hex digits and '-', e.g. e0812a4c-6b1d-4c8e-9f3a-5d2b7c9a29c1); nothing changed", r.PoolID))
	}
	if region, err := b.Region(); err != nil && r.State == "" {
		r.setOutcome(StateFailed, ReasonInvalidBinding, err.Error()+"; nothing changed")
	} else {
		r.Region = region
	}
	return r
}

func (r *Result) setPlan(p Plan, current int) {
	r.PoolRead = true
	r.Blocked = p.Blocked
	r.Plan = PlanSummary{
		Desired:    len(p.Desired),
		Current:    current,
		Add:        len(p.ToAdd),
		Remove:     len(p.ToRemove),
		Keep:       len(p.Keep),
		Foreign:    len(p.Foreign),
		Orphans:    len(p.Orphans),
		Conflicts:  len(p.Conflicts),
		Withheld:   len(p.Withheld),
		Transition: len(p.Transition),
		Update:     len(p.ToUpdate),
		Draining:   len(p.Draining),
		ToAdd:      make([]MemberRef, 0, len(p.ToAdd)),
		ToRemove:   refs(p.ToRemove),
		ToUpdate:   make([]WeightRef, 0, len(p.ToUpdate)),
		ToRename:   make([]RenameRef, 0, len(p.ToRename)),
		Conflict:   refs(p.Conflicts),
	}
	for _, u := range p.ToUpdate {
		m := u.Member
		r.Plan.ToUpdate = append(r.Plan.ToUpdate, WeightRef{
			MemberRef: MemberRef{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort},
			From:      m.Weight, To: u.Weight, Reason: u.Reason,
		})
	}
	for _, m := range p.ToRemove {
		if !p.Owns(m.Name) {
			r.Plan.Prune++
		}
	}
	r.Plan.Rename = len(p.ToRename)
	if note := handoverNote(p.ToRename, func(elb.Member) bool { return true }); note != "" {
		r.Notes = append(r.Notes, note)
		r.handoverNote = len(r.Notes)
	}
	for _, x := range p.ToRename {
		m := x.Member
		r.Plan.ToRename = append(r.Plan.ToRename, RenameRef{
			MemberRef: MemberRef{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort},
			To:        x.Name, Reason: x.Reason,
		})
	}
	for _, m := range p.ToAdd {
		r.Plan.ToAdd = append(r.Plan.ToAdd, MemberRef{Name: m.Name, Address: m.Address, Port: m.ProtocolPort})
	}
	r.Desired = len(p.Desired)
	r.Kept, r.Foreign, r.Orphans = len(p.Keep), len(p.Foreign), len(p.Orphans)
	r.Draining = len(p.Draining)
	// Desired endpoints already present: ours, or held by another member.
	r.Registered = len(p.Keep) + len(p.Conflicts)
}

// handoverNote says how many members of renames were handed over to which
// bindings, counting those done reports; "" for none.
func handoverNote(renames []Rename, done func(elb.Member) bool) string {
	var to []string
	handed := 0
	for _, x := range renames {
		if x.Reason == RenameHandover && done(x.Member) {
			handed++
			if o, ok := ParseMarker(x.Name); ok && !slices.Contains(to, o.String()) {
				to = append(to, o.String())
			}
		}
	}
	if handed == 0 {
		return ""
	}
	slices.Sort(to)
	return fmt.Sprintf("%d member(s) handed over to %s, which want(s) their endpoints", handed, strings.Join(to, ", "))
}

// recordWrites records what the pass's batch calls did.
func (r *Result) recordWrites(x *rounds) {
	r.Added, r.Existed = x.added, x.existed
	r.Removed, r.NotFound = x.removed, x.notFound
	r.Updated, r.Renamed = x.updated.weights, x.updated.names
	// Desired endpoints now held by members this pass added.
	r.Registered += x.added
	r.dropped = x.dropped
	r.Rounds, r.RoundLog = x.ran, x.log
	if x.updated.ids != nil {
		r.updated = make(map[string]bool, len(x.updated.ids))
		for _, id := range x.updated.ids {
			r.updated[id] = true
		}
	}
}

// settleUpdates makes what depends on weight changes and re-marks — the
// draining count and the handover note — say what the batch-updates did
// rather than what the plan asked: an update that failed or was not
// reached left its members as they were.
func (r *Result) settleUpdates(p Plan) {
	done := func(m elb.Member) bool { return r.updated[m.ID] }
	r.Draining = 0
	for _, m := range p.Draining {
		if m.Weight == 0 || done(m) {
			r.Draining++
		}
	}
	if r.handoverNote == 0 {
		return
	}
	i := r.handoverNote - 1
	if note := handoverNote(p.ToRename, done); note != "" {
		r.Notes[i] = note
	} else {
		r.Notes = slices.Delete(r.Notes, i, i+1)
		r.handoverNote = 0
	}
}

func refs(ms []elb.Member) []MemberRef {
	out := make([]MemberRef, 0, len(ms))
	for _, m := range ms {
		out = append(out, MemberRef{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort})
	}
	return out
}

// noteDrain says, in the result, when the pool's settings made terminating
// endpoints be removed rather than drained by weight.
func (r *Result) noteDrain(p Plan, pool *elb.Pool) {
	n := len(p.DrainRemoved)
	if n == 0 {
		return
	}
	switch DrainModeOf(pool) {
	case DrainWeightIgnored:
		r.Notes = append(r.Notes, fmt.Sprintf("lb_algorithm %s ignores weights: %d member(s) of terminating endpoints removed without draining", pool.LBAlgorithm, n))
	case DrainByPool:
		r.Notes = append(r.Notes, fmt.Sprintf("connection_drain is enabled (timeout %ds): %d member(s) of terminating endpoints removed, the ELB drains their connections", pool.ConnectionDrain.Timeout, n))
	}
}

// The two copies of the vendor's FAQ "When Will Modified Weights Take
// Effect?" (elb_faq_0125), which disagree on weight 0 for TCP/UDP/QUIC
// pools without connection_drain.
const (
	weightFAQChinaURL = "https://support.huaweicloud.com/elb_faq/elb_faq_0125.html"
	weightFAQIntlURL  = "https://support.huaweicloud.com/intl/en-us/elb_faq/elb_faq_0125.html"
)

// warnWeightZero warns when the pass sets (with --dry-run: would set)
// members of terminating endpoints to weight 0 on a TCP, UDP or QUIC pool
// whose connection_drain is off. The vendor's Chinese FAQ says weight 0
// then cuts the members' existing connections at once, its international
// copy that they close after the idle timeout; sync takes the reading that
// keeps them, so the user must hear that the other one may hold. The
// warning comes with the weight change itself, not on every pass of such a
// pool: it is the moment connections are at risk, and a watch that passes
// every few seconds would otherwise repeat it for pools that never roll.
func (r *Result) warnWeightZero(p Plan, pool *elb.Pool) {
	if DrainModeOf(pool) != DrainByWeight {
		return
	}
	switch strings.ToUpper(pool.Protocol) {
	case "TCP", "UDP", "QUIC":
	default:
		return // HTTP/HTTPS: weight 0 ends requests, not connections
	}
	n := 0
	for _, u := range p.ToUpdate {
		if u.Reason == UpdateDrain {
			n++
		}
	}
	if n == 0 {
		return
	}
	r.Warnings = append(r.Warnings, fmt.Sprintf("pool %s (%s) has connection_drain off: %d member(s) of terminating endpoints drained by weight 0, "+
		"whose existing connections may be cut at once (Chinese copy of the vendor FAQ \"When Will Modified Weights Take Effect?\", %s) "+
		"or closed after the idle timeout (international copy, %s); enable connection_drain on the pool to keep them for its timeout",
		pool.ID, strings.ToUpper(pool.Protocol), n, weightFAQChinaURL, weightFAQIntlURL))
}

// setHealth records what is known about health; a pool without a health
// monitor has nothing to report (every member is NO_MONITOR).
func (r *Result) setHealth(monitored bool, x *rounds, waited time.Duration) {
	if monitored {
		r.Health = x.hb.summary(monitored, x.gate, x.polls, waited)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Mask replaces every secret the process knows (and credential header
// values) in the free-text parts of r: the last line of defence before a
// result reaches stdout, a report or a PoolBinding's status.
func (r *Result) Mask() {
	r.Message = redact.String(r.Message)
	for _, list := range [][]string{r.Errors, r.Notes, r.Warnings} {
		for j := range list {
			list[j] = redact.String(list[j])
		}
	}
}
