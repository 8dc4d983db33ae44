// Package locales holds Sportello's UI strings, one go-i18n message file per language
// (<code>.yaml in this folder), embedded in the binary.
package locales

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

//go:embed *.yaml
var files embed.FS

// Source is the language every other file is translated from and the last fallback.
const Source = "en"

// Catalog resolves message ids to text in a language, falling back to English.
type Catalog struct {
	bundle     *i18n.Bundle
	localizers map[string]*i18n.Localizer
	langs      []string
}

// Load reads the embedded message files.
func Load() (*Catalog, error) { return LoadFS(files) }

// LoadFS reads message files named <code>.yaml from fsys.
func LoadFS(fsys fs.FS) (*Catalog, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list locale files: %w", err)
	}
	c := &Catalog{bundle: bundle, localizers: map[string]*i18n.Localizer{}}
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if _, err := bundle.ParseMessageFileBytes(raw, name); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		code := strings.TrimSuffix(path.Base(name), ".yaml")
		c.langs = append(c.langs, code)
		c.localizers[code] = i18n.NewLocalizer(bundle, code, Source)
	}
	if c.localizers[Source] == nil {
		return nil, fmt.Errorf("locales: no %s.yaml", Source)
	}
	slices.Sort(c.langs)
	return c, nil
}

// Languages lists the language codes that have a message file.
func (c *Catalog) Languages() []string { return slices.Clone(c.langs) }

// T returns message id in lang, with {{.Name}} placeholders filled from data.
// A missing translation falls back to English; a missing id returns the id itself so that a
// gap is visible instead of silent (the completeness test keeps it from shipping).
func (c *Catalog) T(lang, id string, data map[string]any) string {
	return c.localize(lang, &i18n.LocalizeConfig{MessageID: id, TemplateData: data})
}

// N is T for a message with plural forms, chosen by count under the language's CLDR rules.
// Count is also available to the template as {{.Count}}.
func (c *Catalog) N(lang, id string, count int, data map[string]any) string {
	d := map[string]any{"Count": count}
	for k, v := range data {
		d[k] = v
	}
	return c.localize(lang, &i18n.LocalizeConfig{MessageID: id, TemplateData: d, PluralCount: count})
}

func (c *Catalog) localize(lang string, cfg *i18n.LocalizeConfig) string {
	l := c.localizers[lang]
	if l == nil {
		l = c.localizers[Source]
	}
	s, err := l.Localize(cfg)
	if err != nil && s == "" {
		return cfg.MessageID
	}
	return s
}

// Has reports whether lang has its own translation of id.
func (c *Catalog) Has(lang, id string) bool {
	l := c.localizers[lang]
	if l == nil {
		return false
	}
	_, tag, err := l.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id})
	if err != nil {
		// Messages with plural forms only localize with a count.
		_, tag, err = l.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id, PluralCount: 2})
	}
	return err == nil && tag.String() == lang
}

// RTL reports whether lang is written right to left.
func (c *Catalog) RTL(lang string) bool { return c.T(lang, "language.dir", nil) == "rtl" }

// Date writes a calendar date the way readers of lang expect it ("8 Jan 2025", "08/01/2025",
// "08.01.2025", "2025年1月8日"): the message date.layout is a Go time layout.
func (c *Catalog) Date(lang string, t time.Time) string {
	layout := c.T(lang, "date.layout", nil)
	if layout == "date.layout" {
		layout = time.DateOnly
	}
	return t.Format(layout)
}

// Money writes an amount given as "70.46" the way readers of lang expect it, e.g. "70,46 €".
func (c *Catalog) Money(lang, amount string) string {
	if sep := c.T(lang, "number.decimal", nil); sep != "." {
		amount = strings.Replace(amount, ".", sep, 1)
	}
	return amount + "\u00a0€"
}
