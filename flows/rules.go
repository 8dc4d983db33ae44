package flows

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"

	"github.com/sportello/sportello/bot"
)

//go:embed rules.yaml
var rulesFile []byte

// Rule is one line of the handoff table: messages that mention it go to desk staff.
type Rule struct {
	ID       string              `yaml:"id"`
	Priority string              `yaml:"priority"` // normal, high, urgent
	Topic    string              `yaml:"topic"`
	Match    map[string][]string `yaml:"match"` // language -> phrases; every language is checked
}

// Rules is the handoff rule table, matched on every free-text message, and the small-talk
// phrases (greetings, thanks) that get a friendly reply instead of a search.
type Rules struct {
	rules []Rule
	small map[string]string // folded whole message -> kind ("hello", "thanks")
}

// LoadRules reads the embedded rule table.
func LoadRules() (*Rules, error) { return ParseRules(rulesFile) }

// ParseRules reads a rule table.
func ParseRules(raw []byte) (*Rules, error) {
	var doc struct {
		Rules     []Rule                         `yaml:"rules"`
		SmallTalk map[string]map[string][]string `yaml:"smalltalk"` // kind -> language -> phrases
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse rules: %w", err)
	}
	for i, r := range doc.Rules {
		if r.ID == "" || len(r.Match) == 0 {
			return nil, fmt.Errorf("rule %d: needs an id and phrases", i+1)
		}
		if _, ok := priorities[r.Priority]; !ok {
			return nil, fmt.Errorf("rule %s: unknown priority %q", r.ID, r.Priority)
		}
		for lang, phrases := range r.Match {
			for j, p := range phrases {
				doc.Rules[i].Match[lang][j] = fold(p)
			}
		}
	}
	// Urgent rules first: a message about violence and a refusal letter is urgent.
	sort.SliceStable(doc.Rules, func(i, j int) bool {
		return priorities[doc.Rules[i].Priority] > priorities[doc.Rules[j].Priority]
	})
	small := map[string]string{}
	for kind, byLang := range doc.SmallTalk {
		for _, phrases := range byLang {
			for _, p := range phrases {
				small[fold(p)] = kind
			}
		}
	}
	return &Rules{rules: doc.Rules, small: small}, nil
}

// SmallTalk returns the kind of small talk ("hello", "thanks") the whole message is, if any.
func (rs *Rules) SmallTalk(text string) (kind string, ok bool) {
	kind, ok = rs.small[fold(text)]
	return kind, ok
}

var priorities = map[string]bot.Priority{"normal": bot.PriorityNormal, "high": bot.PriorityHigh, "urgent": bot.PriorityUrgent}

// Match returns the first rule whose phrase occurs in text, in any language — people mix
// languages, and a rule must not depend on the language being detected right.
// A phrase matches at the start of a word, so "espuls" matches "espulsione"; a Chinese phrase
// matches anywhere, Chinese having no spaces between words ("他打我" has "打我").
func (rs *Rules) Match(text string) (*Rule, bool) {
	t := " " + fold(text)
	for i := range rs.rules {
		for _, phrases := range rs.rules[i].Match {
			for _, p := range phrases {
				if strings.Contains(t, " "+p) || startsHan(p) && strings.Contains(t, p) {
					return &rs.rules[i], true
				}
			}
		}
	}
	return nil, false
}

func startsHan(p string) bool {
	r, _ := utf8.DecodeRuneInString(p)
	return unicode.Is(unicode.Han, r)
}

// All returns the rules, urgent first.
func (rs *Rules) All() []Rule { return rs.rules }

// fold lowercases, strips accents and turns punctuation into spaces, so that phrases match
// however they were typed ("Espulsione!", "espulsióne").
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r) && r < 0x0600:
			// accents on Latin, Greek and Cyrillic letters; marks of other scripts are letters' parts
		case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(norm.NFC.String(b.String())), " ")
}
