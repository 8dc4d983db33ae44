// Package knowledge holds Sportello's knowledge base: multilingual Markdown articles with
// front matter (content/<jurisdiction>/<id>/<lang>.md, embedded as Content), their checks for
// editors (Lint, Stats) and the search that finds the article a question is about, in whatever
// language or script it was typed.
//
// Search (Open builds the index, Search queries it) combines three bleve searches over every
// language version of every article, and adds their scores per document:
//
//   - words: the question analyzed as each indexed language would analyze it (bleve's
//     analyzers for it, en, ar, fr, es, de, ru, zh; ours for uk, bg, bn, ur, with stop words
//     that include romanized Bengali/Urdu), against that language's title+aliases field
//     (k_<lang>) and body field (b_<lang>), with near misses of long words (one edit, found in
//     the fields' dictionaries, not with bleve's fuzzy automata, which cost milliseconds);
//   - trigrams: folded, squeezed words cut into boundary-marked trigrams plus the whole word
//     and its consonant skeleton, against language-neutral fields (nk, nb), for typos,
//     mixed scripts and romanized text;
//   - concepts: the domain glossary (glossary.yaml) maps words of every language, dialect and
//     romanization to concepts (renew, cost, citizenship, spouse, years …); every version is
//     indexed with the concepts its title/aliases (ck) and body (cb) name, so a question in a
//     language no article has been translated into still reaches the concept.
//
// Per article the best version counts, plus a little of the others. The score is then raised
// by the question's coverage (the idf-weighted share of its content words the article has, in
// any language, with concept and typo tolerance) and multiplied by a jurisdiction factor: the
// desk's jurisdictions first, unless the question names another place or authority
// (places.yaml). The confidence is a logistic function of the coverage, the top score and its
// margin over the second; TestTune (SPORTELLO_TUNE=1) searches the weights and fits the
// confidence on knowledge/eval/questions.yaml.
package knowledge
