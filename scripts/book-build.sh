#!/usr/bin/env bash
# Builds the book with warnings as errors, then checks its links offline.
#
#   scripts/book-build.sh            # needs mdbook on PATH (see MDBOOK_VERSION below)
#
# mdBook reports a missing {{#include}} file, a bad SUMMARY entry and similar problems as
# ERROR/WARN log lines but still exits 0 and writes the book (with the raw `{{#include}}`
# text left in the page). There is no setting that makes them fatal, so this script
# fails on any such line itself.
set -euo pipefail
cd "$(dirname "$0")/.."

# The version .ci/run installs (`cargo install --locked mdbook@$MDBOOK_VERSION`).
MDBOOK_VERSION=0.5.4

command -v mdbook >/dev/null || {
  echo "mdbook is missing: cargo install --locked mdbook@$MDBOOK_VERSION" >&2
  exit 2
}
have=$(mdbook --version | awk '{print $2}')
if [ "$have" != "v$MDBOOK_VERSION" ]; then
  echo "mdbook $have found, the book is checked with v$MDBOOK_VERSION: cargo install --locked mdbook@$MDBOOK_VERSION" >&2
  exit 2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rm -rf book/book
if ! mdbook build book >"$log" 2>&1; then
  cat "$log"
  echo "mdbook build failed" >&2
  exit 1
fi
cat "$log"
if grep -Eq '^[[:space:]]*(WARN|ERROR)[[:space:]]' "$log"; then
  echo "mdbook reported warnings or errors (above); the book must build cleanly" >&2
  exit 1
fi
# Belt and braces: an include that failed leaves its directive in the rendered page.
if grep -rlq '{{#' book/book --include='*.html'; then
  grep -rn '{{#' book/book --include='*.html' | head -5
  echo "unexpanded {{#...}} directives in the built book" >&2
  exit 1
fi

python3 scripts/check-links.py book/book
