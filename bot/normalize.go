package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTextRunes is the longest message Sportello reads; longer ones get a polite request to shorten.
const MaxTextRunes = 4000

// Problem says why an inbound text cannot be handled as it is.
type Problem string

const (
	ProblemNone    Problem = ""
	ProblemEmpty   Problem = "empty"    // nothing but white space or invisible characters
	ProblemTooLong Problem = "too_long" // more than MaxTextRunes
	ProblemGarbled Problem = "garbled"  // invalid UTF-8 with nothing readable left
)

// NormalizeText makes user text safe to process: invalid UTF-8 is dropped, control and
// invisible formatting characters are removed (newlines become spaces), white space is
// collapsed. It reports a Problem when nothing usable remains or the text is too long.
func NormalizeText(s string) (string, Problem) {
	hadInvalid := !utf8.ValidString(s)
	if hadInvalid {
		s = strings.ToValidUTF8(s, " ")
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	n := 0
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d':
			// Bidi overrides and other invisible format characters (ZWNJ/ZWJ are kept: Persian-script
			// and Bengali spelling needs them).
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
		if n > MaxTextRunes {
			return "", ProblemTooLong
		}
	}
	out := b.String()
	if out == "" {
		if hadInvalid {
			return "", ProblemGarbled
		}
		return "", ProblemEmpty
	}
	return out, ProblemNone
}
