// Package flows is Sportello's dialogue engine: guided flows defined in YAML (defs/*.yaml),
// the handoff rule table (rules.yaml), and the Engine that turns each inbound message into
// replies — answering free text from the knowledge base at any point of a flow.
package flows

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed defs/*.yaml
var defs embed.FS

// Flow is one guided dialogue: steps run in order unless a step says where to go next.
type Flow struct {
	ID    string `yaml:"id"`
	Steps []Step `yaml:"steps"`
	index map[string]int
}

// Step does one thing. Say, Answer, Branch, Handoff, Do, Set and Sum run at once; Ask and
// Collect wait for the user.
type Step struct {
	ID      string            `yaml:"id"`
	Say     string            `yaml:"say,omitempty"`     // message id to send
	Money   []string          `yaml:"money,omitempty"`   // vars shown as amounts in Say
	Ask     string            `yaml:"ask,omitempty"`     // message id; then wait for a choice
	Choices []Choice          `yaml:"choices,omitempty"` // the buttons of Ask
	Topics  []string          `yaml:"topics,omitempty"`  // Ask: articles offered as buttons (those of the user's jurisdiction)
	Collect string            `yaml:"collect,omitempty"` // message id; then wait for free text into Var
	Var     string            `yaml:"var,omitempty"`
	Pattern string            `yaml:"pattern,omitempty"` // Collect: the text must match this regexp
	Retry   string            `yaml:"retry,omitempty"`   // Collect: message id when it does not
	Answer  string            `yaml:"answer,omitempty"`  // article id to answer with
	Branch  []Case            `yaml:"branch,omitempty"`  // first matching case decides the next step
	Handoff *HandoffSpec      `yaml:"handoff,omitempty"` // open a ticket with desk staff
	Do      string            `yaml:"do,omitempty"`      // a built-in action: start, forget, languages, menu
	Set     map[string]string `yaml:"set,omitempty"`     // assign vars
	Sum     *Sum              `yaml:"sum,omitempty"`     // add decimal vars into another
	Next    string            `yaml:"next,omitempty"`    // step id, "flow:<id>" or "end"; default: the following step

	pattern *regexp.Regexp
}

// Choice is one button of an Ask step.
type Choice struct {
	Label string            `yaml:"label"` // message id
	Set   map[string]string `yaml:"set,omitempty"`
	Next  string            `yaml:"next,omitempty"`
}

// Case is one branch: when Var equals Equals, go to Next.
type Case struct {
	Var    string `yaml:"var"`
	Equals string `yaml:"equals"`
	Next   string `yaml:"next"`
}

// HandoffSpec describes the ticket a flow opens.
type HandoffSpec struct {
	Topic    string `yaml:"topic"`
	Priority string `yaml:"priority,omitempty"` // normal, high, urgent
}

// Sum adds the decimal amounts in Of and stores the result, with two decimals, in Into.
type Sum struct {
	Into string   `yaml:"into"`
	Of   []string `yaml:"of"`
}

// waits reports whether the step waits for the user.
func (s *Step) waits() bool { return s.Ask != "" || s.Collect != "" }

// LoadFlows reads and checks the embedded flow definitions.
func LoadFlows() (map[string]*Flow, error) { return LoadFlowsFS(defs, "defs") }

// LoadFlowsFS reads every *.yaml in dir of fsys as a flow and checks their references.
func LoadFlowsFS(fsys fs.FS, dir string) (map[string]*Flow, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	flows := map[string]*Flow{}
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		var f Flow
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if f.ID == "" || len(f.Steps) == 0 {
			return nil, fmt.Errorf("%s: a flow needs an id and steps", name)
		}
		if flows[f.ID] != nil {
			return nil, fmt.Errorf("%s: flow %q defined twice", name, f.ID)
		}
		f.index = map[string]int{}
		for i := range f.Steps {
			st := &f.Steps[i]
			if st.ID == "" {
				st.ID = fmt.Sprintf("s%d", i+1)
			}
			if _, dup := f.index[st.ID]; dup {
				return nil, fmt.Errorf("%s: step %q defined twice", name, st.ID)
			}
			f.index[st.ID] = i
			if st.Pattern != "" {
				if st.pattern, err = regexp.Compile(st.Pattern); err != nil {
					return nil, fmt.Errorf("%s: step %s: %w", name, st.ID, err)
				}
			}
			if st.Collect != "" && st.Var == "" {
				return nil, fmt.Errorf("%s: step %s collects without a var", name, st.ID)
			}
		}
		flows[f.ID] = &f
	}
	for _, f := range flows {
		for _, st := range f.Steps {
			targets := []string{st.Next}
			for _, c := range st.Choices {
				targets = append(targets, c.Next)
			}
			for _, c := range st.Branch {
				targets = append(targets, c.Next)
			}
			for _, t := range targets {
				if err := checkTarget(flows, f, t); err != nil {
					return nil, fmt.Errorf("flow %s step %s: %w", f.ID, st.ID, err)
				}
			}
		}
	}
	return flows, nil
}

func checkTarget(flows map[string]*Flow, f *Flow, target string) error {
	switch {
	case target == "" || target == "end":
		return nil
	case strings.HasPrefix(target, "flow:"):
		if flows[strings.TrimPrefix(target, "flow:")] == nil {
			return fmt.Errorf("unknown flow in %q", target)
		}
	default:
		if _, ok := f.index[target]; !ok {
			return fmt.Errorf("unknown step %q", target)
		}
	}
	return nil
}

// MessageIDs lists every message id the flows use, for the locale completeness test.
func MessageIDs(flows map[string]*Flow) []string {
	var ids []string
	for _, f := range flows {
		for _, st := range f.Steps {
			for _, id := range []string{st.Say, st.Ask, st.Collect, st.Retry} {
				if id != "" {
					ids = append(ids, id)
				}
			}
			for _, c := range st.Choices {
				ids = append(ids, c.Label)
			}
		}
	}
	return ids
}
