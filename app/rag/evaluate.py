"""Retrieval evaluation: recall@1, recall@5, MRR and latency for BM25, dense and hybrid search."""
from __future__ import annotations

import time
from pathlib import Path

from app.core.jsonl import jsonl_rows
from app.core.metrics import percentile

METHODS = ("bm25", "dense", "hybrid")


def read_queries(paths: list[Path]) -> list[dict]:
    rows, problems = [], []
    for path in paths:
        for number, row, error in jsonl_rows(path):
            if error:
                problems.append(f"{path}:{number}: {error}")
                continue
            if not row.get("query") or not row.get("relevant"):
                problems.append(f"{path}:{number}: needs 'query' and a non-empty 'relevant' list")
                continue
            rows.append(row)
    if problems:
        raise ValueError("\n".join(problems))
    return rows


def evaluate(retriever, queries: list[dict], methods=METHODS) -> dict:
    """recall@k here is the share of queries with at least one relevant section in the top k."""
    report = {}
    for method in methods:
        if method != "bm25" and not retriever.dense:
            continue
        ranks, latencies = [], []
        for row in queries:
            started = time.perf_counter()
            hits = retriever.search(row["query"], 10, method=method, gate=False)
            latencies.append((time.perf_counter() - started) * 1000)
            ids = [h.section_id for h in hits]
            relevant = set(row["relevant"])
            ranks.append(next((i + 1 for i, sid in enumerate(ids) if sid in relevant), None))
        n = len(queries)
        report[method] = {
            "queries": n,
            "recall_at_1": round(sum(1 for r in ranks if r == 1) / n, 4),
            "recall_at_5": round(sum(1 for r in ranks if r and r <= 5) / n, 4),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
            "latency_p50_ms": round(percentile(latencies, 50), 2),
            "latency_p95_ms": round(percentile(latencies, 95), 2),
        }
    return report


def format_report(report: dict, blind: dict | None = None) -> str:
    lines = [f"{'method':8} {'queries':>7} {'R@1':>6} {'R@5':>6} {'MRR':>6} {'p50 ms':>7} {'p95 ms':>7}"]
    for method, row in report.items():
        lines.append(f"{method:8} {row['queries']:7d} {row['recall_at_1']:6.3f} {row['recall_at_5']:6.3f} "
                     f"{row['mrr']:6.3f} {row['latency_p50_ms']:7.2f} {row['latency_p95_ms']:7.2f}")
    return "\n".join(lines)
