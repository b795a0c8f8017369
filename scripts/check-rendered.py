#!/usr/bin/env python3
"""Checks pages of the book as Chromium rendered them (scripts/book-render.sh).

Usage: scripts/check-rendered.py [--dark-theme NAME] [--book DIR] OUT_DIR PAGE.html...

Every page is checked twice, as rendered in the light theme (OUT_DIR/NAME.png and
OUT_DIR/NAME.dom.html) and in the dark one (OUT_DIR/NAME.dark.png, NAME.dark.dom.html;
--dark-theme names it, default coal). For each: the screenshot is a real PNG of some size;
the DOM has an <h1>; <html> carries the theme's class; and book-render.sh's probe ran (the
page's load event fired).

For every chapter page (chNN-slug.html), in both themes:
- the <h1> is the chapter's title, as SUMMARY.md lists it;
- a <code> element with class language-rust holds a line of the first Rust file the
  chapter includes from lessons/exercises/ (or solutions/), taken from that file itself, so the
  include really was expanded and rendered as Rust;
- at least one <img> shows an .svg, and every .svg <img> loaded: the probe found a
  naturalWidth above 0. Each such file also exists in the built book (--book, default
  book/book), parses as XML, is an <svg> with width, height and a viewBox, is at most 760
  px wide, and refers to nothing outside itself.
For every solution page (chNN-slug-solution.html): an <h1> that starts with "Solution",
and a rendered line of the first Rust file it includes from solutions/.
Exit status 0 when all hold, 1 otherwise. Python standard library only.
"""

import os
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "book", "src")
SVG_NS = "{http://www.w3.org/2000/svg}"
MAX_SVG_WIDTH = 760
CHAPTER = re.compile(r"^ch\d\d-[a-z0-9-]+\.html$")


