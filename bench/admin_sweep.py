"""The auditors' admin sweep: every changelist an auditor can open, with every filter choice, a
search, a deep page and each sort, timed one request after another; p95 must stay under 150 ms.

Given a running server, it logs on through ``/admin/login/`` (or takes a session cookie), reads the
admin's index for the changelists the auditor may see, and for each one reads the plain list's
page for what it offers: the filter sidebar's choices, the date drill-down's links, the sortable
columns, the search box, the paginator's last page. Nothing is listed here by hand, so a new
model, filter or column is swept as soon as the page offers it. Each URL is requested once (it
must answer 200 with its result table), then ``requests_per_url`` times in a row; the report gives
each URL's p50, p95 and slowest, and the worst p95 of all.

    python bench/admin_sweep.py --base-url http://127.0.0.1:18731 --username bench-auditor
        (the password from ADMIN_SWEEP_PASSWORD, or asked for; or --cookie 'sessionid=…')
    python bench/admin_sweep.py --bench
        (serves the app as ``bench.py`` does, on its dataset, and sweeps as its auditor)

Exit status 1 when a p95 reaches 150 ms or a page fails. ``bench.py`` calls ``run()``.
"""
from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import re
import statistics
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_http import Client, log_on

GOAL_P95_MS = 150.0
NO_MATCH_TERM = "zz-no-such-name-7f3c"
SEARCHES_THAT_MATCH = 3  # at most this many matching terms per list, each taken from another column
ADMIN_PATH = "/admin/"


class ChangelistPage(HTMLParser):
    """What a changelist page offers: its filter and date links, sortable columns, search box,
    paginator and the text of its first row's cells (candidate search terms)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.filters: list[tuple[str, str]] = []  # (label, href)
        self.dates: list[tuple[str, str]] = []
        self.sorts: list[tuple[str, str]] = []
        self.pages: list[int] = []
        self.has_search = False
        self.has_results = False
        self.rows = 0
        self.first_row: list[str] = []
        self._where: list[str] = []  # the sections the parser is in (filter, dates, thead, tbody, paginator)
        self._depth: dict[str, int] = {}
        self._tag_stack: list[str] = []
        self._filter_title = ""
        self._href: str | None = None
        self._text: list[str] = []
        self._cell: list[str] | None = None

    def _enter(self, section: str, tag: str) -> None:
        self._where.append(section)
        self._depth[section] = len(self._tag_stack)
        self._tag_stack.append(tag)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        ident, classes = attributes.get("id", ""), (attributes.get("class") or "").split()
        if tag in ("br", "img", "input", "meta", "link", "hr"):
            if tag == "input" and attributes.get("name") == "q":
                self.has_search = True
            return
        if tag == "nav" and ident == "changelist-filter":
            self._enter("filter", tag)
            return
        if tag == "nav" and "toplinks" in classes:
            self._enter("dates", tag)
            return
        if tag == "div" and ident == "changelist-filter-extra-actions":
            self._enter("extra", tag)
            return
        if tag == "table" and ident == "result_list":
            self.has_results = True
        if tag == "thead" and self.has_results:
            self._enter("thead", tag)
            return
        if tag == "tbody" and self.has_results:
            self._enter("tbody", tag)
            return
        if tag == "p" and "paginator" in classes:
            self._enter("paginator", tag)
            return
        self._tag_stack.append(tag)
        where = self._where[-1] if self._where else ""
        if tag == "details" and where == "filter":
            self._filter_title = attributes.get("data-filter-title", "")
        elif tag == "a":
            self._href, self._text = attributes.get("href"), []
        elif where == "tbody" and tag == "tr":
            self.rows += 1
        elif where == "tbody" and tag in ("td", "th") and self.rows == 1:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("br", "img", "input", "meta", "link", "hr"):
            return
        if tag not in self._tag_stack:  # a stray end tag
            return
        while self._tag_stack:
            open_tag = self._tag_stack.pop()
            if self._where and self._depth[self._where[-1]] == len(self._tag_stack):
                self._where.pop()
            if open_tag == tag:
                break
        where = self._where[-1] if self._where else ""
        if tag == "a" and self._href is not None:
            text = " ".join("".join(self._text).split())
            if where == "filter":
                self.filters.append((f"{self._filter_title}: {text}", self._href))
            elif where == "dates":
                self.dates.append((text, self._href))
            elif where == "thead" and text:
                self.sorts.append((text, self._href))
            elif where == "paginator":
                page = dict(parse_qsl(self._href.lstrip("?"))).get("p", "")
                if page.isdigit():
                    self.pages.append(int(page))
            self._href = None
        elif tag in ("td", "th") and self._cell is not None:
            self.first_row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)


class IndexPage(HTMLParser):
    """The changelists the admin's index links to (``<admin>/<app>/<model>/``), named as its list
    of applications names them."""

    def __init__(self, admin_path: str):
        super().__init__(convert_charrefs=True)
        self.pattern = re.compile(rf"^{re.escape(admin_path)}[a-z0-9_]+/[a-z0-9_]+/$")
        self.links: list[tuple[str, str, bool]] = []  # (href, text, in the list of applications)
        self._divs: list[bool] = []  # for each open <div>: is it an application's module?
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "div":
            self._divs.append(any(name.startswith("app-") for name in (attributes.get("class") or "").split()))
        elif tag == "a":
            href = attributes.get("href") or ""
            self._href, self._text = (href if self.pattern.match(href) else None), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "div" and self._divs:
            self._divs.pop()
        elif tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split()), any(self._divs)))
            self._href = None

    @property
    def changelists(self) -> list[tuple[str, str]]:
        names: dict[str, str] = {}
        for href, text, _in_apps in sorted(self.links, key=lambda link: not link[2]):  # the applications' first
            names.setdefault(href, text)
        return [(text, href) for href, text in names.items()]


def _with_query(path: str, href: str) -> str:
    """A changelist link (``?…``) made a path of its list."""
    return f"{path}{href}" if href.startswith("?") else href


def _sorts(page: ChangelistPage, path: str) -> list[tuple[str, str]]:
    """Each sortable column, ascending and descending (its header links to one of the two)."""
    urls = []
    for text, href in page.sorts:
        order = dict(parse_qsl(href.lstrip("?"))).get("o", "")
        column = order.split(".")[0].lstrip("-")
        if column.isdigit():
            urls += [(f"sort: {text} ascending", f"{path}?o={column}"),
                     (f"sort: {text} descending", f"{path}?o=-{column}")]
    return urls


def _search_terms(page: ChangelistPage) -> list[str]:
    """Candidate terms from the first row: each cell's text, or its first word, that a search may find."""
    terms = []
    for cell in page.first_row:
        for term in (cell, cell.split(" ")[0]):
            if term and term not in terms and term not in ("—", "-") and len(term) <= 80:
                terms.append(term)
    return terms


