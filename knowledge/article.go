package knowledge

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Source is an official or secondary source an article is written from.
type Source struct {
	Title string `yaml:"title"`
	URL   string `yaml:"url"`
}

// Version is one language file of an article.
type Version struct {
	ID, Jurisdiction, Topic, Lang, Title string
	Aliases                              []string
	Sources                              []Source
	Verified                             time.Time
	ValidUntil                           time.Time // zero if none
	Reviewed, Handoff                    bool
	Body                                 string // markdown body (light markup: **bold**, [t](url), "- " bullets)
	Path                                 string // the file, relative to the loaded file system

	keys     []string // front-matter keys in file order, for Lint
	hasLang  string   // the "lang" key, if the file has one
	missing  []string // required keys that are absent (Lint reports them)
	fmErrors []string // non-fatal front-matter problems (Lint reports them)
}

// Article is one concept of the knowledge base in all the languages it has been written in.
type Article struct {
	ID, Jurisdiction, Topic string
	Handoff                 bool
	Versions                map[string]*Version // by lang
}

// In returns the version for the first language in prefs that exists (the caller passes the
// fallback chain: user language, desk default, "en"), else the article's original (en, else
// it/de by jurisdiction, else any). fallback reports that the version is not in the first
// language of prefs (the first non-empty one: an unknown user language is no preference).
func (a *Article) In(prefs ...string) (v *Version, fallback bool) {
	first := ""
	for _, p := range prefs {
		if p == "" {
			continue
		}
		if first == "" {
			first = p
		}
		if v := a.Versions[p]; v != nil {
			return v, p != first
		}
	}
	v = a.Original()
	if v == nil {
		return nil, true
	}
	return v, v.Lang != first
}

// Original is the version the article was written in: English, else the jurisdiction's
// language (it for Italy, de for Germany), else the first by language code.
func (a *Article) Original() *Version {
	for _, l := range []string{"en", countryLang(a.Jurisdiction)} {
		if v := a.Versions[l]; v != nil {
			return v
		}
	}
	langs := make([]string, 0, len(a.Versions))
	for l := range a.Versions {
		langs = append(langs, l)
	}
	if len(langs) == 0 {
		return nil
	}
	sort.Strings(langs)
	return a.Versions[langs[0]]
}

// Langs lists the languages the article exists in, sorted.
func (a *Article) Langs() []string {
	out := make([]string, 0, len(a.Versions))
	for l := range a.Versions {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// countryLang is the official language of a jurisdiction's country ("it-ravenna" → "it").
func countryLang(jurisdiction string) string {
	c, _, _ := strings.Cut(jurisdiction, "-")
	switch c {
	case "it":
		return "it"
	case "de", "at":
		return "de"
	}
	return c
}

// Jurisdictions, topics and languages the content spec knows.
var (
	knownJurisdictions = []string{"it", "it-ravenna", "it-genova", "de", "de-jena"}
	knownTopics        = []string{"permit", "longterm", "family", "citizenship", "local", "naturalisation"}
	// Langs are the languages the content spec names, in its order.
	Langs = []string{"it", "en", "ar", "uk", "fr", "es", "de", "bg", "bn", "ur", "ru", "zh"}
)

// frontMatter is the YAML header of an article file.
type frontMatter struct {
	ID           string   `yaml:"id"`
	Jurisdiction string   `yaml:"jurisdiction"`
	Topic        string   `yaml:"topic"`
	Lang         string   `yaml:"lang"`
	Title        string   `yaml:"title"`
	Aliases      []string `yaml:"aliases"`
	Sources      []Source `yaml:"sources"`
	Verified     date     `yaml:"verified"`
	ValidUntil   date     `yaml:"valid_until"`
	Reviewed     bool     `yaml:"reviewed"`
	Handoff      bool     `yaml:"handoff"`
}

var knownKeys = map[string]bool{"id": true, "jurisdiction": true, "topic": true, "lang": true, "title": true,
	"aliases": true, "sources": true, "verified": true, "valid_until": true, "reviewed": true, "handoff": true}

var requiredKeys = []string{"id", "jurisdiction", "topic", "title", "aliases", "sources", "verified", "reviewed", "handoff"}

// date is a YAML date (2026-06-01), quoted or not.
type date struct{ time.Time }

func (d *date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a date must be written as YYYY-MM-DD", n.Line)
	}
	s := strings.TrimSpace(n.Value)
	if s == "" || s == "~" || s == "null" {
		return nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			d.Time = t
			return nil
		}
	}
	return fmt.Errorf("line %d: %q is not a date (YYYY-MM-DD)", n.Line, s)
}

// langFile matches the file name of an article version: a language code and ".md".
var langFile = regexp.MustCompile(`^([a-z]{2,3})\.md$`)

