package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"sync"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/sportello/sportello/bot"
)

// Question is one line of an evaluation file.
type Question struct {
	Q      string `yaml:"q"`
	Lang   string `yaml:"lang"`
	Desk   string `yaml:"desk"`
	Expect string `yaml:"expect"` // an article id, "handoff" or "unsure"
}

// Outcome is what the pipeline did with a question.
type Outcome struct {
	Question
	Got   string   // the article answered, "handoff", "unsure" or "none"
	Top3  []string // the articles offered when unsure
	Reply string
}

// Correct reports a top-1 hit; InTop3 a hit among the first three offers.
func (o Outcome) Correct() bool { return o.Got == o.Expect }
func (o Outcome) InTop3() bool {
	if o.Correct() {
		return true
	}
	for _, a := range o.Top3 {
		if a == o.Expect {
			return true
		}
	}
	return false
}

// recorder is a channel that keeps the replies of each conversation.
type recorder struct {
	mu      sync.Mutex
	replies map[string][]bot.Reply
}

func (r *recorder) Name() string { return "eval" }

func (r *recorder) Send(_ context.Context, to bot.Address, replies []bot.Reply) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies[to.Conversation] = append(r.replies[to.Conversation], replies...)
	return nil
}

// Evaluate sends every question, as the first message of a new conversation at its desk,
// through the real router, language settlement, rules, flows and retrieval.
func (m *Main) Evaluate(ctx context.Context, qs []Question) ([]Outcome, error) {
	rec := &recorder{replies: map[string][]bot.Reply{}}
	m.Router.Register(rec)
	out := make([]Outcome, 0, len(qs))
	for i, q := range qs {
		conv := "q" + strconv.Itoa(i)
		desk := q.Desk
		if desk == "" {
			desk = m.Engine.DefaultDesk
		}
		addr := bot.Address{Channel: rec.Name(), Conversation: conv}
		// The desk is chosen as a deep link would, without sending the welcome.
		if err := m.Router.Notify(ctx, addr, func(s *bot.Session) []bot.Reply { s.Desk = desk; return nil }); err != nil {
			return nil, err
		}
		if err := m.Router.Handle(ctx, bot.Inbound{Address: addr, User: conv, LangHint: q.Lang, Text: q.Q}); err != nil {
			return nil, fmt.Errorf("question %d: %w", i+1, err)
		}
		o := Outcome{Question: q, Got: "none"}
		for _, r := range rec.replies[conv] {
			switch {
			case r.Handoff != "":
				o.Got = "handoff"
			case r.Article != "" && o.Got == "none":
				o.Got = r.Article
			case len(r.Buttons) > 0 && o.Got == "none" && len(o.Top3) == 0:
				for _, row := range r.Buttons {
					for _, b := range row {
						if len(b.Action) > 2 && b.Action[:2] == "a:" {
							o.Top3 = append(o.Top3, b.Action[2:])
						}
					}
				}
				if len(o.Top3) > 0 {
					o.Got = "unsure"
				}
			}
		}
		if o.Got == "none" && q.Expect == "unsure" {
			o.Got = "unsure" // "I have no answer" is the honest outcome for out-of-scope questions
		}
		out = append(out, o)
	}
	return out, nil
}

// LoadQuestions reads an evaluation file.
func LoadQuestions(path string) ([]Question, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read questions: %w", err)
	}
	var qs []Question
	if err := yaml.Unmarshal(raw, &qs); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return qs, nil
}

// Score is accuracy for one group of questions.
type Score struct {
	N, Top1, Top3 int
}

func (s Score) pct(n int) float64 { return 100 * float64(n) / float64(max(1, s.N)) }

// ByLanguage groups outcomes by language; "all" holds the total.
func ByLanguage(outs []Outcome) map[string]*Score {
	scores := map[string]*Score{"all": {}}
	for _, o := range outs {
		for _, k := range []string{o.Lang, "all"} {
			if scores[k] == nil {
				scores[k] = &Score{}
			}
			scores[k].N++
			if o.Correct() {
				scores[k].Top1++
			}
			if o.InTop3() {
				scores[k].Top3++
			}
		}
	}
	return scores
}

func eval(ctx context.Context, cfg Config, path string, stdout io.Writer) error {
	qs, err := LoadQuestions(path)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "sportello-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir, cfg.RedisURL = dir, ""
	cfg.File.Flood.Limit = 0
	m, err := Open(ctx, cfg, Options{})
	if err != nil {
		return err
	}
	defer m.Close()
	outs, err := m.Evaluate(ctx, qs)
	if err != nil {
		return err
	}
	printScores(stdout, outs)
	return nil
}

func printScores(w io.Writer, outs []Outcome) {
	scores := ByLanguage(outs)
	langs := make([]string, 0, len(scores))
	for l := range scores {
		if l != "all" {
			langs = append(langs, l)
		}
	}
	sort.Strings(langs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lang\tquestions\ttop-1\ttop-3\t")
	for _, l := range append(langs, "all") {
		s := scores[l]
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%.1f%%\t\n", l, s.N, s.pct(s.Top1), s.pct(s.Top3))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nmisses:")
	for _, o := range outs {
		if !o.Correct() {
			fmt.Fprintf(w, "  [%s] %q expected %s, got %s %v\n", o.Lang, o.Q, o.Expect, o.Got, o.Top3)
		}
	}
}
