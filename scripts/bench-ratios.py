#!/usr/bin/env python3
"""Prints the ratios of the last criterion run, each against its baseline in the same group.

Reads target/criterion/<group>/<bench>/new/estimates.json (the estimate criterion prints:
the slope of its linear sampling, else the mean) and writes a Markdown table:
ratio = bench / baseline, 1.00 = equal, below 1.00 = faster.
"""
import json
import os
import sys

# group -> (baseline, [compared benches]); a bench may be compared to several baselines.
PAIRS = {
    "accessors": [("plain", ["hot", "inline_by_hand"])],
    "gate_off": [
        ("without_call", ["opt_in_off", "compiled_out", "tracing_disabled", "log_disabled"]),
        ("tracing_disabled", ["opt_in_off"]),
        ("log_disabled", ["opt_in_off"]),
    ],
    "gate_on": [("plain_call", ["opt_in_on"])],
    "key": [("by_hand", ["generated"])],
    "row_encode": [("by_hand", ["generated"]), ("serde_bincode", ["generated"])],
    "row_decode": [("by_hand", ["generated"]), ("serde_bincode", ["generated"])],
    "to_record_batch": [("by_hand", ["generated"])],
    "from_record_batch": [("by_hand", ["generated"])],
}


def estimate_ns(root, group, bench):
    path = os.path.join(root, group, bench, "new", "estimates.json")
    try:
        with open(path) as f:
            estimates = json.load(f)
    except FileNotFoundError:
        return None
    best = estimates.get("slope") or estimates["mean"]
    return best["point_estimate"]


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    root = os.path.join(target, "criterion")
    groups = sys.argv[1:] or list(PAIRS)
    print("| group | bench | vs | time (ns) | baseline (ns) | ratio |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for group in groups:
        for baseline, benches in PAIRS.get(group, []):
            base = estimate_ns(root, group, baseline)
            for bench in benches:
                value = estimate_ns(root, group, bench)
                if base is None or value is None:
                    continue
                print(f"| {group} | {bench} | {baseline} | {value:.1f} | {base:.1f} | {value / base:.2f} |")


if __name__ == "__main__":
    main()
