package cmdutil

import (
	"bytes"
	"testing"
)

// The expected strings are what kubectl's tab writer prints for the same
// cells: 3-space gap, minimum column width 6, last column unpadded, empty
// cells before it still padded.
func TestTableLayout(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, "CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE")
	tb.Append("", "averyveryverylongcontextname", "", "", "")
	tb.Append("*", "ctx1", "c1", "u1", "ns9")
	tb.Append("", "ctx3", "c1")
	if err := tb.Render(); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"CURRENT   NAME                           CLUSTER   AUTHINFO   NAMESPACE\n" +
		"          averyveryverylongcontextname                        \n" +
		"*         ctx1                           c1        u1         ns9\n" +
		"          ctx3                           c1                   \n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestTableNoHeaderMinimumWidth(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b)
	tb.Append("", "ctx3", "c1", "", "")
	tb.Append("*", "ctx1", "c1", "u1", "ns9")
	if err := tb.Render(); err != nil {
		t.Fatal(err)
	}
	want := "      ctx3   c1          \n*     ctx1   c1    u1    ns9\n"
	if b.String() != want {
		t.Errorf("got %q want %q", b.String(), want)
	}
}

func TestTableEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := NewTable(&b).Render(); err != nil || b.Len() != 0 {
		t.Fatalf("empty table wrote %q, %v", b.String(), err)
	}
	if err := NewTable(&b, "NAME", "KIND").Render(); err != nil || b.String() != "NAME   KIND\n" {
		t.Fatalf("header-only table wrote %q, %v", b.String(), err)
	}
}
