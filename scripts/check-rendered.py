#!/usr/bin/env python3
"""Checks pages of the book as Chromium rendered them (scripts/book-render.sh).

Usage: scripts/check-rendered.py OUT_DIR PAGE.html...

For every page: the screenshot OUT_DIR/NAME.png is a real PNG of some size, and the DOM
dump OUT_DIR/NAME.dom.html has an <h1>. For every chapter page (chNN-slug.html):
- the <h1> is the chapter's title, as SUMMARY.md lists it;
- a <code> element with class language-rust holds a line of the first Rust file the
  chapter includes from solutions/ (or exercises/), taken from that file itself, so the
  include really was expanded and rendered as Rust.
Exit status 0 when all hold, 1 otherwise. Python standard library only.
"""

import os
import re
import sys
from html.parser import HTMLParser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "book", "src")


class Dom(HTMLParser):
    """Collects the text of every <h1> and of every <code class="language-rust ...">."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.h1 = []
        self.rust = []
        self._stack = []  # (tag, kind) for the elements whose text we collect

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "h1":
            self._stack.append(("h1", []))
        elif tag == "code" and "language-rust" in classes:
            self._stack.append(("code", []))

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


def included_line(md_path):
    """A distinctive line of the first Rust file the page includes from solutions/ or exercises/."""
    with open(md_path, encoding="utf-8") as f:
        text = f.read()
    for m in re.finditer(r"```rust\s*\n\{\{#include ([^}:]+)(?::([A-Za-z0-9_-]+))?\}\}", text):
        path = os.path.normpath(os.path.join(SRC, m.group(1)))
        rel = os.path.relpath(path, ROOT)
        if not rel.startswith(("solutions/", "exercises/")):
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


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out, pages = sys.argv[1], sys.argv[2:]
    titles = summary_titles()
    problems = []
    for page in pages:
        name = page[:-5] if page.endswith(".html") else page
        png = os.path.join(out, name + ".png")
        try:
            with open(png, "rb") as f:
                head = f.read(8)
            size = os.path.getsize(png)
        except OSError as e:
            problems.append(f"{page}: no screenshot: {e}")
            continue
        if head != b"\x89PNG\r\n\x1a\n" or size < 10_000:
            problems.append(f"{page}: {png} is not a real screenshot ({size} bytes)")
        dom = Dom()
        with open(os.path.join(out, name + ".dom.html"), encoding="utf-8") as f:
            dom.feed(f.read())
        h1 = [squash(t) for t in dom.h1]
        if not h1:
            problems.append(f"{page}: the rendered page has no <h1>")
        before = len(problems)
        if page in titles:
            title = squash(titles[page])
            if title not in h1:
                problems.append(f"{page}: no <h1> reads {title!r} (found {h1})")
            found = included_line(os.path.join(SRC, name + ".md"))
            if found is None:
                problems.append(f"{page}: the chapter includes no Rust from solutions/ or exercises/")
            else:
                rel, anchor, line = found
                code = [squash(c) for c in dom.rust]
                if not any(squash(line) in c for c in code):
                    problems.append(
                        f"{page}: no rendered <code class=\"language-rust\"> holds {line!r} "
                        f"(from {rel}{':' + anchor if anchor else ''}); {len(code)} Rust blocks rendered"
                    )
                elif len(problems) == before:
                    print(f"{page}: <h1> {title!r}; Rust block from {rel}:{anchor} rendered")
    for p in problems:
        print(p)
    print(f"{len(pages)} pages rendered: " + ("all checks hold" if not problems else f"{len(problems)} problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