class Sweep:
    def __init__(self, client: Client, admin_path: str = ADMIN_PATH, requests_per_url: int = 20):
        self.client, self.admin_path, self.requests_per_url = client, admin_path, requests_per_url

    def get(self, url: str) -> tuple[int, str, float]:
        started = time.perf_counter()
        status, _headers, body = self.client.request("GET", url)
        return status, body.decode("utf-8", "replace"), (time.perf_counter() - started) * 1000

    def page(self, url: str) -> ChangelistPage:
        status, html, _ms = self.get(url)
        if status != 200:
            raise RuntimeError(f"GET {url}: HTTP {status}")
        parsed = ChangelistPage()
        parsed.feed(html)
        return parsed

    def changelists(self) -> list[tuple[str, str]]:
        status, html, _ms = self.get(self.admin_path)
        if status != 200:
            raise RuntimeError(f"GET {self.admin_path}: HTTP {status} (not logged on as a staff member?)")
        index = IndexPage(self.admin_path)
        index.feed(html)
        if not index.changelists:
            raise RuntimeError(f"{self.admin_path} links to no changelist")
        return index.changelists

    def urls_of(self, name: str, path: str) -> list[tuple[str, str]]:
        """(what, URL) of every request of one changelist."""
        plain = self.page(path)
        urls = [("list", path)]
        seen = {path}
        for label, href in plain.filters + [(f"date: {text}", href) for text, href in plain.dates]:
            url = _with_query(path, href)
            if url not in seen and href not in ("?", ""):
                seen.add(url)
                urls.append((f"filter {label}", url))
        if plain.has_search:
            found = []
            for term in _search_terms(plain):
                url = f"{path}?{urlencode({'q': term}, quote_via=quote)}"
                if self.page(url).rows:
                    found.append((f"search {term!r}", url))
                if len(found) == SEARCHES_THAT_MATCH:
                    break
            urls += found
            urls.append((f"search {NO_MATCH_TERM!r} (no match)", f"{path}?q={NO_MATCH_TERM}"))
        if plain.pages:
            last = max(plain.pages)
            urls.append((f"page {last} (the last the paginator links to)", f"{path}?p={last}"))
        urls += [(label, url) for label, url in _sorts(plain, path) if url not in seen]
        return urls

    def time(self, url: str) -> dict:
        status, html, _ms = self.get(url)  # once untimed: the page must be a changelist
        ok = status == 200 and 'id="changelist"' in html
        timings = []
        for _ in range(self.requests_per_url):
            status, _html, ms = self.get(url)
            ok = ok and status == 200
            timings.append(ms)
        timings.sort()
        rows = ChangelistPage()
        rows.feed(html)
        return {"url": url, "ok": ok, "status": status, "rows": rows.rows, "requests": len(timings),
                "p50_ms": round(statistics.median(timings), 1),
                "p95_ms": round(timings[max(0, math.ceil(0.95 * len(timings)) - 1)], 1),
                "max_ms": round(timings[-1], 1)}

    def run(self, progress=None) -> list[dict]:
        results = []
        for name, path in self.changelists():
            for what, url in self.urls_of(name, path):
                entry = {"changelist": name, "what": what, **self.time(url)}
                results.append(entry)
                if progress:
                    progress(entry)
        return results


