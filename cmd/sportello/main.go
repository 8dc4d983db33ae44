// Command sportello is the one binary: `serve` runs every configured channel, the web chat and
// the staff console; `chat` talks in the terminal; `kb` checks content; `eval` measures answers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Sportello — multilingual assistant for immigration desks

Usage:
  sportello serve             run Telegram (if TELEGRAM_TOKEN), the web chat and the staff console
  sportello chat [--lang xx]  talk to Sportello in the terminal (one line in, the replies out)
  sportello kb lint           check the knowledge base (non-zero exit on errors)
  sportello kb stats          coverage per language and jurisdiction
  sportello eval FILE         run a question file through the real pipeline; accuracy per language
  sportello health            exit 0 when the local server answers /healthz (container health check)
  sportello staff add --name N --desk D[,D] --role staff|moderator|admin [--lang xx] --password-stdin
                              create a staff console account (also: staff list, staff passwd, staff remove)

Configuration is read from the environment (see README); SPORTELLO_CONFIG names a YAML file.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var exit exitError
		if !errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, "sportello:", err)
		}
		os.Exit(1)
	}
}

// exitError ends the program with a failure status after its output already said why.
type exitError struct{ msg string }

func (e exitError) Error() string { return e.msg }

// run is main without the process: tests call it with their own arguments and streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{"no command"}
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "serve":
		return serve(ctx, cfg, stderr)
	case "chat":
		fs := flag.NewFlagSet("chat", flag.ContinueOnError)
		lang := fs.String("lang", "", "language code (it, en, ar, …); default: detected from what you type")
		desk := fs.String("desk", "", "desk id (ravenna, genova, jena); default: the configured default")
		fs.SetOutput(stderr)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return chat(ctx, cfg, *lang, *desk, stdin, stdout, stderr)
	case "kb":
		return kb(ctx, cfg, args[1:], stdout)
	case "eval":
		if len(args) != 2 {
			return fmt.Errorf("usage: sportello eval FILE")
		}
		return eval(ctx, cfg, args[1], stdout)
	case "health":
		return health(ctx, cfg, stdout)
	case "staff":
		return staff(ctx, cfg, args[1:], stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return exitError{"unknown command " + args[0]}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
