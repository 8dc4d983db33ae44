package telegramtest

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The parsers below follow what Telegram's servers (tdlib's MessageEntity parsing) accept and
// reject, with its error texts. They return the text as the user sees it and the entities.

// parseError is a "can't parse entities" rejection.
type parseError struct{ msg string }

func (e *parseError) Error() string { return "can't parse entities: " + e.msg }

func perr(format string, args ...any) error { return &parseError{fmt.Sprintf(format, args...)} }

// textBuilder accumulates plain text and counts UTF-16 code units as it goes.
type textBuilder struct {
	b     strings.Builder
	units int
}

func (t *textBuilder) rune(r rune) {
	t.b.WriteRune(r)
	t.units += utf16Len(r)
}

func (t *textBuilder) string(s string) {
	for _, r := range s {
		t.rune(r)
	}
}

func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// UTF16Len is the length of s in UTF-16 code units, the unit of Telegram's limits and offsets.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Len(r)
	}
	return n
}

// ---- HTML ----

var htmlTags = map[string]string{
	"b": "bold", "strong": "bold",
	"i": "italic", "em": "italic",
	"u": "underline", "ins": "underline",
	"s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
	"tg-spoiler": "spoiler", "span": "spoiler",
	"a":          "text_link",
	"code":       "code",
	"pre":        "pre",
	"blockquote": "blockquote",
	"tg-emoji":   "custom_emoji",
}

type openTag struct {
	name   string
	start  int // UTF-16 offset in the plain text
	offset int // byte offset of the tag in the source
	attr   map[string]string
}

func isTagNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseHTML parses text with parse_mode HTML.
func parseHTML(s string) (string, []Entity, error) {
	var out textBuilder
	var stack []openTag
	var ents []Entity
	for i := 0; i < len(s); {
		switch s[i] {
		case '&':
			if r, n := decodeHTMLEntity(s[i:]); n > 0 {
				out.rune(r)
				i += n
				continue
			}
			// Telegram keeps a lone '&' as it is.
			out.rune('&')
			i++
		case '<':
			begin := i
			i++
			if i < len(s) && s[i] == '/' {
				i++
				j := i
				for j < len(s) && isTagNameChar(s[j]) {
					j++
				}
				name := strings.ToLower(s[i:j])
				for j < len(s) && isSpace(s[j]) {
					j++
				}
				if j >= len(s) || s[j] != '>' {
					return "", nil, perr("Unclosed end tag at byte offset %d", begin)
				}
				if len(stack) == 0 {
					return "", nil, perr("Unexpected end tag at byte offset %d", begin)
				}
				top := stack[len(stack)-1]
				if name != "" && name != top.name {
					return "", nil, perr("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.name, name)
				}
				stack = stack[:len(stack)-1]
				if e, ok := htmlEntity(top, out.units); ok {
					ents = append(ents, e)
				}
				i = j + 1
				continue
			}
			j := i
			for j < len(s) && isTagNameChar(s[j]) {
				j++
			}
			name := strings.ToLower(s[i:j])
			if _, ok := htmlTags[name]; !ok {
				return "", nil, perr("Unsupported start tag \"%s\" at byte offset %d", name, begin)
			}
			attrs := map[string]string{}
			k := j
			for {
				for k < len(s) && isSpace(s[k]) {
					k++
				}
				if k >= len(s) {
					return "", nil, perr("Unclosed start tag at byte offset %d", begin)
				}
				if s[k] == '>' {
					k++
					break
				}
				a := k
				for k < len(s) && isTagNameChar(s[k]) {
					k++
				}
				attrName := strings.ToLower(s[a:k])
				if attrName == "" {
					return "", nil, perr("Empty attribute name in the tag \"%s\" at byte offset %d", name, begin)
				}
				for k < len(s) && isSpace(s[k]) {
					k++
				}
				if k >= len(s) || s[k] != '=' {
					attrs[attrName] = "" // a valueless attribute, e.g. <blockquote expandable>
					continue
				}
				k++
				for k < len(s) && isSpace(s[k]) {
					k++
				}
				if k >= len(s) {
					return "", nil, perr("Unclosed start tag at byte offset %d", begin)
				}
				var raw string
				if q := s[k]; q == '"' || q == '\'' {
					end := strings.IndexByte(s[k+1:], q)
					if end < 0 {
						return "", nil, perr("Unclosed start tag at byte offset %d", begin)
					}
					raw = s[k+1 : k+1+end]
					k += end + 2
				} else {
					v := k
					for k < len(s) && !isSpace(s[k]) && s[k] != '>' && s[k] != '"' && s[k] != '\'' && s[k] != '<' {
						k++
					}
					raw = s[v:k]
				}
				attrs[attrName] = decodeHTMLEntities(raw)
			}
			switch name {
			case "span":
				if attrs["class"] != "tg-spoiler" {
					return "", nil, perr("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
				}
			case "tg-emoji":
				if _, err := strconv.ParseInt(attrs["emoji-id"], 10, 64); err != nil {
					return "", nil, perr("Invalid custom emoji identifier specified at byte offset %d", begin)
				}
			}
			stack = append(stack, openTag{name: name, start: out.units, offset: begin, attr: attrs})
			i = k
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			out.rune(r)
			i += n
		}
	}
	if len(stack) > 0 {
		return "", nil, perr("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].name)
	}
	text, ents := trimText(out.b.String(), ents)
	return text, ents, nil
}

// htmlEntity turns a closed tag into an entity; empty or ineffective tags yield none.
func htmlEntity(t openTag, end int) (Entity, bool) {
	if end <= t.start {
		return Entity{}, false
	}
	e := Entity{Type: htmlTags[t.name], Offset: t.start, Length: end - t.start}
	switch t.name {
	case "a":
		href, ok := t.attr["href"]
		if !ok || !validURL(href) {
			return Entity{}, false // Telegram drops links it cannot use
		}
		e.URL = href
	case "pre":
		e.Language = strings.TrimPrefix(t.attr["class"], "language-")
	case "code":
		if l := t.attr["class"]; strings.HasPrefix(l, "language-") {
			e.Type, e.Language = "pre", strings.TrimPrefix(l, "language-")
		}
	case "blockquote":
		if _, ok := t.attr["expandable"]; ok {
			e.Type = "expandable_blockquote"
		}
	case "tg-emoji":
		e.EmojiID = t.attr["emoji-id"]
	}
	return e, true
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != ""
	case "tg", "mailto", "tel":
		return true
	}
	return false
}

// decodeHTMLEntity decodes the entity at the start of s ("&lt;", "&#228;", "&#x1F600;"):
// Telegram knows only &lt; &gt; &amp; &quot; by name, and every numeric entity.
func decodeHTMLEntity(s string) (rune, int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 12 {
		return 0, 0
	}
	body := s[1:end]
	switch body {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "quot":
		return '"', end + 1
	}
	if body[0] != '#' || len(body) < 2 {
		return 0, 0
	}
	var n int64
	var err error
	if body[1] == 'x' || body[1] == 'X' {
		n, err = strconv.ParseInt(body[2:], 16, 32)
	} else {
		n, err = strconv.ParseInt(body[1:], 10, 32)
	}
	if err != nil || n <= 0 || n > unicode.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
		return 0, 0
	}
	return rune(n), end + 1
}

func decodeHTMLEntities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if r, n := decodeHTMLEntity(s[i:]); n > 0 {
				b.WriteRune(r)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// trimText strips leading and trailing whitespace as Telegram does, moving the entities.
func trimText(text string, ents []Entity) (string, []Entity) {
	trimmedLeft := strings.TrimLeftFunc(text, unicode.IsSpace)
	lead := UTF16Len(text[:len(text)-len(trimmedLeft)])
	trimmed := strings.TrimRightFunc(trimmedLeft, unicode.IsSpace)
	n := UTF16Len(trimmed)
	out := ents[:0]
	for _, e := range ents {
		start, end := e.Offset-lead, e.Offset+e.Length-lead
		start, end = max(start, 0), min(end, n)
		if end <= start {
			continue
		}
		e.Offset, e.Length = start, end-start
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Offset != out[j].Offset {
			return out[i].Offset < out[j].Offset
		}
		return out[i].Length > out[j].Length
	})
	if len(out) == 0 {
		out = nil
	}
	return trimmed, out
}

// ---- MarkdownV2 ----

const markdownV2Reserved = "_*[]()~`>#+-=|{}.!"

var markdownV2Names = map[string]string{
	"bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
	"spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl", "custom_emoji": "CustomEmoji",
}

type openMD struct {
	typ    string
	start  int
	offset int
	lang   string
}

// parseMarkdownV2 parses text with parse_mode MarkdownV2: every reserved character outside an
// entity must be escaped with '\'; inside code and pre only '`' and '\' are special.
func parseMarkdownV2(s string) (string, []Entity, error) {
	var out textBuilder
	var stack []openMD
	var ents []Entity
	top := func() string {
		if len(stack) == 0 {
			return ""
		}
		return stack[len(stack)-1].typ
	}
	closeTop := func() {
		o := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if out.units > o.start {
			ents = append(ents, Entity{Type: o.typ, Offset: o.start, Length: out.units - o.start, Language: o.lang})
		}
	}
	toggle := func(typ string, at int) error {
		if top() == typ {
			closeTop()
			return nil
		}
		for _, o := range stack {
			if o.typ == typ {
				return perr("Can't find end of %s entity at byte offset %d", markdownV2Names[top()], stack[len(stack)-1].offset)
			}
		}
		stack = append(stack, openMD{typ: typ, start: out.units, offset: at})
		return nil
	}
	quote := -1 // start of the blockquote of the current line, -1 if none
	lineStart := true
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] > 0 && s[i+1] <= 126 {
			out.rune(rune(s[i+1]))
			i += 2
			lineStart = false
			continue
		}
		if t := top(); t == "code" || t == "pre" {
			switch {
			case t == "pre" && strings.HasPrefix(s[i:], "```"):
				closeTop()
				i += 3
			case t == "code" && c == '`':
				closeTop()
				i++
			default:
				r, n := utf8.DecodeRuneInString(s[i:])
				out.rune(r)
				i += n
			}
			continue
		}
		if !strings.ContainsRune(markdownV2Reserved, rune(c)) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == '\n' {
				if quote >= 0 && out.units > quote {
					ents = append(ents, Entity{Type: "blockquote", Offset: quote, Length: out.units - quote})
				}
				quote = -1
				lineStart = true
				out.rune(r)
				i += n
				continue
			}
			out.rune(r)
			i += n
			lineStart = false
			continue
		}
		at := i
		switch {
		case c == '*':
			if err := toggle("bold", at); err != nil {
				return "", nil, err
			}
			i++
		case strings.HasPrefix(s[i:], "__"):
			if err := toggle("underline", at); err != nil {
				return "", nil, err
			}
			i += 2
		case c == '_':
			if err := toggle("italic", at); err != nil {
				return "", nil, err
			}
			i++
		case c == '~':
			if err := toggle("strikethrough", at); err != nil {
				return "", nil, err
			}
			i++
		case strings.HasPrefix(s[i:], "||"):
			if err := toggle("spoiler", at); err != nil {
				return "", nil, err
			}
			i += 2
		case strings.HasPrefix(s[i:], "```"):
			i += 3
			lang := ""
			if nl := strings.IndexByte(s[i:], '\n'); nl >= 0 && !strings.ContainsAny(s[i:i+nl], " `") {
				lang = s[i : i+nl]
				i += nl + 1
			}
			stack = append(stack, openMD{typ: "pre", start: out.units, offset: at, lang: lang})
		case c == '`':
			stack = append(stack, openMD{typ: "code", start: out.units, offset: at})
			i++
		case c == '[':
			stack = append(stack, openMD{typ: "text_link", start: out.units, offset: at})
			i++
		case strings.HasPrefix(s[i:], "!["):
			stack = append(stack, openMD{typ: "custom_emoji", start: out.units, offset: at})
			i += 2
		case c == ']' && (top() == "text_link" || top() == "custom_emoji"):
			i++
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			link := ""
			if i < len(s) && s[i] == '(' {
				i++
				var u strings.Builder
				for ; i < len(s) && s[i] != ')'; i++ {
					if s[i] == '\\' && i+1 < len(s) {
						i++
					}
					u.WriteByte(s[i])
				}
				if i >= len(s) {
					return "", nil, perr("Can't find end of a url at byte offset %d", o.offset)
				}
				i++
				link = u.String()
			}
			if out.units > o.start && link != "" && (o.typ == "custom_emoji" || validURL(link)) {
				ents = append(ents, Entity{Type: o.typ, Offset: o.start, Length: out.units - o.start, URL: link})
			}
		case c == '>' && lineStart:
			quote = out.units
			i++
		default:
			return "", nil, perr("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
		}
		lineStart = false
	}
	if len(stack) > 0 {
		o := stack[len(stack)-1]
		if o.typ == "text_link" || o.typ == "custom_emoji" {
			return "", nil, perr("Can't find end of %s entity at byte offset %d", markdownV2Names[o.typ], o.offset)
		}
		return "", nil, perr("Can't find end of %s entity at byte offset %d", markdownV2Names[o.typ], o.offset)
	}
	if quote >= 0 && out.units > quote {
		ents = append(ents, Entity{Type: "blockquote", Offset: quote, Length: out.units - quote})
	}
	text, ents := trimText(out.b.String(), ents)
	return text, ents, nil
}

