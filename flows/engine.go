package flows

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/knowledge"
	"github.com/sportello/sportello/locales"
)

// Engine answers every inbound message: commands, button presses, flow steps, handoff rules
// and free-text questions. It implements bot.Responder.
type Engine struct {
	Flows     map[string]*Flow
	Rules     *Rules
	KB        *knowledge.Base
	Texts     *locales.Catalog
	Languages *bot.Languages
	Desks     map[string]bot.DeskInfo
	// DefaultDesk is used until a user picks one (deep link /start <desk>).
	DefaultDesk string
	// Desk takes handoffs; nil means staff are reached only through the desk's contacts.
	Desk bot.Desk
	// Forget erases what the router keeps about a conversation.
	Forget func(ctx context.Context, a bot.Address) error
	Clock  bot.Clock
	// Booker books appointments: flow steps `do: book` and the buttons it offers (actions
	// starting with ActionBook). nil: the appointment flow hands the request to staff.
	Booker Booker
}

// Booker offers and books appointment slots (the desk package implements it). It returns the
// replies, and a handoff to open when the user needs staff instead (no time fits).
type Booker interface {
	Book(ctx context.Context, s *bot.Session, action string) ([]bot.Reply, *bot.HandoffRequest, error)
}

// ActionBook starts the action of every Booker button; the Booker checks them itself.
const ActionBook = "b:"

// SummaryMessage is the HandoffRequest.Summary key of the user's message that led to the
// handoff (the desk moves it into the ticket's transcript).
const SummaryMessage = "message"

// Global button actions, valid whatever was offered last.
const (
	actMenu   = "m"
	actHuman  = "h"
	actCancel = "x"
	actLang   = "l:" // + code
	actArt    = "a:" // + article id
	actFlow   = "f:" // + flow id
	actChoice = "c:" // + flow.step:index, valid only when offered
)

// turn collects the replies to one inbound message.
type turn struct {
	ctx     context.Context
	s       *bot.Session
	in      bot.Inbound
	replies []bot.Reply
}

func (t *turn) add(r bot.Reply) {
	if r.Lang == "" {
		r.Lang = t.s.Lang
	}
	// Only the first reply of a turn may replace the message whose button was pressed.
	r.Edit = r.Edit && len(t.replies) == 0
	t.replies = append(t.replies, r)
}

// Respond implements bot.Responder.
func (e *Engine) Respond(ctx context.Context, s *bot.Session, in bot.Inbound) ([]bot.Reply, error) {
	t := &turn{ctx: ctx, s: s, in: in}
	if s.Desk == "" || e.Desks[s.Desk].ID == "" {
		s.Desk = e.DefaultDesk
	}
	err := e.respond(t)
	return t.replies, err
}

func (e *Engine) respond(t *turn) error {
	in, s := t.in, t.s
	if in.Group {
		return e.group(t)
	}
	if s.Ticket != "" {
		return e.relay(t)
	}
	if in.Media != bot.MediaNone {
		t.add(bot.Reply{Text: e.t(s, "media.unsupported", nil)})
		if in.Text == "" {
			return nil
		}
	}
	switch {
	case in.Action != "":
		return e.action(t)
	case strings.HasPrefix(in.Text, "/"):
		return e.command(t)
	}
	if s.Flow.Active() {
		return e.flowInput(t)
	}
	return e.question(t, true)
}

// group answers general questions only when the bot is addressed; personal flows and
// handoffs never run in a group, where others can read along.
func (e *Engine) group(t *turn) error {
	if !t.in.Addressed || t.in.Media != bot.MediaNone {
		return nil
	}
	if t.in.Action != "" || strings.HasPrefix(t.in.Text, "/") {
		t.add(bot.Reply{Text: e.t(t.s, "group.no_flows", nil)})
		return nil
	}
	if r, ok := e.Rules.Match(t.in.Text); ok {
		if r.Priority == "urgent" {
			t.add(bot.Reply{Text: e.t(t.s, "handoff.urgent", nil)})
		}
		t.add(bot.Reply{Text: e.t(t.s, "group.private_only", nil)})
		return nil
	}
	return e.question(t, false)
}