// parseVersion reads one article file. A returned error means the file cannot be used at all.
func parseVersion(p string, raw []byte) (*Version, error) {
	m := langFile.FindStringSubmatch(path.Base(p))
	if m == nil {
		return nil, errors.New("file name is not <lang>.md")
	}
	raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
	text := strings.ReplaceAll(string(raw), "\r\n", "\n")
	if !strings.HasPrefix(text, "---\n") {
		return nil, errors.New("no front matter: the file must start with a line \"---\"")
	}
	rest := text[4:]
	var header, body string
	if strings.HasPrefix(rest, "---\n") || rest == "---" {
		header, body = "", strings.TrimPrefix(rest, "---")
	} else if i := strings.Index(rest, "\n---\n"); i >= 0 {
		header, body = rest[:i+1], rest[i+5:]
	} else if strings.HasSuffix(rest, "\n---") {
		header, body = rest[:len(rest)-3], ""
	} else {
		return nil, errors.New("front matter is not closed by a line \"---\"")
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(header), &node); err != nil {
		return nil, fmt.Errorf("front matter: %v", err)
	}
	if len(node.Content) == 0 || node.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("front matter is not a YAML mapping (key: value lines)")
	}
	var fm frontMatter
	if err := node.Content[0].Decode(&fm); err != nil {
		return nil, fmt.Errorf("front matter: %v", err)
	}
	v := &Version{
		ID: strings.TrimSpace(fm.ID), Jurisdiction: strings.TrimSpace(fm.Jurisdiction), Topic: strings.TrimSpace(fm.Topic),
		Lang: m[1], Title: strings.TrimSpace(fm.Title), Sources: fm.Sources,
		Verified: fm.Verified.Time, ValidUntil: fm.ValidUntil.Time, Reviewed: fm.Reviewed, Handoff: fm.Handoff,
		Body: strings.TrimSpace(body) + "\n", Path: p, hasLang: strings.TrimSpace(fm.Lang),
	}
	for _, a := range fm.Aliases {
		if a = strings.TrimSpace(a); a != "" {
			v.Aliases = append(v.Aliases, a)
		} else {
			v.fmErrors = append(v.fmErrors, "an empty alias")
		}
	}
	mapping := node.Content[0]
	seen := map[string]bool{}
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		k := mapping.Content[i].Value
		if seen[k] {
			v.fmErrors = append(v.fmErrors, fmt.Sprintf("key %q appears twice", k))
		}
		seen[k] = true
		v.keys = append(v.keys, k)
	}
	for _, k := range requiredKeys {
		if !seen[k] {
			v.missing = append(v.missing, k)
		}
	}
	if v.ID == "" {
		return nil, errors.New("front matter has no id")
	}
	if v.Jurisdiction == "" {
		return nil, errors.New("front matter has no jurisdiction")
	}
	return v, nil
}

// Base is the loaded knowledge base, and after Open its search index.
type Base struct {
	articles map[string]*Article
	sorted   []*Article
	hash     string // of the content files and the index schema

	idx       *index // nil until Open
	closeOnce sync.Once
	closeErr  error
}

// Load reads every article version under fsys (files <jurisdiction>/<id>/<lang>.md at any depth,
// e.g. content/it/permit-fees/en.md) and checks the minimal structure: front matter that parses,
// with an id and a jurisdiction, and one file per article and language. The error names every
// broken file. Other problems are for Lint.
func Load(fsys fs.FS) (*Base, error) {
	b := &Base{articles: map[string]*Article{}}
	var errs []error
	h := newHasher()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", p, err))
			return nil
		}
		if d.IsDir() || !langFile.MatchString(d.Name()) || strings.Count(p, "/") < 2 {
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", p, err))
			return nil
		}
		h.add(p, raw)
		v, err := parseVersion(p, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", p, err))
			return nil
		}
		a := b.articles[v.ID]
		if a == nil {
			a = &Article{ID: v.ID, Versions: map[string]*Version{}}
			b.articles[v.ID] = a
		}
		if other := a.Versions[v.Lang]; other != nil {
			errs = append(errs, fmt.Errorf("%s: article %q already has a %q version in %s", p, v.ID, v.Lang, other.Path))
			return nil
		}
		a.Versions[v.Lang] = v
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("knowledge base: %w", errors.Join(errs...))
	}
	for _, a := range b.articles {
		o := a.Original()
		a.Jurisdiction, a.Topic = o.Jurisdiction, o.Topic
		for _, v := range a.Versions {
			a.Handoff = a.Handoff || v.Handoff // any version asking for staff makes it a handoff article
		}
		b.sorted = append(b.sorted, a)
	}
	sort.Slice(b.sorted, func(i, j int) bool { return b.sorted[i].ID < b.sorted[j].ID })
	b.hash = h.sum()
	return b, nil
}

// Article returns the article with that id, or nil.
func (b *Base) Article(id string) *Article { return b.articles[id] }

// Articles returns every article, sorted by id.
func (b *Base) Articles() []*Article { return b.sorted }

// Close releases the search index, if any.
func (b *Base) Close() error {
	if b.idx == nil {
		return nil
	}
	b.closeOnce.Do(func() { b.closeErr = b.idx.close() })
	return b.closeErr
}
