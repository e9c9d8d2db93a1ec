package bindingsource

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	lbv1 "github.com/openvessel/ccictl/pkg/apis/loadbalancer/v1"
	"github.com/openvessel/ccictl/pkg/poolsync"
)

// Selection is which PoolBindings a pass syncs: by name (none = all) and
// by label selector, within the namespaces it lists.
type Selection struct {
	Names    []string
	Selector labels.Selector // nil = everything
}

// Select returns the bindings of all that the selection takes, in the
// order of all. Every name asked for must be there: a missing one is the
// NotFound error kubectl gives for it.
func (s Selection) Select(all []unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	want := map[string]bool{}
	for _, n := range s.Names {
		want[n] = true
	}
	sel := s.Selector
	if sel == nil {
		sel = labels.Everything()
	}
	var selected []*unstructured.Unstructured
	found := map[string]bool{}
	for i := range all {
		u := &all[i]
		if len(want) > 0 && !want[u.GetName()] {
			continue
		}
		if !sel.Matches(labels.Set(u.GetLabels())) {
			continue
		}
		found[u.GetName()] = true
		selected = append(selected, u)
	}
	var missing []string
	for n := range want {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		for i, n := range missing {
			missing[i] = strconv.Quote(n)
		}
		return nil, fmt.Errorf("Error from server (NotFound): poolbindings.%s %s not found", lbv1.GroupName, strings.Join(missing, ", "))
	}
	return selected, nil
}

// Owners is the owner lookup of the planner over every live binding that
// was listed (the full list, not the selection: members of unselected
// bindings must not look orphaned). namespaces are the namespaces the list
// covered (nil = every namespace): a marker naming a binding elsewhere is
// of unknown liveness, never an orphan.
func Owners(all []unstructured.Unstructured, namespaces []string) poolsync.OwnerLookup {
	live := make([]poolsync.Owner, 0, len(all))
	for i := range all {
		u := &all[i]
		live = append(live, poolsync.Owner{Namespace: u.GetNamespace(), Name: u.GetName(), UID: string(u.GetUID())})
	}
	return poolsync.NewOwnerLookup(live, namespaces)
}

// Binding converts a listed PoolBinding. A binding that does not convert
// still names itself, so its result and status can say why.
func Binding(u *unstructured.Unstructured) (*lbv1.PoolBinding, error) {
	var b lbv1.PoolBinding
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &b); err != nil {
		return &lbv1.PoolBinding{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID()}},
			fmt.Errorf("cannot read PoolBinding: %w", err)
	}
	return &b, nil
}
