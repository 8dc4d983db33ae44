package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeEndToEnd runs Sportello as `serve` does — on a ":0" port, once with the embedded
// store and once with Redis — and checks health, readiness, metrics and the web chat.
func TestServeEndToEnd(t *testing.T) {
	for _, store := range []string{"bolt", "redis"} {
		t.Run(store, func(t *testing.T) {
			m := openStoreMain(t, store, nil)
			stop := runTestMain(t, m)
			base := "http://" + m.Addr()

			for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
				if body := get(t, base+path); !strings.Contains(body, want) {
					t.Errorf("%s: %q", path, body)
				}
			}
			if page := get(t, base+"/"); !strings.Contains(page, "<html") {
				t.Errorf("web chat page: %.200q", page)
			}
			jar := &cookieJar{}
			resp := post(t, jar, base+"/api/messages", `{"text":"quanto costa il rinnovo del permesso di 2 anni?"}`)
			if !strings.Contains(resp, "permit-fees") {
				t.Errorf("web chat answer: %.400q", resp)
			}
			// /forget erases the web chat history too: afterwards the conversation holds only
			// the confirmation that everything was deleted.
			post(t, jar, base+"/api/messages", `{"text":"/forget"}`)
			post(t, jar, base+"/api/messages", `{"action":"c:forget.confirm:0"}`)
			history := getWith(t, jar, base+"/api/history")
			if strings.Contains(history, "quanto costa") || strings.Contains(history, "permit-fees") ||
				!strings.Contains(history, m.Texts.T("it", "forget.done", nil)) {
				t.Errorf("history after /forget: %.1000s", history)
			}
			if metrics := get(t, base+"/metrics"); !strings.Contains(metrics, `sportello_messages_in_total{channel="web",lang="it"} 3`) {
				t.Errorf("metrics do not count the message:\n%.2000s", metrics)
			}

			stop()
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	return getWith(t, &cookieJar{}, url)
}

func getWith(t *testing.T, jar *cookieJar, url string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for _, c := range jar.cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// cookieJar keeps the web chat's conversation cookie between requests.
type cookieJar struct{ cookies []*http.Cookie }

func post(t *testing.T, jar *cookieJar, url, body string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	for _, c := range jar.cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	jar.cookies = append(jar.cookies, resp.Cookies()...)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}
