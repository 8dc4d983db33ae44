package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/bot"
)

// MaxBody is the largest request body the API reads.
const MaxBody = 64 << 10

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 64

// Handler serves the page and the API:
//
//	GET  /                  the chat page (lang and dir from the language cookie or Accept-Language)
//	GET  /static/...        app.js, app.css, icon.svg
//	POST /api/messages      {"text"} | {"action"} | {"start":true}, optional "lang" and "after";
//	                        header Idempotency-Key; answers the entries after "after"
//	GET  /api/events        Server-Sent Events of new entries (Last-Event-ID or ?after=)
//	GET  /api/history       ?after=N: the entries after N
//	GET  /api/ui            ?lang=xx: the page's strings, direction and language menu
func (c *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.page)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(serveStatic)))
	mux.HandleFunc("POST /api/messages", c.postMessage)
	mux.HandleFunc("GET /api/events", c.events)
	mux.HandleFunc("GET /api/history", c.history)
	mux.HandleFunc("GET /api/ui", c.ui)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		mux.ServeHTTP(w, r)
	})
}

// apiError answers with a localized message: {"error": "..."}.
func (c *Channel) apiError(w http.ResponseWriter, r *http.Request, lang string, status int, id string) {
	if lang == "" {
		lang = c.pickLang(r, "")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": c.cat.T(lang, id, map[string]any{"Max": bot.MaxTextRunes})})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// postRequest is the body of POST /api/messages. There is deliberately no conversation field:
// the conversation comes from the cookie only.
type postRequest struct {
	Text   string `json:"text"`
	Action string `json:"action"`
	Start  bool   `json:"start"` // greet a new conversation (/start); ignored once it has entries
	Lang   string `json:"lang"`  // a language the user chose in the page's menu
	After  int64  `json:"after"` // the newest entry the page shows
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if b := k[i]; b <= ' ' || b >= 0x7f {
			return false
		}
	}
	return true
}

func (c *Channel) postMessage(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		c.apiError(w, r, "", http.StatusForbidden, "web.error.bad_request")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		c.apiError(w, r, "", http.StatusUnsupportedMediaType, "web.error.bad_request")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !validIdempotencyKey(key) {
		c.apiError(w, r, "", http.StatusBadRequest, "web.error.bad_request")
		return
	}
	var req postRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	err := dec.Decode(&req)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.apiError(w, r, "", http.StatusRequestEntityTooLarge, "web.error.too_large")
		} else {
			c.apiError(w, r, "", http.StatusBadRequest, "web.error.bad_request")
		}
		return
	}
	lang := c.pickLang(r, req.Lang)
	if req.After < 0 {
		c.apiError(w, r, lang, http.StatusBadRequest, "web.error.bad_request")
		return
	}
	conv, err := c.conversation(w, r, false)
	if err != nil {
		c.unavailable(w, r, lang, "", err)
		return
	}

	// The message is handled to the end even if the browser goes away meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.opts.HandleTimeout)
	defer cancel()
	in := bot.Inbound{
		Address:   Address(conv),
		User:      conv,
		MessageID: key,
		LangHint:  c.hintLang(r),
		Lang:      c.supported(req.Lang),
		Text:      req.Text,
		Action:    req.Action,
		At:        c.clock.Now(),
	}
	handle := true
	if req.Start && req.Text == "" && req.Action == "" {
		head, err := c.head(ctx, conv)
		if err != nil {
			c.unavailable(w, r, lang, conv, err)
			return
		}
		handle = head == 0
		in.Text = "/start"
		if c.opts.Desk != "" {
			in.Text += " " + c.opts.Desk
		}
	} else if err := c.recordUser(ctx, conv, key, req); err != nil {
		c.unavailable(w, r, lang, conv, err)
		return
	}
	if handle {
		if err := c.router.Handle(ctx, in); err != nil {
			c.unavailable(w, r, lang, conv, err)
			return
		}
	}
	p, err := c.Since(ctx, conv, req.After)
	if err != nil {
		c.unavailable(w, r, lang, conv, err)
		return
	}
	writeJSON(w, p)
}

func (c *Channel) unavailable(w http.ResponseWriter, r *http.Request, lang, conv string, err error) {
	c.log.Error("web chat request failed", "path", r.URL.Path, "conversation", bot.Pseudonym(conv), "err", err)
	w.Header().Set("Retry-After", "5")
	c.apiError(w, r, lang, http.StatusServiceUnavailable, "web.error.unavailable")
}

