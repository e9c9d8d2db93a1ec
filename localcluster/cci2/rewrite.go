package cci2

import (
	"bytes"
	"encoding/json"
	"strings"
)

// decodeJSON reads one JSON value keeping numbers as written (int64 fields
// such as generation or observedGeneration must round-trip exactly).
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// rewriteToCCI rewrites, in place, every object in v that is a stored view
// of a cci/v2 kind (apiVersion v1 or apps/v1 and one of the served kinds, or
// their lists) to apiVersion cci/v2: the object itself, list items, watch
// event objects, full objects in Table rows, ownerReferences and event
// involvedObjects alike, plus the managedFields entries of a rewritten
// object. A Status error's details name group cci.
func rewriteToCCI(v any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			rewriteToCCI(e)
		}
	case map[string]any:
		av, _ := x["apiVersion"].(string)
		kind, _ := x["kind"].(string)
		if toCCI[av+" "+kind] {
			x["apiVersion"] = GroupVersion
			if md, ok := x["metadata"].(map[string]any); ok {
				if mf, ok := md["managedFields"].([]any); ok {
					for _, e := range mf {
						if m, ok := e.(map[string]any); ok && m["apiVersion"] == av {
							m["apiVersion"] = GroupVersion
						}
					}
				}
			}
		}
		if kind == "Status" {
			rewriteStatus(x)
		}
		for k, e := range x {
			if k == "managedFields" {
				continue
			}
			rewriteToCCI(e)
		}
	}
}

// rewriteStatus makes an error name the cci resource: details.group "cci"
// and the message's qualified resource ("deployments.apps \"x\"" or
// "services \"x\"") as the real server words it for group cci.
func rewriteStatus(st map[string]any) {
	d, ok := st["details"].(map[string]any)
	if !ok {
		return
	}
	res, _ := d["kind"].(string)
	r, ok := byName[res]
	if !ok {
		return
	}
	g, _ := d["group"].(string)
	if g != "" && g != "apps" {
		return
	}
	d["group"] = Group
	if msg, ok := st["message"].(string); ok {
		old := r.name
		if g != "" {
			old += "." + g
		}
		st["message"] = strings.Replace(msg, old+" \"", r.name+"."+Group+" \"", 1)
	}
}

// rewriteToCore is rewriteToCCI's inverse for request bodies: every object
// with apiVersion cci/v2 and a served kind gets its stored apiVersion, and
// so do the managedFields entries of such an object.
func rewriteToCore(v any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			rewriteToCore(e)
		}
	case map[string]any:
		av, _ := x["apiVersion"].(string)
		kind, _ := x["kind"].(string)
		if core, ok := toCore[kind]; ok && av == GroupVersion {
			x["apiVersion"] = core
			if md, ok := x["metadata"].(map[string]any); ok {
				if mf, ok := md["managedFields"].([]any); ok {
					for _, e := range mf {
						if m, ok := e.(map[string]any); ok && m["apiVersion"] == GroupVersion {
							m["apiVersion"] = core
						}
					}
				}
			}
		}
		for k, e := range x {
			if k == "managedFields" {
				continue
			}
			rewriteToCore(e)
		}
	}
}

// namespaceOf is the namespace an object of res lives in (a Namespace's
// own name, also in the metadata-only form of Table rows).
func namespaceOf(obj map[string]any, res *resource) string {
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		return ""
	}
	if res.name == "namespaces" {
		s, _ := md["name"].(string)
		return s
	}
	s, _ := md["namespace"].(string)
	return s
}

// dropSystemItems removes the items of a list (or the rows of a Table)
// that live in a system namespace.
func dropSystemItems(v any, res *resource) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for _, key := range []string{"items", "rows"} {
		items, ok := m[key].([]any)
		if !ok {
			continue
		}
		kept := items[:0]
		for _, it := range items {
			obj, _ := it.(map[string]any)
			if key == "rows" {
				obj, _ = obj["object"].(map[string]any)
			}
			if obj != nil && systemNamespace(namespaceOf(obj, res)) {
				continue
			}
			kept = append(kept, it)
		}
		m[key] = kept
	}
}
