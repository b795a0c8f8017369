#!/usr/bin/env python3
"""Measures how long `learn-containers watch` takes from a save to its verdict.

Usage (as root, in a clone, after `cargo build`):
  flock /tmp/lc-kernel.lock python3 scripts/watch-latency.py [--chapters 2,3] [--rounds 7]

For each chapter and round: the exercise is put back as shipped in a scratch working copy,
`watch N` starts and prints its first verdict (not passing), then the reference solution
is written over the exercise in one write, the way an editor saves. From the end of that
write, the script timestamps the lines watch prints: its header (the save was noticed:
debounce and file check), `building … ok` (cargo rebuilt the one binary, warm: the crates
it uses were built by the warm-up round), and `Passed ✔` (the verifier ran the program
and judged it). Then `q` on stdin ends the watch. The first round of each chapter is a
warm-up and is not counted. Prints a Markdown table: median, minimum and maximum.

Not a timed test: nothing fails when the machine is slow. Python standard library only.
"""

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "learn-containers")
IDS = {1: "ch01_chroot", 2: "ch02_pid_namespace", 3: "ch03_mount_namespace", 4: "ch04_cgroup_cpu", 5: "ch05_run"}


def reader(stream, q):
    for line in iter(stream.readline, ""):
        q.put((time.monotonic(), line.rstrip("\n")))
    q.put((time.monotonic(), None))


def wait_for(q, text, timeout, log):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemExit(f"watch did not print {text!r} in {timeout} s:\n" + "\n".join(log))
        try:
            t, line = q.get(timeout=left)
        except queue.Empty:
            continue
        if line is None:
            raise SystemExit(f"watch ended before printing {text!r}:\n" + "\n".join(log))
        log.append(line)
        if text in line:
            return t, line


def one_round(n, work, state):
    ident = IDS[n]
    exercise = os.path.join(work, "src", "bin", ident + ".rs")
    shutil.copyfile(os.path.join(ROOT, "lessons", "exercises", "src", "bin", ident + ".rs"), exercise)
    with open(os.path.join(ROOT, "solutions", "src", "bin", ident + ".rs"), "rb") as f:
        solution = f.read()
    if os.path.exists(os.path.join(state, "progress.json")):
        os.remove(os.path.join(state, "progress.json"))
    env = dict(os.environ, LEARN_CONTAINERS_STATE=state, LEARN_CONTAINERS_EXERCISES=work, NO_COLOR="1")
    p = subprocess.Popen([BIN, "watch", str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=env)
    q = queue.Queue()
    threading.Thread(target=reader, args=(p.stdout, q), daemon=True).start()
    log = []
    try:
        wait_for(q, "Not passing yet", 600, log)
        # Let the watcher settle, then save in one write, as an editor does.
        time.sleep(0.5)
        with open(exercise, "wb") as f:
            f.write(solution)
        t0 = time.monotonic()
        t_seen, _ = wait_for(q, f"Chapter {n} ·", 60, log)
        t_built, line = wait_for(q, "building … ok", 120, log)
        t_pass, _ = wait_for(q, "Passed ✔", 120, log)
        cargo = float(line.split("(")[1].split()[0])
    finally:
        try:
            p.stdin.write("q\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass
        p.wait(timeout=60)
    return {
        "noticed": t_seen - t0,
        "built": t_built - t0,
        "cargo": cargo,
        "verdict": t_pass - t0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chapters", default="2,3")
    ap.add_argument("--rounds", type=int, default=7, help="counted rounds per chapter (plus one warm-up)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run it as root (the verifiers make namespaces): sudo python3 scripts/watch-latency.py")
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: cargo build first")
    scratch = tempfile.mkdtemp(prefix="learn-containers-test-bench-")
    try:
        work = os.path.join(scratch, "exercises")
        state = os.path.join(scratch, "state")
        os.makedirs(state)
        # The CLI makes the working copy on first use.
        subprocess.run([BIN, "list"], env=dict(os.environ, LEARN_CONTAINERS_STATE=state,
                       LEARN_CONTAINERS_EXERCISES=work), stdout=subprocess.DEVNULL, check=True)
        rows = []
        for n in [int(c) for c in args.chapters.split(",")]:
            one_round(n, work, state)  # warm-up
            samples = [one_round(n, work, state) for _ in range(args.rounds)]
            rows.append((n, samples))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| chapter | save → noticed | save → built | cargo's own build | save → verdict (min–max) |")
    print("|---|---:|---:|---:|---:|")
    for n, samples in rows:
        def cell(key):
            xs = [s[key] for s in samples]
            return f"{statistics.median(xs):.2f} s"
        worst = max(s["verdict"] for s in samples)
        best = min(s["verdict"] for s in samples)
        print(f"| {n} ({IDS[n]}) | {cell('noticed')} | {cell('built')} | {cell('cargo')} | "
              f"**{cell('verdict')}** ({best:.2f}–{worst:.2f} s) |")
    print(f"\nmedians of {args.rounds} rounds per chapter, after one warm-up round")


if __name__ == "__main__":
    main()