// relay passes the user's messages to the open ticket; only /bot and /cancel reach the bot.
func (e *Engine) relay(t *turn) error {
	cmd, _ := parseCommand(t.in.Text)
	if cmd == "bot" || cmd == "cancel" || t.in.Action == actCancel {
		return e.cancelTicket(t)
	}
	if strings.HasPrefix(t.in.Action, ActionBook) && e.Booker != nil {
		return e.book(t, t.in.Action) // an appointment button (a reminder's) still works
	}
	if e.Desk == nil {
		t.s.Ticket = ""
		return e.respond(t)
	}
	if t.in.Media != bot.MediaNone && t.in.Media != bot.MediaDocument && t.in.Media != bot.MediaPhoto {
		t.add(bot.Reply{Text: e.t(t.s, "media.unsupported", nil)})
		return nil
	}
	if t.in.Media != bot.MediaNone && !e.Desks[t.s.Desk].AcceptFiles {
		t.add(bot.Reply{Text: e.t(t.s, "media.not_allowed", nil)})
		return nil
	}
	if err := e.Desk.Forward(t.ctx, t.s.Ticket, t.in); err != nil {
		return fmt.Errorf("forward to ticket: %w", err)
	}
	if t.in.Media != bot.MediaNone {
		t.add(bot.Reply{Text: e.t(t.s, "media.in_handoff", nil)})
	}
	return nil
}

func (e *Engine) cancelTicket(t *turn) error {
	if e.Desk != nil && t.s.Ticket != "" {
		if err := e.Desk.Cancel(t.ctx, t.s.Ticket); err != nil {
			return fmt.Errorf("cancel ticket: %w", err)
		}
	}
	t.s.Ticket = ""
	t.add(bot.Reply{Text: e.t(t.s, "handoff.cancelled", nil), Buttons: e.menuButton(t.s)})
	return nil
}

// action handles a pressed button, after checking it against what the session offered.
func (e *Engine) action(t *turn) error {
	a, s := t.in.Action, t.s
	switch {
	case a == actMenu:
		s.Flow = bot.FlowState{}
		return e.startFlow(t, "menu")
	case a == actHuman:
		s.Flow = bot.FlowState{}
		return e.handoff(t, bot.HandoffRequest{Topic: "human", Reason: "user"})
	case strings.HasPrefix(a, actLang) && e.Languages.IsSupported(strings.TrimPrefix(a, actLang)):
		s.Lang, s.LangChosen = strings.TrimPrefix(a, actLang), true
		s.Flow = bot.FlowState{}
		t.add(bot.Reply{Text: e.t(s, "lang.set", nil), Edit: true, Lang: s.Lang})
		return e.startFlow(t, "menu")
	case strings.HasPrefix(a, actArt) && e.KB.Article(strings.TrimPrefix(a, actArt)) != nil:
		e.answer(t, e.KB.Article(strings.TrimPrefix(a, actArt)))
		return nil
	case strings.HasPrefix(a, actFlow) && e.Flows[strings.TrimPrefix(a, actFlow)] != nil:
		s.Flow = bot.FlowState{}
		return e.startFlow(t, strings.TrimPrefix(a, actFlow))
	case strings.HasPrefix(a, actChoice) && slices.Contains(s.Offered, a):
		return e.choice(t, strings.TrimPrefix(a, actChoice))
	case strings.HasPrefix(a, ActionBook) && e.Booker != nil:
		s.Flow = bot.FlowState{}
		return e.book(t, a)
	}
	t.add(bot.Reply{Text: e.t(s, "button.stale", nil)})
	s.Flow = bot.FlowState{}
	return e.startFlow(t, "menu")
}

// choice continues a flow with the chosen option of its waiting Ask step.
func (e *Engine) choice(t *turn, ref string) error {
	at, idx, ok := strings.Cut(ref, ":")
	flowID, stepID, _ := strings.Cut(at, ".")
	n, err := strconv.Atoi(idx)
	f := e.Flows[flowID]
	if !ok || err != nil || f == nil || t.s.Flow.Flow != flowID || t.s.Flow.Step != stepID {
		t.add(bot.Reply{Text: e.t(t.s, "button.stale", nil)})
		return e.startFlow(t, "menu")
	}
	st := &f.Steps[f.index[stepID]]
	if n < 0 || n >= len(st.Choices) {
		t.add(bot.Reply{Text: e.t(t.s, "button.stale", nil)})
		return e.startFlow(t, "menu")
	}
	c := st.Choices[n]
	for k, v := range c.Set {
		setVar(t.s, k, v)
	}
	return e.goNext(t, f, f.index[stepID], c.Next)
}

