package desk

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

func keyFeedToken(desk string) string { return "desk:ics-token:" + desk }

// FeedToken returns the secret in a desk's calendar feed address, creating it on first use;
// rotate replaces it (the old address stops working). Calendar apps cannot sign in, so the
// feed is protected by this token instead of a session.
func (s *Service) FeedToken(ctx context.Context, who *Account, desk string, rotate bool) (string, error) {
	if _, ok := s.offices[desk]; !ok || !who.CanBook(desk) {
		return "", ErrNotFound
	}
	if rotate && who.Role != RoleAdmin {
		return "", ErrForbidden
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	fresh := hex.EncodeToString(b)
	if rotate {
		return fresh, s.store.Put(ctx, keyFeedToken(desk), []byte(fresh), 0)
	}
	if _, err := s.store.PutIfAbsent(ctx, keyFeedToken(desk), []byte(fresh), 0); err != nil {
		return "", err
	}
	raw, err := s.store.Get(ctx, keyFeedToken(desk))
	return string(raw), err
}

// CheckFeedToken reports whether token opens a desk's calendar feed.
func (s *Service) CheckFeedToken(ctx context.Context, desk, token string) bool {
	if _, ok := s.offices[desk]; !ok || len(token) < 32 {
		return false
	}
	raw, err := s.store.Get(ctx, keyFeedToken(desk))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(raw, []byte(token)) == 1
}

// ICS writes a desk's appointments from a week ago on as an iCalendar feed (RFC 5545) for
// staff calendars. It carries no personal data: topic, language, mode, documents and the
// appointment id, which staff look up in the console.
func (s *Service) ICS(ctx context.Context, desk string) ([]byte, error) {
	o, ok := s.offices[desk]
	if !ok {
		return nil, ErrNotFound
	}
	now := s.clock.Now()
	entries, err := s.store.IndexRange(ctx, keyAppts(desk), float64(now.Add(-7*24*time.Hour).Unix()), math.Inf(1), 0)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(fold(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Sportello//Desk appointments//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + icsText("Sportello – "+o.Name))
	line("X-WR-TIMEZONE:" + o.Location.String())
	for _, e := range entries {
		a, err := s.appointment(ctx, e.Member)
		if errors.Is(err, ErrNotFound) || (err == nil && (a.Status == Cancelled || a.Status == Pending)) {
			continue
		}
		if err != nil {
			return nil, err
		}
		status := "TENTATIVE"
		if a.Status == Confirmed {
			status = "CONFIRMED"
		}
		line("BEGIN:VEVENT")
		line("UID:" + a.ID + "@sportello")
		line("DTSTAMP:" + icsTime(a.Updated))
		line("DTSTART:" + icsTime(a.Start))
		line("DTEND:" + icsTime(a.Start.Add(a.Length)))
		line("SUMMARY:" + icsText(fmt.Sprintf("%s · %s · %s", or(a.Topic, "appointment"), a.Lang, a.Mode)))
		line("DESCRIPTION:" + icsText(fmt.Sprintf("Appointment %s (%s)\nTopic: %s\nLanguage: %s\nDocuments: %s\nMode: %s",
			a.ID, a.Status, or(a.Topic, "-"), a.Lang, or(a.Documents, "-"), a.Mode)))
		if a.Mode == InPerson {
			line("LOCATION:" + icsText(o.Name))
		}
		line("STATUS:" + status)
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return []byte(b.String()), nil
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsText escapes a TEXT value.
func icsText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}

// fold ends a content line with CRLF, folding it at 75 octets without splitting a character.
func fold(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		l := len(string(r))
		if n+l > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += l
	}
	b.WriteString("\r\n")
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
