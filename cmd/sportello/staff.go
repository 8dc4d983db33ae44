package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sportello/sportello/bot"
	"github.com/sportello/sportello/bot/desk"
	"github.com/sportello/sportello/bot/store/bolt"
	"github.com/sportello/sportello/bot/store/redis"
	"github.com/sportello/sportello/locales"
)

const staffUsage = `Usage:
  sportello staff add --name NAME --desk ravenna[,genova] --role staff|moderator|admin
                      [--display "Full Name"] [--lang it] (--password-stdin | --generate-password)
  sportello staff passwd --name NAME (--password-stdin | --generate-password)
  sportello staff list
  sportello staff remove --name NAME

Accounts sign in to the staff console at /console. Passwords are stored as argon2id hashes;
--password-stdin reads the password from the first line of standard input.
`

// staff manages staff console accounts in the configured store (Redis, or the embedded store,
// which a running server holds: stop it first or use Redis).
func staff(ctx context.Context, cfg Config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, staffUsage)
		return exitError{"no staff command"}
	}
	fs := flag.NewFlagSet("staff "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, staffUsage) }
	name := fs.String("name", "", "login name")
	desks := fs.String("desk", "", "desk ids, comma-separated")
	role := fs.String("role", "staff", "staff, moderator or admin")
	display := fs.String("display", "", "name shown to colleagues")
	lang := fs.String("lang", "", "console language (default en)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	generate := fs.Bool("generate-password", false, "generate a password and print it once")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	store, err := openStaffStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := staffService(cfg, store)
	if err != nil {
		return err
	}
	password := func() (string, error) {
		switch {
		case *fromStdin && !*generate:
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return "", err
			}
			return strings.TrimRight(line, "\r\n"), nil
		case *generate && !*fromStdin:
			b := make([]byte, 15)
			if _, err := rand.Read(b); err != nil {
				return "", err
			}
			pw := base64.RawURLEncoding.EncodeToString(b)
			fmt.Fprintf(stdout, "password: %s\n", pw)
			return pw, nil
		}
		return "", fmt.Errorf("give exactly one of --password-stdin or --generate-password")
	}
	switch args[0] {
	case "add", "passwd":
		a := desk.Account{Name: strings.ToLower(strings.TrimSpace(*name)), Role: desk.Role(*role), Display: *display, Lang: *lang}
		replace := args[0] == "passwd"
		if replace {
			old, err := svc.Account(ctx, a.Name)
			if err != nil {
				return fmt.Errorf("account %q: %w", *name, err)
			}
			a = *old
		} else {
			for _, d := range strings.Split(*desks, ",") {
				if d = strings.TrimSpace(d); d != "" {
					a.Desks = append(a.Desks, d)
				}
			}
		}
		pw, err := password()
		if err != nil {
			return err
		}
		if err := svc.AddAccount(ctx, a, pw, replace); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s (%s, desks: %s)\n", map[bool]string{false: "added", true: "password changed for"}[replace],
			a.Name, a.Role, orAll(a))
		return nil
	case "list":
		accounts, err := svc.Accounts(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tDESKS\tLANG\tCREATED")
		for _, a := range accounts {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.Role, orAll(*a), or(a.Lang, "en"), a.Created.Format(time.DateOnly))
		}
		return w.Flush()
	case "remove":
		if err := svc.RemoveAccount(ctx, strings.ToLower(*name)); err != nil {
			return fmt.Errorf("remove %q: %w", *name, err)
		}
		fmt.Fprintf(stdout, "removed %s\n", *name)
		return nil
	}
	fmt.Fprint(stderr, staffUsage)
	return exitError{"unknown staff command " + args[0]}
}

func orAll(a desk.Account) string {
	if a.Role == desk.RoleAdmin {
		return "all"
	}
	return strings.Join(a.Desks, ",")
}

// openStaffStore opens the store `serve` uses.
func openStaffStore(ctx context.Context, cfg Config) (bot.Store, error) {
	if cfg.RedisURL != "" {
		s, err := redis.New(ctx, cfg.RedisURL, cfg.RedisPrefix)
		if err != nil {
			return nil, fmt.Errorf("connect to Redis: %w", err)
		}
		return s, nil
	}
	s, err := bolt.Open(filepath.Join(cfg.DataDir, "sportello.db"), bot.SystemClock{})
	if err != nil {
		return nil, fmt.Errorf("%w (a running `sportello serve` holds the embedded store: stop it first, or use REDIS_URL)", err)
	}
	return s, nil
}

// staffService is a desk service for account management only: nothing is sent to users.
func staffService(cfg Config, store bot.Store) (*desk.Service, error) {
	offs, err := offices(cfg.File)
	if err != nil {
		return nil, err
	}
	texts, err := locales.Load()
	if err != nil {
		return nil, err
	}
	return desk.New(desk.Config{Store: store, Relay: noRelay{}, Texts: texts, Offices: offs})
}

// noRelay is the Relay of the staff command, which never talks to users.
type noRelay struct{}

func (noRelay) Notify(context.Context, bot.Address, func(*bot.Session) []bot.Reply) error {
	return errors.New("the staff command does not send messages")
}

func (noRelay) Transcript(context.Context, bot.Address) ([]bot.TranscriptEntry, error) {
	return nil, nil
}
