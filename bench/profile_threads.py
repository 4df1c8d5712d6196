"""Sum py-spy's raw stacks per thread: where each thread of `tocsin serve` spends its samples.

    python bench/profile_threads.py FILE.raw [--top 15] [--match TEXT ...]

FILE.raw is what `py-spy record -f raw --threads` writes (`bench/api_ingest.py --profile DIR`
records one per batch phase, with FILE.cpu.json beside it: each thread's CPU seconds in the
phase, from /proc, printed with its samples, since py-spy counts a thread that sleeps in a call
it does not know as a wait as busy). For each thread, busiest first: its samples and share of
all, the functions it spent most of them in (inclusive: a function counted once per stack that
holds it) and the lines it spent them on (self). With `--match`, the share of each thread's
samples whose stack holds TEXT (a function or file name). Threads are named by py-spy's name
and the first function below the threading machinery.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

LINE = re.compile(r"^thread \((\w+)\): (.*) (\d+)$")


def thread_name(frames: list[str]) -> str:
    """A thread's name: py-spy's, and the function it runs below the threading machinery."""
    name = frames[0] if frames else "?"
    skip = ("_bootstrap", "_bootstrap_inner", "Thread.run", "run (")
    body = [f.split(" (")[0] for f in frames[1:] if not f.startswith(skip)]
    return f"{name} {body[0]}" if body and name != "MainThread" else name


def main() -> None:
    """Print the per-thread summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--match", action="append", default=[])
    args = parser.parse_args()
    samples: Counter[str] = Counter()
    names: dict[str, str] = {}
    inclusive: dict[str, Counter[str]] = defaultdict(Counter)
    own: dict[str, Counter[str]] = defaultdict(Counter)
    matched: dict[str, Counter[str]] = defaultdict(Counter)
    for line in args.raw.read_text().splitlines():
        found = LINE.match(line)
        if found is None:
            continue
        tid, stack, count = found.group(1), found.group(2), int(found.group(3))
        frames = stack.split(";")
        samples[tid] += count
        names.setdefault(tid, thread_name(frames))
        for fn in {f.split(" (")[0] for f in frames[1:]}:
            inclusive[tid][fn] += count
        own[tid][frames[-1]] += count
        for text in args.match:
            if text in stack:
                matched[tid][text] += count
    total = sum(samples.values()) or 1
    cpu_file = args.raw.with_suffix(".cpu.json")
    cpu: dict[int, float] = {}
    if cpu_file.exists():
        cpu = {int(k): v for k, v in json.loads(cpu_file.read_text()).items()}
    print(f"{total} samples in {len(samples)} threads; CPU {sum(cpu.values()):.2f} s in all")
    for tid, n in samples.most_common():
        used = f", CPU {cpu[int(tid)]:.2f} s" if int(tid) in cpu else ""
        share = f"{100 * n / total:.1f} % of all{used}"
        print(f"\n== {names[tid]} (thread {tid}): {n} samples, {share}")
        for text in args.match:
            print(f"   holding {text!r}: {100 * matched[tid][text] / n:.1f} %")
        print("   inclusive:")
        for fn, c in inclusive[tid].most_common(args.top):
            print(f"     {100 * c / n:5.1f} %  {fn}")
        print("   self:")
        for fn, c in own[tid].most_common(args.top):
            print(f"     {100 * c / n:5.1f} %  {fn}")


if __name__ == "__main__":
    main()
