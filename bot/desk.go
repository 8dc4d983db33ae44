package bot

import (
	"context"
	"strings"
	"time"
)

// Priority orders handoff tickets in the staff queue.
type Priority int

const (
	PriorityNormal Priority = iota
	PriorityHigh
	PriorityUrgent // violence, trafficking, a child at risk, self-harm
)

// HandoffRequest asks desk staff to take over a conversation.
type HandoffRequest struct {
	Address  Address
	User     string
	Lang     string
	Desk     string
	Topic    string // e.g. "appointment", "permit", or an article's topic
	Reason   string // auditable: "user", "rule:<id>", "article:<id>", "flow:<id>"
	Priority Priority
	Summary  map[string]string // what the flow collected, the matched article …
	Article  string
	At       time.Time
}

// HandoffOffer is what the desk promises the user when a ticket opens.
type HandoffOffer struct {
	Ticket      string
	InHours     bool          // a colleague can answer now
	TypicalWait time.Duration // in hours: typical wait
	ReplyBy     time.Time     // out of hours: when an answer is promised
}

// Desk takes handoffs to human staff. The flow engine opens tickets through it and the
// router forwards the user's messages to the open ticket; staff replies come back through
// Router.Notify. The desk package implements it.
type Desk interface {
	Open(ctx context.Context, req HandoffRequest) (HandoffOffer, error)
	// Forward adds a user's message to the open ticket.
	Forward(ctx context.Context, ticket string, in Inbound) error
	// Cancel closes the ticket at the user's request.
	Cancel(ctx context.Context, ticket string) error
	// Erase removes every ticket, message and appointment of a conversation (/forget).
	Erase(ctx context.Context, a Address) error
}

// DeskInfo describes one desk (an office in a city) from the configuration.
type DeskInfo struct {
	ID            string   `yaml:"id" json:"id"`
	Name          string   `yaml:"name" json:"name"`
	Jurisdictions []string `yaml:"jurisdictions" json:"jurisdictions"` // most specific first: [it-ravenna, it]
	Lang          string   `yaml:"lang" json:"lang"`                   // default language
	Languages     []string `yaml:"languages,omitempty" json:"languages,omitempty"`
	Contact       string   `yaml:"contact" json:"contact"`           // shown when staff cannot be reached through the bot
	AcceptFiles   bool     `yaml:"accept_files" json:"accept_files"` // documents may be sent inside an open handoff
}

// Country is the desk's country code, the first part of its broadest jurisdiction ("it", "de").
func (d DeskInfo) Country() string {
	if len(d.Jurisdictions) == 0 {
		return ""
	}
	j := d.Jurisdictions[len(d.Jurisdictions)-1]
	if i := strings.IndexByte(j, '-'); i > 0 {
		return j[:i]
	}
	return j
}
