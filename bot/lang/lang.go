// Package lang normalises language tags and guesses the language of short chat messages.
// It only chooses among the languages a deployment supports, which keeps the guess reliable.
package lang

import (
	_ "embed"
	"strings"
	"unicode"
)

// Normalize turns a tag such as "bn-Latn", "PT_br" or "zh-Hans-CN" into its primary subtag
// ("bn", "pt", "zh"). Anything that is not a plausible language subtag gives "".
func Normalize(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	if len(tag) < 2 || len(tag) > 3 {
		return ""
	}
	for _, r := range tag {
		if r < 'a' || r > 'z' {
			return ""
		}
	}
	return tag
}

//go:embed words.txt
var wordsFile string

// Detector guesses the language of a message among a fixed set of candidates.
type Detector struct {
	candidates map[string]bool
	words      map[string][]string // word -> languages that use it
}

// NewDetector builds a detector for the supported language codes.
func NewDetector(supported []string) *Detector {
	d := &Detector{candidates: map[string]bool{}, words: map[string][]string{}}
	for _, c := range supported {
		d.candidates[c] = true
	}
	for _, line := range strings.Split(wordsFile, "\n") {
		code, list, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "#") || !d.candidates[code] {
			continue
		}
		for _, w := range strings.Fields(list) {
			d.words[w] = append(d.words[w], code)
		}
	}
	return d
}

// Detect returns the most likely language of text and whether the guess is confident.
// Scripts used by one supported language decide at once; Latin text is scored by common words.
func (d *Detector) Detect(text string) (string, bool) {
	var arabic, urduMarks, bengali, cyrillic, ukMarks, ruMarks, bgMarks, han, ethiopic, gurmukhi, latin int
	for _, r := range text {
		switch {
		case strings.ContainsRune("ٹڈڑںےۓہھ", r):
			urduMarks++
			arabic++
		case unicode.Is(unicode.Arabic, r):
			arabic++
		case unicode.Is(unicode.Bengali, r):
			bengali++
		case strings.ContainsRune("іїєґІЇЄҐ", r):
			ukMarks++
			cyrillic++
		case strings.ContainsRune("ыэёЫЭЁ", r):
			ruMarks++
			cyrillic++
		case strings.ContainsRune("ъЪ", r):
			bgMarks++
			cyrillic++
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic++
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.Is(unicode.Ethiopic, r):
			ethiopic++
		case unicode.Is(unicode.Gurmukhi, r):
			gurmukhi++
		case unicode.Is(unicode.Latin, r):
			latin++
		}
	}
	pick := func(codes ...string) (string, bool) {
		for _, c := range codes {
			if d.candidates[c] {
				return c, true
			}
		}
		return "", false
	}
	nonLatin := arabic + bengali + cyrillic + han + ethiopic + gurmukhi
	if nonLatin > 0 && nonLatin >= latin/3 {
		switch max(arabic, bengali, cyrillic, han, ethiopic, gurmukhi) {
		case arabic:
			if urduMarks > 0 || d.hasWord(text, "ur") {
				return pick("ur", "ar")
			}
			return pick("ar", "ur")
		case bengali:
			return pick("bn")
		case han:
			return pick("zh")
		case ethiopic:
			return pick("ti")
		case gurmukhi:
			return pick("pa")
		case cyrillic:
			switch {
			case ukMarks > 0:
				return pick("uk", "ru", "bg")
			case ruMarks > 0:
				return pick("ru", "uk", "bg")
			case bgMarks > 0:
				return pick("bg", "ru", "uk")
			}
			return pick("ru", "bg", "uk")
		}
	}
	return d.scoreWords(text)
}

func (d *Detector) hasWord(text, code string) bool {
	for _, w := range strings.Fields(text) {
		for _, c := range d.words[w] {
			if c == code {
				return true
			}
		}
	}
	return false
}

func (d *Detector) scoreWords(text string) (string, bool) {
	scores := map[string]float64{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	}) {
		langs := d.words[w]
		for _, c := range langs {
			scores[c] += 1 / float64(len(langs))
		}
	}
	best, second := "", 0.0
	for c, s := range scores {
		if best == "" || s > scores[best] || (s == scores[best] && c < best) {
			if best != "" {
				second = max(second, scores[best])
			}
			best = c
		} else {
			second = max(second, s)
		}
	}
	if best == "" {
		return "", false
	}
	return best, scores[best] >= 1.5 && scores[best] >= 2*second
}
