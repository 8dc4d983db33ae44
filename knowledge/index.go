package knowledge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
)

// schemaVersion is part of the content hash that names an index on disk: bump it whenever the
// mapping, the analyzers or the documents change, so that an old index is not reused.
const schemaVersion = "sportello-kb-7"

// index is the bleve index over every version of every article.
type index struct {
	bi    bleve.Index
	m     mapping.IndexMapping
	langs []string // languages with fields in the index
	dir   string   // "" in memory

	pos   map[string]int // article id → position in Articles()
	vocab *vocabulary
	stop  map[string]bool // folded, squeezed function words of every language
	dict  *dictionary

	gloss       *glossary
	conceptArts []bitset // concept → articles whose vocabulary has one of its words
}

// prepare computes what Search needs besides the bleve index.
func (x *index) prepare(b *Base) error {
	x.pos = map[string]int{}
	for i, a := range b.Articles() {
		x.pos[a.ID] = i
	}
	x.vocab = newVocabulary(b.Articles())
	stop, err := stopWords()
	if err != nil {
		return err
	}
	x.stop = stop
	fields := []string{fieldNKey, fieldNBody, fieldCKey, fieldCBody}
	fuzzy := map[string]bool{}
	for _, l := range x.langs {
		fields = append(fields, fieldKey+l, fieldBody+l)
		fuzzy[fieldKey+l], fuzzy[fieldBody+l] = true, true
	}
	if x.dict, err = readDictionary(x.bi, fields, fuzzy); err != nil {
		return err
	}
	x.gloss = defaultGlossary
	x.conceptArts = make([]bitset, len(x.gloss.concepts))
	mentions := make([]map[int]bool, len(b.Articles())) // article → concepts it names
	for ai, a := range b.Articles() {
		mentions[ai] = map[int]bool{}
		for _, v := range a.Versions {
			for c := range x.gloss.match(words(fold(v.Title + "\n" + strings.Join(v.Aliases, "\n") + "\n" + plainText(v.Body)))) {
				mentions[ai][c] = true
			}
		}
	}
	for i := range x.gloss.concepts {
		arts := make(bitset, (x.vocab.n+63)/64)
		for ai := range b.Articles() {
			if mentions[ai][i] {
				arts.set(ai)
			}
		}
		x.conceptArts[i] = arts
	}
	return nil
}

// Field names: language fields k_<lang> (title + aliases) and b_<lang> (body); language-neutral
// trigram fields nk (title + aliases) and nb (body).
const (
	fieldKey   = "k_"
	fieldBody  = "b_"
	fieldNKey  = "nk"
	fieldNBody = "nb"
	fieldCKey  = "ck"
	fieldCBody = "cb"
)

func buildMapping(langs []string) (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	if err := addAnalyzers(im); err != nil {
		return nil, err
	}
	dm := bleve.NewDocumentStaticMapping()
	text := func(analyzer string) *mapping.FieldMapping {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = analyzer
		fm.Store = false
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		fm.DocValues = false
		return fm
	}
	for _, l := range langs {
		dm.AddFieldMappingsAt(fieldKey+l, text(analyzerFor(l)))
		dm.AddFieldMappingsAt(fieldBody+l, text(analyzerFor(l)))
	}
	dm.AddFieldMappingsAt(fieldNKey, text(anGrams))
	dm.AddFieldMappingsAt(fieldNBody, text(anGrams))
	dm.AddFieldMappingsAt(fieldCKey, text(anGeneric))
	dm.AddFieldMappingsAt(fieldCBody, text(anGeneric))
	im.DefaultMapping = dm
	im.DefaultAnalyzer = anGeneric
	im.StoreDynamic, im.IndexDynamic, im.DocValuesDynamic = false, false, false
	return im, nil
}

// docID names the document of a version: "<article id>/<lang>".
func docID(v *Version) string { return v.ID + "/" + v.Lang }

func document(v *Version) map[string]any {
	key := v.Title + "\n" + strings.Join(v.Aliases, "\n")
	body := plainText(v.Body)
	return map[string]any{
		fieldKey + v.Lang:  key,
		fieldBody + v.Lang: body,
		fieldNKey:          key,
		fieldNBody:         body,
		fieldCKey:          defaultGlossary.tokens(key),
		fieldCBody:         defaultGlossary.tokens(body),
	}
}

