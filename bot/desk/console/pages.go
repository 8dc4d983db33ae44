package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
)

// flashes are the messages a redirect can carry (?flash=…): only these ids, never free text.
var flashes = map[string]string{
	"claimed":   "desk.console.flash_claimed",
	"sent":      "desk.console.flash_sent",
	"pending":   "desk.console.flash_pending",
	"noted":     "desk.console.flash_noted",
	"closed":    "desk.console.flash_closed",
	"conflict":  "desk.console.flash_conflict",
	"is_closed": "desk.console.flash_is_closed",
	"empty":     "desk.console.flash_empty",
	"published": "desk.console.flash_published",
	"removed":   "desk.console.flash_removed",
	"taken":     "desk.console.flash_taken",
	"confirmed": "desk.console.flash_confirmed",
	"moved":     "desk.console.flash_moved",
	"cancelled": "desk.console.flash_cancelled",
	"invalid":   "desk.console.flash_invalid",
	"rotated":   "desk.console.flash_rotated",
}

var errorFlashes = map[string]bool{"conflict": true, "is_closed": true, "empty": true, "taken": true, "invalid": true, "pending": true}

func (c *Console) flash(p *page, r *http.Request) {
	key := r.URL.Query().Get("flash")
	if id, ok := flashes[key]; ok {
		p.Flash = c.texts.T(p.Lang, id, nil)
		p.FlashKind = "ok"
		if errorFlashes[key] {
			p.FlashKind = "error"
		}
	}
	if n := r.URL.Query().Get("n"); n != "" && key == "published" {
		if v, err := strconv.Atoi(n); err == nil {
			p.Flash = c.texts.T(p.Lang, "desk.console.flash_published", map[string]any{"N": v})
		}
	}
}

