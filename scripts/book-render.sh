#!/usr/bin/env bash
# Renders pages of the built book in headless Chromium, saves screenshots, and checks the
# rendered DOM: each chapter shows its title and an included Rust code block.
#
#   scripts/book-build.sh && scripts/book-render.sh [PAGE.html ...]
#
# Default pages: the introduction, setup, every chapter in SUMMARY.md, the troubleshooting
# appendix and the instructor guide. Output (CI artifacts, never committed):
#   target/book-screenshots/NAME.png       1280x2000 screenshot
#   target/book-screenshots/NAME.dom.html  the DOM after scripts ran (highlight.js)
# Needs Debian's chromium package (apt-get install chromium) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

book=book/book
out=target/book-screenshots
[ -f "$book/index.html" ] || { echo "build the book first: scripts/book-build.sh" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is missing: apt-get install chromium" >&2; exit 2; }

if [ $# -gt 0 ]; then
  pages=("$@")
else
  pages=(introduction.html setup.html)
  while read -r md; do pages+=("${md%.md}.html"); done < <(
    grep -oE '^- \[[^]]*\]\((ch[0-9]{2}-[a-z0-9-]+\.md)\)' book/src/SUMMARY.md | sed -E 's/.*\((.*)\)/\1/')
  pages+=(troubleshooting.html instructor-guide.html)
fi

mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# No sandbox (CI runs as root), no GPU, and nothing that talks to the network.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --disable-default-apps --disable-extensions --hide-scrollbars --mute-audio
  --user-data-dir="$profile" --window-size=1280,2000 --virtual-time-budget=3000)

for page in "${pages[@]}"; do
  [ -f "$book/$page" ] || { echo "no $book/$page" >&2; exit 1; }
  url="file://$PWD/$book/$page"
  name=${page%.html}
  timeout 90 "$browser" "${flags[@]}" --screenshot="$out/$name.png" "$url" 2>/dev/null
  timeout 90 "$browser" "${flags[@]}" --dump-dom "$url" >"$out/$name.dom.html" 2>/dev/null
  echo "rendered $page → $out/$name.png ($(stat -c %s "$out/$name.png") bytes)"
done

python3 scripts/check-rendered.py "$out" "${pages[@]}"