// command handles /start, /menu, /language, /human, /forget, /help (and /bot, /cancel).
func (e *Engine) command(t *turn) error {
	cmd, arg := parseCommand(t.in.Text)
	s := t.s
	s.Flow = bot.FlowState{}
	switch cmd {
	case "start":
		setVar(s, "desk_arg", strings.ToLower(arg))
		return e.startFlow(t, "start")
	case "menu", "bot":
		return e.startFlow(t, "menu")
	case "language", "lang":
		return e.startFlow(t, "language")
	case "human", "staff":
		return e.startFlow(t, "human")
	case "forget":
		return e.startFlow(t, "forget")
	case "help":
		return e.startFlow(t, "help")
	case "cancel":
		t.add(bot.Reply{Text: e.t(s, "menu.title", nil)})
		return e.startFlow(t, "menu")
	}
	t.add(bot.Reply{Text: e.t(s, "command.unknown", map[string]any{"Command": "/" + cmd}), Buttons: e.menuButton(s)})
	return nil
}

// parseCommand splits "/start@SportelloBot ravenna" into ("start", "ravenna").
func parseCommand(text string) (cmd, arg string) {
	if !strings.HasPrefix(text, "/") {
		return "", ""
	}
	word, arg, _ := strings.Cut(text[1:], " ")
	word, _, _ = strings.Cut(word, "@")
	return strings.ToLower(word), strings.TrimSpace(arg)
}

// flowInput handles typed text while a flow waits for the user.
func (e *Engine) flowInput(t *turn) error {
	f := e.Flows[t.s.Flow.Flow]
	i, ok := f.stepIndex(t.s.Flow.Step)
	if f == nil || !ok {
		t.s.Flow = bot.FlowState{}
		return e.question(t, true)
	}
	st := &f.Steps[i]
	if st.Ask != "" {
		// A typed label picks that choice; anything else is a question, answered before the
		// flow is offered again — free text is never rejected.
		for n, c := range st.Choices {
			if strings.EqualFold(strings.TrimSpace(t.in.Text), e.t(t.s, c.Label, nil)) {
				return e.choice(t, fmt.Sprintf("%s.%s:%d", f.ID, st.ID, n))
			}
		}
		if err := e.question(t, true); err != nil || t.s.Ticket != "" || !t.s.Flow.Active() {
			return err
		}
		return e.runFrom(t, f, i)
	}
	// Collect.
	text := t.in.Text
	if st.pattern == nil || st.pattern.MatchString(text) {
		setVar(t.s, st.Var, text)
		t.s.Flow.Retries = 0
		return e.goNext(t, f, i, st.Next)
	}
	if res, err := e.search(t, text); err == nil && res.Confident {
		e.answer(t, res.Hits[0].Article)
		return e.runFrom(t, f, i)
	}
	t.s.Flow.Retries++
	if t.s.Flow.Retries >= 3 {
		t.s.Flow = bot.FlowState{}
		return e.startFlow(t, "menu")
	}
	retry := st.Retry
	if retry == "" {
		retry = "collect.retry"
	}
	t.add(bot.Reply{Text: e.t(t.s, retry, nil)})
	return nil
}

// question answers free text: handoff rules first, then the knowledge base.
func (e *Engine) question(t *turn, personal bool) error {
	text := t.in.Text
	if personal {
		if r, ok := e.Rules.Match(text); ok {
			t.s.Flow = bot.FlowState{}
			if r.Priority == "urgent" {
				t.add(bot.Reply{Text: e.t(t.s, "handoff.urgent", nil)})
			} else if r.ID != "human-request" {
				t.add(bot.Reply{Text: e.t(t.s, "handoff.rule", nil)})
			}
			reason := "rule:" + r.ID
			if r.ID == "human-request" {
				reason = "user"
			}
			return e.handoff(t, bot.HandoffRequest{Topic: r.Topic, Reason: reason, Priority: priorities[r.Priority]})
		}
	}
	if kind, ok := e.Rules.SmallTalk(text); ok && personal {
		t.add(bot.Reply{Text: e.t(t.s, "smalltalk."+kind, nil)})
		if kind == "hello" {
			return e.startFlow(t, "menu")
		}
		return nil
	}
	res, err := e.search(t, text)
	if err != nil {
		return err
	}
	switch {
	case res.Confident:
		e.answer(t, res.Hits[0].Article)
	case len(res.Hits) > 0 && res.Confidence >= knowledge.RelatedThreshold:
		var rows [][]bot.Button
		for _, h := range res.Hits[:min(3, len(res.Hits))] {
			v, _ := h.Article.In(e.prefs(t.s)...)
			rows = append(rows, []bot.Button{{Label: v.Title, Action: actArt + h.Article.ID}})
		}
		if personal {
			rows = append(rows, []bot.Button{{Label: e.t(t.s, "answer.human_button", nil), Action: actHuman}})
		}
		t.add(bot.Reply{Text: e.t(t.s, "answer.unsure", nil), Buttons: rows})
	default:
		rep := bot.Reply{Text: e.t(t.s, "answer.none", nil)}
		if personal {
			rep.Buttons = [][]bot.Button{{{Label: e.t(t.s, "answer.human_button", nil), Action: actHuman}}, e.menuButton(t.s)[0]}
		}
		t.add(rep)
	}
	return nil
}

