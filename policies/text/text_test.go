package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShorten(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefghij... (11 bytes)"},
		// "é" is two bytes: the cut moves back to the start of a character.
		{strings.Repeat("é", 6), 5, "éé... (12 bytes)"},
		{"日本語", 2, "... (9 bytes)"},
	} {
		got := Shorten(c.in, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got := Shown(strings.Repeat("x", MaxShown+1)); !strings.HasSuffix(got, "... (201 bytes)") || len(got) != MaxShown+len("... (201 bytes)") {
		t.Errorf("Shown: %q", got)
	}
}

func FuzzShorten(f *testing.F) {
	f.Add("ééééé", 3)
	f.Add("a", 0)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := Shorten(s, n)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Shorten(%q, %d) = %q: invalid UTF-8", s, n, got)
		}
		if len(s) <= n && got != s {
			t.Fatalf("a value that fits was changed: %q", got)
		}
		if cut := Truncate(s, n); len(cut) > n || !strings.HasPrefix(s, cut) {
			t.Fatalf("Truncate(%q, %d) = %q", s, n, cut)
		}
	})
}
