"""HTML building blocks of the report: one escaping helper and the small pieces built on it.

Every string that comes from data, parameters, specs or notebooks goes through :func:`esc`,
which scrubs secrets and then HTML-escapes, so a term such as ``<script>`` shows as text and a
planted key shows as ``[REDACTED]``. Fragments built here are :class:`Html` strings; passing
an :class:`Html` to :func:`esc` leaves it as it is, so pieces compose without double escaping.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

from loclab.security import scrub

__all__ = [
    "Html",
    "badge",
    "esc",
    "figure",
    "fmt_ci",
    "fmt_num",
    "fmt_p",
    "note",
    "section",
    "table",
]


class Html(str):
    """A string that is already safe HTML (built by this module from escaped parts)."""

    __slots__ = ()


def esc(value: Any) -> Html:
    """The one escaping helper: scrub secrets, then escape ``& < > " '``.

    ``None`` becomes an empty string; an :class:`Html` fragment passes through unchanged.
    """
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(html.escape(scrub(str(value)), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Html:
    """Join fragments and escaped values."""
    return Html(esc(sep).join(esc(p) for p in parts))


def tag(name: str, content: Any = "", **attrs: Any) -> Html:
    """``<name attr="...">content</name>``; attribute values are escaped (``class_`` → class)."""
    text = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"'
        for k, v in attrs.items()
        if v is not None and v is not False
    )
    return Html(f"<{name}{text}>{esc(content)}</{name}>")


def section(anchor: str, title: str, *body: Any, lead: Any = None) -> Html:
    """A titled section with an anchor for the table of contents."""
    parts = [tag("h2", title)]
    if lead:
        parts.append(tag("p", lead, class_="lead"))
    parts.extend(esc(b) for b in body if b)
    return Html(f'<section id="{esc(anchor)}">' + "".join(parts) + "</section>")


def note(text: Any, kind: str = "note") -> Html:
    """A one-line note (``note``, ``warn`` or ``omitted``)."""
    return tag("p", text, class_=f"note {kind}")


_BADGE_CLASS = {
    "better": "better",
    "worse": "worse",
    "no difference": "same",
    "too close to call": "more",
    "too close": "more",
    # Records written before decisions existed.
    "no detectable difference": "same",
    "needs more data": "more",
    "baseline": "base",
    "deterministic": "other",
    "FAILED": "fail",
}


def badge(label: str | None) -> Html:
    """A verdict badge; the words carry the meaning, the colour only repeats it."""
    if not label:
        return Html("")
    return tag("span", label, class_=f"badge {_BADGE_CLASS.get(label, 'other')}")


def table(
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    caption: Any = None,
    class_: str = "",
) -> Html:
    """A table; columns listed in ``numeric`` are right-aligned with tabular figures."""
    num = set(numeric)
    head = "".join(
        tag("th", h, scope="col", class_="num" if i in num else None)
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            tag("td", c, class_="num" if i in num else None) for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    cap = tag("caption", caption) if caption else ""
    cls = f' class="{esc(class_)}"' if class_ else ""
    return Html(
        f'<div class="table-wrap"><table{cls}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def digits_for(values: Iterable[float | None]) -> int:
    """Decimals that suit a metric: 3 for values on a 0-1 scale, 2 for larger scales."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return 3 if finite and max(finite) <= 1.5 else 2


def fmt_num(value: float | None, digits: int = 3, *, sign: bool = False) -> str:
    """A number with ``digits`` decimals (a true minus sign); "–" when missing."""
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    text = f"{value:+,.{digits}f}" if sign else f"{value:,.{digits}f}"
    return text.replace("-", "−")


def fmt_ci(ci: Sequence[float | None] | None, digits: int = 3, *, sign: bool = False) -> str:
    """``lo to hi``; "no interval" when missing."""
    if not ci or len(ci) != 2 or any(c is None or not math.isfinite(c) for c in ci):
        return "no interval"
    return f"{fmt_num(ci[0], digits, sign=sign)} to {fmt_num(ci[1], digits, sign=sign)}"


def fmt_p(p: float | None) -> str:
    """A p-value, compactly."""
    if p is None or not isinstance(p, int | float) or not math.isfinite(p):
        return "–"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


def figure(fig: Any, alt: str, caption: Any = None, *, dpi: int = 110) -> Html:
    """A matplotlib figure as an inline PNG (``data:`` URI) with alt text and a caption.

    Figures are made without pyplot, so nothing keeps them alive afterwards. PNG metadata
    (matplotlib's URL) is left out, and the image is reduced to a 256-colour palette when
    that makes it smaller (about half the size, still sharp).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    data = _shrink_png(buf.getvalue())
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    width = fig.get_figwidth() * dpi
    img = f'<img src="{uri}" alt="{esc(alt)}" style="max-width:{width:.0f}px">'
    cap = tag("figcaption", caption) if caption else ""
    return Html(f"<figure>{img}{cap}</figure>")


def _shrink_png(data: bytes) -> bytes:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return data
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
        small = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=True)
    packed = out.getvalue()
    return packed if len(packed) < len(data) else data
