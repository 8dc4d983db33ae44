package desktest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// NoChromiumMessage is how a browser test fails under CI when Chromium is missing.
const NoChromiumMessage = "chromium not found: install it with `apt-get update && apt-get install -y chromium`"

// Chromium returns the path of Debian's chromium: $CHROMIUM if set (and only that), else
// /usr/bin/chromium or chromium on PATH. Without it the test fails under CI (the CI environment
// variable is set) and is skipped otherwise.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	} else if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	} else if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal(NoChromiumMessage)
	}
	t.Skip(NoChromiumMessage)
	return ""
}

// Browser starts headless Chromium with a fresh profile, sized width×height, and returns a
// chromedp context that ends with the test (or after limit).
func Browser(t testing.TB, width, height int, limit time.Duration) context.Context {
	t.Helper()
	path := Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser now, so failures are clear
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Poll waits (up to 10 s) until a JavaScript expression is true on the page.
func Poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
		return err
	})
}

// Steps runs browser actions, each within 15 s; on failure it saves a screenshot (see Shot)
// and fails the test naming the step.
func Steps(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for i, a := range actions {
		sctx, stop := context.WithTimeout(ctx, 15*time.Second)
		err := chromedp.Do(sctx, a)
		stop()
		if err != nil {
			Shot(t, ctx, strings.ReplaceAll(what, " ", "-")+"-failed")
			t.Fatalf("%s, step %d: %v", what, i+1, err)
		}
	}
}

// CheckPage fails the test when the page scrolls sideways, a form control has no label, or the
// page lacks a language or a main heading; with SPORTELLO_SCREENSHOTS set it saves a shot.
func CheckPage(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		if (document.documentElement.scrollWidth > window.innerWidth + 1)
			out.push("scrolls sideways: " + document.documentElement.scrollWidth + " > " + window.innerWidth);
		for (const el of document.querySelectorAll("input, select, textarea")) {
			if (el.type === "hidden") continue;
			const labelled = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
			if (!labelled) out.push("unlabelled " + el.tagName + " " + (el.name || el.id));
		}
		for (const b of document.querySelectorAll("button, a")) {
			if (!b.textContent.trim() && !b.getAttribute("aria-label")) out.push("a " + b.tagName + " without a name");
		}
		if (!document.documentElement.lang) out.push("no lang on <html>");
		if (!document.querySelector("main h1")) out.push("no h1");
		return out;
	})()`))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if os.Getenv("SPORTELLO_SCREENSHOTS") != "" {
		Shot(t, ctx, name)
	}
	if len(problems) > 0 {
		t.Errorf("%s: %s", name, strings.Join(problems, "; "))
	}
}

// Shot saves a full-page screenshot as $SPORTELLO_SCREENSHOTS/<name>.png (or in the test's
// temporary directory) for a human to look at.
func Shot(t testing.TB, ctx context.Context, name string) {
	dir := os.Getenv("SPORTELLO_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return
	}
	path := fmt.Sprintf("%s/%s.png", dir, name)
	if os.WriteFile(path, png, 0o644) == nil {
		t.Logf("screenshot: %s", path)
	}
}
