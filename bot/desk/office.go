package desk

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sportello/sportello/bot"
)

// Office is one desk as the desk package needs it: who it is, when staff are there and how many
// conversations they can take at once.
type Office struct {
	bot.DeskInfo
	Location    *time.Location
	Weekly      map[time.Weekday][]Span
	ReplyWithin time.Duration // out of hours: the answer is promised this long after the next opening
	Capacity    int           // conversations staff take at once
}

// Span is one opening period of a day, in minutes after local midnight: [From, To).
type Span struct{ From, To int }

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// NewOffice reads the office hours of a desk as the configuration writes them:
// a time zone ("Europe/Rome") and mon..sun -> ["09:00-13:00", "14:30-17:00"].
func NewOffice(info bot.DeskInfo, timezone string, weekly map[string][]string, replyWithin time.Duration, capacity int) (Office, error) {
	o := Office{DeskInfo: info, Weekly: map[time.Weekday][]Span{}, ReplyWithin: replyWithin, Capacity: capacity}
	if timezone == "" {
		timezone = "UTC"
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return o, fmt.Errorf("desk %s: time zone: %w", info.ID, err)
	}
	o.Location = loc
	for day, spans := range weekly {
		wd, ok := weekdays[strings.ToLower(strings.TrimSpace(day))]
		if !ok {
			return o, fmt.Errorf("desk %s: unknown day %q (use mon..sun)", info.ID, day)
		}
		for _, s := range spans {
			sp, err := parseSpan(s)
			if err != nil {
				return o, fmt.Errorf("desk %s %s: %w", info.ID, day, err)
			}
			o.Weekly[wd] = append(o.Weekly[wd], sp)
		}
		slices.SortFunc(o.Weekly[wd], func(a, b Span) int { return a.From - b.From })
	}
	if o.ReplyWithin <= 0 {
		o.ReplyWithin = 48 * time.Hour
	}
	if o.Capacity <= 0 {
		o.Capacity = 1
	}
	return o, nil
}

func parseSpan(s string) (Span, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Span{}, fmt.Errorf("opening %q: want HH:MM-HH:MM", s)
	}
	f, err1 := parseClock(from)
	t, err2 := parseClock(to)
	if err1 != nil || err2 != nil || t <= f {
		return Span{}, fmt.Errorf("opening %q: want HH:MM-HH:MM with the end after the start", s)
	}
	return Span{From: f, To: t}, nil
}

// parseClock reads "09:30" as minutes after midnight ("24:00" is the end of the day).
func parseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m > 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// at returns the instant of minute min of the local day of t.
func (o *Office) at(day time.Time, min int) time.Time {
	y, mo, d := day.Date()
	return time.Date(y, mo, d, 0, min, 0, 0, o.Location)
}

// OpenAt reports whether the desk is open at t and, if so, when the current opening ends.
func (o *Office) OpenAt(t time.Time) (bool, time.Time) {
	local := t.In(o.Location)
	for _, sp := range o.Weekly[local.Weekday()] {
		from, to := o.at(local, sp.From), o.at(local, sp.To)
		if !t.Before(from) && t.Before(to) {
			return true, to
		}
	}
	return false, time.Time{}
}

// NextOpening returns the start of the first opening that begins after t (t itself if an
// opening starts exactly then). Zero if the desk has no hours at all.
func (o *Office) NextOpening(t time.Time) time.Time {
	local := t.In(o.Location)
	for i := 0; i < 8; i++ {
		day := local.AddDate(0, 0, i)
		for _, sp := range o.Weekly[day.Weekday()] {
			if from := o.at(day, sp.From); !from.Before(t) {
				return from
			}
		}
	}
	return time.Time{}
}

// OpenDay reports whether the desk opens at all on the local day of t.
func (o *Office) OpenDay(t time.Time) bool { return len(o.Weekly[t.In(o.Location).Weekday()]) > 0 }
