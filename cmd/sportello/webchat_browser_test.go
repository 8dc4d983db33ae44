package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk/desktest"
)

// TestWebChatInBrowser is the web chat as a user on a phone has it, in headless Chromium (under
// CI a missing browser fails the test): the page in Arabic is right to left and every control
// is labelled; a question typed in Arabic gets the answer with its source, right to left; the
// answer's menu button works; the page never scrolls sideways; a reload keeps the conversation.
func TestWebChatInBrowser(t *testing.T) {
	desktest.Chromium(t)
	m := openTestMain(t, nil)
	runTestMain(t, m)
	ar := func(id string) string { return bot.PlainText(bot.ParseMarkup(m.Texts.T("ar", id, nil))) }
	ctx := desktest.Browser(t, 390, 844, 40*time.Second)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		desktest.Steps(t, ctx, "web chat: "+what, actions...)
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}

	step("open in Arabic", chromedp.Navigate("http://"+m.Addr()+"/?lang=ar"), chromedp.WaitVisible(chromedp.ID("input")))
	if dir, lang := eval(`document.documentElement.dir`), eval(`document.documentElement.lang`); dir != "rtl" || lang != "ar" {
		t.Fatalf("page dir=%q lang=%q, want rtl ar", dir, lang)
	}
	desktest.CheckPage(t, ctx, "webchat-ar-390")

	step("ask",
		chromedp.SendKeys(chromedp.ID("input"), "كم لازم ادفع لتجديد الاقامة سنتين؟"),
		chromedp.Click(chromedp.ID("send")),
		chromedp.WaitVisible(chromedp.CSS(`.msg-bot[data-article="permit-fees"]`)),
	)
	answer := `document.querySelector('.msg-bot[data-article="permit-fees"] .bubble')`
	if dir := eval(answer + `.dir`); dir != "rtl" {
		t.Errorf("the Arabic answer is written %q, want rtl", dir)
	}
	text := eval(answer + `.textContent`)
	for _, want := range []string{"80.46 €", "126.46 €", ar("answer.source")} {
		if !strings.Contains(text, want) {
			t.Errorf("the answer does not show %q: %.300q", want, text)
		}
	}
	if href := eval(answer + `.querySelector('a[href^="https://italiahello.it/"]')?.href ?? ""`); href == "" {
		t.Errorf("the answer has no link to its source")
	}
	desktest.CheckPage(t, ctx, "webchat-answer-390")

	step("press the menu button",
		chromedp.Click(chromedp.CSS(`.msg-bot[data-article="permit-fees"] button.choice`)),
		desktest.Poll(`[...document.querySelectorAll(".msg-bot .bubble")].some(b => b.textContent.includes(`+jsString(ar("menu.title"))+`))`),
	)
	step("reload on a wide screen",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`.msg-bot[data-article="permit-fees"]`)),
	)
	if log := eval(`document.getElementById("messages").textContent`); !strings.Contains(log, "كم لازم ادفع") || !strings.Contains(log, ar("menu.title")) {
		t.Errorf("after a reload the conversation is gone: %.300q", log)
	}
	desktest.CheckPage(t, ctx, "webchat-ar-1280")
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
