package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/sportello/sportello/bot"
)

// FuzzInbound sends arbitrary text and button payloads through the whole pipeline (router,
// normalisation, language, flows, rules, retrieval): nothing fails, and every reply is valid
// text in a supported language. The seeds are the bad inputs users and forged clients send.
//
//	go test -fuzz FuzzInbound -run '^$' ./cmd/sportello/
func FuzzInbound(f *testing.F) {
	for _, seed := range []struct{ text, action string }{
		{"quanto costa il rinnovo?", ""},
		{"", ""},
		{"   \t\n ", ""},
		{"\xff\xfe\xfd", ""},
		{"ciao\x00\x07\x1b[31m", ""},
		{strings.Repeat("permesso ", 3000), ""},
		{"/unknown", ""},
		{"/start nowhere", ""},
		{"/language xx", ""},
		{"", "c:cost.duration:99"},
		{"", "c:nosuchflow.step:0"},
		{"", "a:../../etc/passwd"},
		{"", "a:permit-fees"},
		{"", "l:xx"},
		{"", "l:ar"},
		{"", "f:forget"},
		{"", "b:slot:forged"},
		{"", "x"},
		{"", "\xff"},
		{"mi hanno rifiutato il permesso", ""},
		{"/human", ""},
	} {
		f.Add(seed.text, seed.action)
	}
	m := openTestMain(f, nil)
	rec := &recorder{replies: map[string][]bot.Reply{}}
	m.Router.Register(rec)
	supported := map[string]bool{}
	for _, l := range m.Texts.Languages() {
		supported[l] = true
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, text, action string) {
		i := n.Add(1)
		conv := fmt.Sprint("fuzz", i%7)
		in := bot.Inbound{Address: bot.Address{Channel: rec.Name(), Conversation: conv}, User: conv,
			MessageID: fmt.Sprint(i), Text: text, Action: action}
		rec.mu.Lock()
		before := len(rec.replies[conv])
		rec.mu.Unlock()
		if err := m.Router.Handle(context.Background(), in); err != nil {
			t.Fatalf("Handle(%q, %q): %v", text, action, err)
		}
		rec.mu.Lock()
		got := rec.replies[conv][before:]
		rec.mu.Unlock()
		for _, r := range got {
			if !utf8.ValidString(r.Text) || strings.TrimSpace(r.Text) == "" || !supported[r.Lang] {
				t.Fatalf("Handle(%q, %q): bad reply %+v", text, action, r)
			}
		}
	})
}