func (e *Engine) search(t *turn, text string) (knowledge.Result, error) {
	res, err := e.KB.Search(t.ctx, knowledge.Query{Text: text, Lang: t.s.Lang, Jurisdictions: e.Desks[t.s.Desk].Jurisdictions})
	if err != nil {
		return res, fmt.Errorf("search knowledge base: %w", err)
	}
	return res, nil
}

// prefs is the fallback chain for content: user language, desk default, English.
func (e *Engine) prefs(s *bot.Session) []string {
	return []string{s.Lang, e.Desks[s.Desk].Lang, locales.Source}
}

// answer renders an article in the user's language: the text, notes on translation, the
// sources with the date they were checked, and a human option where staff must decide.
func (e *Engine) answer(t *turn, a *knowledge.Article) {
	s := t.s
	v, fallback := a.In(e.prefs(s)...)
	var b strings.Builder
	if fallback {
		b.WriteString(e.t(s, "answer.fallback", map[string]any{"Language": e.Texts.T(v.Lang, "language.name", nil)}) + "\n\n")
	}
	b.WriteString("**" + v.Title + "**\n\n" + strings.TrimSpace(v.Body) + "\n\n")
	if !v.Reviewed {
		b.WriteString(e.t(s, "answer.unreviewed", nil) + "\n")
	}
	now := e.Clock.Now()
	if !v.ValidUntil.IsZero() && now.After(v.ValidUntil) {
		b.WriteString(e.t(s, "answer.outdated", map[string]any{"Date": e.Texts.Date(s.Lang, v.ValidUntil)}) + "\n")
	}
	b.WriteString(e.t(s, "answer.source", nil) + ": ")
	for i, src := range v.Sources {
		if i > 0 {
			b.WriteString(" · ")
		}
		b.WriteString("[" + src.Title + "](" + src.URL + ")")
	}
	b.WriteString("\n" + e.t(s, "answer.verified", map[string]any{"Date": e.Texts.Date(s.Lang, v.Verified)}))
	var rows [][]bot.Button
	if a.Handoff {
		b.WriteString("\n\n" + e.t(s, "answer.handoff_note", nil))
		rows = append(rows, []bot.Button{{Label: e.t(s, "answer.human_button", nil), Action: actHuman}})
	}
	rows = append(rows, e.menuButton(s)...)
	t.add(bot.Reply{Text: b.String(), Lang: v.Lang, Article: a.ID, Buttons: rows})
}

func (e *Engine) menuButton(s *bot.Session) [][]bot.Button {
	return [][]bot.Button{{{Label: e.t(s, "menu.back", nil), Action: actMenu}}}
}

