package telegramtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseHTML(t *testing.T) {
	cases := []struct {
		in, text, err string
		ents          []Entity
	}{
		{in: "plain", text: "plain"},
		{in: "  padded \n", text: "padded"},
		{in: "a &lt;b&gt; &amp; &quot;c&quot; &#228; &#x1F600;", text: `a <b> & "c" ä 😀`},
		{in: "AT&T &nbsp;", text: "AT&T &nbsp;"}, // a lone & stays, as on Telegram
		{in: "<b>bold</b> x", text: "bold x", ents: []Entity{{Type: "bold", Offset: 0, Length: 4}}},
		{in: "😀<i>é</i>", text: "😀é", ents: []Entity{{Type: "italic", Offset: 2, Length: 1}}},
		{in: `<a href="https://x.org/?a=1&amp;b=2">l</a>`, text: "l", ents: []Entity{{Type: "text_link", Offset: 0, Length: 1, URL: "https://x.org/?a=1&b=2"}}},
		{in: `<a href='javascript:alert(1)'>l</a>`, text: "l"},
		{in: `<span class="tg-spoiler">s</span>`, text: "s", ents: []Entity{{Type: "spoiler", Offset: 0, Length: 1}}},
		{in: `<blockquote expandable>q</blockquote>`, text: "q", ents: []Entity{{Type: "expandable_blockquote", Offset: 0, Length: 1}}},
		{in: "1 < 2", err: `Unsupported start tag "" at byte offset 2`},
		{in: "<br>", err: `Unsupported start tag "br" at byte offset 0`},
		{in: "<b>x", err: `Can't find end tag corresponding to start tag "b"`},
		{in: "<b>x</i>", err: `Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`},
		{in: "x</b>", err: "Unexpected end tag at byte offset 1"},
		{in: `<a href="x>y</a>`, err: "Unclosed start tag at byte offset 0"},
		{in: `<span>x</span>`, err: `Tag "span" must have class "tg-spoiler" at byte offset 0`},
	}
	for _, c := range cases {
		text, ents, err := parseHTML(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseHTML(%q): error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || text != c.text || !sameJSON(ents, c.ents) {
			t.Errorf("parseHTML(%q) = %q %+v %v; want %q %+v", c.in, text, ents, err, c.text, c.ents)
		}
	}
}

func TestParseMarkdownV2(t *testing.T) {
	cases := []struct {
		in, text, err string
	}{
		{in: `*bold* _it_ __u__ ~s~ ||sp|| ` + "`c.d`", text: "bold it u s sp c.d"},
		{in: `Cost: 70\.46 €\!`, text: "Cost: 70.46 €!"},
		{in: `[site](https://x.org/a\)b)`, text: "site"},
		{in: "> quoted\nnext", text: "quoted\nnext"},
		{in: "Cost: 70.46", err: "Character '.' is reserved"},
		{in: "a - b", err: "Character '-' is reserved"},
		{in: "*open", err: "Can't find end of Bold entity at byte offset 0"},
		{in: "x > y", err: "Character '>' is reserved"},
	}
	for _, c := range cases {
		text, _, err := parseMarkdownV2(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseMarkdownV2(%q): error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || text != c.text {
			t.Errorf("parseMarkdownV2(%q) = %q, %v; want %q", c.in, text, err, c.text)
		}
	}
	if _, _, err := parseMarkdown("*unclosed"); err == nil {
		t.Error("legacy Markdown accepted an unclosed entity")
	}
}

type apiAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func call(t *testing.T, s *Server, token, method string, body any) (int, apiAnswer) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(s.URL()+"/bot"+token+"/"+method, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %v: %s", method, err, b)
	}
	return resp.StatusCode, a
}

func TestTokenAndValidation(t *testing.T) {
	s := New(t)
	if code, a := call(t, s, "123:wrong", "getMe", nil); code != 401 || a.Description != "Unauthorized" || a.ErrorCode != 401 {
		t.Fatalf("bad token: %d %+v", code, a)
	}
	if code, _ := call(t, s, s.Token(), "noSuchMethod", nil); code != 404 {
		t.Fatalf("unknown method: %d", code)
	}
	u := s.NewUser("it")
	if _, a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": u.ID, "text": "hi"}); a.Description != "Bad Request: chat not found" {
		t.Fatalf("user who never wrote: %+v", a)
	}
	s.SendText(u, "ciao")
	checks := []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"text": "<b>x", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""},
		{map[string]any{"text": "1.5", "parse_mode": "MarkdownV2"}, "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"},
		{map[string]any{"text": strings.Repeat("😀", 2049)}, "Bad Request: message is too long"},
		{map[string]any{"text": " "}, "Bad Request: message text is empty"},
		{map[string]any{"text": "x", "reply_markup": map[string]any{"inline_keyboard": [][]map[string]any{{{"text": "b", "callback_data": strings.Repeat("x", 65)}}}}}, "Bad Request: BUTTON_DATA_INVALID"},
		{map[string]any{"text": "x", "reply_markup": map[string]any{"inline_keyboard": [][]map[string]any{{{"text": "b"}}}}}, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"},
	}
	for _, c := range checks {
		c.body["chat_id"] = u.ID
		if code, a := call(t, s, s.Token(), "sendMessage", c.body); code != 400 || a.Description != c.want {
			t.Errorf("%v: %d %q, want %q", c.body, code, a.Description, c.want)
		}
	}
	many := make([][]map[string]any, 101)
	for i := range many {
		many[i] = []map[string]any{{"text": "b", "callback_data": "d"}}
	}
	if _, a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": u.ID, "text": "x", "reply_markup": map[string]any{"inline_keyboard": many}}); a.ErrorCode != 400 {
		t.Errorf("101 buttons accepted: %+v", a)
	}
	// 4096 code units exactly is fine, counted after entity parsing.
	if _, a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": u.ID, "text": "<b>" + strings.Repeat("a", 4096) + "</b>", "parse_mode": "HTML"}); !a.OK {
		t.Errorf("4096 units refused: %+v", a)
	}
	s.Block(u)
	if code, a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": u.ID, "text": "x"}); code != 403 || a.Description != "Forbidden: bot was blocked by the user" {
		t.Errorf("blocked: %d %+v", code, a)
	}
	if len(s.Rejected()) == 0 {
		t.Error("rejections not recorded")
	}
}

