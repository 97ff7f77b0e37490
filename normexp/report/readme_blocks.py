"""Generated text inside hand-written Markdown: the claims table, counts and verdicts.

A file given to ``normexp claims --readme`` holds any of these markers; the command
replaces what lies between them and leaves everything else as written:

- ``<!-- claims:start -->`` … ``<!-- claims:end -->``: the table of every claim;
- ``<!-- claims-summary:start -->`` … ``<!-- claims-summary:end -->``: the one-line
  counts (how many claims each family has, and their verdicts);
- ``<!-- verdict:ID -->`` … ``<!-- /verdict -->``: claim ID's verdict;
- ``<!-- measured:ID -->`` … ``<!-- /measured -->``: claim ID's measurement.

So a count or a verdict quoted in prose is generated from the stores, never typed.
"""

import re

from normexp.errors import StoreError
from normexp.store import atomic

TABLE = ("<!-- claims:start -->", "<!-- claims:end -->")
SUMMARY = ("<!-- claims-summary:start -->", "<!-- claims-summary:end -->")
INLINE = re.compile(r"<!-- (verdict|measured):([^ >]+) -->(.*?)<!-- /\1 -->", re.S)


def refresh(path, table, summary, by_id):
    """Rewrite the generated blocks of ``path``. ``by_id`` maps a claim id to
    ``{"verdict": ..., "measured": ...}``. A marker naming no claim, or a file without
    any marker, is a ``StoreError`` naming the file."""
    text = path.read_text(encoding="utf-8")
    found = False
    for (start, end), content, around in ((TABLE, table, "\n"), (SUMMARY, summary, "")):
        if start in text and end in text:
            head, rest = text.split(start, 1)
            _, tail = rest.split(end, 1)
            text, found = f"{head}{start}{around}{content}{around}{end}{tail}", True

    def inline(match):
        kind, identifier = match.group(1), match.group(2)
        if identifier not in by_id:
            raise StoreError(f"{path}: the marker <!-- {kind}:{identifier} --> names no claim "
                             f"on the page (claims: {', '.join(by_id)})")
        return f"<!-- {kind}:{identifier} -->{by_id[identifier][kind]}<!-- /{kind} -->"

    text, replaced = INLINE.subn(inline, text)
    if not found and not replaced:
        raise StoreError(f"{path}: needs the markers {TABLE[0]} and {TABLE[1]} around the "
                         f"table, or {SUMMARY[0]} … {SUMMARY[1]}, or <!-- verdict:ID --> … "
                         "<!-- /verdict -->")
    atomic.write(path, text)
