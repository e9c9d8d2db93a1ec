package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// docSeparator matches a YAML document marker line. At column 0 it always
// ends a document, even inside block scalars, so splitting on it is safe.
var docSeparator = regexp.MustCompile(`^---([ \t].*)?$`)

// yamlLineRe finds the line number in go-yaml error messages.
var yamlLineRe = regexp.MustCompile(`line (\d+)`)

type chunk struct {
	data      []byte
	firstLine int // 1-based line of chunk's first line in the file
}

func splitYAML(data []byte) []chunk {
	lines := bytes.SplitAfter(data, []byte("\n"))
	var chunks []chunk
	cur := chunk{firstLine: 1}
	for i, l := range lines {
		trimmed := strings.TrimRight(string(l), "\r\n")
		if docSeparator.MatchString(trimmed) || trimmed == "..." {
			chunks = append(chunks, cur)
			cur = chunk{firstLine: i + 2}
			continue
		}
		cur.data = append(cur.data, l...)
	}
	return append(chunks, cur)
}

// firstContentLine returns the 0-based index of the first line that is not
// blank or a comment, or -1.
func firstContentLine(data []byte) int {
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") {
			return i
		}
	}
	return -1
}

func decodeYAMLStream(source string, data []byte) []Document {
	var docs []Document
	for _, c := range splitYAML(data) {
		first := firstContentLine(c.data)
		if first < 0 {
			continue // empty document
		}
		line := c.firstLine + first
		offset := c.firstLine - 1
		// sigs.k8s.io/yaml is what kubectl uses, so it decides what the
		// document means (YAML 1.1 booleans and all).
		js, err := yaml.YAMLToJSON(c.data)
		if err != nil {
			docs = append(docs, Document{Source: source, Line: line, Err: yamlSyntaxError(source, c, err)})
			continue
		}
		// go-yaml v3 keeps positions and scalar styles; it serves line
		// numbers and the "//" comment check.
		var root yamlv3.Node
		lines := map[string]int{}
		if yamlv3.Unmarshal(c.data, &root) == nil {
			walkNode(&root, "", offset, lines)
			if errs := yamlCommentErrors(source, &root, offset); len(errs) > 0 {
				docs = append(docs, Document{Source: source, Line: line, Err: errors.Join(errs...)})
				continue
			}
		}
		docs = append(docs, objectDocs(source, line, js, lines)...)
	}
	return docs
}

func yamlSyntaxError(source string, c chunk, err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := c.firstLine + max(firstContentLine(c.data), 0)
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			line = c.firstLine - 1 + n
			msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
		}
	}
	msg = "invalid YAML: " + msg
	// A "//" comment from the docs often is what broke the document.
	for i, l := range strings.Split(string(c.data), "\n") {
		if idx := docCommentIndex(l); idx >= 0 {
			// Point at the comment: it is the likelier culprit than the
			// place where the parser gave up.
			line = c.firstLine + i
			msg += fmt.Sprintf(` (line %d contains a "//" comment copied from documentation; remove it, YAML comments start with #)`, line)
			break
		}
	}
	return &Error{Source: source, Line: line, Msg: msg}
}

