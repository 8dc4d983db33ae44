package telegram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// commands are Sportello's bot commands; descriptions are the message ids command.<name>.
var commands = []string{"start", "menu", "language", "human", "forget", "help"}

// sourceLang is the language of the default command list (no language_code).
const sourceLang = "en"

// telegramLanguage turns a locale code into Telegram's language_code (ISO 639-1: two
// letters), or "" if it has none ("bn-Latn" → "bn", "pt-BR" → "pt").
func telegramLanguage(code string) string {
	base, _, _ := strings.Cut(strings.ReplaceAll(code, "_", "-"), "-")
	base = strings.ToLower(base)
	if len(base) != 2 || base[0] < 'a' || base[0] > 'z' || base[1] < 'a' || base[1] > 'z' {
		return ""
	}
	return base
}

func (c *Channel) commandList(lang string) []models.BotCommand {
	out := make([]models.BotCommand, 0, len(commands))
	for _, name := range commands {
		d := strings.TrimSpace(c.texts.T(lang, "command."+name, nil))
		if d == "" || d == "command."+name {
			d = name
		}
		if utf8.RuneCountInString(d) > 256 {
			d = string([]rune(d)[:255]) + "…"
		}
		out = append(out, models.BotCommand{Command: name, Description: d})
	}
	return out
}

// setCommands publishes the command menu: a default list in English, and one per language
// of the locale catalog, so that each user's app shows it in their language.
func (c *Channel) setCommands(ctx context.Context) error {
	var errs []error
	set := func(lang, code string) {
		_, err := c.api.Do(ctx, &tgbot.SetMyCommandsParams{Commands: c.commandList(lang), LanguageCode: code})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s", or(code, "default"), redact(err.Error(), c.cfg.Token)))
		}
	}
	set(sourceLang, "")
	seen := map[string]bool{}
	for _, l := range c.texts.Languages() { // sorted: "pt" comes before "pt-BR"
		code := telegramLanguage(l)
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		set(l, code)
	}
	return errors.Join(errs...)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