func TestFormBodies(t *testing.T) {
	s := New(t)
	u := s.NewUser("")
	s.SendText(u, "hi")
	form := url.Values{"chat_id": {strconv.FormatInt(u.ID, 10)}, "text": {"<i>form</i>"}, "parse_mode": {"HTML"},
		"reply_markup": {`{"inline_keyboard":[[{"text":"b","callback_data":"x","copy_text":{"text":""}}]]}`}}
	resp, err := http.PostForm(s.URL()+"/bot"+s.Token()+"/sendMessage", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := s.Sent(u.ID)
	if resp.StatusCode != 200 || len(got) != 1 || got[0].Text != "form" || got[0].Keyboard[0][0].CallbackData != "x" {
		t.Fatalf("form body: %d %+v", resp.StatusCode, got)
	}
}

func TestGetUpdatesOffsetAndLongPoll(t *testing.T) {
	s := New(t)
	u := s.NewUser("en")
	m1 := s.SendText(u, "one")
	s.SendText(u, "two")
	_, a := call(t, s, s.Token(), "getUpdates", map[string]any{"offset": 0})
	var ups []Update
	_ = json.Unmarshal(a.Result, &ups)
	if len(ups) != 2 || ups[0].UpdateID != m1.UpdateID || ups[0].Message.Text != "one" {
		t.Fatalf("getUpdates: %+v", ups)
	}
	// Not confirmed yet: delivered again.
	_, a = call(t, s, s.Token(), "getUpdates", map[string]any{"offset": 0})
	_ = json.Unmarshal(a.Result, &ups)
	if len(ups) != 2 {
		t.Fatalf("unconfirmed updates lost: %+v", ups)
	}
	// Confirm the first; a long poll then waits for a new update.
	go func() { time.Sleep(150 * time.Millisecond); s.SendText(u, "three") }()
	start := time.Now()
	_, a = call(t, s, s.Token(), "getUpdates", map[string]any{"offset": ups[1].UpdateID + 1, "timeout": 5})
	_ = json.Unmarshal(a.Result, &ups)
	if len(ups) != 1 || ups[0].Message.Text != "three" || time.Since(start) > 3*time.Second {
		t.Fatalf("long poll: %+v after %v", ups, time.Since(start))
	}
	if s.Pending() != 1 {
		t.Fatalf("pending = %d", s.Pending())
	}
}

func TestWebhookDeliveryRetriesUntil2xx(t *testing.T) {
	s := New(t)
	var fails atomic.Int32
	fails.Store(2)
	var got atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "s3cret" {
			w.WriteHeader(401)
			return
		}
		if fails.Add(-1) >= 0 {
			w.WriteHeader(500)
			return
		}
		got.Add(1)
	}))
	defer hook.Close()
	if _, a := call(t, s, s.Token(), "setWebhook", map[string]any{"url": hook.URL, "secret_token": "s3cret"}); !a.OK {
		t.Fatalf("setWebhook: %+v", a)
	}
	if code, _ := call(t, s, s.Token(), "getUpdates", nil); code != 409 {
		t.Fatalf("getUpdates with a webhook: %d", code)
	}
	s.SendText(s.NewUser(""), "hi")
	if !s.WaitFor(5*time.Second, func() bool { return got.Load() == 1 && s.Pending() == 0 }) {
		t.Fatalf("webhook: got %d, pending %d, deliveries %+v", got.Load(), s.Pending(), s.Deliveries())
	}
	if d := s.Deliveries(); len(d) != 3 || d[0].Status != 500 || d[2].Status != 200 {
		t.Fatalf("deliveries %+v", d)
	}
	if info := s.WebhookInfo(); info.URL != hook.URL || info.LastErrorMessage == "" {
		t.Fatalf("webhook info %+v", info)
	}
}

