"""Mark the words that carry shared concepts in a text, safely escaped."""

from markupsafe import Markup, escape


def highlight(text: str, spans) -> Markup:
    """Return ``text`` as HTML with each span wrapped in ``<mark>`` (overlaps merged)."""
    ranges = sorted(
        (max(0, s.start), min(len(text), s.end), s.label)
        for s in spans
        if getattr(s, "field", "text") == "text" and s.end > s.start
    )
    parts: list[str] = []
    position = 0
    for start, end, label in ranges:
        if start < position:
            continue
        parts.append(escape(text[position:start]))
        parts.append(Markup('<mark title="{}">{}</mark>').format(label, text[start:end]))
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)