func (c *Console) back(w http.ResponseWriter, r *http.Request, path, flash string, extra ...string) {
	q := url.Values{}
	if flash != "" {
		q.Set("flash", flash)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	target := c.cfg.Prefix + path
	if len(q) > 0 {
		if strings.Contains(target, "?") {
			target += "&" + q.Encode()
		} else {
			target += "?" + q.Encode()
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// ---- the queue ----

type queueData struct {
	Desks, Langs, Priorities, Statuses []option
	Stats                              []statsView
	Tickets                            []ticketView
	Query                              string
	Closed                             bool
}

type statsView struct {
	Desk       string `json:"desk"`
	DeskName   string `json:"desk_name"`
	Waiting    int    `json:"waiting"`
	Claimed    int    `json:"claimed"`
	Urgent     int    `json:"urgent"`
	MedianWait string `json:"median_wait"`
}

// filter reads the queue filter from the query string, limited to what the account may see.
func (c *Console) filter(rq *request, q url.Values) (desk.Filter, bool) {
	f := desk.Filter{Desk: q.Get("desk"), Lang: q.Get("lang")}
	if f.Desk != "" && !rq.who.CanAccess(f.Desk) {
		return f, false
	}
	if p, err := strconv.Atoi(q.Get("priority")); err == nil && p >= 0 && p <= int(bot.PriorityUrgent) {
		pr := bot.Priority(p)
		f.Priority = &pr
	}
	switch q.Get("status") {
	case "waiting":
		f.Status = desk.Waiting
	case "claimed":
		f.Status = desk.Claimed
	case "mine":
		f.Mine = true
	case "closed":
		f.Status = desk.Closed
	}
	return f, true
}

func (c *Console) queueData(rq *request, q url.Values) (*queueData, int) {
	f, ok := c.filter(rq, q)
	if !ok {
		return nil, http.StatusForbidden
	}
	tickets, err := c.desk.Queue(rq.ctx, rq.who, f)
	if err != nil {
		c.log.Warn("console queue", "err", err)
		return nil, http.StatusInternalServerError
	}
	lang := rq.lang
	d := &queueData{Closed: f.Status == desk.Closed}
	d.Desks = append(d.Desks, option{Value: "", Label: c.texts.T(lang, "desk.console.filter_all", nil)})
	for _, id := range c.desk.Desks() {
		if !rq.who.CanAccess(id) {
			continue
		}
		o, _ := c.desk.Office(id)
		d.Desks = append(d.Desks, option{Value: id, Label: o.Name, Selected: f.Desk == id})
		if f.Desk == "" || f.Desk == id {
			st, err := c.desk.Stats(rq.ctx, rq.who, id)
			if err != nil {
				continue
			}
			sv := statsView{Desk: id, DeskName: o.Name, Waiting: st.Waiting, Claimed: st.Claimed, Urgent: st.Urgent,
				MedianWait: c.texts.T(lang, "desk.console.stats_none", nil)}
			if st.WaitsToday > 0 {
				sv.MedianWait = c.dur(lang, st.MedianWaitToday)
			}
			d.Stats = append(d.Stats, sv)
		}
	}
	langs := map[string]bool{}
	d.Langs = append(d.Langs, option{Value: "", Label: c.texts.T(lang, "desk.console.filter_all", nil)})
	for _, t := range tickets {
		d.Tickets = append(d.Tickets, c.ticketView(rq, t))
		langs[t.Lang] = true
	}
	if f.Lang != "" {
		langs[f.Lang] = true
	}
	var codes []string
	for code := range langs {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		d.Langs = append(d.Langs, option{Value: code, Label: c.langName(code), Selected: f.Lang == code})
	}
	d.Priorities = append(d.Priorities, option{Value: "", Label: c.texts.T(lang, "desk.console.filter_all", nil)})
	for p := bot.PriorityUrgent; p >= bot.PriorityNormal; p-- {
		d.Priorities = append(d.Priorities, option{Value: strconv.Itoa(int(p)), Label: c.texts.T(lang, "desk.console.priority_"+strconv.Itoa(int(p)), nil),
			Selected: f.Priority != nil && *f.Priority == p})
	}
	status := q.Get("status")
	for _, s := range []string{"", "waiting", "claimed", "mine", "closed"} {
		label := c.texts.T(lang, "desk.console.filter_open", nil)
		if s != "" {
			label = c.texts.T(lang, "desk.console.filter_"+s, nil)
		}
		d.Statuses = append(d.Statuses, option{Value: s, Label: label, Selected: status == s})
	}
	keep := url.Values{}
	for _, k := range []string{"desk", "lang", "priority", "status"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	d.Query = keep.Encode()
	return d, http.StatusOK
}

func (c *Console) queuePage(w http.ResponseWriter, r *http.Request, rq *request) {
	d, status := c.queueData(rq, r.URL.Query())
	if d == nil {
		c.fail(w, r, rq, status)
		return
	}
	p := c.newPage(rq, "queue", c.texts.T(rq.lang, "desk.console.queue_title", nil), d)
	c.flash(p, r)
	c.render(w, r, http.StatusOK, "queue", p)
}

// ---- one ticket ----

func (c *Console) ticketPage(w http.ResponseWriter, r *http.Request, rq *request) {
	t, err := c.desk.TicketFor(rq.ctx, rq.who, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, rq, errStatus(err))
		return
	}
	d := c.ticketDetail(rq, t)
	p := c.newPage(rq, "queue", c.texts.T(rq.lang, "desk.console.ticket_title", map[string]any{"ID": t.ID}), d)
	c.flash(p, r)
	c.render(w, r, http.StatusOK, "ticket", p)
}

func (c *Console) ticketAction(w http.ResponseWriter, r *http.Request, rq *request, ok string, act func(id string) (string, error)) {
	id := r.PathValue("id")
	flash, err := act(id)
	switch {
	case err == nil:
		if flash == "" {
			flash = ok
		}
		c.back(w, r, "/tickets/"+id, flash)
	case errors.Is(err, desk.ErrClaimed):
		c.back(w, r, "/tickets/"+id, "conflict")
	case errors.Is(err, desk.ErrClosed):
		c.back(w, r, "/tickets/"+id, "is_closed")
	case errors.Is(err, desk.ErrInvalid):
		c.back(w, r, "/tickets/"+id, "empty")
	default:
		if errStatus(err) == http.StatusInternalServerError {
			c.log.Warn("console ticket action", "ticket", id, "err", err)
		}
		c.fail(w, r, rq, errStatus(err))
	}
}

func (c *Console) claim(w http.ResponseWriter, r *http.Request, rq *request) {
	c.ticketAction(w, r, rq, "claimed", func(id string) (string, error) {
		return "", c.desk.Claim(rq.ctx, rq.who, id, r.PostFormValue("force") == "1")
	})
}

func (c *Console) reply(w http.ResponseWriter, r *http.Request, rq *request) {
	c.ticketAction(w, r, rq, "sent", func(id string) (string, error) {
		text := r.PostFormValue("text")
		if strings.TrimSpace(text) == "" && r.PostFormValue("canned") != "" {
			t, err := c.desk.TicketFor(rq.ctx, rq.who, id)
			if err != nil {
				return "", err
			}
			text = c.cannedText(r.PostFormValue("canned"), t.Lang)
		}
		delivered, err := c.desk.Reply(rq.ctx, rq.who, id, text)
		if err == nil && !delivered {
			return "pending", nil
		}
		return "", err
	})
}

func (c *Console) note(w http.ResponseWriter, r *http.Request, rq *request) {
	c.ticketAction(w, r, rq, "noted", func(id string) (string, error) {
		return "", c.desk.Note(rq.ctx, rq.who, id, r.PostFormValue("text"))
	})
}

func (c *Console) closeTicket(w http.ResponseWriter, r *http.Request, rq *request) {
	c.ticketAction(w, r, rq, "closed", func(id string) (string, error) {
		_, err := c.desk.Close(rq.ctx, rq.who, id, r.PostFormValue("outcome"))
		return "", err
	})
}

// ---- appointments ----

type apptData struct {
	Desk     string
	DeskName string
	Desks    []option
	From     string
	Prev     string
	Next     string
	Days     []dayView
	Modes    []option
	Lengths  []option
	CanBook  bool
	FeedURL  string
	IsAdmin  bool
	Today    string
}

type dayView struct {
	Date    string
	Label   string
	Entries []entryView
}

type entryView struct {
	SlotID    string
	Time      string
	ModeLabel string
	Free      bool
	Appt      *apptView
}

type apptView struct {
	ID          string
	Status      string
	StatusLabel string
	Topic       string
	LangName    string
	Documents   string
	Channel     string
	Confirmable bool
	Active      bool
	Moves       []option
}

func (c *Console) appointmentsPage(w http.ResponseWriter, r *http.Request, rq *request) {
	lang := rq.lang
	q := r.URL.Query()
	deskID := q.Get("desk")
	var desks []option
	for _, id := range c.desk.Desks() {
		if rq.who.CanAccess(id) {
			if deskID == "" {
				deskID = id
			}
			o, _ := c.desk.Office(id)
			desks = append(desks, option{Value: id, Label: o.Name, Selected: id == deskID})
		}
	}
	o, ok := c.desk.Office(deskID)
	if !ok || !rq.who.CanAccess(deskID) {
		c.fail(w, r, rq, http.StatusNotFound)
		return
	}
	now := c.desk.Now().In(o.Location)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, o.Location)
	if d, err := time.ParseInLocation("2006-01-02", q.Get("from"), o.Location); err == nil {
		from = d
	}
	to := from.AddDate(0, 0, 14)
	entries, err := c.desk.Calendar(rq.ctx, rq.who, deskID, from, to)
	if err != nil {
		c.fail(w, r, rq, errStatus(err))
		return
	}
	d := &apptData{Desk: deskID, DeskName: o.Name, Desks: desks, From: from.Format("2006-01-02"),
		Prev: from.AddDate(0, 0, -14).Format("2006-01-02"), Next: to.Format("2006-01-02"),
		CanBook: rq.who.CanBook(deskID), IsAdmin: rq.who.Role == desk.RoleAdmin, Today: now.Format("2006-01-02")}
	var moves []option
	if d.CanBook {
		free, _ := c.desk.FreeSlots(rq.ctx, deskID, 30, "")
		for _, sl := range free {
			moves = append(moves, option{Value: sl.ID, Label: c.stamp(lang, sl.Start, deskID) + " · " + c.texts.T(lang, modeLabel(sl.Mode), nil)})
		}
	}
	var day *dayView
	for _, e := range entries {
		st := e.Slot.Start.In(o.Location)
		date := st.Format("2006-01-02")
		if day == nil || day.Date != date {
			d.Days = append(d.Days, dayView{Date: date, Label: c.texts.T(lang, dayLabel(st.Weekday()), nil) + " " + c.texts.Date(lang, st)})
			day = &d.Days[len(d.Days)-1]
		}
		ev := entryView{SlotID: e.Slot.ID, Time: st.Format("15:04") + "–" + st.Add(e.Slot.Length).Format("15:04"),
			ModeLabel: c.texts.T(lang, modeLabel(e.Slot.Mode), nil), Free: e.Appointment == nil}
		if a := e.Appointment; a != nil {
			av := &apptView{ID: a.ID, Status: string(a.Status), StatusLabel: c.texts.T(lang, "desk.console.appt_"+string(a.Status), nil),
				Topic: c.label(lang, "desk.topic."+idPart(a.Topic), a.Topic), LangName: c.langName(a.Lang),
				Documents: c.label(lang, "desk.value."+idPart(a.Documents), a.Documents), Channel: a.Address.Channel,
				Confirmable: a.Status == desk.Booked && a.Active(c.desk.Now())}
			if a.Active(c.desk.Now()) {
				av.Active, av.Moves = true, moves
			}
			ev.Appt = av
		}
		day.Entries = append(day.Entries, ev)
	}
	for _, m := range desk.Modes {
		d.Modes = append(d.Modes, option{Value: string(m), Label: c.texts.T(lang, modeLabel(m), nil)})
	}
	for _, n := range []int{15, 20, 30, 45, 60} {
		d.Lengths = append(d.Lengths, option{Value: strconv.Itoa(n), Label: c.dur(lang, time.Duration(n)*time.Minute), Selected: n == 30})
	}
	if d.CanBook {
		if token, err := c.desk.FeedToken(rq.ctx, rq.who, deskID, false); err == nil {
			scheme := "http://"
			if secure(r) {
				scheme = "https://"
			}
			d.FeedURL = scheme + r.Host + c.cfg.Prefix + "/desks/" + deskID + "/calendar.ics?token=" + url.QueryEscape(token)
		}
	}
	p := c.newPage(rq, "appointments", c.texts.T(lang, "desk.console.appointments_title", map[string]any{"Desk": o.Name}), d)
	c.flash(p, r)
	c.render(w, r, http.StatusOK, "appointments", p)
}

func modeLabel(m desk.Mode) string { return "desk.appt.mode_" + idPart(string(m)) }

var dayLabels = [...]string{"desk.day.sun", "desk.day.mon", "desk.day.tue", "desk.day.wed", "desk.day.thu", "desk.day.fri", "desk.day.sat"}

func dayLabel(d time.Weekday) string { return dayLabels[d] }

func (c *Console) publishSlots(w http.ResponseWriter, r *http.Request, rq *request) {
	deskID := r.PostFormValue("desk")
	o, ok := c.desk.Office(deskID)
	if !ok || !rq.who.CanBook(deskID) {
		c.fail(w, r, rq, http.StatusForbidden)
		return
	}
	back := "/appointments?desk=" + url.QueryEscape(deskID)
	date, err := time.ParseInLocation("2006-01-02", r.PostFormValue("date"), o.Location)
	if err != nil {
		c.back(w, r, back, "invalid")
		return
	}
	spec := desk.SlotSpec{Date: date, From: r.PostFormValue("from"), To: r.PostFormValue("to"), Mode: desk.Mode(r.PostFormValue("mode"))}
	if u := r.PostFormValue("until"); u != "" {
		if spec.Until, err = time.ParseInLocation("2006-01-02", u, o.Location); err != nil {
			c.back(w, r, back, "invalid")
			return
		}
	}
	minutes, _ := strconv.Atoi(r.PostFormValue("length"))
	spec.Length = time.Duration(minutes) * time.Minute
	n, err := c.desk.PublishSlots(rq.ctx, rq.who, deskID, spec)
	if errors.Is(err, desk.ErrInvalid) {
		c.back(w, r, back, "invalid")
		return
	}
	if err != nil {
		c.fail(w, r, rq, errStatus(err))
		return
	}
	c.back(w, r, back+"&from="+date.Format("2006-01-02"), "published", "n", strconv.Itoa(n))
}

func (c *Console) removeSlot(w http.ResponseWriter, r *http.Request, rq *request) {
	deskID := r.PostFormValue("desk")
	back := "/appointments?desk=" + url.QueryEscape(deskID) + "&from=" + url.QueryEscape(r.PostFormValue("from"))
	err := c.desk.RemoveSlot(rq.ctx, rq.who, r.PathValue("id"))
	switch {
	case err == nil:
		c.back(w, r, back, "removed")
	case errors.Is(err, desk.ErrTaken):
		c.back(w, r, back, "taken")
	default:
		c.fail(w, r, rq, errStatus(err))
	}
}

func (c *Console) appointmentAction(w http.ResponseWriter, r *http.Request, rq *request) {
	id := r.PathValue("id")
	a, err := c.desk.AppointmentFor(rq.ctx, rq.who, id)
	if err != nil {
		c.fail(w, r, rq, errStatus(err))
		return
	}
	back := "/appointments?desk=" + url.QueryEscape(a.Desk) + "&from=" + url.QueryEscape(r.PostFormValue("from"))
	var flash string
	switch r.PathValue("action") {
	case "confirm":
		err, flash = c.desk.ConfirmAppointment(rq.ctx, rq.who, id), "confirmed"
	case "move":
		err, flash = c.desk.MoveAppointment(rq.ctx, rq.who, id, r.PostFormValue("slot")), "moved"
	case "cancel":
		err, flash = c.desk.CancelAppointmentByStaff(rq.ctx, rq.who, id), "cancelled"
	default:
		c.fail(w, r, rq, http.StatusNotFound)
		return
	}
	switch {
	case err == nil:
		c.back(w, r, back, flash)
	case errors.Is(err, desk.ErrTaken):
		c.back(w, r, back, "taken")
	case errors.Is(err, desk.ErrClosed):
		c.back(w, r, back, "is_closed")
	default:
		c.fail(w, r, rq, errStatus(err))
	}
}

func (c *Console) rotateFeed(w http.ResponseWriter, r *http.Request, rq *request) {
	deskID := r.PathValue("desk")
	if _, err := c.desk.FeedToken(rq.ctx, rq.who, deskID, true); err != nil {
		c.fail(w, r, rq, errStatus(err))
		return
	}
	c.back(w, r, "/appointments?desk="+url.QueryEscape(deskID), "rotated")
}

// feed serves a desk's calendar to calendar apps, which sign in with the feed's token.
func (c *Console) feed(w http.ResponseWriter, r *http.Request) {
	deskID := r.PathValue("desk")
	if !c.desk.CheckFeedToken(r.Context(), deskID, r.URL.Query().Get("token")) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	ics, err := c.desk.ICS(r.Context(), deskID)
	if err != nil {
		http.Error(w, "calendar unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+deskID+`.ics"`)
	_, _ = w.Write(ics)
}
