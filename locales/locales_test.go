package locales

import (
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// Required are the languages every release ships complete.
var Required = []string{"it", "en", "ar", "uk", "fr", "es", "de", "bg", "bn", "ur", "ru", "zh"}

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// raw reads a message file as id -> text, or id -> plural form -> text.
func raw(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := fs.ReadFile(files, name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func placeholders(v any) []string {
	var texts []string
	switch v := v.(type) {
	case string:
		texts = []string{v}
	case map[string]any:
		for _, f := range v {
			if s, ok := f.(string); ok {
				texts = append(texts, s)
			}
		}
	}
	set := map[string]bool{}
	for _, s := range texts {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			set[m[1]] = true
		}
	}
	var out []string
	for k := range set {
		if k != "Count" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func TestEveryLanguageIsComplete(t *testing.T) {
	cat, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range Required {
		if !slices.Contains(cat.Languages(), code) {
			t.Errorf("required language %s has no %s.yaml", code, code)
		}
	}
	source := raw(t, Source+".yaml")
	for _, code := range cat.Languages() {
		msgs := raw(t, code+".yaml")
		for id, text := range source {
			tr, ok := msgs[id]
			if !ok {
				t.Errorf("%s: missing %s", code, id)
				continue
			}
			if got, want := placeholders(tr), placeholders(text); !slices.Equal(got, want) {
				t.Errorf("%s: %s has placeholders %v, English has %v", code, id, got, want)
			}
			if s, ok := tr.(string); ok && strings.Count(s, "**")%2 != 0 {
				t.Errorf("%s: %s has unbalanced ** bold markers", code, id)
			}
		}
		for id := range msgs {
			if _, ok := source[id]; !ok {
				t.Errorf("%s: %s is not in %s.yaml (stale or misspelt id)", code, id, Source)
			}
		}
		if code != Source && msgs["language.name"] == source["language.name"] {
			t.Errorf("%s: language.name is still the English one", code)
		}
	}
}

// TestPluralFormsFollowCLDR checks that every plural message has the forms the language's
// CLDR rules use (Arabic has six, Ukrainian and Russian four, Chinese one).
func TestPluralFormsFollowCLDR(t *testing.T) {
	cat, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	names := map[plural.Form]string{plural.Zero: "zero", plural.One: "one", plural.Two: "two", plural.Few: "few", plural.Many: "many", plural.Other: "other"}
	for _, code := range cat.Languages() {
		tag := language.MustParse(code)
		needed := map[string]bool{}
		for n := 0; n < 200; n++ {
			needed[names[plural.Cardinal.MatchPlural(tag, n, 0, 0, 0, 0)]] = true
		}
		for id, v := range raw(t, code+".yaml") {
			forms, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for form := range needed {
				if _, ok := forms[form]; !ok {
					t.Errorf("%s: plural %s lacks the %q form", code, id, form)
				}
			}
		}
	}
}

func TestMoneyAndDirection(t *testing.T) {
	cat, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.Money("en", "70.46"); got != "70.46\u00a0€" {
		t.Errorf("en money %q", got)
	}
	if cat.RTL("en") {
		t.Error("English is not right to left")
	}
	for _, code := range []string{"ar", "ur"} {
		if slices.Contains(cat.Languages(), code) && !cat.RTL(code) {
			t.Errorf("%s must be right to left", code)
		}
	}
	if slices.Contains(cat.Languages(), "it") && cat.Money("it", "116.46") != "116,46\u00a0€" {
		t.Errorf("it money %q", cat.Money("it", "116.46"))
	}
	if got := cat.N("en", "days", 1, nil); got != "1 day" {
		t.Errorf("plural one: %q", got)
	}
}

// Every language writes dates with day, month and year: date.layout is a Go layout, and a
// translated "2006" or "01" would silently print nonsense.
func TestDateLayouts(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, time.January, 8, 15, 4, 0, 0, time.UTC)
	for _, lang := range Required {
		layout := c.T(lang, "date.layout", nil)
		back, err := time.Parse(layout, c.Date(lang, day))
		if err != nil || !back.Equal(time.Date(2025, time.January, 8, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: date.layout %q writes %q, which does not read back as 8 January 2025 (%v)", lang, layout, c.Date(lang, day), err)
		}
	}
}
