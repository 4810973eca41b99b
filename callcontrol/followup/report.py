"""The day's one-page report (HTML, printable, no external resource): key figures per hotline and a chart of the
calls and the service level per hour (inline SVG drawn here), worded for a town's management."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from callcontrol.followup.counting import ALL
from callcontrol.followup.stats import Figures, percent, seconds

OPEN_HOURS = range(7, 20)  # the chart's hours at least (more when calls came earlier or later)


@dataclass(frozen=True)
class DayReport:
    town: str
    day: str  # ISO date
    levels: Sequence[int]
    total: Figures
    by_hour: Mapping[int, Figures]  # every citizen call, per hour
    hotlines: Mapping[str, Figures]  # per hotline, the day


def render(report: DayReport) -> str:
    """The whole HTML page."""
    level = max(report.levels) if report.levels else 30
    t = report.total
    lead = (
        f"{t.calls} appels reçus, dont {t.offered} vers un service ; "
        f"{t.handled} pris en charge par un agent (décrochés ou rappelés) sur {t.needing_agent} qui en avaient besoin."
    )
    cards = [
        ("Taux de décroché", percent(t.pickup_rate), "appels pris en charge / appels ayant besoin d'un agent"),
        (f"Répondus en {level} s", percent(t.service_level(level)), "part des appels ayant besoin d'un agent, "
         f"décrochés en moins de {level} secondes"),
        ("Attente moyenne", seconds(t.avg_wait), f"la plus longue : {seconds(t.max_wait)}"),
        ("Abandons", str(t.abandoned), f"l'usager a raccroché en attente ({t.short_abandoned} très courts non "
         "comptés)"),
        ("Messages laissés", str(t.voicemail), "à traiter dans les tickets de suivi"),
        ("Rappels", f"{t.callbacks_done} / {t.callbacks_requested}", f"faits / demandés ; {t.callbacks_on_time} à "
         "temps"),
    ]
    card_html = "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
        f'<div class="n">{escape(n)}</div></div>' for k, v, n in cards
    )
    rows = "".join(_row(name, f, level) for name, f in sorted(report.hotlines.items()) if name != ALL)
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Accueil téléphonique — {escape(report.day)}</title>
<style>
@page {{ size: A4; margin: 12mm; }}
body {{ font-family: system-ui, sans-serif; color: #222; max-width: 190mm; margin: 0 auto; font-size: 11pt; }}
h1 {{ font-size: 16pt; margin: 0 0 2mm; }} h2 {{ font-size: 12pt; margin: 5mm 0 2mm; }}
.lead {{ margin: 0 0 4mm; }}
.cards {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 3mm; }}
.card {{ border: 1px solid #ccc; border-radius: 2mm; padding: 2mm 3mm; }}
.k {{ font-size: 9pt; color: #555; }} .v {{ font-size: 18pt; font-weight: 600; }} .n {{ font-size: 8pt; color: #666; }}
table {{ border-collapse: collapse; width: 100%; font-size: 8.5pt; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 1mm 1mm; text-align: right; }}
th {{ font-weight: 600; vertical-align: bottom; }}
th:first-child, td:first-child {{ text-align: left; }}
.foot {{ font-size: 8pt; color: #666; margin-top: 4mm; }}
</style></head><body>
<h1>{escape(report.town)} — accueil téléphonique du {escape(_french_day(report.day))}</h1>
<p class="lead">{escape(lead)}</p>
<div class="cards">{card_html}</div>
<h2>Appels et qualité de service, heure par heure</h2>
{chart(report.by_hour, level)}
<h2>Par service</h2>
<table><thead><tr><th>Service</th><th>Appels</th><th>Décrochés</th><th>Taux de décroché</th>
<th>En {level} s</th><th>Attente moy.</th><th>Abandons</th><th>Messages</th><th>Rappels faits</th>
<th>Rappelants 7 j</th></tr></thead><tbody>{rows}</tbody></table>
<p class="foot">Taux de décroché (référentiel Services Publics+) : appels pris en charge par un agent (décrochés ou
rappelés) divisés par les appels qui avaient besoin d'un agent ; les appels raccrochés en moins de quelques
secondes (erreurs de numéro) et ceux reçus service fermé n'en ont pas besoin. Rappelants : usagers ayant déjà
appelé le même service dans les 7 jours. Chiffres mis à jour à la fin de chaque appel.</p>
</body></html>
"""


def _row(name: str, f: Figures, level: int) -> str:
    cells = [
        escape(name), str(f.offered), str(f.answered), percent(f.pickup_rate), percent(f.service_level(level)),
        seconds(f.avg_wait), str(f.abandoned), str(f.voicemail), str(f.callbacks_done), str(f.repeat_callers),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def chart(by_hour: Mapping[int, Figures], level: int) -> str:
    """Bars: calls offered (light) and answered (dark) per hour; line: share answered within `level` s."""
    hours = sorted(set(OPEN_HOURS) | {h for h, f in by_hour.items() if f.calls})
    width, height, left, bottom, top = 680, 230, 40, 30, 15
    plot_w, plot_h = width - left - 45, height - bottom - top
    peak = max([f.calls for f in by_hour.values()] + [1])
    step = plot_w / len(hours)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Appels et qualité de service par heure" '
             'font-family="system-ui, sans-serif" font-size="10">']
    for tick in range(0, peak + 1, max(1, peak // 4)):
        y = top + plot_h - tick / peak * plot_h
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{tick}</text>')
    for pct in (0, 50, 100):
        y = top + plot_h - pct / 100 * plot_h
        parts.append(f'<text x="{left + plot_w + 4}" y="{y + 3:.1f}" fill="#c0392b">{pct} %</text>')
    points = []
    for i, hour in enumerate(hours):
        f = by_hour.get(hour)
        x = left + i * step
        offered, answered = (f.calls, f.answered) if f else (0, 0)
        for value, colour, shift in ((offered, "#a9cce3", 0.12), (answered, "#1f618d", 0.45)):
            h = value / peak * plot_h
            parts.append(f'<rect x="{x + step * shift:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.38:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{hour} h : {value}</title></rect>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom + 13}" text-anchor="middle">{hour} h</text>')
        rate = f.service_level(level) if f else None
        if rate is not None:
            points.append((x + step / 2, top + plot_h - rate * plot_h, round(rate * 100)))
    if points:
        parts.append('<polyline fill="none" stroke="#c0392b" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points) + '"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#c0392b"><title>{p} %</title></circle>'
                  for x, y, p in points]
    legend_y = height - 4
    parts.append(
        f'<rect x="{left}" y="{legend_y - 8}" width="10" height="8" fill="#a9cce3"/>'
        f'<text x="{left + 14}" y="{legend_y}">appels reçus</text>'
        f'<rect x="{left + 100}" y="{legend_y - 8}" width="10" height="8" fill="#1f618d"/>'
        f'<text x="{left + 114}" y="{legend_y}">décrochés</text>'
        f'<line x1="{left + 190}" x2="{left + 206}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="#c0392b" '
        f'stroke-width="2"/><text x="{left + 210}" y="{legend_y}">répondus en {level} s (échelle de droite)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")


def _french_day(day: str) -> str:
    year, month, date = day.split("-")
    return f"{int(date)} {_MONTHS[int(month) - 1]} {year}"
