"""A product's price per store over time as an SVG chart (pygal), from plain history rows.

pygal draws on the server: the admin page embeds the SVG as it is, so it needs no JavaScript, no static
files and nothing fetched by the browser, and the tests can read the chart's text. Prices are steps: a
price holds from its row's date until the next row (prices/in_force.py), so each change draws a vertical
step at its date, and the last price is drawn on to the store's last scrape. An end row (delisted) breaks
the line until the product returns. Specials are a series of their own: a marked dot at each change that
put the price on special.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pygal
from pygal.style import Style

# More lines than this can't be told apart; the table below the chart lists every store's rows.
CHART_STORES = 12

SPECIAL_SERIES = "on special"

# One colour per store line, then the specials' red (the admin's error red, so they read as "look here").
_STORE_COLOURS = ("#417690", "#c2700a", "#5b8c3a", "#7d4e9e", "#2a9d8f", "#8d6e63", "#3f51b5", "#9e9d24",
                  "#00838f", "#6d4c41", "#5c6bc0", "#546e7a")
_SPECIAL_COLOUR = "#ba2121"


def _style(stores: int) -> Style:
    # pygal colours series in the order they are added: the stores' lines, then the specials.
    return Style(background="white", plot_background="white", font_family="sans-serif",
                 colors=(*_STORE_COLOURS[:stores], _SPECIAL_COLOUR), label_font_size=12,
                 major_label_font_size=12, legend_font_size=13, title_font_size=15)


@dataclass(frozen=True)
class Change:
    """One history row as the chart and the table read it."""
    store: str  # the store as people read it: "Aldi Testville (G1)"
    date: date
    price: Decimal | None  # None: delisted from this date
    was_price: Decimal | None
    is_on_special: bool


def store_steps(changes: list[Change], until: date) -> list[tuple[date, float | None]]:
    """One store's changes (oldest first) as the points of a step line drawn up to ``until``."""
    return [point for point, _ in _steps(changes, until)]


def _steps(changes: list[Change], until: date):
    """(point, whether it is a change) pairs: the points that only draw the steps get no dot."""
    previous: float | None = None
    for change in changes:
        price = None if change.price is None else float(change.price)
        if previous is not None:
            yield (change.date, previous), False  # the old price held up to this date
        yield (change.date, price), price is not None  # None: delisted, the line breaks here
        previous = price
    if previous is not None and changes and until > changes[-1].date:
        yield (until, previous), False


def by_store(changes: list[Change]) -> dict[str, list[Change]]:
    """The changes grouped by store, each oldest first, stores in their name's order."""
    grouped: dict[str, list[Change]] = {}
    for change in sorted(changes, key=lambda c: (c.store.casefold(), c.date)):
        grouped.setdefault(change.store, []).append(change)
    return grouped


def date_labels(days: set[date], most: int = 10) -> list[date]:
    """The dates written under the chart: the days with a change, thinned evenly to at most ``most``
    (pygal's own ticks for dates fall between days and repeat a day's label)."""
    ordered = sorted(days)
    if len(ordered) <= most:
        return ordered
    step = (len(ordered) - 1) / (most - 1)
    return sorted({ordered[round(i * step)] for i in range(most)})


def price_chart_svg(changes: list[Change], drawn_until: dict[str, date] | None = None) -> str:
    """The SVG (markup, no XML declaration) of the first CHART_STORES stores' prices, specials marked.

    Each store's line goes on to its ``drawn_until`` date (its last scrape), else to the newest change.
    """
    grouped = by_store(changes)
    newest = max(change.date for change in changes)
    drawn_until = drawn_until or {}
    shown = list(grouped.items())[:CHART_STORES]
    chart = pygal.DateLine(
        # js=[]: pygal's tooltips script would be fetched from the web; the chart reads without it.
        style=_style(len(shown)), width=1000, height=360, explicit_size=True, js=[],
        allow_interruptions=True, dots_size=3, stroke_style={"width": 2}, truncate_legend=40,
        legend_at_bottom=True, legend_at_bottom_columns=3, x_label_rotation=0,
        value_formatter=lambda value: f"${value:,.2f}", x_value_formatter=lambda day: day.isoformat(),
        x_labels=date_labels({change.date for change in changes}), y_title="price", print_values=False,
        no_data_text="no price history yet")
    specials = []
    for store, rows in shown:
        until = max(drawn_until.get(store) or newest, newest)
        # A dot at each change (a price seen for one day only is a dot, not an empty chart).
        chart.add(store, [{"value": point, "node": {"r": 3 if is_change else 0}}
                          for point, is_change in _steps(rows, until)])
        specials.extend({"value": (row.date, float(row.price)), "label": f"{store}: on special"}
                        for row in rows if row.is_on_special and row.price is not None)
    if specials:
        chart.add(SPECIAL_SERIES, specials, stroke=False, show_dots=True, dots_size=5)
    return chart.render(is_unicode=True, disable_xml_declaration=True)
