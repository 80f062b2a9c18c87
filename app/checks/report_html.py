"""The equipment report as one standalone HTML page the couple can print or send to the clinic.

Inline CSS only (no files, no scripts, nothing fetched), large text, and every status said in
words as well as colour. Everything that comes from outside this module is escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from app.checks.report import CHECK_NAMES, PUBLIC_SERVER, SKIPPED
from app.checks.result import MetricValue, Status, Verdict
from app.checks.wording import NOT_CHECKED, STATUS_WORDS, check_title

if TYPE_CHECKING:
    from app.checks.report import EquipmentReport

# (word shown, symbol, CSS class): the word carries the meaning, colour only repeats it. The
# words are the window's (app.checks.wording), so the page says what the couple saw.
STATUS_DISPLAY: dict[str, tuple[str, str, str]] = {
    Status.PASS: (STATUS_WORDS[Status.PASS], "\u2713", "pass"),
    Status.WARN: (STATUS_WORDS[Status.WARN], "!", "warn"),
    Status.FAIL: (STATUS_WORDS[Status.FAIL], "\u2717", "fail"),
    SKIPPED: (NOT_CHECKED, "\u2013", "skipped"),
}

# The report of a practice run must not pass for a real one sent to the clinic.
PRACTICE_REPORT_NOTE = (
    "Practice mode: this check ran on this computer only, without the clinic's server. "
    "The internet connection was not measured."
)
# `tandem check` in practice mode measures against a server on this computer: figures, but none
# of them about the internet.
PRACTICE_LOCAL_NOTE = (
    "Practice mode: this check ran on this computer only, without the clinic's server. "
    "Its internet figures were measured within this computer and say nothing about the "
    "internet connection."
)
PRACTICE_PUBLIC_NOTE = (
    "Practice mode: this check ran on this computer only, without the clinic's server. "
    "The internet connection was measured with a public speed test (speedtest.net)."
)

VERDICT_WORDS = {
    Verdict.READY: ("Ready for sessions", "Everything we checked works."),
    Verdict.READY_WITH_WARNINGS: (
        "Ready, with warnings",
        "Sessions should work, but something below could make them worse.",
    ),
    Verdict.NOT_READY: (
        "Not ready yet",
        "Something below needs fixing before a session. Each check says how.",
    ),
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; font-size: 20px;
       line-height: 1.5; color: #111; background: #fff; max-width: 48em; margin: 2em auto;
       padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin: 0 0 0.3em 0; }
.meta { color: #333; margin-top: 0; }
.verdict { border: 4px solid; border-radius: 10px; padding: 0.8em 1em; margin: 1em 0; }
.verdict .word { font-size: 1.5em; font-weight: bold; }
.check { border: 2px solid #999; border-left-width: 12px; border-radius: 8px; padding: 0.7em 1em;
         margin: 1em 0; page-break-inside: avoid; }
.status { font-weight: bold; }
.pass { border-color: #1b7f3b; } .warn { border-color: #b36b00; }
.fail { border-color: #b3261e; } .skipped { border-color: #777; }
.label { font-weight: bold; }
table { border-collapse: collapse; margin-top: 0.5em; font-size: 0.85em; }
th, td { text-align: left; padding: 0.2em 0.8em 0.2em 0; border-bottom: 1px solid #ccc; }
th { font-weight: normal; color: #333; }
footer { margin-top: 2em; font-size: 0.8em; color: #333; }
@media print { body { margin: 0; max-width: none; font-size: 14pt; } }
"""


