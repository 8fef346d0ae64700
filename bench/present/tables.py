"""The one table renderer: a header and rows as an aligned text table, a Markdown table or HTML."""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence


def markdown_escape(text: object) -> str:
    """``text`` safe inside a Markdown table cell: HTML escaped, ``|`` and line breaks neutralised."""
    escaped = html.escape(str(text), quote=False).replace("|", "\\|")
    return " ".join(escaped.splitlines())


def table_lines(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    fmt: str = "text",
    right: Collection[int] = (),
    escape: bool = True,
) -> list[str]:
    """The table's lines; columns whose index is in ``right`` are right-aligned (numbers).

    ``fmt`` "text" pads columns to a common width for a terminal; "markdown" writes a GitHub table,
    escaping every cell unless ``escape`` is False (cells already in Markdown, such as `code`).
    """
    if fmt == "markdown":
        clean = [[markdown_escape(c) if escape else str(c) for c in r] for r in [header, *rows]]
        rule = ["---:" if i in right else "---" for i in range(len(header))]
        return ["| " + " | ".join(r) + " |" for r in [clean[0], rule, *clean[1:]]]
    if fmt != "text":
        raise ValueError(f"fmt must be 'text' or 'markdown', got {fmt!r}")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    right: Collection[int] = (),
    classes: Sequence[str] = (),
) -> str:
    """The table as one HTML ``<table>``, every cell escaped; ``right`` columns get class "num"
    (numbers, right-aligned by the page's style) and row i gets class ``classes[i]`` when given."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for index, row in enumerate(rows):
        mark = classes[index] if index < len(classes) else ""
        cls = f' class="{html.escape(mark)}"' if mark else ""
        cells = "".join(
            f'<td class="num">{html.escape(str(c))}</td>' if i in right else f"<td>{html.escape(str(c))}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
