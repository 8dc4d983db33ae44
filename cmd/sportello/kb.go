package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sportello/sportello/knowledge"
	"github.com/sportello/sportello/locales"
)

// kb runs the editors' tools: lint and stats.
func kb(_ context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "lint" && args[0] != "stats") {
		return fmt.Errorf("usage: sportello kb lint|stats")
	}
	base, err := knowledge.Load(knowledge.Content)
	if err != nil {
		return err
	}
	texts, err := locales.Load()
	if err != nil {
		return err
	}
	langs := cfg.File.Languages
	if len(langs) == 0 {
		langs = texts.Languages()
	}
	if args[0] == "stats" {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		knowledge.WriteStats(tw, knowledge.Stats(base, langs))
		return tw.Flush()
	}
	issues := knowledge.Lint(base, time.Now(), langs)
	errs := 0
	for _, is := range issues {
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", is.Severity, is.Path, is.Message)
		if is.Severity == "error" {
			errs++
		}
	}
	fmt.Fprintf(stdout, "%d articles, %d problems (%d errors)\n", len(base.Articles()), len(issues), errs)
	if errs > 0 {
		return exitError{"kb lint found errors"}
	}
	return nil
}
