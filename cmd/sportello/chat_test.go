package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestChatInAPipe runs `sportello chat` as a user would: lines in, replies out, buttons as
// numbered choices that the next line picks.
func TestChatInAPipe(t *testing.T) {
	env := map[string]string{"SPORTELLO_DATA": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		name, lang, input string
		want              []string
	}{
		{"question", "it", "quanto costa il rinnovo del permesso?\n", []string{"70,46", "Fonte", "https://"}},
		{"numbered choices", "en", "/menu\n2\n1\n", []string{"What do you need?", "1) Permit renewal", "Total: 116.46"}},
		{"detected language", "", "كم تكلفة تجديد الإقامة\n", []string{"70.46"}},
		{"bad input keeps going", "en", "\n\xff\xfe\n/nonsense\nhow much is the renewal\n", []string{"Your message was empty", "I could not read", "I don't know the command /nonsense", "70.46"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := []string{"chat"}
			if c.lang != "" {
				args = append(args, "--lang", c.lang)
			}
			if err := run(context.Background(), args, getenv, strings.NewReader(c.input), &out, &errOut); err != nil {
				t.Fatalf("chat: %v\n%s", err, errOut.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
