// Package manifest decodes the manifests users hand to ccictl (create, apply,
// validate): YAML or JSON, one or many documents per file, from files,
// directories or stdin. Every problem is reported with the file and line it
// was found on, and documents that decode fine are returned even when a
// neighbour in the same stream is broken, so one typo does not hide the rest.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// StdinSource is the Source name of documents read from "-".
const StdinSource = "<stdin>"

// Document is one object (or one failure) found in the input.
type Document struct {
	// Source is the file name, or StdinSource.
	Source string
	// Index is the 0-based position of the document in its source's stream
	// (items of a List count one each).
	Index int
	// Line is the 1-based line on which the document starts.
	Line int
	// Object is the decoded object; nil when Err is set.
	Object *unstructured.Unstructured
	// Raw is the object as JSON; nil when Err is set.
	Raw []byte
	// Err says why the document could not be used; nil when Object is set.
	// It wraps one or more *Error values.
	Err error

	// lines maps field paths (see Child and Index) to the line they are on.
	lines map[string]int
}

// FieldLine returns the line of the field at path (formatted with Child and
// Index), or of its nearest ancestor present in the source, or the
// document's own line when nothing better is known.
func (d Document) FieldLine(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := d.lines[p]; ok {
			return l
		}
	}
	return d.Line
}

// Error is a decoding problem located in the input.
type Error struct {
	Source string
	Line   int
	Field  string
	Msg    string
}

// Error formats as "file:line: field: msg", leaving out the parts that are
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// manifestExts are the extensions picked up when walking a directory.
var manifestExts = map[string]bool{".json": true, ".yaml": true, ".yml": true}

// Read decodes every source in order. A source is a file, a directory (its
// .json/.yaml/.yml files; subdirectories only when recursive) or "-" for
// stdin. The returned error is reserved for input that cannot be read at
// all (a missing path, an unreadable file); problems inside manifests are
// reported per Document.
func Read(sources []string, recursive bool, stdin io.Reader) ([]Document, error) {
	var docs []Document
	for _, src := range sources {
		if src == "-" {
			if stdin == nil {
				return nil, errors.New("no standard input to read from")
			}
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading standard input: %w", err)
			}
			docs = append(docs, Decode(StdinSource, data)...)
			continue
		}
		info, err := os.Stat(src)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("the path %q does not exist", src)
			}
			return nil, err
		}
		if !info.IsDir() {
			// A file named explicitly is read whatever its extension.
			data, err := os.ReadFile(src)
			if err != nil {
				return nil, err
			}
			docs = append(docs, Decode(src, data)...)
			continue
		}
		files, err := listDir(src, recursive)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no manifest files (.json, .yaml, .yml) found in directory %q", src)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			docs = append(docs, Decode(f, data)...)
		}
	}
	return docs, nil
}

