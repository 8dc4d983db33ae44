package knowledge

import "embed"

// Content is the knowledge base shipped in the binary: content/<jurisdiction>/<id>/<lang>.md.
//
// The pattern "content*" matches the content/ directory and this file: go:embed fails on a
// pattern that matches nothing, and this keeps the package building on a checkout without
// articles (Load ignores everything that is not an article file).
//
//go:embed content*
var Content embed.FS
