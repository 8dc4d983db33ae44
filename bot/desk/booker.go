package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sportello/sportello/bot"
)

// The booker is the user's side of appointments, run by the flow engine: a flow step
// `do: book` offers free slots as buttons, and the buttons come back as actions starting with
// ActionBook. Every action is checked here against the store (the slot must be free, the
// appointment must be the user's), so a forged or stale button does no harm.

// ActionBook starts every appointment button's action.
const ActionBook = "b:"

const (
	actSlot       = ActionBook + "s:" // + slot id: book (or move to) this slot
	actReschedule = ActionBook + "r"  // offer other slots for the standing appointment
	actOffer      = ActionBook + "o"  // offer slots for a new appointment
	actCancelAsk  = ActionBook + "c"  // ask before cancelling
	actCancelYes  = ActionBook + "cy" // cancel
	actKeep       = ActionBook + "k"  // keep the appointment
	actNoneFit    = ActionBook + "n"  // none of the offered times fit: ask staff
)

// BookVar is the flow variable `do: book` sets: "offered" when slots were offered, "existing"
// when the user already has an appointment; it stays as the flow set it (e.g. "none") when no
// slot is free, so the flow can branch to a handoff.
const BookVar = "slots"

// Book implements the flow engine's Booker: it runs `do: book` steps and appointment buttons.
func (s *Service) Book(ctx context.Context, ss *bot.Session, action string) ([]bot.Reply, *bot.HandoffRequest, error) {
	if _, ok := s.offices[ss.Desk]; !ok {
		return nil, nil, fmt.Errorf("book: unknown desk %q", ss.Desk)
	}
	switch {
	case action == "book":
		req := BookRequest{Address: ss.Address, User: ss.User, Lang: ss.Lang, Desk: ss.Desk,
			Topic: ss.Flow.Vars["topic"], Documents: ss.Flow.Vars["documents"]}
		if err := s.putJSON(ctx, keyApptRequest(ss.Address), req, 24*time.Hour); err != nil {
			return nil, nil, err
		}
		if cur, err := s.ActiveAppointment(ctx, ss.Address); err != nil {
			return nil, nil, err
		} else if cur != nil {
			setFlowVar(ss, BookVar, "existing")
			return []bot.Reply{s.existing(ss, cur)}, nil, nil
		}
		rep, ok, err := s.offerSlots(ctx, ss, "desk.appt.choose", "")
		if err != nil || !ok {
			return nil, nil, err
		}
		setFlowVar(ss, BookVar, "offered")
		return []bot.Reply{rep}, nil, nil

	case action == actOffer, action == actReschedule:
		skip := ""
		if cur, err := s.ActiveAppointment(ctx, ss.Address); err != nil {
			return nil, nil, err
		} else if cur != nil {
			skip = cur.Slot
		}
		rep, ok, err := s.offerSlots(ctx, ss, "desk.appt.choose", skip)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return []bot.Reply{s.reply(ss, "desk.appt.no_slots", nil, nil)}, s.requestStaff(ctx, ss, "no-slots"), nil
		}
		return []bot.Reply{rep}, nil, nil

	case strings.HasPrefix(action, actSlot):
		return s.bookSlot(ctx, ss, strings.TrimPrefix(action, actSlot))

	case action == actCancelAsk:
		cur, err := s.ActiveAppointment(ctx, ss.Address)
		if err != nil || cur == nil {
			return []bot.Reply{s.reply(ss, "desk.appt.none_active", nil, s.menu(ss))}, nil, err
		}
		return []bot.Reply{s.reply(ss, "desk.appt.cancel_confirm", s.apptData(ss, cur), [][]bot.Button{
			{{Label: s.t(ss, "desk.appt.cancel_yes", nil), Action: actCancelYes}},
			{{Label: s.t(ss, "desk.appt.keep", nil), Action: actKeep}},
		})}, nil, nil

	case action == actCancelYes:
		cur, err := s.CancelAppointment(ctx, ss.Address)
		if errors.Is(err, ErrLimit) {
			return []bot.Reply{s.reply(ss, "desk.appt.limit", nil, s.menu(ss))}, nil, nil
		}
		if err != nil || cur == nil {
			return []bot.Reply{s.reply(ss, "desk.appt.none_active", nil, s.menu(ss))}, nil, err
		}
		return []bot.Reply{s.reply(ss, "desk.appt.cancelled", s.apptData(ss, cur), [][]bot.Button{
			{{Label: s.t(ss, "desk.appt.book_again", nil), Action: actOffer}}, s.menu(ss)[0]})}, nil, nil

	case action == actKeep:
		cur, err := s.ActiveAppointment(ctx, ss.Address)
		if err != nil || cur == nil {
			return []bot.Reply{s.reply(ss, "desk.appt.none_active", nil, s.menu(ss))}, nil, err
		}
		return []bot.Reply{s.reply(ss, "desk.appt.kept", s.apptData(ss, cur), s.menu(ss))}, nil, nil

	case action == actNoneFit:
		return nil, s.requestStaff(ctx, ss, "none-fit"), nil
	}
	return []bot.Reply{s.reply(ss, "button.stale", nil, s.menu(ss))}, nil, nil
}