// langsOf lists the languages of the content.
func langsOf(b *Base) []string {
	set := map[string]bool{}
	for _, a := range b.Articles() {
		for l := range a.Versions {
			set[l] = true
		}
	}
	out := make([]string, 0, len(set))
	for l := range set {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Open loads the knowledge base from fsys (see Load) and builds its search index. With a
// cacheDir, an index built earlier for the same content (and the same index schema) is reused
// from there, and a new one is written there for next time; with cacheDir "" the index is in
// memory.
func Open(fsys fs.FS, cacheDir string) (*Base, error) {
	b, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	langs := langsOf(b)
	im, err := buildMapping(langs)
	if err != nil {
		return nil, fmt.Errorf("knowledge index mapping: %w", err)
	}
	x := &index{m: im, langs: langs}
	key := newHasher()
	key.add(schemaVersion, []byte(b.hash))
	key.add("glossary", glossaryFile)
	hash := key.sum()
	if cacheDir == "" {
		if x.bi, err = bleve.NewUsing("", im, scorch.Name, scorch.Name, nil); err != nil {
			return nil, fmt.Errorf("knowledge index: %w", err)
		}
		if err := fill(x.bi, b); err != nil {
			x.bi.Close()
			return nil, err
		}
	} else if x.bi, x.dir, err = openCached(cacheDir, hash, im, b); err != nil {
		return nil, err
	}
	if err := x.prepare(b); err != nil {
		x.bi.Close()
		return nil, err
	}
	b.idx = x
	return b, nil
}

// fill indexes every version.
func fill(bi bleve.Index, b *Base) error {
	batch := bi.NewBatch()
	for _, a := range b.Articles() {
		for _, l := range a.Langs() {
			v := a.Versions[l]
			if err := batch.Index(docID(v), document(v)); err != nil {
				return fmt.Errorf("index %s: %w", v.Path, err)
			}
		}
	}
	if err := bi.Batch(batch); err != nil {
		return fmt.Errorf("knowledge index: %w", err)
	}
	return nil
}

func countVersions(b *Base) uint64 {
	var n uint64
	for _, a := range b.Articles() {
		n += uint64(len(a.Versions))
	}
	return n
}

// openCached opens cacheDir/kb-<hash>, building it first when it is missing or unreadable.
// The index is built in a temporary directory and renamed into place, so that a crash or a
// second process never sees half an index; other kb-* indexes (older content) are removed.
func openCached(cacheDir, hash string, im mapping.IndexMapping, b *Base) (bleve.Index, string, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, "", fmt.Errorf("knowledge index cache: %w", err)
	}
	dir := filepath.Join(cacheDir, "kb-"+hash)
	if bi, err := openReadOnly(dir, b); err == nil {
		return bi, dir, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(dir) // unreadable or stale: build it again
	}
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return nil, "", fmt.Errorf("knowledge index cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	bi, err := bleve.NewUsing(filepath.Join(tmp, "index"), im, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, "", fmt.Errorf("knowledge index: %w", err)
	}
	if err := fill(bi, b); err != nil {
		bi.Close()
		return nil, "", err
	}
	if err := bi.Close(); err != nil {
		return nil, "", fmt.Errorf("knowledge index: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "index"), dir); err != nil && !dirExists(dir) {
		return nil, "", fmt.Errorf("knowledge index cache: %w", err)
	}
	bi, err = openReadOnly(dir, b)
	if err != nil {
		return nil, "", fmt.Errorf("knowledge index %s: %w", dir, err)
	}
	// Remove indexes of older content.
	if old, _ := filepath.Glob(filepath.Join(cacheDir, "kb-*")); len(old) > 0 {
		for _, o := range old {
			if o != dir {
				os.RemoveAll(o)
			}
		}
	}
	return bi, dir, nil
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// openReadOnly opens an index built before and checks that it holds every version.
func openReadOnly(dir string, b *Base) (bleve.Index, error) {
	if !dirExists(dir) {
		return nil, fs.ErrNotExist
	}
	bi, err := bleve.OpenUsing(dir, map[string]any{"read_only": true})
	if err != nil {
		return nil, err
	}
	n, err := bi.DocCount()
	if err == nil && n != countVersions(b) {
		err = fmt.Errorf("index has %d documents, content %d", n, countVersions(b))
	}
	if err != nil {
		bi.Close()
		return nil, err
	}
	return bi, nil
}

// Dir is the directory of the index on disk ("" for an in-memory index or before Open).
func (b *Base) Dir() string {
	if b.idx == nil {
		return ""
	}
	return b.idx.dir
}

func (x *index) close() error { return x.bi.Close() }
