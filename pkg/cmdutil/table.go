package cmdutil

import (
	"bytes"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Column layout of every table ccictl draws itself. These are the numbers of
// kubectl's tab writer (cli-runtime printers.GetNewTabWriter), so a table we
// draw lines up byte for byte with the same table drawn by kubectl.
const (
	tableColumnGap      = 3 // spaces after each column but the last
	tableMinColumnWidth = 6 // a column (text plus gap) is never narrower than this
)

// Table is ccictl's one table style: no borders, no separators, left aligned,
// headers printed exactly as given, columns separated by at least three
// spaces, the last column not padded. It is drawn with tablewriter; rows are
// kept until Render because column widths depend on every row.
type Table struct {
	w      io.Writer
	header []string
	rows   [][]string
}

// NewTable starts a table for w. With no header the table has no header line
// (--no-headers); the number of columns then comes from the rows.
func NewTable(w io.Writer, header ...string) *Table {
	return &Table{w: w, header: header}
}

// Append adds a row. Missing trailing cells are empty.
func (t *Table) Append(cells ...string) {
	t.rows = append(t.rows, append([]string(nil), cells...))
}

// Render writes the table. Nothing is written for a table with neither a
// header nor rows.
func (t *Table) Render() error {
	cols := len(t.header)
	for _, r := range t.rows {
		cols = max(cols, len(r))
	}
	if cols == 0 {
		return nil
	}
	lines := make([][]string, 0, len(t.rows)+1)
	if len(t.header) > 0 {
		lines = append(lines, pad(t.header, cols))
	}
	for _, r := range t.rows {
		lines = append(lines, pad(r, cols))
	}

	widths := make([]int, cols)
	for _, l := range lines {
		for i, c := range l {
			widths[i] = max(widths[i], twwidth.Width(c))
		}
	}
	// Per-column right padding gives the gap and the minimum width.
	padding := make([]tw.Padding, cols)
	for i, wd := range widths {
		right := 0
		if i < cols-1 {
			right = max(wd+tableColumnGap, tableMinColumnWidth) - wd
		}
		padding[i] = tw.Padding{Right: strings.Repeat(" ", right), Overwrite: true}
	}
	cell := tw.CellConfig{
		Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone, AutoFormat: tw.Off},
		Padding:    tw.CellPadding{Global: tw.PaddingNone, PerColumn: padding},
		Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
	}

	var buf bytes.Buffer
	table := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders:  tw.BorderNone,
			Symbols:  tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{Lines: tw.LinesNone, Separators: tw.SeparatorsNone},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header:   cell,
			Row:      cell,
			Behavior: tw.Behavior{TrimSpace: tw.Off},
		}),
	)
	start := 0
	if len(t.header) > 0 {
		table.Header(toAny(lines[0])...)
		start = 1
	}
	for _, l := range lines[start:] {
		if err := table.Append(l); err != nil {
			return err
		}
	}
	if err := table.Render(); err != nil {
		return err
	}

	// tablewriter fills the last column to its width; kubectl's writer does
	// not, so that fill (and only that: empty cells before it keep their
	// padding, as in kubectl) is cut off each line.
	out := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var res strings.Builder
	for i, l := range out {
		if i >= len(lines) {
			break
		}
		fill := widths[cols-1] - twwidth.Width(lines[i][cols-1])
		l = strings.TrimRight(l, "\r")
		if fill > 0 && strings.HasSuffix(l, strings.Repeat(" ", fill)) {
			l = l[:len(l)-fill]
		}
		res.WriteString(l)
		res.WriteByte('\n')
	}
	_, err := io.WriteString(t.w, res.String())
	return err
}

func pad(cells []string, n int) []string {
	out := make([]string, n)
	copy(out, cells)
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