// docCommentIndex returns where a "//" comment starts in a raw line: at the
// start of the content or after whitespace, never in "https://x".
func docCommentIndex(l string) int {
	for i := 0; i+1 < len(l); i++ {
		if l[i] == '/' && l[i+1] == '/' && (strings.TrimSpace(l[:i]) == "" || l[i-1] == ' ' || l[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// walkNode records the line of every mapping key and sequence item.
func walkNode(n *yamlv3.Node, path string, offset int, lines map[string]int) {
	switch n.Kind {
	case yamlv3.DocumentNode:
		for _, c := range n.Content {
			walkNode(c, path, offset, lines)
		}
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := Child(path, k.Value)
			lines[p] = k.Line + offset
			walkNode(v, p, offset, lines)
		}
	case yamlv3.SequenceNode:
		for i, c := range n.Content {
			p := Index(path, i)
			lines[p] = c.Line + offset
			walkNode(c, p, offset, lines)
		}
	}
}

// yamlCommentErrors reports plain scalars that swallowed a "//" comment.
// Only plain scalars: quoted and block scalars are deliberate text.
func yamlCommentErrors(source string, root *yamlv3.Node, offset int) []error {
	var errs []error
	var walk func(n *yamlv3.Node, path string)
	check := func(n *yamlv3.Node, path string) {
		if n.Kind != yamlv3.ScalarNode || n.Style != 0 {
			return
		}
		if strings.HasPrefix(n.Value, "//") || containsSpaceSlashes(n.Value) {
			errs = append(errs, &Error{Source: source, Line: n.Line + offset, Field: path,
				Msg: fmt.Sprintf(`value %q contains a "//" comment copied from documentation; remove it (YAML comments start with #)`, truncate(n.Value, 24))})
		}
	}
	walk = func(n *yamlv3.Node, path string) {
		switch n.Kind {
		case yamlv3.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yamlv3.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := Child(path, n.Content[i].Value)
				check(n.Content[i], p) // a key can swallow one too: "//x: y"
				walk(n.Content[i+1], p)
			}
		case yamlv3.SequenceNode:
			for i, c := range n.Content {
				walk(c, Index(path, i))
			}
		case yamlv3.ScalarNode:
			check(n, path)
		}
	}
	walk(root, "")
	return errs
}

func containsSpaceSlashes(s string) bool {
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '/' && s[i+1] == '/' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// fieldLines parses JSON (a YAML subset) for positions; offset is added to
// every line. Best effort: an unparsable value yields no positions.
func fieldLines(raw []byte, offset int) map[string]int {
	lines := map[string]int{}
	var root yamlv3.Node
	if yamlv3.Unmarshal(raw, &root) == nil {
		walkNode(&root, "", offset, lines)
	}
	return lines
}

// identRe matches keys that can be written after a dot in a field path.
var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// Child appends key to a field path: "spec" + "ports" is "spec.ports";
// keys that are not plain identifiers are bracketed, as in
// metadata.annotations[kubernetes.io/elb.id].
func Child(parent, key string) string {
	if identRe.MatchString(key) {
		if parent == "" {
			return key
		}
		return parent + "." + key
	}
	return parent + "[" + key + "]"
}

// Index appends a list index to a field path: spec.ports[0].
func Index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parentPath drops the last segment of a field path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndex(p, "["); i >= 0 {
			return p[:i]
		}
		return ""
	}
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// jsonComment is a "//" comment found outside JSON strings.
type jsonComment struct {
	offset int64
	line   int
	text   string
}

// stripJSONComments blanks "//" comments (to the end of their line) that lie
// outside strings, keeping every other byte in place so offsets and lines
// stay valid.
func stripJSONComments(data []byte) ([]byte, []jsonComment) {
	out := append([]byte(nil), data...)
	var comments []jsonComment
	inString, escaped := false, false
	line := 1
	for i := 0; i < len(out); i++ {
		ch := out[i]
		if ch == '\n' {
			line++
		}
		if inString {
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"' || ch == '\n':
				inString = false
			}
			continue
		}
		if ch == '"' {
			inString = true
			continue
		}
		if ch == '/' && i+1 < len(out) && out[i+1] == '/' {
			end := bytes.IndexByte(out[i:], '\n')
			if end < 0 {
				end = len(out) - i
			}
			comments = append(comments, jsonComment{offset: int64(i), line: line, text: strings.TrimSpace(string(out[i : i+end]))})
			for j := i; j < i+end; j++ {
				out[j] = ' '
			}
			i += end - 1
		}
	}
	return out, comments
}

func jsonCommentError(source string, c jsonComment, lines map[string]int) error {
	// The field is the last key that starts on or before the comment's line.
	field, best := "", 0
	for p, l := range lines {
		if l <= c.line && (l > best || (l == best && (len(p) > len(field) || (len(p) == len(field) && p < field)))) {
			field, best = p, l
		}
	}
	return &Error{Source: source, Line: c.line, Field: field,
		Msg: fmt.Sprintf(`contains a "//" comment copied from documentation (%q); remove it, JSON has no comments`, truncate(c.text, 30))}
}
