package desk_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/desktest"
	"github.com/sportello/sportello/bot/store/storetest"
)

// TestEveryRuleOpensATicket sends, for every rule of the handoff table, a phrase of the rule in
// up to four languages through the whole pipeline (router, engine, desk) and checks the ticket:
// the rule that fired (auditable), its priority and topic, the message in the transcript, and
// the emergency number at once for urgent rules.
func TestEveryRuleOpensATicket(t *testing.T) {
	clock := storetest.NewClock(desktest.Start)
	e := desktest.New(t, storetest.NewBolt(t, clock), clock)
	boss := e.Staff(t, "boss", desk.RoleAdmin)
	priority := map[string]bot.Priority{"normal": bot.PriorityNormal, "high": bot.PriorityHigh, "urgent": bot.PriorityUrgent}
	order := []string{"it", "en", "ar", "bn", "de", "ur", "uk", "fr", "es", "ru", "zh", "bg"}
	rules := e.Rules.All()
	if len(rules) < 13 {
		t.Fatalf("only %d rules", len(rules))
	}
	for _, r := range rules {
		tested := 0
		for _, lang := range order {
			if tested == 4 {
				break
			}
			// The first phrase of this language that this rule wins (a phrase may also belong
			// to an earlier, more urgent rule: "abusing my child" is violence first).
			var phrase string
			for _, p := range r.Match[lang] {
				if m, ok := e.Rules.Match(p); ok && m.ID == r.ID {
					phrase = p
					break
				}
			}
			if phrase == "" {
				continue
			}
			tested++
			conv := fmt.Sprintf("rule-%s-%s", r.ID, lang)
			t.Run(r.ID+"/"+lang, func(t *testing.T) {
				replies := e.Say(t, conv, lang, phrase)
				var id string
				for _, rep := range replies {
					if rep.Handoff != "" {
						id = rep.Handoff
					}
				}
				if id == "" {
					t.Fatalf("%q opened no ticket:\n%s", phrase, desktest.Dump(replies))
				}
				tk, err := e.Desk.TicketFor(ctx, boss, id)
				if err != nil {
					t.Fatal(err)
				}
				wantReason := "rule:" + r.ID
				if r.ID == "human-request" {
					wantReason = "user"
				}
				if tk.Reason != wantReason || tk.Summary["reason"] != wantReason || tk.Priority != priority[r.Priority] || tk.Topic != r.Topic {
					t.Fatalf("%q: reason %q priority %d topic %q; want %q %d %q", phrase, tk.Reason, tk.Priority, tk.Topic, wantReason, priority[r.Priority], r.Topic)
				}
				if !hasMessage(tk, "user", phrase, true) {
					t.Fatalf("the message is not in the transcript: %+v", tk.Messages)
				}
				if r.Priority == "urgent" && !strings.Contains(replies[0].Text, "112") {
					t.Fatalf("urgent without the emergency number first:\n%s", desktest.Dump(replies))
				}
			})
		}
		if tested < 3 {
			t.Errorf("rule %s tested in %d languages only", r.ID, tested)
		}
	}
	// Urgent tickets lead the queue.
	q, _ := e.Desk.Queue(ctx, boss, desk.Filter{})
	if len(q) == 0 || q[0].Priority != bot.PriorityUrgent {
		t.Fatal("urgent tickets are not first")
	}
	seenHigh := false
	for _, tk := range q {
		if tk.Priority == bot.PriorityHigh {
			seenHigh = true
		}
		if seenHigh && tk.Priority == bot.PriorityUrgent {
			t.Fatal("an urgent ticket after a high one")
		}
	}
}