// ---- Markdown (legacy) ----

// parseMarkdown parses the legacy parse_mode Markdown: *bold*, _italic_, `code`, ```pre```
// and [text](url); an entity that is opened and never closed is an error.
func parseMarkdown(s string) (string, []Entity, error) {
	var out textBuilder
	var ents []Entity
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte("_*`[", s[i+1]) >= 0:
			out.rune(rune(s[i+1]))
			i += 2
		case c == '*' || c == '_' || c == '`':
			marker, typ := string(c), map[byte]string{'*': "bold", '_': "italic", '`': "code"}[c]
			if strings.HasPrefix(s[i:], "```") {
				marker, typ = "```", "pre"
			}
			end := strings.Index(s[i+len(marker):], marker)
			if end < 0 {
				return "", nil, perr("Can't find end of the entity starting at byte offset %d", i)
			}
			inner := s[i+len(marker) : i+len(marker)+end]
			start := out.units
			out.string(inner)
			if out.units > start {
				ents = append(ents, Entity{Type: typ, Offset: start, Length: out.units - start})
			}
			i += len(marker) + end + len(marker)
		case c == '[':
			close := strings.Index(s[i:], "](")
			if close < 0 {
				return "", nil, perr("Can't find end of the entity starting at byte offset %d", i)
			}
			end := strings.IndexByte(s[i+close+2:], ')')
			if end < 0 {
				return "", nil, perr("Can't find end of the entity starting at byte offset %d", i)
			}
			label, link := s[i+1:i+close], s[i+close+2:i+close+2+end]
			start := out.units
			out.string(label)
			if out.units > start && validURL(link) {
				ents = append(ents, Entity{Type: "text_link", Offset: start, Length: out.units - start, URL: link})
			}
			i += close + 2 + end + 1
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			out.rune(r)
			i += n
		}
	}
	text, ents := trimText(out.b.String(), ents)
	return text, ents, nil
}

// ParseText parses text as Telegram does for parse_mode ("", "HTML", "MarkdownV2",
// "Markdown"): it returns what the user reads and the entities, or the "can't parse entities"
// error Telegram would answer with.
func ParseText(text, parseMode string) (string, []Entity, error) { return parseText(text, parseMode) }

// parseText applies parse_mode to text; the mode is case-insensitive like Telegram's.
func parseText(text, mode string) (string, []Entity, error) {
	switch strings.ToLower(mode) {
	case "":
		t, e := trimText(text, nil)
		return t, e, nil
	case "html":
		return parseHTML(text)
	case "markdownv2":
		return parseMarkdownV2(text)
	case "markdown":
		return parseMarkdown(text)
	}
	return "", nil, fmt.Errorf("unsupported parse_mode")
}

// Slice returns the part of text an entity covers.
func Slice(text string, offset, length int) string {
	u := utf16.Encode([]rune(text))
	if offset < 0 || offset+length > len(u) || length < 0 {
		return ""
	}
	return string(utf16.Decode(u[offset : offset+length]))
}
