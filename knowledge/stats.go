package knowledge

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// StatRow is the coverage of one language in one jurisdiction (Jurisdiction "all" for the total).
type StatRow struct {
	Jurisdiction string
	Lang         string
	Articles     int // articles in the jurisdiction
	Translated   int // of which have a version in Lang
	Reviewed     int // of which that version is reviewed by a human
	Missing      []string
}

// Stats reports, for each jurisdiction (and "all") and each of langs, how many articles have a
// version in that language and how many of those are reviewed. Languages the content has that
// langs does not name are added at the end.
func Stats(b *Base, langs []string) []StatRow {
	langs = slices.Clone(langs)
	var extra []string
	jurs := map[string][]*Article{}
	for _, a := range b.Articles() {
		jurs[a.Jurisdiction] = append(jurs[a.Jurisdiction], a)
		for l := range a.Versions {
			if !slices.Contains(langs, l) && !slices.Contains(extra, l) {
				extra = append(extra, l)
			}
		}
	}
	sort.Strings(extra)
	langs = append(langs, extra...)
	var names []string
	for _, j := range knownJurisdictions {
		if len(jurs[j]) > 0 {
			names = append(names, j)
		}
	}
	var others []string
	for j := range jurs {
		if !slices.Contains(names, j) {
			others = append(others, j)
		}
	}
	sort.Strings(others)
	names = append(append(names, others...), "all")
	jurs["all"] = b.Articles()
	var out []StatRow
	for _, j := range names {
		for _, l := range langs {
			r := StatRow{Jurisdiction: j, Lang: l, Articles: len(jurs[j])}
			for _, a := range jurs[j] {
				if v := a.Versions[l]; v != nil {
					r.Translated++
					if v.Reviewed {
						r.Reviewed++
					}
				} else {
					r.Missing = append(r.Missing, a.ID)
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// WriteStats writes rows as a table: one line per jurisdiction, one column per language, each
// cell "translated/articles" with the reviewed count after a "r". Use a tabwriter for alignment.
func WriteStats(w io.Writer, rows []StatRow) error {
	var langs, jurs []string
	cells := map[[2]string]StatRow{}
	for _, r := range rows {
		if !slices.Contains(langs, r.Lang) {
			langs = append(langs, r.Lang)
		}
		if !slices.Contains(jurs, r.Jurisdiction) {
			jurs = append(jurs, r.Jurisdiction)
		}
		cells[[2]string{r.Jurisdiction, r.Lang}] = r
	}
	if _, err := fmt.Fprintf(w, "jurisdiction\tarticles\t%s\t\n", strings.Join(langs, "\t")); err != nil {
		return err
	}
	for _, j := range jurs {
		n := 0
		var line []string
		for _, l := range langs {
			r := cells[[2]string{j, l}]
			n = max(n, r.Articles)
			line = append(line, fmt.Sprintf("%d r%d", r.Translated, r.Reviewed))
		}
		if _, err := fmt.Fprintf(w, "%s\t%d\t%s\t\n", j, n, strings.Join(line, "\t")); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "(cells: versions present, r = reviewed by a human)\n")
	return err
}
