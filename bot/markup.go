package bot

import (
	"net/url"
	"strings"
)

// Span is a run of reply text with one style. Adapters render spans for their channel
// (Telegram HTML, web DOM nodes, plain terminal text) and escape Text themselves.
type Span struct {
	Text string `json:"text"`
	Bold bool   `json:"bold,omitempty"`
	URL  string `json:"url,omitempty"` // a link; Text is its label
}

// ParseMarkup splits reply text written in Sportello's light markup — **bold**,
// [label](https://url) and "- " bullets at the start of a line — into spans.
// Anything that is not well-formed markup stays literal text, so user-provided
// strings can never produce a link or break a channel's formatting.
func ParseMarkup(s string) []Span {
	var out []Span
	var plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			out = append(out, Span{Text: plain.String()})
			plain.Reset()
		}
	}
	lineStart := true
	for i := 0; i < len(s); {
		if lineStart && strings.HasPrefix(s[i:], "- ") {
			plain.WriteString("• ")
			i += 2
			lineStart = false
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "**"):
			if end := strings.Index(s[i+2:], "**"); end > 0 && !strings.Contains(s[i+2:i+2+end], "\n") {
				flush()
				out = append(out, Span{Text: s[i+2 : i+2+end], Bold: true})
				i += 2 + end + 2
				lineStart = false
				continue
			}
		case s[i] == '[':
			if label, link, n, ok := parseLink(s[i:]); ok {
				flush()
				out = append(out, Span{Text: label, URL: link})
				i += n
				lineStart = false
				continue
			}
		}
		lineStart = s[i] == '\n'
		plain.WriteByte(s[i])
		i++
	}
	flush()
	return out
}

// parseLink reads "[label](url)" at the start of s; only http(s) URLs count as links.
func parseLink(s string) (label, link string, n int, ok bool) {
	closeLabel := strings.Index(s, "](")
	if closeLabel < 2 || strings.ContainsAny(s[1:closeLabel], "[]\n") {
		return "", "", 0, false
	}
	closeURL := strings.IndexByte(s[closeLabel+2:], ')')
	if closeURL < 1 {
		return "", "", 0, false
	}
	link = s[closeLabel+2 : closeLabel+2+closeURL]
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(link, " \n\"<>") {
		return "", "", 0, false
	}
	return s[1:closeLabel], link, closeLabel + 2 + closeURL + 1, true
}

// PlainText renders spans without styling, links as "label (url)": for the terminal and logs-free previews.
func PlainText(spans []Span) string {
	var b strings.Builder
	for _, sp := range spans {
		b.WriteString(sp.Text)
		if sp.URL != "" && sp.URL != sp.Text {
			b.WriteString(" (" + sp.URL + ")")
		}
	}
	return b.String()
}
