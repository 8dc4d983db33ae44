package telegram

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
)

func TestRenderEscapes(t *testing.T) {
	spans := bot.ParseMarkup(`a < b & c > d "q" **x & <y>** [label <1>](https://e.org/?q=1&r="2") [bad](javascript:x)`)
	got := splitSpans(spans, MaxTextUnits)
	if len(got) != 1 {
		t.Fatalf("%d chunks", len(got))
	}
	want := `a &lt; b &amp; c &gt; d "q" <b>x &amp; &lt;y&gt;</b> [label &lt;1&gt;](https://e.org/?q=1&amp;r="2") [bad](javascript:x)`
	if got[0].html != want {
		t.Fatalf("html\n got %s\nwant %s", got[0].html, want)
	}
	spans = []bot.Span{{Text: "site"}, {Text: ` "<docs>" `, URL: `https://e.org/a?b=1&c="2"`}}
	got = splitSpans(spans, MaxTextUnits)
	text, ents, err := telegramtest.ParseText(got[0].html, "HTML")
	if err != nil || text != `site "<docs>"` || len(ents) != 1 || ents[0].URL != `https://e.org/a?b=1&c="2"` {
		t.Fatalf("link: %s → %q %+v %v", got[0].html, text, ents, err)
	}
}

// longText is a reply of several messages' length: paragraphs, bullets, links, bold, Arabic
// and emoji (two UTF-16 units each).
func longText() string {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"permesso", "soggiorno", "rinnovo", "تصريح", "الإقامة", "😀", "Aufenthaltstitel", "&", "<b>", "a"}
	var b strings.Builder
	for p := range 40 {
		fmt.Fprintf(&b, "**Paragraph %d** ", p)
		for range 30 + r.IntN(40) {
			b.WriteString(words[r.IntN(len(words))] + " ")
			if r.IntN(25) == 0 {
				fmt.Fprintf(&b, "[source %d](https://e.org/%d?x=1&y=2) ", p, p)
			}
		}
		b.WriteString("\n- bullet one\n- bullet two\n\n")
	}
	return b.String()
}

func TestSplitLongReplies(t *testing.T) {
	for _, limit := range []int{MaxTextUnits, 300, 57} {
		src := longText()
		spans := bot.ParseMarkup(src)
		chunks := splitSpans(spans, limit)
		if limit == MaxTextUnits && len(chunks) < 3 {
			t.Fatalf("%d chunks for %d units", len(chunks), telegramtest.UTF16Len(bot.PlainText(spans)))
		}
		var words []string
		for i, ch := range chunks {
			text, ents, err := telegramtest.ParseText(ch.html, "HTML")
			if err != nil {
				t.Fatalf("limit %d chunk %d refused: %v\n%s", limit, i, err, ch.html)
			}
			if n := telegramtest.UTF16Len(text); n > limit || n == 0 {
				t.Fatalf("limit %d chunk %d: %d units", limit, i, n)
			}
			for _, e := range ents {
				if e.Type == "text_link" {
					label := telegramtest.Slice(text, e.Offset, e.Length)
					if !strings.HasPrefix(label, "source ") || !strings.HasPrefix(e.URL, "https://e.org/") {
						t.Fatalf("link cut: %q → %q", label, e.URL)
					}
				}
			}
			words = append(words, strings.Fields(text)...)
		}
		if want := strings.Fields(bot.PlainText(spansWithoutURLs(spans))); strings.Join(words, " ") != strings.Join(want, " ") {
			t.Fatalf("limit %d: words lost or cut", limit)
		}
	}
}

func spansWithoutURLs(spans []bot.Span) []bot.Span {
	out := make([]bot.Span, len(spans))
	for i, s := range spans {
		out[i] = bot.Span{Text: s.Text, Bold: s.Bold}
	}
	return out
}

func TestSplitGiantWord(t *testing.T) {
	word := strings.Repeat("😀a", 3000) // 9000 units, no space
	chunks := splitSpans([]bot.Span{{Text: "start " + word + " end"}}, MaxTextUnits)
	var all strings.Builder
	for _, ch := range chunks {
		text, _, err := telegramtest.ParseText(ch.html, "HTML")
		if err != nil || telegramtest.UTF16Len(text) > MaxTextUnits {
			t.Fatalf("chunk refused or too long: %v", err)
		}
		all.WriteString(text)
	}
	if got := strings.ReplaceAll(all.String(), " ", ""); got != "start"+word+"end" {
		t.Fatal("characters lost or a surrogate pair split")
	}
}

func TestKeyboardValidation(t *testing.T) {
	c := &Channel{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var row []bot.Button
	for i := range 10 {
		row = append(row, bot.Button{Label: fmt.Sprint(i), Action: fmt.Sprint("a", i)})
	}
	rows := [][]bot.Button{row, {{Label: "too long", Action: strings.Repeat("x", 65)}, {Label: "web", URL: "https://e.org"}, {Label: " ", Action: "blank"}}}
	for range 12 {
		rows = append(rows, row)
	}
	kb := c.keyboard(rows)
	total := 0
	for _, r := range kb.InlineKeyboard {
		if len(r) > maxRowButtons {
			t.Fatalf("row of %d", len(r))
		}
		for _, b := range r {
			total++
			if len(b.CallbackData) > 64 || b.Text == "" || (b.CallbackData == "") == (b.URL == "") {
				t.Fatalf("bad button %+v", b)
			}
		}
	}
	if total != maxButtons {
		t.Fatalf("%d buttons", total)
	}
	if kb.InlineKeyboard[0][0].CallbackData != "a0" || kb.InlineKeyboard[2][0].URL != "https://e.org" || kb.InlineKeyboard[2][1].Text != "…" {
		t.Fatalf("keyboard %+v", kb.InlineKeyboard[:3])
	}
}

func TestLongReplyThroughTheClient(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	u := h.srv.NewUser("en")
	h.srv.SendText(u, "long")
	want := len(splitSpans(bot.ParseMarkup(longText()), MaxTextUnits))
	got := h.expectExactly(u.ID, want)
	for i, m := range got {
		if telegramtest.UTF16Len(m.Text) > MaxTextUnits {
			t.Fatalf("message %d: %d units", i, telegramtest.UTF16Len(m.Text))
		}
		if (len(m.Keyboard) > 0) != (i == len(got)-1) {
			t.Fatalf("keyboard on message %d of %d", i, len(got))
		}
	}
	h.noRejections()
}
