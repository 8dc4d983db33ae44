package desk_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/flows"
	"github.com/sportello/sportello/locales"
)

// TestMessageIDsExist checks that every desk message id the code, the templates and the data
// use is in the source locale, so a typo cannot ship as a raw id. Ids built at run time are
// listed from the values they are built from.
func TestMessageIDsExist(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`"(desk\.[a-z_]+(?:\.[a-z_]+)*)"`)
	want := map[string]string{}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".html")) || strings.HasSuffix(path, "_test.go") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range id.FindAllStringSubmatch(string(raw), -1) {
			if !strings.HasSuffix(m[1], "_") && !strings.HasSuffix(m[1], ".") {
				want[m[1]] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	under := func(s string) string { return strings.ReplaceAll(s, "-", "_") }
	add := func(prefix string, values ...string) {
		for _, v := range values {
			want[prefix+under(v)] = "built at run time"
		}
	}
	for _, m := range desk.Modes {
		add("desk.appt.mode_", string(m))
	}
	add("desk.appt.bring_", "permit", "family", "citizenship", "other")
	add("desk.appt.notice_", "confirmed", "moved", "cancelled", "reminder")
	add("desk.console.appt_", "pending", "booked", "confirmed", "cancelled")
	add("desk.console.delivery_", "delivered", "pending", "failed")
	add("desk.console.filter_", "waiting", "claimed", "mine", "closed")
	add("desk.console.media_", string(bot.MediaPhoto), string(bot.MediaDocument), string(bot.MediaVoice), string(bot.MediaVideo),
		string(bot.MediaSticker), string(bot.MediaLocation), string(bot.MediaContact), string(bot.MediaOther))
	add("desk.console.status_", string(desk.Waiting), string(desk.Claimed), string(desk.Closed))
	for p := bot.PriorityNormal; p <= bot.PriorityUrgent; p++ {
		add("desk.console.priority_", fmt.Sprint(int(p)))
	}
	add("desk.event.", "opened", "again", "claimed", "closed", "cancelled", "late")
	add("desk.outcome.", append(desk.Outcomes, desk.OutcomeCancelled)...)
	add("desk.value.", "ready", "missing", "unsure", "none", "none-fit", "no-slots")
	add("desk.day.", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
	rules, err := flows.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules.All() {
		add("desk.rule.", r.ID)
		add("desk.topic.", r.Topic)
	}
	// Topics the shipped flows hand off with.
	fl, err := flows.LoadFlows()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fl {
		for _, st := range f.Steps {
			if st.Handoff != nil {
				add("desk.topic.", st.Handoff.Topic)
			}
		}
	}
	for msg, where := range want {
		if !cat.Has(locales.Source, msg) {
			t.Errorf("%s uses message %q, which %s.yaml lacks", where, msg, locales.Source)
		}
	}
	if len(want) < 150 {
		t.Fatalf("only %d ids found: the scan is broken", len(want))
	}
}
