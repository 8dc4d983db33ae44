package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sportello/sportello/bot"
)

// TestConversations replays every scenario in testdata/conversations through the whole
// pipeline. A scenario is a plain-text file translators can read:
//
//	lang: it                 the user's phone language (Telegram's language_code)
//	desk: ravenna            the desk, as a deep link would choose it
//	> quanto costa           the user types
//	> [Costo del rinnovo]    the user presses the button whose label contains the text
//	< 126,46                 a reply of this turn contains the text
//	= button Talk to         a reply of this turn has a button whose label contains the text
//	= article permit-fees    a reply of this turn answers with the article
//	= handoff                this turn hands the user to staff
//	= lang ar                the replies of this turn are in that language
//	= no article             no reply of this turn answers with an article (no guessing)
//	= silent                 this turn has no reply
func TestConversations(t *testing.T) {
	m := openTestMain(t, nil)
	files, _ := filepath.Glob("testdata/conversations/*.txt")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			replayConversation(t, m, path)
		})
	}
}

func replayConversation(t *testing.T, m *Main, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := &recorder{replies: map[string][]bot.Reply{}}
	m.Router.Register(rec)
	conv := filepath.Base(path)
	addr := bot.Address{Channel: rec.Name(), Conversation: conv}
	ctx := context.Background()
	var lang string
	var turn []bot.Reply
	seen, msgID := 0, 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		at := fmt.Sprintf("%s:%d", filepath.Base(path), line)
		switch {
		case text == "" || strings.HasPrefix(text, "#"):
		case strings.HasPrefix(text, "lang:"):
			lang = strings.TrimSpace(strings.TrimPrefix(text, "lang:"))
		case strings.HasPrefix(text, "desk:"):
			desk := strings.TrimSpace(strings.TrimPrefix(text, "desk:"))
			if err := m.Router.Notify(ctx, addr, func(s *bot.Session) []bot.Reply { s.Desk = desk; return nil }); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(text, ">"):
			msgID++
			in := bot.Inbound{Address: addr, User: conv, MessageID: fmt.Sprint(msgID), LangHint: lang, Text: strings.TrimSpace(text[1:])}
			if label, ok := strings.CutPrefix(in.Text, "["); ok {
				in.Text, in.Action = "", findButton(t, at, turn, strings.TrimSuffix(label, "]"))
			}
			if err := m.Router.Handle(ctx, in); err != nil {
				t.Fatalf("%s: %v", at, err)
			}
			rec.mu.Lock()
			turn = append([]bot.Reply(nil), rec.replies[conv][seen:]...)
			seen = len(rec.replies[conv])
			rec.mu.Unlock()
		case strings.HasPrefix(text, "<"):
			want := strings.TrimSpace(text[1:])
			if !anyReply(turn, func(r bot.Reply) bool { return strings.Contains(r.Text, want) }) {
				t.Errorf("%s: no reply contains %q; got:\n%s", at, want, dump(turn))
			}
		case strings.HasPrefix(text, "= button "):
			want := strings.TrimPrefix(text, "= button ")
			if !anyReply(turn, func(r bot.Reply) bool { return hasButton(r, want) }) {
				t.Errorf("%s: no button %q; got:\n%s", at, want, dump(turn))
			}
		case text == "= handoff":
			if !anyReply(turn, func(r bot.Reply) bool { return r.Handoff != "" }) {
				t.Errorf("%s: no handoff; got:\n%s", at, dump(turn))
			}
		case text == "= no article":
			if anyReply(turn, func(r bot.Reply) bool { return r.Article != "" }) {
				t.Errorf("%s: answered with an article, want none:\n%s", at, dump(turn))
			}
		case text == "= silent":
			if len(turn) != 0 {
				t.Errorf("%s: expected no reply, got:\n%s", at, dump(turn))
			}
		case strings.HasPrefix(text, "= article "):
			id := strings.TrimPrefix(text, "= article ")
			if !anyReply(turn, func(r bot.Reply) bool { return r.Article == id }) {
				t.Errorf("%s: no answer with article %s; got:\n%s", at, id, dump(turn))
			}
		case strings.HasPrefix(text, "= lang "):
			want := strings.TrimPrefix(text, "= lang ")
			for _, r := range turn {
				if r.Lang != want {
					t.Errorf("%s: reply in %q, want %q: %q", at, r.Lang, want, r.Text)
				}
			}
		default:
			t.Fatalf("%s: cannot read %q", at, text)
		}
	}
}

func findButton(t *testing.T, at string, replies []bot.Reply, label string) string {
	t.Helper()
	for _, r := range replies {
		if b, ok := button(r, label); ok {
			return b.Action
		}
	}
	t.Fatalf("%s: no button %q in:\n%s", at, label, dump(replies))
	return ""
}

func anyReply(replies []bot.Reply, ok func(bot.Reply) bool) bool {
	for _, r := range replies {
		if ok(r) {
			return true
		}
	}
	return false
}

func dump(replies []bot.Reply) string {
	var b strings.Builder
	for _, r := range replies {
		fmt.Fprintf(&b, "  [%s article=%s handoff=%s] %q\n", r.Lang, r.Article, r.Handoff, r.Text)
		for _, row := range r.Buttons {
			for _, btn := range row {
				fmt.Fprintf(&b, "    (%s -> %s)\n", btn.Label, btn.Action)
			}
		}
	}
	return b.String()
}

// openTestMain builds a Sportello with the embedded store in a temporary folder; env adds
// or overrides environment variables.
func openTestMain(t testing.TB, env map[string]string, store ...bot.Store) *Main {
	t.Helper()
	opts := Options{Log: newLogger(os.Stderr, "error")}
	if len(store) > 0 {
		opts.Store = store[0]
	}
	return openTestMainWith(t, env, opts)
}

// openTestMainWith is openTestMain with the caller's options (a logger, a store).
func openTestMainWith(t testing.TB, env map[string]string, opts Options) *Main {
	t.Helper()
	vars := map[string]string{"SPORTELLO_DATA": t.TempDir(), "SPORTELLO_HTTP_ADDR": "127.0.0.1:0"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.File.Flood.Limit = 0
	m, err := Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// button returns the first button of r whose label contains label.
func button(r bot.Reply, label string) (bot.Button, bool) {
	for _, row := range r.Buttons {
		for _, b := range row {
			if strings.Contains(b.Label, label) {
				return b, true
			}
		}
	}
	return bot.Button{}, false
}

func hasButton(r bot.Reply, label string) bool {
	_, ok := button(r, label)
	return ok
}
