"""Small QtCharts builders for the dashboard: horizontal mastery bars, a day-by-day bar chart, a trend line."""
from __future__ import annotations

from datetime import date, datetime, time as day_time

from PySide6.QtCharts import (QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QDateTimeAxis,
                              QHorizontalStackedBarSeries, QLineSeries, QValueAxis)
from PySide6.QtCore import QDateTime, QMargins, Qt
from PySide6.QtGui import QColor, QPainter

from app.ui.grade_view import COLOURS

BAR_COLOUR = "#4a78c2"
MIN_BAR = 1.5  # percent
BANDS = (("70% and above", 70, 101, COLOURS["correct"]), ("40-69%", 40, 70, COLOURS["partial"]),
         ("below 40%", 0, 40, COLOURS["incorrect"]))


def chart_view(title: str) -> QChartView:
    chart = QChart()
    chart.setTitle(title)
    chart.legend().hide()
    chart.setMargins(QMargins(4, 4, 4, 4))
    view = QChartView(chart)
    view.setRenderHint(QPainter.Antialiasing)
    view.setMinimumHeight(220)
    return view


def reset(chart: QChart) -> None:
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)


def _attach(chart: QChart, series, horizontal, vertical) -> None:
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
        bar_set.setColor(QColor(colour))
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
    bar_set.setColor(QColor(BAR_COLOUR))
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


def trend_line(chart: QChart, points: list[tuple[date, float]]) -> None:
    reset(chart)
    series = QLineSeries()
    series.setColor(QColor(BAR_COLOUR))
    series.setPointsVisible(True)
    for day, value in points:
        series.append(float(_ms(day)), value)
    chart.addSeries(series)
    axis = QDateTimeAxis()
    axis.setFormat("dd MMM")
    first, last = points[0][0], points[-1][0]
    axis.setRange(QDateTime.fromMSecsSinceEpoch(_ms(first) - 43_200_000),
                  QDateTime.fromMSecsSinceEpoch(_ms(last) + 43_200_000))
    axis.setTickCount(min(max(len(points), 2), 8))
    scores = QValueAxis()
    scores.setRange(0, 100)
    scores.setLabelFormat("%d")
    _attach(chart, series, axis, scores)


def _ms(day: date) -> int:
    return int(datetime.combine(day, day_time(12)).timestamp() * 1000)
