package knowledge

import (
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
)

// dictionary holds the terms of the index's fields, read once after Open: a question's terms
// that no document has are left out of its query, and near misses of long terms are found by
// deletion neighbourhoods (one letter dropped from either side) instead of bleve's fuzzy
// automata, which cost milliseconds per term.
type dictionary struct {
	fields map[string]map[string]uint32 // field → term → documents that have it
	docs   uint64
	dels   map[string][]string // a long term with one letter dropped → terms of the language fields
}

// fuzzyMinRunes is the shortest term that gets near-miss expansion.
const fuzzyMinRunes = 5

func readDictionary(bi bleve.Index, fields []string, fuzzyFields map[string]bool) (*dictionary, error) {
	d := &dictionary{fields: map[string]map[string]uint32{}, dels: map[string][]string{}}
	if n, err := bi.DocCount(); err == nil {
		d.docs = n
	}
	seenDel := map[string]bool{}
	for _, f := range fields {
		fd, err := bi.FieldDict(f)
		if err != nil {
			return nil, err
		}
		terms := map[string]uint32{}
		for {
			e, err := fd.Next()
			if err != nil {
				fd.Close()
				return nil, err
			}
			if e == nil {
				break
			}
			terms[e.Term] = uint32(e.Count)
			if !fuzzyFields[f] || utf8.RuneCountInString(e.Term) < fuzzyMinRunes || seenDel[e.Term] {
				continue
			}
			seenDel[e.Term] = true
			for _, del := range deletions(e.Term) {
				d.dels[del] = append(d.dels[del], e.Term)
			}
		}
		fd.Close()
		d.fields[f] = terms
	}
	return d, nil
}

// deletions are w with one letter dropped, each once.
func deletions(w string) []string {
	rs := []rune(w)
	out := make([]string, 0, len(rs))
	for i := range rs {
		if i > 0 && rs[i] == rs[i-1] {
			continue
		}
		out = append(out, string(rs[:i])+string(rs[i+1:]))
	}
	return out
}

func (d *dictionary) has(field, term string) bool {
	_, ok := d.fields[field][term]
	return ok
}

// common reports a term more than share of the documents have: it costs much and says little.
func (d *dictionary) common(field, term string, share float64) bool {
	return share > 0 && d.docs >= 20 && float64(d.fields[field][term]) > share*float64(d.docs)
}

// near returns the terms of field within about one edit of t (not t itself), with the same
// first letter.
func (d *dictionary) near(field, t string) []string {
	if utf8.RuneCountInString(t) < fuzzyMinRunes {
		return nil
	}
	first, _ := utf8.DecodeRuneInString(t)
	terms := d.fields[field]
	var out []string
	seen := map[string]bool{t: true}
	consider := func(c string) {
		if seen[c] {
			return
		}
		seen[c] = true
		if r, _ := utf8.DecodeRuneInString(c); r != first {
			return
		}
		if _, ok := terms[c]; ok {
			out = append(out, c)
		}
	}
	for _, c := range d.dels[t] { // t lacks a letter
		consider(c)
	}
	for _, del := range deletions(t) {
		consider(del)                   // t has an extra letter
		for _, c := range d.dels[del] { // one letter differs (or two letters swapped)
			consider(c)
		}
	}
	return out
}
