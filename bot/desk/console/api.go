package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// apiQueue is the queue as JSON, for the live page.
func (c *Console) apiQueue(w http.ResponseWriter, r *http.Request, rq *request) {
	d, status := c.queueData(rq, r.URL.Query())
	if d == nil {
		c.fail(w, r, rq, status)
		return
	}
	writeJSON(w, map[string]any{"tickets": d.Tickets, "stats": d.Stats,
		"empty": c.texts.T(rq.lang, "desk.console.queue_empty", nil)})
}

// apiTicket is one ticket as JSON, for the live page.
func (c *Console) apiTicket(w http.ResponseWriter, r *http.Request, rq *request) {
	t, err := c.desk.TicketFor(rq.ctx, rq.who, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, rq, errStatus(err))
		return
	}
	writeJSON(w, c.ticketDetail(rq, t))
}

// events streams a wake-up to the page whenever a ticket or appointment of the account's
// desks changes (on any replica: the store's pub/sub carries them). The page then reads the
// state again; an event carries no user text.
func (c *Console) events(w http.ResponseWriter, r *http.Request, rq *request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		c.fail(w, r, rq, http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	events, err := c.desk.Subscribe(ctx)
	if err != nil {
		c.fail(w, r, rq, http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	flusher.Flush()
	beat := time.NewTicker(c.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.stop:
			return
		case <-beat.C:
			// The session may have ended (logout, account disabled) while the stream was open.
			if s, err := c.session(r); err != nil || s == nil {
				return
			}
			fmt.Fprint(w, ": ping\n\n")
			flusher.Flush()
		case e, ok := <-events:
			if !ok {
				return
			}
			if !rq.who.CanAccess(e.Desk) {
				continue
			}
			raw, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", raw)
			flusher.Flush()
		}
	}
}