// handoff opens a ticket with desk staff and tells the user what to expect.
func (e *Engine) handoff(t *turn, req bot.HandoffRequest) error {
	s := t.s
	if s.Ticket != "" {
		t.add(bot.Reply{Text: e.t(s, "handoff.already_open", nil)})
		return nil
	}
	desk := e.Desks[s.Desk]
	if e.Desk == nil {
		t.add(bot.Reply{Text: e.t(s, "handoff.no_desk", map[string]any{"Contact": desk.Contact}), Handoff: bot.HandoffUnassigned, Buttons: e.menuButton(s)})
		return nil
	}
	req.Address, req.User, req.Lang, req.Desk, req.At = s.Address, s.User, s.Lang, s.Desk, e.Clock.Now()
	if req.Summary == nil {
		req.Summary = map[string]string{}
	}
	for k, v := range s.Flow.Vars {
		req.Summary[k] = v
	}
	if text := t.in.Text; text != "" && t.in.Action == "" && !strings.HasPrefix(text, "/") {
		// The message that led here: the router records it only after this turn, so the
		// transcript the desk copies does not have it yet.
		req.Summary[SummaryMessage] = text
	}
	offer, err := e.Desk.Open(t.ctx, req)
	if err != nil {
		return fmt.Errorf("open ticket: %w", err)
	}
	s.Ticket = offer.Ticket
	s.Flow = bot.FlowState{}
	cancel := [][]bot.Button{{{Label: e.t(s, "handoff.cancel_button", nil), Action: actCancel}}}
	if offer.InHours {
		minutes := max(1, int(offer.TypicalWait.Round(time.Minute)/time.Minute))
		t.add(bot.Reply{Text: e.t(s, "handoff.in_hours", map[string]any{"Minutes": minutes}), Handoff: offer.Ticket, Buttons: cancel})
	} else {
		t.add(bot.Reply{Text: e.t(s, "handoff.out_of_hours", map[string]any{"When": e.Texts.Date(s.Lang, offer.ReplyBy) + " " + offer.ReplyBy.Format("15:04")}), Handoff: offer.Ticket, Buttons: cancel})
	}
	return nil
}

// startFlow runs a flow from its first step.
func (e *Engine) startFlow(t *turn, id string) error {
	f := e.Flows[id]
	if f == nil {
		return fmt.Errorf("unknown flow %q", id)
	}
	t.s.Flow = bot.FlowState{Flow: id, Vars: t.s.Flow.Vars}
	return e.runFrom(t, f, 0)
}

// goNext continues after step i towards target (a step, "flow:<id>", "end" or "" for the next step).
func (e *Engine) goNext(t *turn, f *Flow, i int, target string) error {
	switch {
	case target == "end":
		t.s.Flow = bot.FlowState{}
		return nil
	case strings.HasPrefix(target, "flow:"):
		return e.startFlow(t, strings.TrimPrefix(target, "flow:"))
	case target != "":
		return e.runFrom(t, f, f.index[target])
	case i+1 < len(f.Steps):
		return e.runFrom(t, f, i+1)
	}
	t.s.Flow = bot.FlowState{}
	return nil
}

// runFrom executes steps from i until one waits for the user or the flow ends.
func (e *Engine) runFrom(t *turn, f *Flow, i int) error {
	s := t.s
	for hops := 0; hops < 64; hops++ {
		st := &f.Steps[i]
		s.Flow.Flow, s.Flow.Step = f.ID, st.ID
		for k, v := range st.Set {
			setVar(s, k, v)
		}
		if st.Sum != nil {
			setVar(s, st.Sum.Into, sumAmounts(s.Flow.Vars, st.Sum.Of))
		}
		if st.Do != "" {
			if err := e.do(t, st.Do); err != nil {
				return err
			}
		}
		if st.Say != "" {
			t.add(bot.Reply{Text: e.t(s, st.Say, e.vars(s, st.Money))})
		}
		if st.Answer != "" {
			if a := e.KB.Article(st.Answer); a != nil {
				e.answer(t, a)
			}
		}
		if st.Handoff != nil {
			return e.handoff(t, bot.HandoffRequest{Topic: st.Handoff.Topic, Reason: "flow:" + f.ID, Priority: priorities[st.Handoff.Priority]})
		}
		if st.waits() {
			e.prompt(t, f, st)
			return nil
		}
		next := st.Next
		for _, c := range st.Branch {
			if s.Flow.Vars[c.Var] == c.Equals || (c.Var == "country" && e.Desks[s.Desk].Country() == c.Equals) {
				next = c.Next
				break
			}
		}
		switch {
		case next == "end" || (next == "" && i+1 == len(f.Steps)):
			s.Flow = bot.FlowState{}
			return nil
		case strings.HasPrefix(next, "flow:"):
			return e.startFlow(t, strings.TrimPrefix(next, "flow:"))
		case next != "":
			i = f.index[next]
		default:
			i++
		}
	}
	return fmt.Errorf("flow %s loops", f.ID)
}

