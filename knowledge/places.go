package knowledge

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

//go:embed places.yaml
var placesFile []byte

// places finds names of places and authorities in a question.
type places struct {
	names  map[string][]string // folded name (words joined by one space) → jurisdictions
	topics map[string]bool     // names that are also what a question is about (authorities, permits)
	maxLen int                 // the longest name, in words
	dels   map[string]string   // a one-word name of 6 letters or more with one letter dropped → the name
}

func loadPlaces(raw []byte) (*places, error) {
	var entries []struct {
		Jurisdictions []string `yaml:"jurisdictions"`
		Names         []string `yaml:"names"`
		Topic         bool     `yaml:"topic"`
	}
	if err := yaml.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("places.yaml: %w", err)
	}
	p := &places{names: map[string][]string{}, topics: map[string]bool{}, dels: map[string]string{}}
	for _, e := range entries {
		if len(e.Jurisdictions) == 0 {
			return nil, fmt.Errorf("places.yaml: an entry without jurisdictions")
		}
		for _, n := range e.Names {
			ws := words(fold(n))
			if len(ws) == 0 {
				continue
			}
			k := strings.Join(ws, " ")
			if _, dup := p.names[k]; !dup {
				p.names[k] = e.Jurisdictions
				p.topics[k] = e.Topic
			}
			p.maxLen = max(p.maxLen, len(ws))
			if len(ws) == 1 && utf8.RuneCountInString(k) >= 6 {
				for _, d := range deletions(k) {
					p.dels[d] = k
				}
			}
		}
	}
	return p, nil
}

var defaultPlaces = func() *places {
	p, err := loadPlaces(placesFile)
	if err != nil {
		panic(err)
	}
	return p
}()

// find returns the jurisdictions of the most specific place the folded words name (the
// first such name when several are equally specific), or nil. A place's name beats a topic
// word: "Einbürgerung in Italien" is about Italy.
func (p *places) find(ws []string) []string {
	var place, topic []string
	note := func(name string, j []string) {
		best := &place
		if p.topics[name] {
			best = &topic
		}
		if len(j) > len(*best) {
			*best = j
		}
	}
	ws = slices.Clone(ws)
	for i, w := range ws {
		// An Arabic preposition or conjunction written together with the name (بيينا, لرافينا).
		if r, size := utf8.DecodeRuneInString(w); (r == 'ب' || r == 'ل' || r == 'و' || r == 'ف') && utf8.RuneCountInString(w) > 3 {
			if _, ok := p.names[w]; !ok {
				if _, ok := p.names[w[size:]]; ok {
					ws[i] = w[size:]
				}
			}
		}
	}
	for i := range ws {
		for n := min(p.maxLen, len(ws)-i); n >= 1; n-- {
			if name := strings.Join(ws[i:i+n], " "); p.names[name] != nil {
				note(name, p.names[name])
				break
			}
		}
		// One typo or another case ending in a long one-word name (Німеччини, Germanya).
		if w := ws[i]; utf8.RuneCountInString(w) >= 6 {
			cands := []string{p.dels[w]}
			for _, d := range deletions(w) {
				cands = append(cands, d, p.dels[d])
			}
			for _, c := range cands {
				if j, ok := p.names[c]; ok && c != "" {
					note(c, j)
				}
			}
		}
	}
	if place != nil {
		return place
	}
	return topic
}

// effectiveJurisdictions is where a question is about: the desk's chain, unless the question
// names a place elsewhere. A country-level name in the desk's own country keeps the desk's city.
func effectiveJurisdictions(desk, named []string) []string {
	if len(named) == 0 {
		return desk
	}
	if len(desk) > 0 && len(named) == 1 && country(named[0]) == country(desk[0]) {
		return desk
	}
	if len(desk) > 0 && slices.Equal(named, desk) {
		return desk
	}
	return named
}

func country(j string) string {
	c, _, _ := strings.Cut(j, "-")
	return c
}

// isPlace reports a folded word that only says where (a city or country), not what.
func (p *places) isPlace(w string) bool {
	_, ok := p.names[w]
	return ok && !p.topics[w]
}
