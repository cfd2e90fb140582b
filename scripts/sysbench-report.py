#!/usr/bin/env python3
"""The report of scripts/sysbench.sh: multipliers p50(kalam) / p50(postgres) per test at
one thread with Dolt's means, and throughput per thread count; as report.json, a
self-contained report.html with the chart, and markdown tables on standard output.

    python3 scripts/sysbench-report.py results.jsonl OUT_DIR [--time S] [--table-size N]
                                       [--postgres VERSION] [--cpu MODEL]
"""
import argparse
import datetime
import html
import json
import os
from statistics import mean

READS = {"oltp_point_select", "oltp_read_only", "select_random_points", "select_random_ranges"}
# Dolt's published figures against MySQL, for reference (Dolt 1.59.20).
DOLT = {"reads_mean": 1.24, "writes_mean": 0.91}


def group(test):
    return "reads" if test in READS else "writes"


def summarize(runs):
    """Multipliers at one thread, per ps-mode, and throughput per thread count."""
    by = {(r["side"], r["test"], r["threads"], r["ps_mode"]): r for r in runs}
    modes = sorted({r["ps_mode"] for r in runs})
    tests = list(dict.fromkeys(r["test"] for r in runs))
    threads = sorted({r["threads"] for r in runs})
    summary = {}
    for mode in modes:
        rows = []
        for test in tests:
            k, p = by.get(("kalam", test, 1, mode)), by.get(("postgres", test, 1, mode))
            if not k or not p:
                continue
            if k["p50_ms"] and p["p50_ms"]:
                multiplier, by_what = k["p50_ms"] / p["p50_ms"], "p50"
            elif k["tps"] and p["tps"]:
                # Events too short for a median in milliseconds (bulk_insert's rows):
                # the ratio of throughputs instead.
                multiplier, by_what = p["tps"] / k["tps"], "throughput"
            else:
                continue
            rows.append({
                "test": test, "group": group(test),
                "kalam_p50_ms": k["p50_ms"], "postgres_p50_ms": p["p50_ms"],
                "kalam_tps": k["tps"], "postgres_tps": p["tps"],
                "multiplier": multiplier, "by": by_what,
            })
        means = {}
        for name, keep in (("reads_mean", "reads"), ("writes_mean", "writes"), ("read_write_mean", None)):
            values = [r["multiplier"] for r in rows if keep is None or r["group"] == keep]
            means[name] = mean(values) if values else None
        scaling = []
        for test in tests:
            line = {"test": test}
            for side in ("kalam", "postgres"):
                line[side] = {str(n): by[(side, test, n, mode)]["tps"]
                              for n in threads if (side, test, n, mode) in by}
            scaling.append(line)
        summary[mode] = {"tests": rows, "summary": means, "throughput": scaling}
    return summary, threads


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def markdown(summary, threads):
    out = []
    for mode, s in summary.items():
        out.append(f"### --db-ps-mode={mode}, one thread\n")
        out.append("| test | group | kalam p50 ms | postgres p50 ms | kalam tps | postgres tps | multiplier |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in s["tests"]:
            mark = "" if r["by"] == "p50" else " (by throughput)"
            out.append(f"| {r['test']} | {r['group']} | {r['kalam_p50_ms']:.2f} | {r['postgres_p50_ms']:.2f} "
                       f"| {r['kalam_tps']:.0f} | {r['postgres_tps']:.0f} | **{r['multiplier']:.2f}**{mark} |")
        m = s["summary"]
        out.append("")
        out.append(f"reads_mean **{fmt(m['reads_mean'])}**, writes_mean **{fmt(m['writes_mean'])}**, "
                   f"read_write_mean **{fmt(m['read_write_mean'])}** (Dolt 1.59.20 against MySQL: "
                   f"reads {DOLT['reads_mean']}, writes {DOLT['writes_mean']}).\n")
        out.append(f"Throughput (transactions per second) by threads, --db-ps-mode={mode}:\n")
        head = " | ".join(f"kalam {n}" for n in threads) + " | " + " | ".join(f"postgres {n}" for n in threads)
        out.append(f"| test | {head} |")
        out.append("| --- |" + " ---: |" * (2 * len(threads)))
        for line in s["throughput"]:
            cells = [fmt(line[side].get(str(n)), 0) for side in ("kalam", "postgres") for n in threads]
            out.append(f"| {line['test']} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def chart(rows):
    """Bars of the multipliers, a line at 1.00."""
    if not rows:
        return ""
    width, bar, gap, left = 720, 18, 6, 190
    top = max(2.0, max(r["multiplier"] for r in rows) * 1.1)
    height = len(rows) * (bar + gap) + 40
    scale = (width - left - 20) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">']
    for i, r in enumerate(rows):
        y = 10 + i * (bar + gap)
        w = r["multiplier"] * scale
        color = "#4a7" if r["multiplier"] <= 1 else "#c54"
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{html.escape(r["test"])}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{color}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 13}">{r["multiplier"]:.2f}</text>')
    x = left + scale
    parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}" stroke="#333" stroke-dasharray="4"/>')
    parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">1.00 = as fast as PostgreSQL</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("out")
    parser.add_argument("--time", type=float)
    parser.add_argument("--table-size", type=int)
    parser.add_argument("--postgres")
    parser.add_argument("--cpu")
    args = parser.parse_args()
    runs = [json.loads(line) for line in open(args.results) if line.strip()]
    summary, threads = summarize(runs)
    report = {
        "date": datetime.date.today().isoformat(),
        "cpu": args.cpu, "postgres": args.postgres, "time_s": args.time,
        "table_size": args.table_size, "threads": threads, "modes": summary,
        "dolt_reference": DOLT, "runs": runs,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    tables = markdown(summary, threads)
    first = next(iter(summary.values()), {"tests": []})
    body = (f"<h1>sysbench: kalam serve against PostgreSQL {html.escape(str(args.postgres))}</h1>"
            f"<p>{html.escape(str(args.cpu))}; {args.table_size} rows, {args.time} s per run, "
            f"{report['date']}. Multiplier = p50(kalam) / p50(postgres); below 1.00 kalam is faster.</p>"
            f"{chart(first['tests'])}<pre>{html.escape(tables)}</pre>")
    with open(os.path.join(args.out, "report.html"), "w") as f:
        f.write(f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
                f"<title>sysbench: kalam and PostgreSQL</title></head><body>{body}</body></html>\n")
    print(tables)


if __name__ == "__main__":
    main()