// bookSlot books the pressed slot, or offers the next free ones if someone was quicker.
func (s *Service) bookSlot(ctx context.Context, ss *bot.Session, slot string) ([]bot.Reply, *bot.HandoffRequest, error) {
	var req BookRequest
	if err := s.getJSON(ctx, keyApptRequest(ss.Address), &req); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, nil, err
	}
	req.Address, req.User, req.Lang, req.Desk = ss.Address, ss.User, ss.Lang, ss.Desk
	a, err := s.BookSlot(ctx, req, slot)
	switch {
	case errors.Is(err, ErrTaken):
		skip := ""
		if cur, _ := s.ActiveAppointment(ctx, ss.Address); cur != nil {
			skip = cur.Slot
		}
		rep, ok, err := s.offerSlots(ctx, ss, "desk.appt.taken", skip)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return []bot.Reply{s.reply(ss, "desk.appt.no_slots", nil, nil)}, s.requestStaff(ctx, ss, "no-slots"), nil
		}
		return []bot.Reply{rep}, nil, nil
	case errors.Is(err, ErrLimit):
		return []bot.Reply{s.reply(ss, "desk.appt.limit", nil, s.menu(ss))}, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return []bot.Reply{s.reply(ss, "desk.appt.booked", s.apptData(ss, a), s.apptButtons(ss))}, nil, nil
}

// offerSlots lists the next free slots as buttons; ok is false when none is free.
func (s *Service) offerSlots(ctx context.Context, ss *bot.Session, intro, skip string) (bot.Reply, bool, error) {
	slots, err := s.FreeSlots(ctx, ss.Desk, s.cfg.SlotsOffered, skip)
	if err != nil || len(slots) == 0 {
		return bot.Reply{}, false, err
	}
	var rows [][]bot.Button
	for _, sl := range slots {
		label := s.t(ss, "desk.appt.slot", map[string]any{"When": s.when(ss.Lang, ss.Desk, sl.Start), "Mode": s.t(ss, modeID(sl.Mode), nil)})
		rows = append(rows, []bot.Button{{Label: label, Action: actSlot + sl.ID}})
	}
	rows = append(rows, []bot.Button{{Label: s.t(ss, "desk.appt.none_fit", nil), Action: actNoneFit}})
	rows = append(rows, s.menu(ss)...)
	return s.reply(ss, intro, nil, rows), true, nil
}

// existing tells a user about their standing appointment, with what they can do.
func (s *Service) existing(ss *bot.Session, a *Appointment) bot.Reply {
	return s.reply(ss, "desk.appt.existing", s.apptData(ss, a), append([][]bot.Button{
		{{Label: s.t(ss, "desk.appt.keep", nil), Action: actKeep}}}, s.apptButtons(ss)...))
}

func (s *Service) apptButtons(ss *bot.Session) [][]bot.Button {
	return [][]bot.Button{
		{{Label: s.t(ss, "desk.appt.reschedule", nil), Action: actReschedule}},
		{{Label: s.t(ss, "desk.appt.cancel", nil), Action: actCancelAsk}},
	}
}

func (s *Service) menu(ss *bot.Session) [][]bot.Button {
	return [][]bot.Button{{{Label: s.t(ss, "menu.back", nil), Action: ActionMenu}}}
}

// requestStaff hands the appointment request to staff when no offered time works.
func (s *Service) requestStaff(ctx context.Context, ss *bot.Session, why string) *bot.HandoffRequest {
	var req BookRequest
	_ = s.getJSON(ctx, keyApptRequest(ss.Address), &req)
	summary := map[string]string{"slots": why}
	if req.Topic != "" {
		summary["topic"] = req.Topic
	}
	if req.Documents != "" {
		summary["documents"] = req.Documents
	}
	return &bot.HandoffRequest{Topic: "appointment", Reason: "flow:appointment", Summary: summary}
}

