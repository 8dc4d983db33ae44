package webchat

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/lang"
)

//go:embed static
var staticFiles embed.FS

var (
	staticFS = func() fs.FS { f, _ := fs.Sub(staticFiles, "static"); return f }()
	pageTmpl = template.Must(template.ParseFS(staticFS, "index.html"))
	// version changes with any static file; it busts the browser's cache of app.js and app.css.
	version, etags = staticVersions()
)

func staticVersions() (string, map[string]string) {
	all := sha256.New()
	tags := map[string]string{}
	_ = fs.WalkDir(staticFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[p] = `"` + hex.EncodeToString(sum[:8]) + `"`
		all.Write([]byte(p))
		all.Write(sum[:])
		return nil
	})
	return hex.EncodeToString(all.Sum(nil)[:6]), tags
}

// serveStatic serves the embedded files except the page template. With the current ?v= they
// are cached for a year; otherwise the browser revalidates with the ETag.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(r.URL.Path)
	tag, ok := etags[name]
	if !ok || name == "index.html" {
		http.NotFound(w, r)
		return
	}
	b, _ := fs.ReadFile(staticFS, name)
	if r.URL.Query().Get("v") == version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", tag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// csp allows only the page's own files; the boot data is a non-executable JSON block.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// uiIDs are the message ids the page needs, under the names app.js uses.
var uiIDs = map[string]string{
	"title":       "app.title",
	"tagline":     "app.tagline",
	"privacy":     "welcome.privacy",
	"skip":        "web.skip",
	"messages":    "web.messages_label",
	"input":       "web.input_label",
	"placeholder": "web.placeholder",
	"send":        "web.send",
	"language":    "web.language_label",
	"you":         "web.you",
	"bot":         "web.bot",
	"staff":       "web.staff",
	"typing":      "web.typing",
	"sending":     "web.sending",
	"offline":     "web.offline",
	"online":      "web.online",
	"failed":      "web.send_failed",
	"retry":       "web.retry",
	"new_tab":     "web.new_tab",
	"choices":     "web.choices",
	"cleared":     "web.cleared",
	"noscript":    "web.noscript",
	"bad_request": "web.error.bad_request",
	"too_large":   "web.error.too_large",
	"unavailable": "web.error.unavailable",
}

// LanguageOption is one entry of the language menu.
type LanguageOption struct {
	Code     string `json:"code"`
	Name     string `json:"name"` // the language's own name for itself
	Dir      string `json:"dir"`
	Selected bool   `json:"-"`
}

// UI is what GET /api/ui answers and what the page boots with.
type UI struct {
	Lang      string            `json:"lang"`
	Dir       string            `json:"dir"`
	Strings   map[string]string `json:"strings"`
	Languages []LanguageOption  `json:"languages"`
	Desk      string            `json:"desk,omitempty"`
	MaxText   int               `json:"max_text"`
}

// UI returns the page's strings in code (a supported language).
func (c *Channel) UI(code string) UI {
	u := UI{Lang: code, Dir: c.dirOf(code, ""), Strings: map[string]string{}, Desk: c.opts.DeskName, MaxText: bot.MaxTextRunes}
	for name, id := range uiIDs {
		u.Strings[name] = c.cat.T(code, id, map[string]any{"Max": bot.MaxTextRunes})
	}
	for _, l := range c.langs {
		u.Languages = append(u.Languages, LanguageOption{Code: l, Name: c.cat.T(l, "language.name", nil), Dir: c.dirOf(l, ""), Selected: l == code})
	}
	return u
}

func (c *Channel) ui(w http.ResponseWriter, r *http.Request) {
	code := c.pickLang(r, r.URL.Query().Get("lang"))
	w.Header().Set("Content-Language", code)
	w.Header().Set("Vary", "Accept-Language, Cookie")
	writeJSON(w, c.UI(code))
}

type pageData struct {
	UI
	S        map[string]string
	Subtitle string
	Version  string
}

func (c *Channel) page(w http.ResponseWriter, r *http.Request) {
	// Every visit extends the cookie's lifetime.
	if _, err := c.conversation(w, r, true); err != nil {
		c.log.Error("web chat page: no conversation cookie", "err", err)
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	code := c.pickLang(r, r.URL.Query().Get("lang"))
	u := c.UI(code)
	d := pageData{UI: u, S: u.Strings, Subtitle: c.opts.DeskName, Version: version}
	if d.Subtitle == "" {
		d.Subtitle = u.Strings["tagline"]
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, d); err != nil {
		c.log.Error("web chat page", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", code)
	h.Set("Content-Security-Policy", csp)
	h.Set("Vary", "Accept-Language, Cookie")
	_, _ = w.Write(buf.Bytes())
}

// ---- languages ----

// supported returns the normalized code if the page offers it, else "".
func (c *Channel) supported(code string) string {
	if code = lang.Normalize(code); slices.Contains(c.langs, code) {
		return code
	}
	return ""
}

// pickLang decides the language of the page and of error messages: an explicit choice, the
// language cookie, the browser's Accept-Language, the default.
func (c *Channel) pickLang(r *http.Request, explicit string) string {
	if l := c.supported(explicit); l != "" {
		return l
	}
	if ck, err := r.Cookie(LangCookie); err == nil {
		if l := c.supported(ck.Value); l != "" {
			return l
		}
	}
	if l := c.acceptLang(r); l != "" {
		return l
	}
	return c.opts.DefaultLang
}

// hintLang is the router's language hint: the page's language (its cookie), else the browser's.
func (c *Channel) hintLang(r *http.Request) string {
	if ck, err := r.Cookie(LangCookie); err == nil {
		if l := c.supported(ck.Value); l != "" {
			return l
		}
	}
	return c.acceptLang(r)
}

// acceptLang is the browser's most preferred supported language ("" if none).
func (c *Channel) acceptLang(r *http.Request) string {
	for _, tag := range parseAcceptLanguage(r.Header.Get("Accept-Language")) {
		if l := c.supported(tag); l != "" {
			return l
		}
	}
	return ""
}

// parseAcceptLanguage returns the tags of an Accept-Language header, most preferred first
// (q=0 and "*" left out).
func parseAcceptLanguage(h string) []string {
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for i, part := range strings.Split(h, ",") {
		if i >= 32 {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.TrimSpace(tag)
		if tag == "" || tag == "*" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > 0 {
			prefs = append(prefs, pref{tag, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	out := make([]string, len(prefs))
	for i, p := range prefs {
		out[i] = p.tag
	}
	return out
}
