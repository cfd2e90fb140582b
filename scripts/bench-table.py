#!/usr/bin/env python3
"""Renders `kalam bench`'s report.json (and ladder.json, if given) as the README's
markdown tables.

    python3 scripts/bench-table.py kalam-bench-report/report.json [ladder.json]
"""
import json
import sys


def fmt(x):
    return "-" if x is None else f"{x:.2f}"


def report(path):
    r = json.load(open(path))
    print("| test | group | kalam p50 µs | sqlite p50 µs | kalam p99 µs | sqlite p99 µs "
          "| kalam ops/s | sqlite ops/s | multiplier |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for t in r["tests"]:
        k, s = t["kalam"], t["sqlite"]
        print(f"| {t['name']} | {t['group']} | {k['p50_us']:.1f} | {s['p50_us']:.1f} "
              f"| {k['p99_us']:.1f} | {s['p99_us']:.1f} | {k['ops_per_sec']:.0f} "
              f"| {s['ops_per_sec']:.0f} | **{t['multiplier']:.2f}** |")
    m = r["summary"]
    mem = r.get("peak_memory_bytes")
    print()
    print(f"reads_mean **{fmt(m['reads_mean'])}**, writes_mean **{fmt(m['writes_mean'])}**, "
          f"read_write_mean **{fmt(m['read_write_mean'])}**"
          + (f"; peak memory {mem / 2**20:.0f} MiB" if mem else "")
          + f" ({r['rows']} rows, {r['date']}).")


def ladder(path):
    rungs = json.load(open(path))
    print("| step | reads_mean | writes_mean | read_write_mean | change |")
    print("| --- | ---: | ---: | ---: | ---: |")
    previous = None
    for rung in rungs:
        m = rung["summary"]
        now = m["read_write_mean"]
        change = "-" if previous is None or now is None else f"{(now / previous - 1) * 100:+.0f}%"
        print(f"| {rung['step'].strip()} | {fmt(m['reads_mean'])} | {fmt(m['writes_mean'])} "
              f"| {fmt(now)} | {change} |")
        previous = now


if __name__ == "__main__":
    report(sys.argv[1])
    if len(sys.argv) > 2:
        print()
        ladder(sys.argv[2])
