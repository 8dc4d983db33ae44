package knowledge

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

//go:embed glossary.yaml
var glossaryFile []byte

// glossaryFuzzyMin is the shortest question word matched with a typo (vinto ≠ visto).
const glossaryFuzzyMin = 6

// glossary is the domain glossary (glossary.yaml): concepts with their words in each language.
type glossary struct {
	concepts []concept
	phrases  map[string][]int // folded, squeezed phrase → concepts
	dels     map[string][]int // a long single word with one letter dropped → concepts
	maxLen   int              // longest phrase, in words
}

type concept struct {
	name  string
	terms map[string][]string // lang → words and phrases
}

func loadGlossary(raw []byte) (*glossary, error) {
	var entries []map[string]any
	if err := yaml.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("glossary.yaml: %w", err)
	}
	g := &glossary{phrases: map[string][]int{}, dels: map[string][]int{}}
	for _, e := range entries {
		c := concept{terms: map[string][]string{}}
		for k, v := range e {
			if k == "concept" {
				c.name, _ = v.(string)
				continue
			}
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("glossary.yaml: concept %v: %s is not a list", e["concept"], k)
			}
			for _, x := range list {
				c.terms[k] = append(c.terms[k], fmt.Sprint(x))
			}
		}
		if c.name == "" {
			return nil, fmt.Errorf("glossary.yaml: an entry without concept")
		}
		i := len(g.concepts)
		g.concepts = append(g.concepts, c)
		for _, list := range c.terms {
			for _, t := range list {
				ws := glossWords(t)
				if len(ws) == 0 {
					continue
				}
				g.maxLen = max(g.maxLen, len(ws))
				g.phrases[strings.Join(ws, " ")] = addOnce(g.phrases[strings.Join(ws, " ")], i)
				if len(ws) == 1 && utf8.RuneCountInString(ws[0]) >= fuzzyMinRunes {
					for _, d := range deletions(ws[0]) {
						g.dels[d] = addOnce(g.dels[d], i)
					}
				}
			}
		}
	}
	return g, nil
}

var defaultGlossary = func() *glossary {
	g, err := loadGlossary(glossaryFile)
	if err != nil {
		panic(err)
	}
	return g
}()

func addOnce(s []int, i int) []int {
	for _, x := range s {
		if x == i {
			return s
		}
	}
	return append(s, i)
}

// glossWords folds and squeezes text into words, without Arabic clitics.
func glossWords(text string) []string {
	ws := words(fold(text))
	for i, w := range ws {
		ws[i] = glossForm(w)
	}
	return ws
}

// glossForm is how the glossary compares a folded word: squeezed, Arabic clitics stripped,
// Cyrillic case and verb endings stripped (квитанцией, квитанцію → квитанц).
func glossForm(w string) string {
	w = stripArabicClitics(squeeze(w))
	if isCyrillic(w) {
		w = stemUK(w)
	}
	return w
}

// stripArabicClitics removes a leading conjunction (و ف) and preposition + article
// (ال بال كال فال لل) from an Arabic-script word, as long as three letters remain.
func stripArabicClitics(w string) string {
	r, _ := utf8.DecodeRuneInString(w)
	if r < 0x0600 || r > 0x06FF {
		return w
	}
	n := utf8.RuneCountInString(w)
	for _, p := range []string{"و", "ف"} {
		rest := strings.TrimPrefix(w, p)
		if strings.HasPrefix(w, p) && n-1 >= 4 && (strings.HasPrefix(rest, "ال") || strings.HasPrefix(rest, "بال") ||
			strings.HasPrefix(rest, "كال") || strings.HasPrefix(rest, "لل")) {
			w, n = w[len(p):], n-1
			break
		}
	}
	for _, p := range []string{"بال", "كال", "فال", "وال", "لل", "ال"} {
		if strings.HasPrefix(w, p) && n-utf8.RuneCountInString(p) >= 3 {
			return w[len(p):]
		}
	}
	return w
}

// match returns, for each concept the question's words name, the positions of those words.
func (g *glossary) match(qwords []string) map[int][]int {
	ws := make([]string, len(qwords))
	for i, w := range qwords {
		ws[i] = glossForm(w)
	}
	out := map[int][]int{}
	for i := range ws {
		found := false
		for n := min(g.maxLen, len(ws)-i); n >= 1 && !found; n-- {
			for _, c := range g.phrases[strings.Join(ws[i:i+n], " ")] {
				found = true
				for k := i; k < i+n; k++ {
					out[c] = append(out[c], k)
				}
			}
		}
		if found || utf8.RuneCountInString(ws[i]) < glossaryFuzzyMin {
			continue
		}
		// One typo in a long single word.
		var cs []int
		for _, c := range g.dels[ws[i]] {
			cs = addOnce(cs, c)
		}
		for _, d := range deletions(ws[i]) {
			for _, c := range g.phrases[d] {
				cs = addOnce(cs, c)
			}
			for _, c := range g.dels[d] {
				cs = addOnce(cs, c)
			}
		}
		for _, c := range cs {
			out[c] = append(out[c], i)
		}
	}
	return out
}

// token is how concept c is indexed: its name without hyphens.
func (g *glossary) token(c int) string {
	return "concept" + strings.ReplaceAll(g.concepts[c].name, "-", "")
}

// tokens lists the concepts text names as indexed tokens.
func (g *glossary) tokens(text string) string {
	m := g.match(words(fold(text)))
	ids := make([]int, 0, len(m))
	for c := range m {
		ids = append(ids, c)
	}
	sort.Ints(ids)
	var out []string
	for _, c := range ids {
		for range m[c] { // once per word that names it: an article about a concept names it often
			out = append(out, g.token(c))
		}
	}
	return strings.Join(out, " ")
}
