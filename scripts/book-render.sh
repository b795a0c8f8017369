#!/usr/bin/env bash
# Renders pages of the built book in headless Chromium, in the light theme and in a dark
# one, saves screenshots, and checks the rendered DOM: each chapter shows its title, an
# included Rust code block and at least one SVG diagram that really loaded.
#
#   scripts/book-build.sh && scripts/book-render.sh [PAGE.html ...]
#
# Default pages: the introduction, setup, every chapter and solution page in SUMMARY.md,
# the troubleshooting appendix and the instructor guide. The light pages are those of
# book/book; the dark copy is built here with the default theme set from the environment
# (MDBOOK_OUTPUT__HTML__DEFAULT_THEME). Each page is rendered from a copy next to it with a
# small probe script appended: on the load event it writes every <img>'s naturalWidth into
# a data-natural-width attribute, which the DOM dump then carries (0 = not loaded).
# Output (CI artifacts, never committed):
#   target/book-render/{light,dark}/      the two books, with the NAME.probe.html copies
#   target/book-screenshots/NAME.png      1280x2000 screenshot, light theme
#   target/book-screenshots/NAME.dark.png the same in the dark theme
#   target/book-screenshots/NAME[.dark].dom.html  the DOM after scripts ran (highlight.js)
# Needs Debian's chromium package (apt-get install chromium), mdbook and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

book=book/book
out=target/book-screenshots
render=target/book-render
dark_theme=coal   # mdBook's dark themes: coal, navy, ayu
[ -f "$book/index.html" ] || { echo "build the book first: scripts/book-build.sh" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is missing: apt-get install chromium" >&2; exit 2; }
command -v mdbook >/dev/null || { echo "mdbook is missing: see scripts/book-build.sh" >&2; exit 2; }

if [ $# -gt 0 ]; then
  pages=("$@")
else
  pages=(introduction.html setup.html)
  while read -r md; do pages+=("${md%.md}.html"); done < <(
    grep -oE '^[[:space:]]*- \[[^]]*\]\((ch[0-9]{2}-[a-z0-9-]+\.md)\)' book/src/SUMMARY.md | sed -E 's/.*\((.*)\)/\1/')
  pages+=(troubleshooting.html instructor-guide.html)
fi

# The two books: a copy of the light one, and a dark one built from the same sources.
# create-missing off: a render must never write pages into book/src.
rm -rf "$render"
mkdir -p "$render" "$out"
cp -a "$book" "$render/light"
if ! MDBOOK_OUTPUT__HTML__DEFAULT_THEME="$dark_theme" MDBOOK_BUILD__CREATE_MISSING=false \
  mdbook build book -d "$PWD/$render/dark" >"$render/dark-build.log" 2>&1; then
  cat "$render/dark-build.log"
  echo "building the dark copy of the book failed" >&2
  exit 1
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# No sandbox (CI runs as root), no GPU, and nothing that talks to the network.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --disable-default-apps --disable-extensions --hide-scrollbars --mute-audio
  --user-data-dir="$profile" --window-size=1280,2000 --virtual-time-budget=3000)
probe='<script>window.addEventListener("load",function(){for(const i of document.images){i.setAttribute("data-natural-width",String(i.naturalWidth))}document.documentElement.setAttribute("data-probe","loaded")})</script>'

for page in "${pages[@]}"; do
  [ -f "$book/$page" ] || { echo "no $book/$page" >&2; exit 1; }
  name=${page%.html}
  for theme in light dark; do
    src="$render/$theme/$page"
    [ -f "$src" ] || { echo "no $src" >&2; exit 1; }
    copy="$render/$theme/$name.probe.html"
    python3 -c 'import sys; s = open(sys.argv[1], encoding="utf-8").read(); i = s.rindex("</body>"); open(sys.argv[2], "w", encoding="utf-8").write(s[:i] + sys.argv[3] + s[i:])' \
      "$src" "$copy" "$probe"
    suffix=""
    [ "$theme" = dark ] && suffix=".dark"
    url="file://$PWD/$copy"
    timeout 90 "$browser" "${flags[@]}" --screenshot="$out/$name$suffix.png" "$url" 2>/dev/null
    timeout 90 "$browser" "${flags[@]}" --dump-dom "$url" >"$out/$name$suffix.dom.html" 2>/dev/null
    echo "rendered $page ($theme) → $out/$name$suffix.png ($(stat -c %s "$out/$name$suffix.png") bytes)"
  done
done

python3 scripts/check-rendered.py --dark-theme "$dark_theme" --book "$book" "$out" "${pages[@]}"
