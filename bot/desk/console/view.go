package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
)

// page is what every template gets.
type page struct {
	Lang, Dir, Title string
	CSRF             string
	Flash            string
	FlashKind        string // ok, error
	Prefix           string
	Nav              string
	Who              *desk.Account
	Data             any
	t                func(id string, data map[string]any) string
}

// T localizes a message id in the staff member's language; args are name/value pairs.
func (p *page) T(id string, args ...any) string {
	var data map[string]any
	if len(args) > 1 {
		data = map[string]any{}
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	return p.t(id, data)
}

func (c *Console) tr(lang string) func(string, map[string]any) string {
	return func(id string, data map[string]any) string { return c.texts.T(lang, id, data) }
}

func (c *Console) parseTemplates() error {
	c.pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).ParseFS(templateFiles, "templates/layout.html", name)
		if err != nil {
			return fmt.Errorf("console template %s: %w", name, err)
		}
		c.pages[base] = t
	}
	return nil
}

func (c *Console) newPage(rq *request, nav, title string, data any) *page {
	dir := "ltr"
	if c.texts.RTL(rq.lang) {
		dir = "rtl"
	}
	return &page{Lang: rq.lang, Dir: dir, Title: title, CSRF: rq.sess.CSRF, Prefix: c.cfg.Prefix, Nav: nav,
		Who: rq.who, Data: data, t: c.tr(rq.lang)}
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t := c.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.log.Error("console template", "page", name, "err", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// ---- views: what the templates and the JSON API show ----

type option struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Selected bool   `json:"selected,omitempty"`
}

type ticketView struct {
	ID            string `json:"id"`
	URL           string `json:"url"`
	Desk          string `json:"desk"`
	DeskName      string `json:"desk_name"`
	Lang          string `json:"lang"`
	LangName      string `json:"lang_name"`
	Priority      int    `json:"priority"`
	PriorityLabel string `json:"priority_label"`
	Status        string `json:"status"`
	StatusLabel   string `json:"status_label"`
	Topic         string `json:"topic"`
	Reason        string `json:"reason"`
	Assignee      string `json:"assignee,omitempty"`
	Mine          bool   `json:"mine,omitempty"`
	Age           string `json:"age"`
	Opened        string `json:"opened"`
	Channel       string `json:"channel"`
	Promise       string `json:"promise"`
	Outcome       string `json:"outcome,omitempty"`
	Requests      int    `json:"requests"`
}

type field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

type messageView struct {
	Kind     string `json:"kind"` // user, bot, staff, note, system
	Who      string `json:"who"`
	Text     string `json:"text"`
	At       string `json:"at"`
	Delivery string `json:"delivery,omitempty"` // staff replies: delivered, pending, failed
	Label    string `json:"delivery_label,omitempty"`
}

type ticketDetail struct {
	ticketView
	Summary  []field       `json:"summary"`
	Before   []messageView `json:"before"`
	Messages []messageView `json:"messages"`
	Open     bool          `json:"open"`
	CanClaim bool          `json:"can_claim"`
	TakeOver bool          `json:"take_over"`
	Canned   []cannedView  `json:"-"`
	Outcomes []option      `json:"-"`
}

// label returns the localized text of id, or fallback if the catalog has no such id.
func (c *Console) label(lang, id, fallback string) string {
	if c.texts.Has("en", id) {
		return c.texts.T(lang, id, nil)
	}
	return fallback
}

func idPart(s string) string { return strings.ReplaceAll(s, "-", "_") }

func (c *Console) local(t time.Time, deskID string) time.Time {
	if o, ok := c.desk.Office(deskID); ok {
		return t.In(o.Location)
	}
	return t
}

// stamp writes a time for staff in their language: "14:05" today, "07/01/2025 14:05" otherwise.
func (c *Console) stamp(lang string, t time.Time, deskID string) string {
	if t.IsZero() {
		return ""
	}
	lt, now := c.local(t, deskID), c.local(c.desk.Now(), deskID)
	if lt.Format("2006-01-02") == now.Format("2006-01-02") {
		return lt.Format("15:04")
	}
	return c.texts.Date(lang, lt) + " " + lt.Format("15:04")
}

// dur writes a duration for staff: "just now", "12 min", "3 h 5 min", "4 days".
func (c *Console) dur(lang string, d time.Duration) string {
	switch {
	case d < time.Minute:
		return c.texts.T(lang, "desk.console.dur_now", nil)
	case d < time.Hour:
		return c.texts.T(lang, "desk.console.dur_min", map[string]any{"N": int(d / time.Minute)})
	case d < 48*time.Hour:
		return c.texts.T(lang, "desk.console.dur_hours", map[string]any{"H": int(d / time.Hour), "M": int(d%time.Hour) / int(time.Minute)})
	}
	return c.texts.T(lang, "desk.console.dur_days", map[string]any{"N": int(d / (24 * time.Hour))})
}

func (c *Console) langName(code string) string {
	if code == "" {
		return "?"
	}
	if c.texts.Has(code, "language.name") {
		return c.texts.T(code, "language.name", nil) + " (" + code + ")"
	}
	return code
}

// reason explains why a ticket was opened, in the staff member's language.
func (c *Console) reason(lang, reason string) string {
	kind, arg, _ := strings.Cut(reason, ":")
	switch kind {
	case "rule":
		return c.texts.T(lang, "desk.console.reason_rule", map[string]any{"Rule": c.label(lang, "desk.rule."+idPart(arg), arg)})
	case "flow":
		return c.texts.T(lang, "desk.console.reason_flow", map[string]any{"Flow": c.label(lang, "desk.topic."+idPart(arg), arg)})
	case "article":
		return c.texts.T(lang, "desk.console.reason_article", map[string]any{"Article": arg})
	}
	return c.texts.T(lang, "desk.console.reason_user", nil)
}

func (c *Console) ticketView(rq *request, t *desk.Ticket) ticketView {
	lang := rq.lang
	now := c.desk.Now()
	deskName := t.Desk
	if o, ok := c.desk.Office(t.Desk); ok {
		deskName = o.Name
	}
	v := ticketView{
		ID: t.ID, URL: c.cfg.Prefix + "/tickets/" + t.ID, Desk: t.Desk, DeskName: deskName,
		Lang: t.Lang, LangName: c.langName(t.Lang), Priority: int(t.Priority),
		PriorityLabel: c.texts.T(lang, fmt.Sprintf("desk.console.priority_%d", t.Priority), nil),
		Status:        string(t.Status), StatusLabel: c.texts.T(lang, "desk.console.status_"+string(t.Status), nil),
		Topic:    c.label(lang, "desk.topic."+idPart(t.Topic), t.Topic),
		Reason:   c.reason(lang, t.Reason),
		Assignee: t.Assignee, Mine: t.Assignee == rq.who.Name,
		Opened: c.stamp(lang, t.Opened, t.Desk), Channel: t.Address.Channel, Requests: t.Requests,
	}
	if t.Open() {
		v.Age = c.dur(lang, now.Sub(t.Opened))
	} else {
		v.Age = c.dur(lang, t.ClosedAt.Sub(t.Opened))
		v.Outcome = c.label(lang, "desk.outcome."+idPart(t.Outcome), t.Outcome)
	}
	if t.InHours {
		v.Promise = c.texts.T(lang, "desk.console.promise_in_hours", map[string]any{"Wait": c.dur(lang, t.TypicalWait)})
	} else if !t.ReplyBy.IsZero() {
		v.Promise = c.texts.T(lang, "desk.console.promise_reply_by", map[string]any{"When": c.stamp(lang, t.ReplyBy, t.Desk)})
	}
	return v
}

func (c *Console) ticketDetail(rq *request, t *desk.Ticket) *ticketDetail {
	lang := rq.lang
	d := &ticketDetail{ticketView: c.ticketView(rq, t), Open: t.Open()}
	d.CanClaim = t.Open() && t.Assignee != rq.who.Name
	d.TakeOver = t.Status == desk.Claimed && t.Assignee != rq.who.Name
	// The case summary in the staff member's language.
	d.Summary = append(d.Summary,
		field{c.texts.T(lang, "desk.field.reason", nil), d.Reason},
		field{c.texts.T(lang, "desk.field.topic", nil), d.Topic},
		field{c.texts.T(lang, "desk.field.language", nil), d.LangName},
		field{c.texts.T(lang, "desk.field.priority", nil), d.PriorityLabel},
		field{c.texts.T(lang, "desk.field.channel", nil), t.Address.Channel},
		field{c.texts.T(lang, "desk.field.opened", nil), d.Opened + " (" + d.Age + ")"},
	)
	if d.Promise != "" {
		d.Summary = append(d.Summary, field{c.texts.T(lang, "desk.field.promise", nil), d.Promise})
	}
	if t.Requests > 1 {
		d.Summary = append(d.Summary, field{c.texts.T(lang, "desk.field.requests", nil), fmt.Sprint(t.Requests)})
	}
	keys := make([]string, 0, len(t.Summary))
	for k := range t.Summary {
		if k != "reason" && k != "topic" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		val := t.Summary[k]
		d.Summary = append(d.Summary, field{c.label(lang, "desk.field."+idPart(k), k), c.label(lang, "desk.value."+idPart(val), val)})
	}
	// The transcript, in the user's own words; replies marked with whether they arrived.
	status := map[int]string{}
	for _, m := range t.Messages {
		if m.From == "system" && (m.Event == "delivered" || m.Event == "failed") {
			status[m.Ref] = m.Event
		}
	}
	for _, m := range t.Messages {
		if m.From == "system" && (m.Event == "delivered" || m.Event == "failed") {
			continue
		}
		mv := c.messageView(rq, t, m)
		if m.From == "staff" {
			mv.Delivery = status[m.Seq]
			if mv.Delivery == "" {
				mv.Delivery = "pending"
			}
			mv.Label = c.texts.T(lang, "desk.console.delivery_"+mv.Delivery, nil)
		}
		if m.Before {
			d.Before = append(d.Before, mv)
		} else {
			d.Messages = append(d.Messages, mv)
		}
	}
	for _, o := range desk.Outcomes {
		d.Outcomes = append(d.Outcomes, option{Value: o, Label: c.label(lang, "desk.outcome."+idPart(o), o)})
	}
	d.Canned = c.cannedFor(lang, t.Lang)
	return d
}

func (c *Console) messageView(rq *request, t *desk.Ticket, m desk.Message) messageView {
	lang := rq.lang
	mv := messageView{Kind: m.From, Text: m.Text, At: c.stamp(lang, m.At, t.Desk)}
	who := func(name string) string {
		if a, err := c.desk.Account(rq.ctx, name); err == nil {
			return a.Who()
		}
		return name
	}
	switch m.From {
	case "user":
		mv.Who = c.texts.T(lang, "desk.console.from_user", nil)
		if m.Media != bot.MediaNone {
			mv.Text = strings.TrimSpace("[" + c.label(lang, "desk.console.media_"+string(m.Media), string(m.Media)) + "] " + m.Text)
		}
		if m.Event == "late" {
			mv.Who += " · " + c.texts.T(lang, "desk.event.late", nil)
		}
	case "bot":
		mv.Who = c.texts.T(lang, "desk.console.from_bot", nil)
		mv.Text = bot.PlainText(bot.ParseMarkup(m.Text))
		if m.Article != "" {
			mv.Who += " · " + m.Article
		}
	case "staff":
		mv.Who = c.texts.T(lang, "desk.console.from_staff", map[string]any{"Name": who(m.Staff)})
	case "note":
		mv.Who = c.texts.T(lang, "desk.console.from_note", map[string]any{"Name": who(m.Staff)})
	default:
		mv.Kind = "system"
		mv.Who = ""
		data := map[string]any{"Name": who(m.Staff)}
		switch m.Event {
		case "closed":
			data["Outcome"] = c.label(lang, "desk.outcome."+idPart(m.Text), m.Text)
		case "again":
			data["Reason"] = c.reason(lang, m.Text)
		}
		mv.Text = c.texts.T(lang, "desk.event."+m.Event, data)
	}
	return mv
}
