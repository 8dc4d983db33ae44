// Package terminal is the command-line channel behind `sportello chat`: one line in, the
// replies out. Buttons are printed as numbered choices that the next line can pick by number.
package terminal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/sportello/sportello/bot"
)

// Conversation is the one conversation a terminal holds.
const Conversation = "local"

// Channel writes replies to w.
type Channel struct {
	mu      sync.Mutex
	w       io.Writer
	choices []string // actions of the last numbered buttons
}

// New returns a terminal channel writing to w.
func New(w io.Writer) *Channel { return &Channel{w: w} }

// Name implements bot.Channel.
func (c *Channel) Name() string { return "terminal" }

// Send implements bot.Channel: plain text, links as "label (url)", buttons numbered.
func (c *Channel) Send(_ context.Context, _ bot.Address, replies []bot.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, r := range replies {
		b.WriteString(bot.PlainText(bot.ParseMarkup(r.Text)) + "\n")
		if len(r.Buttons) > 0 {
			c.choices = c.choices[:0]
		}
		for _, row := range r.Buttons {
			for _, btn := range row {
				if btn.Action == "" {
					continue
				}
				c.choices = append(c.choices, btn.Action)
				fmt.Fprintf(&b, "  %d) %s\n", len(c.choices), btn.Label)
			}
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(c.w, b.String()); err != nil {
		return &bot.SendError{Failure: bot.Permanent, Reason: "output closed", Err: err}
	}
	return nil
}

// Run reads lines from r until EOF or ctx ends and hands each to the router. lang, if set,
// is the user's explicit language.
func (c *Channel) Run(ctx context.Context, r io.Reader, router *bot.Router, lang string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		in := bot.Inbound{
			Address:   bot.Address{Channel: c.Name(), Conversation: Conversation},
			User:      Conversation,
			MessageID: "", // a terminal never redelivers
			Lang:      lang,
			Text:      sc.Text(),
		}
		if n, err := strconv.Atoi(strings.TrimSpace(in.Text)); err == nil {
			c.mu.Lock()
			if n >= 1 && n <= len(c.choices) {
				in.Action, in.Text = c.choices[n-1], ""
			}
			c.mu.Unlock()
		}
		if err := router.Handle(ctx, in); err != nil {
			return fmt.Errorf("handle line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	return nil
}