func setFlowVar(ss *bot.Session, k, v string) {
	if ss.Flow.Vars == nil {
		ss.Flow.Vars = map[string]string{}
	}
	ss.Flow.Vars[k] = v
}

func (s *Service) t(ss *bot.Session, id string, data map[string]any) string {
	return s.text(ss.Lang, ss.Desk, id, data)
}

// text localizes a message with the desk's name available as {{.Desk}}.
func (s *Service) text(lang, desk, id string, data map[string]any) string {
	d := map[string]any{}
	if o, ok := s.offices[desk]; ok {
		d["Desk"] = o.Name
	}
	for k, v := range data {
		d[k] = v
	}
	return s.cfg.Texts.T(lang, id, d)
}

func (s *Service) reply(ss *bot.Session, id string, data map[string]any, buttons [][]bot.Button) bot.Reply {
	return bot.Reply{Text: s.t(ss, id, data), Lang: ss.Lang, Buttons: buttons}
}

func modeID(m Mode) string { return "desk.appt.mode_" + strings.ReplaceAll(string(m), "-", "_") }

var dayIDs = [...]string{"desk.day.sun", "desk.day.mon", "desk.day.tue", "desk.day.wed", "desk.day.thu", "desk.day.fri", "desk.day.sat"}

// when writes an appointment time in the desk's time zone: "Tue 7 Jan 2025, 09:00".
func (s *Service) when(lang, desk string, t time.Time) string {
	if o, ok := s.offices[desk]; ok {
		t = t.In(o.Location)
	}
	return s.cfg.Texts.T(lang, "desk.appt.when", map[string]any{
		"Weekday": s.cfg.Texts.T(lang, dayIDs[t.Weekday()], nil), "Date": s.cfg.Texts.Date(lang, t), "Time": t.Format("15:04")})
}

// apptData is what appointment messages show: when, how, where and what to bring.
func (s *Service) apptData(ss *bot.Session, a *Appointment) map[string]any {
	return s.apptDataIn(ss.Lang, a)
}

func (s *Service) apptDataIn(lang string, a *Appointment) map[string]any {
	var where string
	switch a.Mode {
	case InPerson:
		where = s.text(lang, a.Desk, "desk.appt.where_in_person", map[string]any{"Place": s.offices[a.Desk].Contact})
	case Phone:
		where = s.text(lang, a.Desk, "desk.appt.where_phone", nil)
	default:
		where = s.text(lang, a.Desk, "desk.appt.where_video", nil)
	}
	bring := "desk.appt.bring_other"
	switch a.Topic {
	case "permit", "family", "citizenship":
		bring = "desk.appt.bring_" + a.Topic
	}
	return map[string]any{
		"When":  s.when(lang, a.Desk, a.Start),
		"Mode":  s.text(lang, a.Desk, modeID(a.Mode), nil),
		"Where": where,
		"Bring": s.text(lang, a.Desk, bring, nil),
	}
}

// appointmentNotice builds a notice about an appointment: staff confirmed, moved or cancelled
// it, or the reminder the day before.
func (s *Service) appointmentNotice(ctx context.Context, d *delivery) (func(*bot.Session) []bot.Reply, error) {
	a, err := s.appointment(ctx, d.Appt)
	if err != nil {
		return nil, err
	}
	if d.Notice != "cancelled" && !a.Active(s.clock.Now()) {
		return nil, ErrNotFound // cancelled or past since: nothing to say any more
	}
	return func(ss *bot.Session) []bot.Reply {
		if ss.Lang == "" {
			ss.Lang = a.Lang
		}
		if ss.Desk == "" {
			ss.Desk = a.Desk
		}
		var buttons [][]bot.Button
		if d.Notice == "cancelled" {
			buttons = [][]bot.Button{{{Label: s.t(ss, "desk.appt.book_again", nil), Action: actOffer}}}
		} else {
			buttons = s.apptButtons(ss)
		}
		return []bot.Reply{{Text: s.text(ss.Lang, a.Desk, "desk.appt.notice_"+d.Notice, s.apptDataIn(ss.Lang, a)), Lang: ss.Lang, Buttons: buttons}}
	}, nil
}