def _client(base_url: str) -> tuple[Client, str]:
    parts = urlsplit(base_url)
    client = Client(parts.hostname or "127.0.0.1", parts.port or 80)
    return client, parts.path.rstrip("/") + ADMIN_PATH


def run(base_url: str, username: str, password: str, requests_per_url: int = 20, progress=None) -> list[dict]:
    """Log on at ``base_url``'s admin as ``username`` and sweep every changelist it can see: one
    dict per URL (``changelist``, ``what``, ``url``, ``ok``, ``rows``, ``p50_ms``, ``p95_ms``, ``max_ms``)."""
    client, admin_path = _client(base_url)
    log_on(client, login_path=f"{admin_path}login/", username=username, password=password, next_path=admin_path)
    try:
        return Sweep(client, admin_path, requests_per_url).run(progress)
    finally:
        client.close()


def run_with_cookie(base_url: str, cookie: str, requests_per_url: int = 20, progress=None) -> list[dict]:
    client, admin_path = _client(base_url)
    client.cookies.update(dict(pair.strip().split("=", 1) for pair in cookie.split(";") if "=" in pair))
    try:
        return Sweep(client, admin_path, requests_per_url).run(progress)
    finally:
        client.close()


def failures(results: list[dict]) -> list[dict]:
    return [entry for entry in results if not entry["ok"] or entry["p95_ms"] >= GOAL_P95_MS]


def report(results: list[dict]) -> str:
    lines = [f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'rows':>5}  changelist / what"]
    for entry in results:
        flag = "" if entry["ok"] else f"  FAILED (HTTP {entry['status']})"
        flag += "  >= GOAL" if entry["p95_ms"] >= GOAL_P95_MS else ""
        lines.append(f"{entry['p50_ms']:8.1f} {entry['p95_ms']:8.1f} {entry['max_ms']:8.1f} {entry['rows']:5d}  "
                     f"{entry['changelist']} / {entry['what']}{flag}")
    worst = max(results, key=lambda entry: entry["p95_ms"])
    lines.append(f"\n{len(results)} URLs; worst p95 {worst['p95_ms']:.1f} ms ({worst['changelist']} / "
                 f"{worst['what']}: {worst['url']}); goal < {GOAL_P95_MS:.0f} ms: "
                 f"{'met' if not failures(results) else 'NOT met'}")
    return "\n".join(lines)


def _bench_run(requests_per_url: int, progress) -> list[dict]:
    """Serve the app as ``bench.py`` does (its dataset, settings, fixtures) and sweep as its auditor."""
    import bench

    args = bench.parse_args([])
    env = bench.server_env(args)
    bench.ensure_dataset(env, args)
    bench.manage(env, "collectstatic", "--noinput")
    fx = bench.fixtures(env, "setup")
    log = bench.STATE / "gunicorn-sweep.log"
    app = bench.start([str(bench.BIN / "gunicorn"), "console.wsgi:application", "--workers", "2", "--worker-class",
                       "sync", "--bind", f"127.0.0.1:{args.port}", "--forwarded-allow-ips", "127.0.0.1"], env, log)
    try:
        bench.wait_until_up(f"http://127.0.0.1:{args.port}/healthz", app, log)
        return run(f"http://127.0.0.1:{args.port}", fx["auditor"], fx["auditor_password"], requests_per_url, progress)
    finally:
        bench.stop(app)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:18731")
    parser.add_argument("--username", help="an auditor's logon (password: ADMIN_SWEEP_PASSWORD, or asked for)")
    parser.add_argument("--cookie", help="a logged-on session's Cookie header instead of a logon")
    parser.add_argument("--bench", action="store_true", help="serve the app as bench.py does and sweep as its auditor")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per URL (default 20)")
    parser.add_argument("--json", help="also write the results here")
    options = parser.parse_args(argv)

    def progress(entry: dict) -> None:
        print(f"  {entry['p95_ms']:8.1f} ms p95  {entry['changelist']} / {entry['what']}", flush=True)

    if options.bench:
        results = _bench_run(options.requests, progress)
    elif options.cookie:
        results = run_with_cookie(options.base_url, options.cookie, options.requests, progress)
    elif options.username:
        password = os.environ.get("ADMIN_SWEEP_PASSWORD") or getpass.getpass(f"{options.username}'s password: ")
        results = run(options.base_url, options.username, password, options.requests, progress)
    else:
        parser.error("--username, --cookie or --bench")
    print(report(results))
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=1) + "\n")
    return 1 if failures(results) else 0


if __name__ == "__main__":
    sys.exit(main())
