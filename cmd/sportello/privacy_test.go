package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/desk/desktest"
	"github.com/sportello/sportello/bot/store/storetest"
	"github.com/sportello/sportello/bot/telegram/telegramtest"
)

// TestLogsHoldNoPersonalData runs a conversation full of personal data through Telegram, a
// handoff and a staff reply with the logs at debug level, and checks that the logs hold none of
// it: no message text, no numbers the user typed, no names, no Telegram ids.
func TestLogsHoldNoPersonalData(t *testing.T) {
	var logs storetest.SyncBuffer
	tg := telegramtest.New(t)
	tg.SetLimits(telegramtest.NoLimits)
	m := openTestMainWith(t, map[string]string{"TELEGRAM_TOKEN": tg.Token(), "TELEGRAM_API_URL": tg.URL()},
		Options{Log: newLogger(&logs, "debug")})
	ctx := context.Background()
	if err := m.Desk.AddAccount(ctx, desk.Account{Name: "mario", Role: desk.RoleStaff, Desks: []string{"ravenna"}}, desktest.Password, false); err != nil {
		t.Fatal(err)
	}
	stop := runTestMain(t, m)
	c := newTelegramChat(t, m, tg, "it")

	c.say("Sono Fatima Benali, codice fiscale BNLFTM85C41Z330X, permesso 1234567890, cell 3331234567: quanto costa il rinnovo di 2 anni?")
	c.saw("80,46")
	c.say("/human")
	c.tg.WaitSent(c.user.ID, c.seen+1)
	c.say("abito in via Garibaldi 12")
	staff, err := m.Desk.Account(ctx, "mario")
	if err != nil {
		t.Fatal(err)
	}
	q, err := m.Desk.Queue(ctx, staff, desk.Filter{})
	if err != nil || len(q) != 1 {
		t.Fatalf("queue: %v %v", q, err)
	}
	if err := m.Desk.Claim(ctx, staff, q[0].ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Desk.Reply(ctx, staff, q[0].ID, "Buongiorno Fatima, porti il passaporto YA1234567"); err != nil {
		t.Fatal(err)
	}
	c.saw("YA1234567")
	stop()

	out := logs.String()
	if !strings.Contains(out, `"level":"DEBUG"`) && !strings.Contains(out, `"level":"INFO"`) {
		t.Fatalf("no logs were written:\n%s", out)
	}
	for _, secret := range []string{"Fatima", "Benali", "BNLFTM85C41Z330X", "1234567890", "3331234567", "quanto costa",
		"Garibaldi", "Buongiorno", "YA1234567", strconv.FormatInt(c.user.ID, 10)} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("logs:\n%s", out)
	}
}