func listDir(dir string, recursive bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		if manifestExts[strings.ToLower(filepath.Ext(p))] {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// Decode splits data into documents: a JSON value stream, or YAML documents
// separated by "---". Lists (kind List or any *List with items) are
// flattened into their items.
func Decode(source string, data []byte) []Document {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var docs []Document
	if looksLikeJSON(data) {
		docs = decodeJSONStream(source, data)
	} else {
		docs = decodeYAMLStream(source, data)
	}
	if len(docs) == 0 {
		return []Document{{Source: source, Err: &Error{Source: source, Msg: fmt.Sprintf("no objects found in %q", source)}}}
	}
	for i := range docs {
		docs[i].Index = i
	}
	return docs
}

func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// decodeJSONStream decodes concatenated JSON values. "//" comments (as the
// vendor docs print them) are blanked out first so that every one of them
// can be reported with its field instead of a bare syntax error.
func decodeJSONStream(source string, data []byte) []Document {
	stripped, comments := stripJSONComments(data)
	dec := json.NewDecoder(bytes.NewReader(stripped))
	var docs []Document
	for {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		if err != nil {
			line := lineAt(stripped, start+int64(len(leadingSpace(stripped[start:]))))
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = lineAt(stripped, se.Offset)
			}
			docs = append(docs, Document{Source: source, Line: line,
				Err: &Error{Source: source, Line: line, Msg: "invalid JSON: " + err.Error()}})
			break // the decoder cannot resynchronise after a syntax error
		}
		end := dec.InputOffset()
		begin := start + int64(len(leadingSpace(stripped[start:end])))
		line := lineAt(stripped, begin)
		lines := fieldLines(raw, line-1)
		var errs []error
		for _, c := range comments {
			if c.offset >= begin && c.offset < end {
				errs = append(errs, jsonCommentError(source, c, lines))
			}
		}
		if len(errs) > 0 {
			docs = append(docs, Document{Source: source, Line: line, Err: errors.Join(errs...)})
			continue
		}
		docs = append(docs, objectDocs(source, line, raw, lines)...)
	}
	return docs
}

func leadingSpace(b []byte) []byte {
	return b[:len(b)-len(bytes.TrimLeft(b, " \t\r\n"))]
}

// objectDocs turns one decoded JSON value into documents, checking that it
// is an object with apiVersion and kind and flattening lists.
func objectDocs(source string, line int, raw []byte, lines map[string]int) []Document {
	var v interface{}
	if err := utiljson.Unmarshal(raw, &v); err != nil {
		return []Document{{Source: source, Line: line, Err: &Error{Source: source, Line: line, Msg: "invalid document: " + err.Error()}}}
	}
	if v == nil {
		return nil // an empty or null document, as between two "---"
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return []Document{{Source: source, Line: line, Err: &Error{Source: source, Line: line,
			Msg: fmt.Sprintf("document is %s, not an object (a manifest is a mapping with apiVersion, kind, metadata…)", describe(v))}}}
	}
	if items, isList := listItems(m); isList {
		listKind, _ := m["kind"].(string)
		listAPI, _ := m["apiVersion"].(string)
		var docs []Document
		perItem := itemLines(lines)
		for i, it := range items {
			prefix := Index("items", i)
			itemLine := line
			if l, ok := lines[prefix]; ok {
				itemLine = l
			}
			im, ok := it.(map[string]interface{})
			if !ok {
				docs = append(docs, Document{Source: source, Line: itemLine, Err: &Error{Source: source, Line: itemLine, Field: prefix,
					Msg: fmt.Sprintf("list item is %s, not an object", describe(it))}})
				continue
			}
			// Typed lists (ServiceList…) as servers return them omit the
			// items' kind and apiVersion; they follow from the list.
			if _, ok := im["kind"]; !ok && listKind != "List" && strings.HasSuffix(listKind, "List") {
				im["kind"] = strings.TrimSuffix(listKind, "List")
				if _, ok := im["apiVersion"]; !ok && listAPI != "" {
					im["apiVersion"] = listAPI
				}
			}
			docs = append(docs, newObjectDoc(source, itemLine, im, perItem[i]))
		}
		return docs
	}
	return []Document{newObjectDoc(source, line, m, lines)}
}

func listItems(m map[string]interface{}) ([]interface{}, bool) {
	kind, _ := m["kind"].(string)
	if kind != "List" && !strings.HasSuffix(kind, "List") {
		return nil, false
	}
	items, ok := m["items"].([]interface{})
	if !ok {
		if _, has := m["items"]; has || kind == "List" {
			return nil, m["items"] == nil // "items: null" is an empty list
		}
		return nil, false
	}
	return items, true
}

func newObjectDoc(source string, line int, m map[string]interface{}, lines map[string]int) Document {
	var errs []error
	for _, f := range []string{"apiVersion", "kind"} {
		v, present := m[f]
		s, isString := v.(string)
		switch {
		case !present || v == nil:
			errs = append(errs, &Error{Source: source, Line: line, Field: f, Msg: "missing; every object needs apiVersion and kind"})
		case !isString:
			errs = append(errs, &Error{Source: source, Line: lineOr(lines, f, line), Field: f, Msg: fmt.Sprintf("must be a string, not %s", describe(v))})
		case strings.TrimSpace(s) == "":
			errs = append(errs, &Error{Source: source, Line: lineOr(lines, f, line), Field: f, Msg: "is empty; every object needs apiVersion and kind"})
		}
	}
	if md, ok := m["metadata"]; ok && md != nil {
		if _, isMap := md.(map[string]interface{}); !isMap {
			errs = append(errs, &Error{Source: source, Line: lineOr(lines, "metadata", line), Field: "metadata", Msg: fmt.Sprintf("must be an object, not %s", describe(md))})
		}
	}
	if len(errs) > 0 {
		return Document{Source: source, Line: line, Err: errors.Join(errs...), lines: lines}
	}
	raw, err := json.Marshal(m)
	if err != nil { // cannot happen for values decoded from JSON; kept for safety
		return Document{Source: source, Line: line, Err: &Error{Source: source, Line: line, Msg: err.Error()}}
	}
	return Document{Source: source, Line: line, Object: &unstructured.Unstructured{Object: m}, Raw: raw, lines: lines}
}

func lineOr(lines map[string]int, path string, def int) int {
	if l, ok := lines[path]; ok {
		return l
	}
	return def
}

// itemLines splits a List's field→line map into one map per item, keyed by
// the field path inside the item ("items[3].metadata.name" → item 3,
// "metadata.name"). One pass over the map: asking per item was quadratic.
func itemLines(lines map[string]int) map[int]map[string]int {
	out := map[int]map[string]int{}
	for p, l := range lines {
		rest, ok := strings.CutPrefix(p, "items[")
		if !ok {
			continue
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 || !strings.HasPrefix(rest[end+1:], ".") {
			continue
		}
		i, err := strconv.Atoi(rest[:end])
		if err != nil {
			continue
		}
		if out[i] == nil {
			out[i] = map[string]int{}
		}
		out[i][rest[end+2:]] = l
	}
	return out
}

func describe(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64, json.Number:
		return "a number"
	case []interface{}:
		return "a list"
	case map[string]interface{}:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// WithoutLines returns d with every line number dropped (its own, its
// fields' and those in its errors): for documents decoded from text that
// the user never saw, such as objects a kustomization built, where a line
// would point nowhere.
func (d Document) WithoutLines() Document {
	d.Line = 0
	d.lines = nil
	forgetLines(d.Err)
	return d
}

func forgetLines(err error) {
	switch e := err.(type) {
	case nil:
	case *Error:
		e.Line = 0
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			forgetLines(inner)
		}
	case interface{ Unwrap() error }:
		forgetLines(e.Unwrap())
	}
}