def render_report_html(report: EquipmentReport) -> str:
    data = report.to_json()
    verdict = Verdict(data["verdict"])
    verdict_word, verdict_text = VERDICT_WORDS[verdict]
    verdict_class = {"ready": "pass", "ready_with_warnings": "warn", "not_ready": "fail"}[
        verdict.value
    ]
    deciding = [check_title(n) for n in data["deciding_checks"]]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Tandem equipment check</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>Tandem equipment check</h1>",
        f'<p class="meta">{_e(_when(data["created_at"]))} &middot; '
        f"Tandem version {_e(data['app_version'])}</p>",
    ]
    if report.couple_label:
        parts.append(
            f'<p class="meta"><span class="label">For:</span> {_e(report.couple_label)}</p>'
        )
    if report.practice_mode:
        parts.append(f'<p class="meta"><strong>{_e(practice_note(report))}</strong></p>')
    parts.append("</header>")
    parts.append(f'<section class="verdict {verdict_class}">')
    parts.append(f'<div class="word">{_e(verdict_word)}</div>')
    parts.append(f"<p>{_e(verdict_text)}</p>")
    if deciding:
        parts.append(f'<p><span class="label">Look first at:</span> {_e(", ".join(deciding))}</p>')
    parts.append("</section>")
    if report.note:
        parts.append(f'<p><span class="label">Note:</span> {_e(report.note)}</p>')
    for name in CHECK_NAMES:
        parts.extend(_check_section(name, data["checks"][name]))
    parts.append("<footer>")
    server = data["server"] or (None if report.server is None else "the clinic's server")
    parts.append(f"<p>Measured against: {_e(_server_words(server))}. ")
    parts.append(f"The check took {data['duration_s']:.1f} seconds.</p>")
    parts.append(
        "<p>This page lists only what was measured on this computer. It holds no names or "
        "contact details unless you typed them in.</p>"
    )
    parts.append("</footer>")
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def practice_note(report: EquipmentReport) -> str:
    """What a practice report must say about the internet, by what was (not) measured."""
    if report.server == PUBLIC_SERVER:
        return PRACTICE_PUBLIC_NOTE
    if report.result("bandwidth") is not None:
        return PRACTICE_LOCAL_NOTE
    return PRACTICE_REPORT_NOTE


def _check_section(name: str, entry: dict[str, object]) -> list[str]:
    status = str(entry["status"])
    word, symbol, css = STATUS_DISPLAY.get(status, (status, "?", "skipped"))
    title = check_title(name)
    out = [
        f'<section class="check {css}">',
        f'<h2>{_e(title)}: <span class="status">{_e(symbol)} {_e(word)}</span></h2>',
    ]
    reason = str(entry.get("reason") or "")
    fix = str(entry.get("fix") or "")
    if reason:
        out.append(f'<p><span class="label">What we found:</span> {_e(reason)}</p>')
    if fix:
        out.append(f'<p><span class="label">What to do:</span> {_e(fix)}</p>')
    metrics = entry.get("metrics")
    if isinstance(metrics, dict) and metrics:
        out.append(f'<table aria-label="{_e(title)} figures">')
        for key, value in metrics.items():
            out.append(
                f"<tr><th>{_e(_metric_label(str(key)))}</th><td>{_e(_figure(value))}</td></tr>"
            )
        out.append("</table>")
    out.append("</section>")
    return out


def _e(text: str) -> str:
    return escape(text, quote=True)


def _when(iso: str) -> str:
    # "2026-11-03T14:05:09Z" -> "2026-11-03 14:05 UTC": unambiguous for any clinic's time zone.
    return iso.replace("T", " ")[:16] + " UTC"


def _server_words(server: str | None) -> str:
    if server is None:
        return "nothing (the internet connection was not measured)"
    if server == PUBLIC_SERVER:
        return "public speed-test servers (speedtest.net)"
    return server


UNITS = {"mbps": "Mbps", "ms": "ms", "fps": "fps", "dbfs": "dBFS", "hz": "Hz", "s": "s", "pct": "%"}


def _metric_label(key: str) -> str:
    words = key.split("_")
    if len(words) > 1 and words[-1].lower() in UNITS:
        unit = UNITS[words[-1].lower()]
        return f"{' '.join(words[:-1]).capitalize()} ({unit})"
    return " ".join(words).capitalize()


def _figure(value: MetricValue | object) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
    return str(value)
