package telegram

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sportello/sportello/bot"
)

// MaxTextUnits is Telegram's limit for one message, in UTF-16 code units of the text the
// user sees (after HTML parsing).
const MaxTextUnits = 4096

// maxButtons and maxRowButtons bound an inline keyboard.
const (
	maxButtons    = 100
	maxRowButtons = 8
)

// outMsg is one Telegram message to send.
type outMsg struct {
	html     string          // parse_mode HTML
	plain    string          // the same without markup, if Telegram ever refuses the HTML
	keyboard *inlineKeyboard // on the last message of a reply
	edit     bool            // replace the message whose button was pressed
}

// inlineKeyboard is Telegram's InlineKeyboardMarkup. The channel uses its own type rather
// than go-telegram/bot's, whose buttons always carry an empty copy_text object.
type inlineKeyboard struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type inlineButton struct {
	Text         string `json:"text"`
	URL          string `json:"url,omitempty"`
	CallbackData string `json:"callback_data,omitempty"`
}

// render turns replies into Telegram messages.
func (c *Channel) render(replies []bot.Reply) []outMsg {
	var out []outMsg
	for _, r := range replies {
		chunks := splitSpans(bot.ParseMarkup(r.Text), MaxTextUnits)
		kb := c.keyboard(r.Buttons)
		if len(chunks) == 0 {
			if kb == nil {
				continue
			}
			chunks = []chunk{{html: "👇", plain: "👇"}} // buttons need a message to hang on
		}
		for i, ch := range chunks {
			m := outMsg{html: ch.html, plain: ch.plain, edit: r.Edit && i == 0}
			if i == len(chunks)-1 {
				m.keyboard = kb
			}
			out = append(out, m)
		}
	}
	return out
}

// keyboard builds the inline keyboard of a reply. A button whose payload is too long for
// callback_data (64 bytes) or not UTF-8, or whose URL Telegram would refuse, is left out
// rather than failing the whole message.
func (c *Channel) keyboard(rows [][]bot.Button) *inlineKeyboard {
	var kb inlineKeyboard
	total := 0
	for _, row := range rows {
		var r []inlineButton
		for _, b := range row {
			label := strings.TrimSpace(b.Label)
			if label == "" {
				label = "…"
			}
			btn := inlineButton{Text: label}
			switch {
			case b.URL != "" && validButtonURL(b.URL):
				btn.URL = b.URL
			case b.Action != "" && len(b.Action) <= bot.MaxActionBytes && utf8.ValidString(b.Action):
				btn.CallbackData = b.Action
			default:
				c.log.Error("telegram: button left out (payload over 64 bytes, invalid, or bad URL)", "bytes", len(b.Action))
				continue
			}
			if total == maxButtons {
				c.log.Error("telegram: keyboard cut at 100 buttons")
				break
			}
			total++
			r = append(r, btn)
			if len(r) == maxRowButtons {
				kb.InlineKeyboard = append(kb.InlineKeyboard, r)
				r = nil
			}
		}
		if len(r) > 0 {
			kb.InlineKeyboard = append(kb.InlineKeyboard, r)
		}
	}
	if total == 0 {
		return nil
	}
	return &kb
}

func validButtonURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http" || u.Scheme == "tg") && (u.Host != "" || u.Scheme == "tg")
}

// ---- HTML and splitting ----

// escapeHTML escapes text for Telegram HTML: &, < and > (quotes only matter in attributes).
func escapeHTML(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func escapeAttr(s string) string {
	return strings.ReplaceAll(escapeHTML(s), `"`, "&quot;")
}

// token is a unit the splitter never cuts: a word, a run of whitespace, or a whole link.
type token struct {
	text  string
	url   string
	bold  bool
	space bool
	units int
}

func units(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func tokenize(spans []bot.Span) []token {
	var out []token
	for _, sp := range spans {
		if sp.URL != "" {
			out = append(out, token{text: sp.Text, url: sp.URL, bold: sp.Bold, units: units(sp.Text)})
			continue
		}
		s := sp.Text
		for len(s) > 0 {
			r, _ := utf8.DecodeRuneInString(s)
			space := unicode.IsSpace(r)
			i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) != space })
			if i < 0 {
				i = len(s)
			}
			out = append(out, token{text: s[:i], bold: sp.Bold, space: space, units: units(s[:i])})
			s = s[i:]
		}
	}
	return out
}

