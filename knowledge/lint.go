package knowledge

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Issue is one problem Lint found. Severity is "error" (CI fails) or "warning".
type Issue struct {
	Path, Article, Lang, Severity, Message string
}

func (i Issue) String() string {
	return fmt.Sprintf("%s: %s: %s", i.Severity, i.Path, i.Message)
}

// Limits the content spec sets for a body.
const (
	MaxBody  = 3000 // characters; over this is an error (one Telegram message with sources must fit)
	SpecBody = 2600 // the content spec's limit; over this is a warning
)

var (
	reHeading   = regexp.MustCompile(`^\s{0,3}#{1,6}(\s|$)`)
	reTableRow  = regexp.MustCompile(`^\s*\|.*\|\s*$`)
	reTableRule = regexp.MustCompile(`^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$`)
	reHTML      = regexp.MustCompile(`</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|<!--`)
	reLink      = regexp.MustCompile(`\[([^\[\]\n]+)\]\(([^()\s]+)\)`)
	reNested    = regexp.MustCompile(`^(\s+)[-*+]\s`)
	reStarList  = regexp.MustCompile(`^[*+]\s`)
	reNumbered  = regexp.MustCompile(`^\s*\d+[.)]\s`)
	reItalic    = regexp.MustCompile(`(^|[^*\w])[*_][^*_\s][^*_\n]*[*_]([^*\w]|$)`)
)