// prompt sends the question of a waiting step with its buttons.
func (e *Engine) prompt(t *turn, f *Flow, st *Step) {
	s := t.s
	if st.Collect != "" {
		t.add(bot.Reply{Text: e.t(s, st.Collect, nil)})
		return
	}
	var rows [][]bot.Button
	for n, c := range st.Choices {
		rows = append(rows, []bot.Button{{Label: e.t(s, c.Label, nil), Action: fmt.Sprintf("%s%s.%s:%d", actChoice, f.ID, st.ID, n)}})
	}
	juris := e.Desks[s.Desk].Jurisdictions
	for _, id := range st.Topics {
		a := e.KB.Article(id)
		if a == nil || (len(juris) > 0 && !slices.Contains(juris, a.Jurisdiction)) {
			continue
		}
		v, _ := a.In(e.prefs(s)...)
		rows = append(rows, []bot.Button{{Label: v.Title, Action: actArt + id}})
	}
	if f.ID != "menu" {
		rows = append(rows, e.menuButton(s)...)
	}
	t.add(bot.Reply{Text: e.t(s, st.Ask, nil), Buttons: rows, Edit: t.in.Action != ""})
}

// do runs a built-in action.
func (e *Engine) do(t *turn, name string) error {
	s := t.s
	switch name {
	case "start":
		if d, ok := e.Desks[s.Flow.Vars["desk_arg"]]; ok {
			s.Desk = d.ID
		}
		delete(s.Flow.Vars, "desk_arg")
		setVar(s, "desk_name", e.Desks[s.Desk].Name)
	case "languages":
		var rows [][]bot.Button
		var row []bot.Button
		for _, code := range e.Languages.Supported {
			row = append(row, bot.Button{Label: e.Texts.T(code, "language.name", nil), Action: actLang + code})
			if len(row) == 3 {
				rows, row = append(rows, row), nil
			}
		}
		if row != nil {
			rows = append(rows, row)
		}
		t.add(bot.Reply{Text: e.t(s, "lang.choose", nil), Buttons: rows})
	case "book":
		if e.Booker != nil {
			return e.book(t, name)
		}
	case "forget":
		lang := s.Lang
		if e.Desk != nil {
			if err := e.Desk.Erase(t.ctx, s.Address); err != nil {
				return fmt.Errorf("erase tickets: %w", err)
			}
		}
		if e.Forget != nil {
			if err := e.Forget(t.ctx, s.Address); err != nil {
				return err
			}
		}
		*s = bot.Session{Address: s.Address, Lang: lang, Started: s.Started, Updated: s.Updated}
		t.add(bot.Reply{Text: e.t(s, "forget.done", nil)})
	default:
		return fmt.Errorf("unknown action %q", name)
	}
	return nil
}

// book runs a Booker action and opens the handoff it asks for.
func (e *Engine) book(t *turn, action string) error {
	replies, req, err := e.Booker.Book(t.ctx, t.s, action)
	if err != nil {
		return fmt.Errorf("appointments: %w", err)
	}
	for _, r := range replies {
		t.add(r)
	}
	if req != nil {
		return e.handoff(t, *req)
	}
	return nil
}

// t localizes a message id for the session's language, with the desk name and flow vars.
func (e *Engine) t(s *bot.Session, id string, data map[string]any) string {
	d := map[string]any{"Desk": e.Desks[s.Desk].Name}
	for k, v := range data {
		d[k] = v
	}
	return e.Texts.T(s.Lang, id, d)
}

// vars exposes flow vars to a message template, amounts formatted for the language.
func (e *Engine) vars(s *bot.Session, money []string) map[string]any {
	d := map[string]any{}
	for k, v := range s.Flow.Vars {
		d[strings.ToUpper(k[:1])+k[1:]] = v
	}
	for _, k := range money {
		d[strings.ToUpper(k[:1])+k[1:]] = e.Texts.Money(s.Lang, s.Flow.Vars[k])
	}
	return d
}

func setVar(s *bot.Session, k, v string) {
	if s.Flow.Vars == nil {
		s.Flow.Vars = map[string]string{}
	}
	s.Flow.Vars[k] = v
}

// sumAmounts adds decimal amounts exactly, in cents.
func sumAmounts(vars map[string]string, keys []string) string {
	cents := 0
	for _, k := range keys {
		whole, frac, _ := strings.Cut(vars[k], ".")
		w, _ := strconv.Atoi(whole)
		f, _ := strconv.Atoi((frac + "00")[:2])
		cents += w*100 + f
	}
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}

func (f *Flow) stepIndex(id string) (int, bool) {
	if f == nil {
		return 0, false
	}
	i, ok := f.index[id]
	return i, ok
}
