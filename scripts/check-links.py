#!/usr/bin/env python3
"""Checks the links of the built book without the network.

Usage: scripts/check-links.py [BOOK_HTML_DIR]   (default: book/book)

Every internal href/src in every HTML page must name a file that exists in the built
book, and every #fragment must name an id (or a name) in the page it points to, the page
itself included. External links (http:, https:, mailto:, ...) are counted, not fetched.
Exit status 0 when every internal link resolves, 1 otherwise, 2 on a usage error.

Python standard library only: html.parser reads the attributes exactly as a browser
would (quoting, entities), which a grep over the HTML would not.
"""

import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src"}
# 404.html is served for any missing path, so it uses <base href="/">: its relative links
# depend on the web server's root, not on the book's layout.
SKIP_PAGES = {"404.html"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (line, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        attr = LINK_ATTRS.get(tag)
        if attr and attrs.get(attr) is not None:
            self.links.append((self.getpos()[0], attrs[attr]))

    handle_startendtag = handle_starttag


def parse(path):
    page = Page()
    with open(path, encoding="utf-8") as f:
        page.feed(f.read())
    page.close()
    return page


def main():
    if len(sys.argv) > 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = os.path.abspath(sys.argv[1] if len(sys.argv) == 2 else "book/book")
    if not os.path.isfile(os.path.join(root, "index.html")):
        print(f"{root} has no index.html: build the book first (mdbook build book)", file=sys.stderr)
        return 2

    pages = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(dirpath, name)
                pages[os.path.relpath(path, root)] = parse(path)

    problems = []
    internal = external = 0
    for rel, page in sorted(pages.items()):
        if rel in SKIP_PAGES:
            continue
        for line, url in page.links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:
                external += 1
                continue
            internal += 1
            target = rel
            if parts.path:
                joined = os.path.normpath(os.path.join(os.path.dirname(rel), unquote(parts.path)))
                if parts.path.endswith("/"):
                    joined = os.path.join(joined, "index.html")
                if joined.startswith(".."):
                    problems.append(f"{rel}:{line}: {url} points outside the book")
                    continue
                if not os.path.exists(os.path.join(root, joined)):
                    problems.append(f"{rel}:{line}: {url}: no file {joined} in the built book")
                    continue
                target = joined
            fragment = unquote(parts.fragment)
            if fragment and target.endswith(".html"):
                dest = pages.get(target)
                if dest is None or fragment not in dest.ids:
                    problems.append(f"{rel}:{line}: {url}: {target} has no id \"{fragment}\"")

    for p in problems:
        print(p)
    print(
        f"{len(pages)} pages, {internal} internal links checked, {external} external links not fetched: "
        + ("all resolve" if not problems else f"{len(problems)} broken")
    )
    if internal == 0:
        print("no internal links at all: is this the built book?", file=sys.stderr)
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
