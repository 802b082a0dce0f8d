"""Small QtCharts builders for the dashboard: horizontal mastery bars, a day-by-day bar chart, a trend line."""
from __future__ import annotations

from datetime import date

from PySide6.QtCharts import (QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView,
                              QHorizontalStackedBarSeries, QLineSeries, QScatterSeries, QValueAxis)
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from app.ui import theme

MIN_BAR = 1.5  # percent
BANDS = (("70% and above", 70, 101, "good"), ("40-69%", 40, 70, "warn"), ("below 40%", 0, 40, "bad"))


def chart_view(title: str) -> QChartView:
    view = QChartView(_chart(title))
    view.setRenderHint(QPainter.Antialiasing)
    view.setMinimumHeight(170)
    return view


def _chart(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    chart.legend().hide()
    chart.setMargins(QMargins(4, 4, 4, 4))
    return chart


def fresh(view: QChartView) -> QChart:
    """A new chart in the view for each redraw: axes removed from a chart left their labels drawn over the next
    one (ghost ticks at the top left after a few refreshes)."""
    old = view.chart()
    chart = _chart(old.title())
    view.setChart(chart)
    old.deleteLater()
    return chart


def reset(chart: QChart) -> None:
    """Take the theme's colours (a chart does not follow the palette by itself)."""
    chart.setBackgroundBrush(QBrush(QColor(theme.colour("base"))))
    chart.setTitleBrush(QBrush(QColor(theme.colour("text"))))
    chart.legend().setLabelColor(QColor(theme.colour("text")))


def _style_axis(axis) -> None:
    axis.setLabelsColor(QColor(theme.colour("muted")))
    axis.setTitleBrush(QBrush(QColor(theme.colour("muted"))))
    axis.setLinePenColor(QColor(theme.colour("rule")))
    axis.setGridLineColor(QColor(theme.colour("rule")))


def _attach(chart: QChart, series, horizontal, vertical) -> None:
    for axis in (horizontal, vertical):
        _style_axis(axis)
    chart.addAxis(horizontal, Qt.AlignBottom)
    chart.addAxis(vertical, Qt.AlignLeft)
    series.attachAxis(horizontal)
    series.attachAxis(vertical)


def mastery_bars(chart: QChart, rows: list[tuple[str, float]]) -> None:
    """One horizontal bar per (label, percent), coloured by band, weakest at the bottom."""
    reset(chart)
    series = QHorizontalStackedBarSeries()
    for name, low, high, colour in BANDS:
        bar_set = QBarSet(name)
        bar_set.setColor(QColor(theme.colour(colour)))
        bar_set.setBorderColor(QColor(theme.colour(colour)))
        # a topic at 0% still gets a sliver in its colour: an empty row would read as "no data", not "failing"
        bar_set.append([max(value, MIN_BAR) if low <= value < high else 0.0 for _, value in rows])
        series.append(bar_set)
    series.setBarWidth(0.7)
    chart.addSeries(series)
    categories = QBarCategoryAxis()
    categories.append([label for label, _ in rows])
    categories.setTruncateLabels(False)
    values = QValueAxis()
    values.setRange(0, 100)
    values.setLabelFormat("%d")
    _attach(chart, series, values, categories)
    chart.legend().show()
    chart.legend().setAlignment(Qt.AlignBottom)


def day_bars(chart: QChart, days: list[tuple[date, int]], label: str) -> None:
    reset(chart)
    bar_set = QBarSet(label)
    bar_set.setColor(QColor(theme.colour("accent")))
    bar_set.setBorderColor(QColor(theme.colour("accent")))
    bar_set.append([float(n) for _, n in days])
    series = QBarSeries()
    series.append(bar_set)
    series.setBarWidth(0.8)
    chart.addSeries(series)
    categories = QBarCategoryAxis()
    # day numbers are unique within a fortnight (category labels must be); the months go in the axis title
    categories.append([str(d.day) for d, _ in days])
    if days:
        categories.setTitleText(f"{days[0][0]:%d %b} - {days[-1][0]:%d %b}")
    _attach(chart, series, categories, count_axis(max([1, *[n for _, n in days]])))


def count_axis(largest: int) -> QValueAxis:
    """A 0..largest axis whose ticks are whole numbers (nice numbers put a tick at 0.5 and printed "0, 0, 1, 1, 2")."""
    step = next(s for s in (m * 10 ** e for e in range(12) for m in (1, 2, 5)) if largest / s <= 6)
    axis = QValueAxis()
    axis.setRange(0, step * -(-largest // step))
    axis.setTickType(QValueAxis.TicksDynamic)
    axis.setTickAnchor(0)
    axis.setTickInterval(step)
    axis.setLabelFormat("%d")
    return axis


def trend_line(chart: QChart, points: list[tuple[float, float]]) -> None:
    """Each answer's score as a dot, and the running mean as a line through them."""
    reset(chart)
    dots = QScatterSeries()
    dots.setName("score")
    dots.setMarkerSize(9)
    dots.setColor(QColor(theme.colour("accent")))
    dots.setBorderColor(QColor(theme.colour("accent")))
    mean = QLineSeries()
    mean.setName("mean of the last 5")
    mean.setPen(QPen(QColor(theme.colour("warn")), 2))
    for n, (score, average) in enumerate(points, start=1):
        dots.append(float(n), score)
        mean.append(float(n), average)
    chart.addSeries(mean)
    chart.addSeries(dots)
    answers = QValueAxis()
    answers.setRange(0.5, max(len(points), 2) + 0.5)
    answers.setTickType(QValueAxis.TicksDynamic)
    answers.setTickAnchor(1)
    answers.setTickInterval(max(1, len(points) // 6))
    answers.setLabelFormat("%d")
    answers.setTitleText(f"your last {len(points)} graded answers")
    scores = QValueAxis()
    scores.setRange(0, 100)
    scores.setLabelFormat("%d")
    _attach(chart, mean, answers, scores)
    dots.attachAxis(answers)
    dots.attachAxis(scores)
    chart.legend().show()
    chart.legend().setAlignment(Qt.AlignBottom)