// Lint checks the knowledge base as the content spec asks: front matter (missing or unknown
// keys, unknown topic or jurisdiction, a file in the wrong place), missing translations for each of
// langs (warning), missing sources (error), verified older than 12 months (warning),
// valid_until passed (error), the same alias on two articles (error), bodies over MaxBody
// characters (error), id/jurisdiction/topic/sources/verified/handoff/valid_until differing
// between the language versions of an article (error) and markup the bot cannot render
// (headings, tables, HTML: error; italics, nested or numbered lists: warning).
func Lint(b *Base, now time.Time, langs []string) []Issue {
	var out []Issue
	add := func(v *Version, sev, format string, args ...any) {
		out = append(out, Issue{Path: v.Path, Article: v.ID, Lang: v.Lang, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	type aliasUse struct{ article, path, alias string }
	aliases := map[string][]aliasUse{}
	for _, a := range b.Articles() {
		orig := a.Original()
		for _, l := range a.Langs() {
			v := a.Versions[l]
			lintFrontMatter(v, add)
			// Sources.
			if len(v.Sources) == 0 {
				add(v, "error", "no sources")
			}
			for i, s := range v.Sources {
				if strings.TrimSpace(s.Title) == "" {
					add(v, "error", "source %d has no title", i+1)
				}
				if u, err := url.Parse(strings.TrimSpace(s.URL)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					add(v, "error", "source %d has no valid URL (%q)", i+1, s.URL)
				}
			}
			// Dates.
			if v.Verified.IsZero() {
				add(v, "error", "no verified date")
			} else if v.Verified.Before(now.AddDate(-1, 0, 0)) {
				add(v, "warning", "verified on %s, more than 12 months ago: check the sources again", v.Verified.Format(time.DateOnly))
			} else if v.Verified.After(now.Add(24 * time.Hour)) {
				add(v, "warning", "verified date %s is in the future", v.Verified.Format(time.DateOnly))
			}
			if !v.ValidUntil.IsZero() && !now.Before(v.ValidUntil.AddDate(0, 0, 1)) {
				add(v, "error", "valid_until %s has passed: update the amounts", v.ValidUntil.Format(time.DateOnly))
			}
			// Consistency with the original.
			if v != orig {
				same := func(name string, x, y any) {
					if fmt.Sprint(x) != fmt.Sprint(y) {
						add(v, "error", "%s %v differs from the %s version (%v)", name, x, orig.Lang, y)
					}
				}
				same("id", v.ID, orig.ID)
				same("jurisdiction", v.Jurisdiction, orig.Jurisdiction)
				same("topic", v.Topic, orig.Topic)
				same("verified", v.Verified.Format(time.DateOnly), orig.Verified.Format(time.DateOnly))
				same("valid_until", dateString(v.ValidUntil), dateString(orig.ValidUntil))
				same("handoff", v.Handoff, orig.Handoff)
				if !slices.Equal(v.Sources, orig.Sources) {
					add(v, "error", "sources differ from the %s version (copy them; never translate titles or URLs)", orig.Lang)
				}
			}
			// Body.
			if n := utf8.RuneCountInString(strings.TrimSpace(v.Body)); n > MaxBody {
				add(v, "error", "body has %d characters, more than %d", n, MaxBody)
			} else if n > SpecBody {
				add(v, "warning", "body has %d characters, more than the spec's %d", n, SpecBody)
			} else if n == 0 {
				add(v, "error", "empty body")
			}
			lintMarkup(v, add)
			// Aliases.
			if n := len(v.Aliases); n < 4 || n > 12 {
				add(v, "warning", "%d aliases; the spec asks for 4 to 12", n)
			}
			inFile := map[string]bool{}
			for _, al := range v.Aliases {
				k := aliasKey(al)
				if k == "" {
					continue
				}
				if inFile[k] {
					add(v, "warning", "alias %q listed twice", al)
					continue
				}
				inFile[k] = true
				aliases[k] = append(aliases[k], aliasUse{a.ID, v.Path, al})
			}
		}
		// Missing translations.
		for _, l := range langs {
			if a.Versions[l] == nil {
				p := ""
				if orig != nil {
					p = strings.TrimSuffix(orig.Path, orig.Lang+".md") + l + ".md"
				}
				out = append(out, Issue{Path: p, Article: a.ID, Lang: l, Severity: "warning", Message: "missing translation"})
			}
		}
	}
	// The same alias on two articles.
	keys := make([]string, 0, len(aliases))
	for k := range aliases {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		uses := aliases[k]
		arts := map[string]bool{}
		for _, u := range uses {
			arts[u.article] = true
		}
		if len(arts) < 2 {
			continue
		}
		for _, u := range uses {
			var others []string
			for _, o := range uses {
				if o.article != u.article && !slices.Contains(others, o.article) {
					others = append(others, o.article)
				}
			}
			out = append(out, Issue{Path: u.path, Article: u.article, Lang: langOfPath(u.path), Severity: "error",
				Message: fmt.Sprintf("alias %q is also an alias of %s", u.alias, strings.Join(others, ", "))})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Severity < out[j].Severity // errors first
	})
	return out
}

func dateString(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.Format(time.DateOnly)
}

func langOfPath(p string) string {
	if m := langFile.FindStringSubmatch(p[strings.LastIndex(p, "/")+1:]); m != nil {
		return m[1]
	}
	return ""
}

// aliasKey is how aliases are compared: case, accents, punctuation and spacing do not count.
func aliasKey(s string) string {
	return strings.Join(words(fold(s)), " ")
}

func lintFrontMatter(v *Version, add func(*Version, string, string, ...any)) {
	for _, k := range v.missing {
		add(v, "error", "front matter has no %q", k)
	}
	for _, k := range v.keys {
		if !knownKeys[k] {
			add(v, "error", "unknown front-matter key %q", k)
		}
	}
	for _, e := range v.fmErrors {
		add(v, "error", "front matter: %s", e)
	}
	if v.hasLang != "" && v.hasLang != v.Lang {
		add(v, "error", "lang %q does not match the file name %s.md", v.hasLang, v.Lang)
	}
	if v.Title == "" && !slices.Contains(v.missing, "title") {
		add(v, "error", "empty title")
	}
	if !slices.Contains(knownJurisdictions, v.Jurisdiction) {
		add(v, "error", "unknown jurisdiction %q (one of %s)", v.Jurisdiction, strings.Join(knownJurisdictions, ", "))
	}
	if v.Topic != "" && !slices.Contains(knownTopics, v.Topic) {
		add(v, "error", "unknown topic %q (one of %s)", v.Topic, strings.Join(knownTopics, ", "))
	}
	// content/<jurisdiction>/<id>/<lang>.md
	parts := strings.Split(v.Path, "/")
	if n := len(parts); n >= 3 {
		if parts[n-2] != v.ID {
			add(v, "error", "id %q does not match the directory %q", v.ID, parts[n-2])
		}
		if parts[n-3] != v.Jurisdiction {
			add(v, "error", "jurisdiction %q does not match the directory %q", v.Jurisdiction, parts[n-3])
		}
	}
}

// lintMarkup reports markup outside the light markup the bot renders.
func lintMarkup(v *Version, add func(*Version, string, string, ...any)) {
	inFence := false
	for n, line := range strings.Split(v.Body, "\n") {
		ln := n + 1
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "```"):
			if !inFence {
				add(v, "error", "body line %d: code block", ln)
			}
			inFence = !inFence
			continue
		case reHeading.MatchString(line):
			add(v, "error", "body line %d: heading (no # lines; use **bold**)", ln)
		case reTableRule.MatchString(line) || reTableRow.MatchString(line):
			add(v, "error", "body line %d: table (use \"- \" bullets)", ln)
		case reNested.MatchString(line):
			add(v, "warning", "body line %d: nested list", ln)
		case reStarList.MatchString(line):
			add(v, "warning", "body line %d: bullet with %q (use \"- \")", ln, line[:1])
		case reNumbered.MatchString(line):
			add(v, "warning", "body line %d: numbered list (use \"- \" bullets)", ln)
		}
		if reHTML.MatchString(line) {
			add(v, "error", "body line %d: HTML %q", ln, reHTML.FindString(line))
		}
		noBold := strings.ReplaceAll(line, "**", "")
		if strings.Count(line, "**")%2 != 0 {
			add(v, "error", "body line %d: unbalanced ** (bold must open and close on one line)", ln)
		}
		for _, m := range reLink.FindAllStringSubmatch(line, -1) {
			if u, err := url.Parse(m[2]); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
				add(v, "error", "body line %d: link %q is not an http(s) URL", ln, m[2])
			}
		}
		plain := reLink.ReplaceAllString(noBold, "$1")
		if strings.Contains(plain, "](") || strings.Contains(plain, "[") && strings.Contains(plain, "](") {
			add(v, "error", "body line %d: malformed link", ln)
		}
		if reItalic.MatchString(reLink.ReplaceAllString(noBold, "")) && !strings.HasPrefix(strings.TrimSpace(noBold), "* ") {
			add(v, "warning", "body line %d: italics (only **bold** is rendered)", ln)
		}
	}
}
