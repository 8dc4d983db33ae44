package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/sportello/sportello/bot"
)

// client is the one door to the Bot API client library: every call the channel makes goes
// through Do with one of the library's *XxxParams types (or getMe{}), and the result is the
// library's. getUpdates is the exception: the channel calls it itself (see poll) because the
// library's loop confirms updates before they are recorded.
type client interface {
	Do(ctx context.Context, params any) (any, error)
}

type getMe struct{}

// libClient is client on a *tgbot.Bot.
type libClient struct{ b *tgbot.Bot }

func (c libClient) Do(ctx context.Context, params any) (any, error) {
	switch p := params.(type) {
	case getMe:
		return c.b.GetMe(ctx)
	case *tgbot.SendMessageParams:
		return c.b.SendMessage(ctx, p)
	case *tgbot.EditMessageTextParams:
		return c.b.EditMessageText(ctx, p)
	case *tgbot.AnswerCallbackQueryParams:
		return c.b.AnswerCallbackQuery(ctx, p)
	case *tgbot.SendChatActionParams:
		return c.b.SendChatAction(ctx, p)
	case *tgbot.SetMyCommandsParams:
		return c.b.SetMyCommands(ctx, p)
	case *tgbot.SetWebhookParams:
		return c.b.SetWebhook(ctx, p)
	case *tgbot.DeleteWebhookParams:
		return c.b.DeleteWebhook(ctx, p)
	}
	return nil, fmt.Errorf("telegram: unsupported call %T", params)
}

var statusInError = regexp.MustCompile(`, (\d{3}) `)

// classify turns an error of the client library into the router's failure classes:
// 429 → Throttled with RetryAfter; 403 (blocked, kicked) and 400 (chat not found, bad request)
// and 401/404 → Permanent; 5xx, network errors and everything unknown → Retryable.
func classify(err error) *bot.SendError {
	if err == nil {
		return nil
	}
	var se *bot.SendError
	if errors.As(err, &se) {
		return se
	}
	desc := strings.ToLower(err.Error())
	var tooMany *tgbot.TooManyRequestsError
	var migrated *tgbot.MigrateError
	switch {
	case errors.As(err, &tooMany):
		after := time.Duration(tooMany.RetryAfter) * time.Second
		if after <= 0 {
			after = time.Second
		}
		return &bot.SendError{Failure: bot.Throttled, RetryAfter: after, Reason: "429 too many requests", Err: err}
	case errors.As(err, &migrated):
		return &bot.SendError{Failure: bot.Permanent, Reason: "group migrated to a supergroup", Err: err}
	case errors.Is(err, tgbot.ErrorForbidden):
		reason := "forbidden"
		switch {
		case strings.Contains(desc, "blocked"):
			reason = "blocked"
		case strings.Contains(desc, "deactivated"):
			reason = "user deactivated"
		case strings.Contains(desc, "kicked"), strings.Contains(desc, "not a member"):
			reason = "not a member"
		}
		return &bot.SendError{Failure: bot.Permanent, Reason: reason, Err: err}
	case errors.Is(err, tgbot.ErrorBadRequest):
		reason := "bad request"
		switch {
		case strings.Contains(desc, "chat not found"):
			reason = "chat not found"
		case strings.Contains(desc, "can't parse entities"):
			reason = "can't parse entities"
		case strings.Contains(desc, "too long"):
			reason = "message too long"
		}
		return &bot.SendError{Failure: bot.Permanent, Reason: reason, Err: err}
	case errors.Is(err, tgbot.ErrorUnauthorized):
		return &bot.SendError{Failure: bot.Permanent, Reason: "unauthorized", Err: err}
	case errors.Is(err, tgbot.ErrorNotFound):
		return &bot.SendError{Failure: bot.Permanent, Reason: "not found", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &bot.SendError{Failure: bot.Retryable, Reason: "timeout", Err: err}
	}
	if m := statusInError.FindStringSubmatch(err.Error()); m != nil {
		return &bot.SendError{Failure: bot.Retryable, Reason: "http " + m[1], Err: err}
	}
	return &bot.SendError{Failure: bot.Retryable, Reason: "network", Err: err}
}

// hasDescription reports whether a Bot API error carries the given description fragment.
func hasDescription(err error, fragment string) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(fragment))
}

// blockedReason reports whether a classified failure means the bot may not write to the chat.
func blockedReason(se *bot.SendError) bool {
	if se == nil || se.Failure != bot.Permanent {
		return false
	}
	switch se.Reason {
	case "blocked", "user deactivated", "not a member", "chat not found":
		return true
	}
	return false
}

// allowedUpdates are the update kinds Sportello asks for.
var allowedUpdates = []string{"message", "edited_message", "callback_query", "my_chat_member"}

// apiError is a non-ok answer to the channel's own getUpdates call.
type apiError struct {
	Code        int
	Description string
	RetryAfter  int
}

func (e *apiError) Error() string {
	return fmt.Sprintf("getUpdates: %d %s", e.Code, e.Description)
}

// getUpdates long-polls for updates after offset and returns them as raw JSON, exactly as
// Telegram sent them, so that they can be recorded before they are interpreted.
func (c *Channel) getUpdates(ctx context.Context, offset int64) ([]json.RawMessage, error) {
	body, _ := json.Marshal(map[string]any{
		"offset":          offset,
		"timeout":         int(c.cfg.PollTimeout / time.Second),
		"limit":           100,
		"allowed_updates": allowedUpdates,
	})
	ctx, cancel := context.WithTimeout(ctx, c.cfg.PollTimeout+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"/bot"+c.cfg.Token+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, errors.New(redact(err.Error(), c.cfg.Token))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.poller.Do(req)
	if err != nil {
		return nil, errors.New(redact(err.Error(), c.cfg.Token))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("getUpdates: read: %w", err)
	}
	var r struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, &apiError{Code: resp.StatusCode, Description: "undecodable answer (" + strconv.Itoa(len(raw)) + " bytes)"}
	}
	if !r.OK {
		return nil, &apiError{Code: r.ErrorCode, Description: r.Description, RetryAfter: r.Parameters.RetryAfter}
	}
	return r.Result, nil
}
