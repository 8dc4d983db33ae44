package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Session is what Sportello remembers about one conversation between messages.
type Session struct {
	Address    Address   `json:"address"`
	User       string    `json:"user,omitempty"`
	Lang       string    `json:"lang,omitempty"`        // the settled language
	LangChosen bool      `json:"lang_chosen,omitempty"` // set by the user: beats every hint
	Desk       string    `json:"desk,omitempty"`        // the desk (city) this user talks to
	Flow       FlowState `json:"flow,omitempty"`
	// Offered holds the button actions of the last replies: a pressed button is accepted only
	// if it was offered (or is one of the always-valid global actions).
	Offered []string `json:"offered,omitempty"`
	// Ticket is the open handoff ticket: while set, the user's messages go to desk staff.
	Ticket   string    `json:"ticket,omitempty"`
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
	Messages int       `json:"messages,omitempty"`
}

// FlowState is where the user is in a flow.
type FlowState struct {
	Flow    string            `json:"flow,omitempty"`
	Step    string            `json:"step,omitempty"`
	Vars    map[string]string `json:"vars,omitempty"`
	Retries int               `json:"retries,omitempty"`
}

// Active reports whether a flow is waiting for the user.
func (f FlowState) Active() bool { return f.Flow != "" }

// Sessions keeps sessions in a Store; a session expires after IdleTTL without messages.
type Sessions struct {
	Store   Store
	IdleTTL time.Duration
}

func sessionKey(a Address) string { return "session:" + a.Key() }

// Load returns the session of a conversation, or a fresh one.
func (ss Sessions) Load(ctx context.Context, a Address, now time.Time) (*Session, error) {
	raw, err := ss.Store.Get(ctx, sessionKey(a))
	if errors.Is(err, ErrNotFound) {
		raw, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	return decodeSession(raw, a, now), nil
}

// decodeSession reads a stored session; nil (none) gives a fresh one.
func decodeSession(raw []byte, a Address, now time.Time) *Session {
	var s Session
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		// A session written by an incompatible version is replaced rather than blocking the user.
		return &Session{Address: a, Started: now, Updated: now}
	}
	return &s
}

// SaveOp stores the session, restarting its idle timer, as an op of a Store.Batch (the router
// saves it with the message's other last writes).
func (ss Sessions) SaveOp(s *Session) (Op, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return Op{}, fmt.Errorf("encode session: %w", err)
	}
	return PutOp(sessionKey(s.Address), raw, ss.IdleTTL), nil
}

// Delete forgets the session.
func (ss Sessions) Delete(ctx context.Context, a Address) error {
	if err := ss.Store.Delete(ctx, sessionKey(a)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