// recordUser adds the user's own message (or the label of the pressed button) to the list,
// once per idempotency key.
func (c *Channel) recordUser(ctx context.Context, conv, key string, req postRequest) error {
	now := c.clock.Now()
	var e *Entry
	if req.Action != "" {
		label, err := c.buttonLabel(ctx, conv, req.Action)
		if err != nil {
			return err
		}
		e = c.userEntry(label, now)
	} else {
		e = c.userEntry(req.Text, now)
	}
	if e == nil {
		return nil
	}
	if key != "" {
		fresh, err := c.store.PutIfAbsent(ctx, idemKey(conv, key), []byte{1}, c.opts.DedupeTTL)
		if err != nil {
			return fmt.Errorf("idempotency mark: %w", err)
		}
		if !fresh {
			return nil // a retry: its message is already shown
		}
		if err := c.appendEntries(ctx, conv, []*Entry{e}); err != nil {
			_ = c.store.Delete(context.WithoutCancel(ctx), idemKey(conv, key))
			return err
		}
		return nil
	}
	return c.appendEntries(ctx, conv, []*Entry{e})
}

// buttonLabel finds the label of the newest offered button with this action ("" if none).
func (c *Channel) buttonLabel(ctx context.Context, conv, action string) (string, error) {
	all, err := c.entries(ctx, conv)
	if err != nil {
		return "", err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].From == FromUser {
			continue
		}
		for _, row := range all[i].Buttons {
			for _, b := range row {
				if b.Action == action {
					return b.Label, nil
				}
			}
		}
	}
	return "", nil
}

func parseAfter(s string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

func (c *Channel) history(w http.ResponseWriter, r *http.Request) {
	after, ok := parseAfter(r.URL.Query().Get("after"))
	if !ok {
		c.apiError(w, r, "", http.StatusBadRequest, "web.error.bad_request")
		return
	}
	conv, err := c.conversation(w, r, false)
	if err != nil {
		c.unavailable(w, r, "", "", err)
		return
	}
	p, err := c.Since(r.Context(), conv, after)
	if err != nil {
		c.unavailable(w, r, "", conv, err)
		return
	}
	writeJSON(w, p)
}

// events streams the conversation's new entries as Server-Sent Events: "id: <seq>" and the
// entry as JSON data; an "event: reset" when the conversation was erased; a comment as
// heartbeat. It resumes after Last-Event-ID (or ?after=).
func (c *Channel) events(w http.ResponseWriter, r *http.Request) {
	cursor, ok := parseAfter(r.URL.Query().Get("after"))
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		cursor, ok = parseAfter(strings.TrimSpace(id))
	}
	if !ok {
		c.apiError(w, r, "", http.StatusBadRequest, "web.error.bad_request")
		return
	}
	conv, err := c.conversation(w, r, false)
	if err != nil {
		c.unavailable(w, r, "", "", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.opts.StreamMax)
	defer cancel()
	// Subscribe before the first read, so nothing written in between is missed.
	wakes, err := c.store.Subscribe(ctx, topic(conv))
	if err != nil {
		c.unavailable(w, r, "", conv, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, "retry: 3000\n: connected\n\n"); err != nil || rc.Flush() != nil {
		return
	}

	// send writes the entries after cursor; false ends the stream.
	send := func() bool {
		p, err := c.Since(ctx, conv, cursor)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("web chat stream read failed", "conversation", bot.Pseudonym(conv), "err", err)
			}
			return false // the browser reconnects and resumes
		}
		var b strings.Builder
		if p.Reset {
			b.WriteString("event: reset\nid: 0\ndata: {}\n\n")
			cursor = 0
		}
		for _, e := range p.Entries {
			raw, _ := json.Marshal(e) // no raw newlines: JSON escapes them
			fmt.Fprintf(&b, "id: %d\ndata: %s\n\n", e.Seq, raw)
			cursor = e.Seq
		}
		if b.Len() == 0 {
			return true
		}
		if _, err := io.WriteString(w, b.String()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send() {
		return
	}
	beat := time.NewTicker(c.opts.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case msg, ok := <-wakes:
			if !ok {
				return // the store closed the subscription: the browser reconnects
			}
			var wk wake
			if json.Unmarshal(msg, &wk) == nil && !wk.Reset && wk.Seq != 0 && wk.Seq <= cursor {
				continue
			}
			if !send() {
				return
			}
		case <-beat.C:
			// A wake-up can be lost (a Redis reconnect): look at the sequence as well.
			if head, err := c.head(ctx, conv); err == nil && head != cursor {
				if !send() {
					return
				}
			}
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
