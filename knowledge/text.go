package knowledge

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// fold lowercases s and removes what people leave out when they type on a phone: accents on
// Latin and Cyrillic letters (ä → a, ё → е, ї → і, й → и), Arabic diacritics and letter variants
// (أ إ آ → ا, ى → ي, ة → ه, tatweel), the Urdu/Persian forms of Arabic letters (ک → ك, ی → ي,
// ہ ۃ ھ → ه, ے → ي) and non-Latin digits (٧ ۷ ৭ → 7). Bengali and other Indic vowel signs stay.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var prevLatin bool
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			switch {
			case prevLatin:
				continue // a combining accent on a Latin/Cyrillic/Greek letter
			case r >= 0x064B && r <= 0x065F, r == 0x0670: // Arabic harakat, superscript alef
				continue
			}
			b.WriteRune(r)
			continue
		}
		prevLatin = unicode.In(r, unicode.Latin, unicode.Cyrillic, unicode.Greek)
		switch {
		case r == 'ß':
			b.WriteString("ss")
			continue
		case r == 'ı':
			r = 'i'
		case r == 0x0640, r == 0x200C, r == 0x200D, r == 0x00AD: // tatweel, ZWNJ, ZWJ, soft hyphen
			continue
		case r == 'أ', r == 'إ', r == 'آ', r == 'ٱ':
			r = 'ا'
		case r == 'ى', r == 'ی', r == 'ے', r == 'ې', r == 'ئ':
			r = 'ي'
		case r == 'ک', r == 'ڪ':
			r = 'ك'
		case r == 'ة', r == 'ہ', r == 'ۃ', r == 'ھ', r == 'ۀ':
			r = 'ه'
		case r == 'ؤ':
			r = 'و'
		case r >= '٠' && r <= '٩':
			r = '0' + (r - '٠')
		case r >= '۰' && r <= '۹':
			r = '0' + (r - '۰')
		case r >= '০' && r <= '৯':
			r = '0' + (r - '০')
		case r >= '०' && r <= '९':
			r = '0' + (r - '०')
		case r == '’', r == 'ʼ', r == '`', r == '´':
			r = '\''
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// isWordRune reports letters, digits and the marks that belong to a word (Indic vowel signs).
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
}

// words splits s (already folded) into words: runs of letters, marks and digits.
// Han characters are single words each.
func words(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		if unicode.Is(unicode.Han, r) {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			out = append(out, string(r))
			continue
		}
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// squeeze collapses runs of the same letter ("soggiorno" → "sogiorno", "takaa" → "taka"), the
// commonest difference between how a word is spelled and how it is typed.
func squeeze(w string) string {
	var b strings.Builder
	var prev rune = -1
	for _, r := range w {
		if r == prev && !unicode.IsDigit(r) {
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// plainText strips the light markup from a body: links keep their label, ** goes.
func plainText(body string) string {
	s := reLink.ReplaceAllString(body, "$1")
	s = strings.ReplaceAll(s, "**", "")
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "- ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

type hasher struct{ h hash.Hash }

func newHasher() *hasher { return &hasher{sha256.New()} }

func (h *hasher) add(name string, data []byte) {
	h.h.Write([]byte(name))
	h.h.Write([]byte{0})
	h.h.Write(data)
	h.h.Write([]byte{0})
}

func (h *hasher) sum() string { return hex.EncodeToString(h.h.Sum(nil))[:24] }
