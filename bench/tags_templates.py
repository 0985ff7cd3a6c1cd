"""Per-device CPU cost of tag matching and template rendering (the delivery hot path).

Run: .venv/bin/python bench/tags_templates.py [iterations]
Prints calls per second and microseconds per call, the best of 5 rounds.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.tags import evaluate, first_matching_conjunction, parse, to_dnf
from shared.templates import Properties, TemplateFormat, compile_template

EXPRESSION = "(follows_RedSox || follows_Cardinals) && location_Boston && !muted"
DEVICE_TAGS = frozenset(
    {
        "$InstallationId:{2f1c7a8e-5d4b-4c1e-9a7f-0b6e3d2c1a90}",
        "$UserId:{user-48213}",
        "follows_Cardinals",
        "follows_Yankees",
        "location_Boston",
        "lang_en",
        "app_v4.2",
        "tier_gold",
        "os_ios17",
        "beta",
    }
)
APNS = (
    '{"aps": {"alert": {"title": ".(title, 40)", "body": "{$(team) + \' - \' + $(message)}"},'
    ' "badge": "#(badge)", "sound": "default"}, "url": "https://example.test/g?id=%(game)"}'
)
WNS = (
    '<toast launch="game=$(game)"><visual><binding template="ToastText02">'
    '<text id="1">$(title)</text><text id="2">$(message)</text>'
    "</binding></visual></toast>"
)
ROUNDS = 5
PROPERTIES = {
    "title": "Cardinals beat the Red Sox in a ninth-inning comeback at Fenway",
    "team": "Cardinals",
    "message": 'Final: 5-4 "walk-off" <double> & a stolen base',
    "badge": "3",
    "game": "2026/10/24 BOS@STL",
}


def _rate(label: str, action: Callable[[], object], iterations: int) -> None:
    # Best of several rounds: other processes on a shared machine only ever slow a round down.
    best = min(timeit.repeat(action, number=iterations // ROUNDS, repeat=ROUNDS))
    per_call = best / (iterations // ROUNDS)
    print(f"{label:<52} {1 / per_call:>12,.0f} /s  {per_call * 1e6:6.2f} us")


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    expr = parse(EXPRESSION)
    dnf = to_dnf(expr)
    apns = compile_template(APNS, TemplateFormat.JSON)
    wns = compile_template(WNS, TemplateFormat.XML)
    props = Properties(PROPERTIES)
    print(f"expression: {EXPRESSION}  ({len(dnf)} conjunctions, {len(DEVICE_TAGS)} device tags)")
    _rate("evaluate(expr, tags)", lambda: evaluate(expr, DEVICE_TAGS), iterations)
    _rate(
        "first_matching_conjunction(dnf, tags)",
        lambda: first_matching_conjunction(dnf, DEVICE_TAGS),
        iterations,
    )
    _rate(
        "render APNs JSON (Properties built once per send)", lambda: apns.render(props), iterations
    )
    _rate("render WNS XML (Properties built once per send)", lambda: wns.render(props), iterations)
    _rate(
        "render APNs JSON (plain dict, names folded per call)",
        lambda: apns.render(PROPERTIES),
        iterations,
    )
    _rate(
        "compile_template APNs JSON (cache hit)",
        lambda: compile_template(APNS, TemplateFormat.JSON),
        iterations,
    )


if __name__ == "__main__":
    main()