func TestRateLimitsAndFaults(t *testing.T) {
	s := New(t)
	u := s.NewUser("")
	s.SendText(u, "hi")
	var codes []int
	for range 6 {
		code, a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": u.ID, "text": "x"})
		codes = append(codes, code)
		if code == 429 && a.Parameters.RetryAfter < 1 {
			t.Fatalf("429 without retry_after: %+v", a)
		}
	}
	if codes[0] != 200 || codes[3] != 200 || codes[4] != 429 {
		t.Fatalf("private chat burst: %v", codes)
	}
	s.SetLimits(NoLimits)
	s.FailNext("sendMessage", 1, RetryAfter(3))
	s.FailNext("sendMessage", 1, ServerError(502))
	if code, a := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": u.ID, "text": "x"}); code != 429 || a.Parameters.RetryAfter != 3 {
		t.Fatalf("injected 429: %d %+v", code, a)
	}
	if code, _ := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": u.ID, "text": "x"}); code != 502 {
		t.Fatalf("injected 502: %d", code)
	}
	s.FailNext("getMe", 1, Drop())
	if _, err := http.Post(s.URL()+"/bot"+s.Token()+"/getMe", "application/json", nil); err == nil {
		t.Fatal("dropped connection answered")
	}
	g := s.NewGroup("Mediatori", Supergroup)
	s.SetLimits(Limits{GroupPerMinute: 20})
	n := 0
	for range 21 {
		if code, _ := call(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": g.ID, "text": "x"}); code == 200 {
			n++
		}
	}
	if n != 20 {
		t.Fatalf("group accepted %d messages in a minute", n)
	}
}