class Dom(HTMLParser):
    """Collects the <html> attributes, the text of every <h1> and of every
    <code class="language-rust ...">, and every <img>'s attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.html = {}
        self.h1 = []
        self.rust = []
        self.imgs = []
        self._stack = []  # (tag, kind) for the elements whose text we collect

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "html":
            self.html = attrs
        elif tag == "img":
            self.imgs.append(attrs)
        elif tag == "h1":
            self._stack.append(("h1", []))
        elif tag == "code" and "language-rust" in classes:
            self._stack.append(("code", []))

    def handle_startendtag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1][0] == tag:
            kind, parts = self._stack.pop()
            text = "".join(parts)
            (self.h1 if kind == "h1" else self.rust).append(text)

    def handle_data(self, data):
        for _, parts in self._stack:
            parts.append(data)


def squash(s):
    return " ".join(s.split())


def summary_titles():
    titles = {}
    with open(os.path.join(SRC, "SUMMARY.md"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\s*- \[(.*)\]\((ch\d\d-[a-z0-9-]+\.md)\)\s*$", line)
            if m:
                titles[m.group(2)[:-3] + ".html"] = m.group(1)
    return titles


def included_line(md_path, prefixes):
    """A distinctive line of the first Rust file the page includes from one of `prefixes`."""
    with open(md_path, encoding="utf-8") as f:
        text = f.read()
    for m in re.finditer(r"```rust[^\n]*\n\{\{#include ([^}:]+)(?::([A-Za-z0-9_-]+))?\}\}", text):
        path = os.path.normpath(os.path.join(SRC, m.group(1)))
        rel = os.path.relpath(path, ROOT)
        if not rel.startswith(prefixes):
            continue
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        anchor = m.group(2)
        if anchor:
            start = next(i for i, l in enumerate(lines) if l.strip().endswith(f"ANCHOR: {anchor}"))
            end = next(i for i, l in enumerate(lines) if l.strip().endswith(f"ANCHOR_END: {anchor}"))
            lines = lines[start + 1 : end]
        lines = [l.strip() for l in lines if "ANCHOR" not in l]
        # mdBook hides Rust lines starting with "# "; pick a visible, distinctive one.
        for l in lines:
            if len(l) >= 12 and not l.startswith("#") and not l.startswith("//"):
                return rel, anchor, l
    return None


def check_svg(path):
    """Problems with one SVG file of the built book (an empty list when it is fine)."""
    if not os.path.isfile(path):
        return ["the file is not in the built book"]
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return [f"not well-formed XML: {e}"]
    if root.tag != SVG_NS + "svg":
        return [f"the root element is {root.tag}, not an SVG <svg>"]
    problems = []
    for attr in ("width", "height", "viewBox"):
        if not root.get(attr):
            problems.append(f"<svg> has no {attr}")
    width = re.match(r"^\s*([0-9.]+)\s*(px)?\s*$", root.get("width") or "")
    if root.get("width") and not width:
        problems.append(f"width {root.get('width')!r} is not in pixels")
    elif width and float(width.group(1)) > MAX_SVG_WIDTH:
        problems.append(f"{width.group(1)} px wide, more than {MAX_SVG_WIDTH}")
    for el in root.iter():
        for key, value in el.attrib.items():
            if key.endswith("href") and not value.startswith("#"):
                problems.append(f"refers to {value!r} outside the file")
    return problems


def main():
    args = sys.argv[1:]
    dark_theme, book = "coal", os.path.join(ROOT, "book", "book")
    while args and args[0].startswith("--"):
        if len(args) < 2 or args[0] not in ("--dark-theme", "--book"):
            print(__doc__.strip(), file=sys.stderr)
            return 2
        if args[0] == "--dark-theme":
            dark_theme = args[1]
        else:
            book = os.path.abspath(args[1])
        args = args[2:]
    if len(args) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out, pages = args[0], args[1:]
    titles = summary_titles()
    problems = []
    svg_checked = {}
    for page in pages:
        name = page[:-5] if page.endswith(".html") else page
        solution = page.endswith("-solution.html") and bool(CHAPTER.match(page))
        chapter = bool(CHAPTER.match(page)) and not solution
        for theme, suffix in (("light", ""), (dark_theme, ".dark")):
            where = f"{page} ({theme})"
            before = len(problems)
            png = os.path.join(out, name + suffix + ".png")
            try:
                with open(png, "rb") as f:
                    head = f.read(8)
                size = os.path.getsize(png)
            except OSError as e:
                problems.append(f"{where}: no screenshot: {e}")
                continue
            if head != b"\x89PNG\r\n\x1a\n" or size < 10_000:
                problems.append(f"{where}: {png} is not a real screenshot ({size} bytes)")
            dom = Dom()
            try:
                with open(os.path.join(out, name + suffix + ".dom.html"), encoding="utf-8") as f:
                    dom.feed(f.read())
            except OSError as e:
                problems.append(f"{where}: no DOM dump: {e}")
                continue
            h1 = [squash(t) for t in dom.h1]
            if not h1:
                problems.append(f"{where}: the rendered page has no <h1>")
            if theme not in (dom.html.get("class") or "").split():
                problems.append(f"{where}: <html class={dom.html.get('class')!r}>: not the {theme} theme")
            if dom.html.get("data-probe") != "loaded":
                problems.append(f"{where}: the probe did not run: the page's load event never fired")
            found_rust = None
            if chapter or solution:
                if chapter:
                    title = squash(titles.get(page, ""))
                    if not title:
                        problems.append(f"{where}: SUMMARY.md does not list {name}.md")
                    elif title not in h1:
                        problems.append(f"{where}: no <h1> reads {title!r} (found {h1})")
                    prefixes = ("lessons/exercises/", "solutions/")
                else:
                    if not any(t.startswith("Solution") for t in h1):
                        problems.append(f"{where}: no <h1> starts with 'Solution' (found {h1})")
                    prefixes = ("solutions/",)
                found_rust = included_line(os.path.join(SRC, name + ".md"), prefixes)
                if found_rust is None:
                    problems.append(f"{where}: the page includes no Rust from {' or '.join(prefixes)}")
                else:
                    rel, anchor, line = found_rust
                    code = [squash(c) for c in dom.rust]
                    if not any(squash(line) in c for c in code):
                        problems.append(
                            f"{where}: no rendered <code class=\"language-rust\"> holds {line!r} "
                            f"(from {rel}{':' + anchor if anchor else ''}); {len(code)} Rust blocks rendered"
                        )
            svgs = []
            if chapter:
                svgs = [i for i in dom.imgs if (i.get("src") or "").split("?")[0].endswith(".svg")]
                if not svgs:
                    problems.append(f"{where}: no <img> shows an .svg diagram")
                for img in svgs:
                    src = img["src"].split("?")[0]
                    width = img.get("data-natural-width")
                    if width is None or not width.isdigit() or int(width) == 0:
                        problems.append(f"{where}: <img src={src!r}> did not load (naturalWidth {width})")
                    path = os.path.normpath(os.path.join(book, os.path.dirname(page), src))
                    if path not in svg_checked:
                        svg_checked[path] = check_svg(path)
                        for p in svg_checked[path]:
                            problems.append(f"{page}: {src}: {p}")
            if len(problems) == before:
                shown = next((t for t in reversed(h1) if t == squash(titles.get(page, "")) or t.startswith("Solution")), None)
                shown = shown or (h1[-1] if h1 else None)
                parts = [f"<h1> {shown!r}"] if shown else []
                if found_rust:
                    parts.append(f"Rust from {found_rust[0]}{':' + found_rust[1] if found_rust[1] else ''}")
                if svgs:
                    loaded = sorted({i['src'] for i in svgs})
                    parts.append(f"{len(loaded)} SVG loaded ({', '.join(loaded)})")
                print(f"{where}: " + "; ".join(parts))
    for p in problems:
        print(p)
    print(
        f"{len(pages)} pages rendered in 2 themes, {len(svg_checked)} SVG files checked: "
        + ("all checks hold" if not problems else f"{len(problems)} problems")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
