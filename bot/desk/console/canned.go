package console

import (
	_ "embed"
	"fmt"

	"gopkg.in/yaml.v3"
)

//go:embed canned.yaml
var cannedFile []byte

// Canned is a prepared reply staff can put in the reply box, written in several languages.
type Canned struct {
	ID    string            `yaml:"id"`
	Title map[string]string `yaml:"title"` // by staff language
	Text  map[string]string `yaml:"text"`  // by user language
}

type cannedView struct {
	ID, Title, Text, Lang string
}

// LoadCanned reads the canned replies shipped with the console (canned.yaml).
func LoadCanned() ([]Canned, error) { return ParseCanned(cannedFile) }

// ParseCanned reads canned replies; each needs an id and English title and text.
func ParseCanned(raw []byte) ([]Canned, error) {
	var out []Canned
	if err := yaml.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("canned replies: %w", err)
	}
	for i, c := range out {
		if c.ID == "" || c.Title["en"] == "" || c.Text["en"] == "" {
			return nil, fmt.Errorf("canned reply %d: needs an id and an English title and text", i+1)
		}
	}
	return out, nil
}

// cannedFor lists the canned replies with titles in the staff language and texts in the
// user's language (English where a translation is missing, marked by Lang).
func (c *Console) cannedFor(staffLang, userLang string) []cannedView {
	var out []cannedView
	for _, cr := range c.canned {
		v := cannedView{ID: cr.ID, Title: cr.Title[staffLang], Text: cr.Text[userLang], Lang: userLang}
		if v.Title == "" {
			v.Title = cr.Title["en"]
		}
		if v.Text == "" {
			v.Text, v.Lang = cr.Text["en"], "en"
		}
		out = append(out, v)
	}
	return out
}

func (c *Console) cannedText(id, userLang string) string {
	for _, v := range c.cannedFor("en", userLang) {
		if v.ID == id {
			return v.Text
		}
	}
	return ""
}