type chunk struct {
	html  string
	plain string
}

// splitSpans renders spans as Telegram HTML messages of at most limit UTF-16 code units of
// visible text each. It splits between words, preferring a paragraph or line break in the
// second half of a message; a link is never split, and bold text split across messages is
// closed and reopened, so every message is well-formed. Only a single word longer than a
// whole message is cut (between characters).
func splitSpans(spans []bot.Span, limit int) []chunk {
	toks := tokenize(spans)
	var groups [][]token
	var cur []token
	curUnits := 0
	flush := func() {
		if g := trimSpaceTokens(cur); len(g) > 0 {
			groups = append(groups, g)
		}
		cur, curUnits = nil, 0
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		if curUnits+t.units <= limit {
			cur = append(cur, t)
			curUnits += t.units
			i++
			continue
		}
		if t.space {
			flush()
			i++
			continue
		}
		if bp := breakPoint(cur, limit); bp > 0 {
			rest := append([]token(nil), cur[bp+1:]...)
			cur = cur[:bp]
			flush()
			cur = rest
			for _, r := range rest {
				curUnits += r.units
			}
			continue
		}
		if len(cur) > 0 && t.units <= limit {
			flush() // no space to break at: break between tokens
			continue
		}
		// One token longer than a message: cut it between characters.
		room := limit - curUnits
		if room <= 0 {
			flush()
			continue
		}
		head, tail := cutToken(t, room)
		cur = append(cur, head)
		flush()
		toks[i] = tail
	}
	flush()
	out := make([]chunk, 0, len(groups))
	for _, g := range groups {
		out = append(out, renderTokens(g))
	}
	return out
}

// breakPoint picks the whitespace token to split cur at: a paragraph break, then a line
// break, in the second half; otherwise the last space. It returns -1 if there is none.
func breakPoint(cur []token, limit int) int {
	pos := make([]int, len(cur))
	n := 0
	for i, t := range cur {
		pos[i] = n
		n += t.units
	}
	for _, sep := range []string{"\n\n", "\n"} {
		for i := len(cur) - 1; i > 0; i-- {
			if cur[i].space && strings.Contains(cur[i].text, sep) && pos[i] >= limit/2 {
				return i
			}
		}
	}
	for i := len(cur) - 1; i > 0; i-- {
		if cur[i].space {
			return i
		}
	}
	return -1
}

// cutToken splits a token so that the head has at most room units, between code points.
func cutToken(t token, room int) (token, token) {
	n, cut := 0, 0
	for i, r := range t.text {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > room {
			cut = i
			break
		}
		n += w
		cut = i + utf8.RuneLen(r)
	}
	if cut == 0 { // room < 2 and a surrogate pair comes first
		_, size := utf8.DecodeRuneInString(t.text)
		cut = size
	}
	head, tail := t, t
	head.text, tail.text = t.text[:cut], t.text[cut:]
	head.units, tail.units = units(head.text), units(tail.text)
	return head, tail
}

func trimSpaceTokens(g []token) []token {
	for len(g) > 0 && g[0].space && g[0].url == "" {
		g = g[1:]
	}
	for len(g) > 0 && g[len(g)-1].space && g[len(g)-1].url == "" {
		g = g[:len(g)-1]
	}
	return g
}

func renderTokens(g []token) chunk {
	var h, p strings.Builder
	for i := 0; i < len(g); {
		t := g[i]
		if t.url != "" {
			label := escapeHTML(t.text)
			if t.bold {
				label = "<b>" + label + "</b>"
			}
			h.WriteString(`<a href="` + escapeAttr(t.url) + `">` + label + "</a>")
			p.WriteString(t.text)
			if t.text != t.url {
				p.WriteString(" (" + t.url + ")")
			}
			i++
			continue
		}
		var run strings.Builder
		j := i
		for j < len(g) && g[j].url == "" && g[j].bold == t.bold {
			run.WriteString(g[j].text)
			j++
		}
		if t.bold {
			h.WriteString("<b>" + escapeHTML(run.String()) + "</b>")
		} else {
			h.WriteString(escapeHTML(run.String()))
		}
		p.WriteString(run.String())
		i = j
	}
	return chunk{html: h.String(), plain: p.String()}
}
