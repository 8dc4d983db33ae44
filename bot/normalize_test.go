package bot

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalizeText(t *testing.T) {
	cases := []struct {
		in, want string
		problem  Problem
	}{
		{"  quanto   costa\n\nil rinnovo? ", "quanto costa il rinnovo?", ProblemNone},
		{"", "", ProblemEmpty},
		{"\u200b\u2060 \t", "", ProblemEmpty},
		{"\xff\xfe", "", ProblemGarbled},
		{"ciao\xffmondo", "ciao mondo", ProblemNone},
		{"مرحبا\u202e abc", "مرحبا abc", ProblemNone},
		{"আমার\u200cপারমিট", "আমার\u200cপারমিট", ProblemNone},
		{strings.Repeat("a", MaxTextRunes), strings.Repeat("a", MaxTextRunes), ProblemNone},
		{strings.Repeat("a", MaxTextRunes+1), "", ProblemTooLong},
	}
	for _, c := range cases {
		got, p := NormalizeText(c.in)
		if got != c.want || p != c.problem {
			t.Errorf("NormalizeText(%q) = %q, %q; want %q, %q", c.in, got, p, c.want, c.problem)
		}
	}
}

func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"", " ", "quanto costa", "\xff", "a\x00b", "مرحبا\u202e", strings.Repeat("ü", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, p := NormalizeText(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out: %q", got)
		}
		if p != ProblemNone && got != "" {
			t.Fatalf("problem %q with text %q", p, got)
		}
		if p == ProblemNone && (got == "" || utf8.RuneCountInString(got) > MaxTextRunes) {
			t.Fatalf("accepted %q", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || r == '\u202e' {
				t.Fatalf("control character left in %q", got)
			}
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("white space not collapsed: %q", got)
		}
	})
}

func TestParseMarkup(t *testing.T) {
	got := ParseMarkup("Pay **70.46 €** at [Poste](https://www.poste.it).\n- one\n- [bad](javascript:alert(1)) **open")
	want := []Span{
		{Text: "Pay "}, {Text: "70.46 €", Bold: true}, {Text: " at "}, {Text: "Poste", URL: "https://www.poste.it"},
		{Text: ".\n• one\n• [bad](javascript:alert(1)) **open"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %#v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("span %d = %#v, want %#v", i, got[i], want[i])
		}
	}
}

func FuzzParseMarkup(f *testing.F) {
	for _, s := range []string{"**b**", "[a](https://x.y)", "- x\n- y", "[x](", "**", "[](https://a.b)", "\xff**\xfe**"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spans := ParseMarkup(s)
		var text strings.Builder
		for _, sp := range spans {
			if sp.URL != "" && !strings.HasPrefix(sp.URL, "http://") && !strings.HasPrefix(sp.URL, "https://") {
				t.Fatalf("non-web link %q from %q", sp.URL, s)
			}
			text.WriteString(sp.Text)
		}
		// Markup only removes characters; it never invents text.
		if text.Len() > len(s)+2*strings.Count(s, "- ") {
			t.Fatalf("spans longer than input: %q -> %#v", s, spans)
		}
	})
}
