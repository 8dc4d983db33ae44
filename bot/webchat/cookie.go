package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sportello/sportello/bot"
)

// CookieName holds the conversation: "<id>.<mac>", HttpOnly and SameSite=Lax.
const CookieName = "sportello_chat"

// LangCookie remembers the page language the user chose or the bot settled (readable by the page).
const LangCookie = "sportello_lang"

const secretKey = "web:secret"

// key returns the MAC key, creating the shared one in the store on first use.
func (c *Channel) key(ctx context.Context) ([]byte, error) {
	c.secretMu.Lock()
	defer c.secretMu.Unlock()
	if c.secret != nil {
		return c.secret, nil
	}
	fresh := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, fresh); err != nil {
		return nil, fmt.Errorf("cookie key: %w", err)
	}
	if _, err := c.store.PutIfAbsent(ctx, secretKey, fresh, 0); err != nil {
		return nil, fmt.Errorf("cookie key: %w", err)
	}
	got, err := c.store.Get(ctx, secretKey)
	if err != nil {
		return nil, fmt.Errorf("cookie key: %w", err)
	}
	if len(got) < 16 {
		return nil, errors.New("cookie key: stored key too short")
	}
	c.secret = got
	return got, nil
}

func mac(key []byte, conv string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("sportello web chat conversation\x00" + conv))
	return b64.EncodeToString(m.Sum(nil)[:16])
}

// conversationFrom returns the conversation of a valid cookie, or "".
func (c *Channel) conversationFrom(r *http.Request, key []byte) string {
	for _, ck := range r.CookiesNamed(CookieName) {
		conv, sum, ok := strings.Cut(ck.Value, ".")
		if ok && validConversation(conv) && subtle.ConstantTimeCompare([]byte(sum), []byte(mac(key, conv))) == 1 {
			return conv
		}
	}
	return ""
}

// conversation returns the request's conversation. A request without a valid cookie — none,
// expired, or forged — starts a new conversation and gets its cookie. With refresh, a valid
// cookie is set again to extend its lifetime.
func (c *Channel) conversation(w http.ResponseWriter, r *http.Request, refresh bool) (string, error) {
	key, err := c.key(r.Context())
	if err != nil {
		return "", err
	}
	conv := c.conversationFrom(r, key)
	if conv != "" && !refresh {
		return conv, nil
	}
	if conv == "" {
		conv = newConversation()
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    conv + "." + mac(key, conv),
		Path:     "/",
		MaxAge:   int(c.opts.CookieMaxAge.Seconds()),
		HttpOnly: true,
		Secure:   c.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
	return conv, nil
}

func (c *Channel) secure(r *http.Request) bool {
	return c.opts.Secure || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// Address is the bot address of a web chat conversation.
func Address(conv string) bot.Address { return bot.Address{Channel: Name, Conversation: conv} }
