#!/usr/bin/env python3
"""Grades one exercise from a `learn-containers verify --format json` report.

Usage:
  learn-containers verify N --format json | python3 classroom/grade.py --exercise ID
      [--points P] [--pass-fraction F] [--github-output]

  python3 classroom/grade.py --exercise ch02_pid_namespace < report.json

Input: the JSON report `verify` prints on stdout, one exercise (`verify N`) or all of them
(`verify --all`); its shape is docs/verify-report.schema.json. ID is an exercise id as the
report names it, such as ch02_pid_namespace.

Output on stdout, partial credit per check: every check of the exercise is worth
P / (number of checks) points (P defaults to 10). One line per check, then one score line:

  ch02_pid_namespace (exercises/src/pid_namespace.rs): fail
    PASS  /proc: inside, it lists only the namespace's processes
    FAIL  PID 1: CMD is PID 1 of its own PID namespace
          saw: ...; expected: 1; hint: ...
  SCORE ch02_pid_namespace 2/9 checks 2.22/10 points

Exit status:
  0  at least the fraction F of the checks pass (default 1.0: the exercise passes)
  1  fewer do
  2  usage error; nothing on stdin (verify exits 2 without a report when the host cannot
     run it: its stderr says why); not a report; or the report has no exercise ID.
     The score line then reads 0/0 checks, and --github-output still writes a result
     (0 points, status "error") so the reporter can go on.

--github-output also appends `result=<base64 JSON>` to the file named by $GITHUB_OUTPUT,
in the result format GitHub Classroom's grading reporter reads
(classroom-resources/autograding-grading-reporter): one test per check, each worth its
share of P, so the reporter awards points per passing check. classroom/README.md shows
the workflow.

Plain python3, standard library only.
"""

import argparse
import base64
import json
import os
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="grade.py",
        description="Grades one exercise from a `learn-containers verify --format json` report read on stdin.",
    )
    p.add_argument("--exercise", required=True, metavar="ID", help="exercise id, e.g. ch02_pid_namespace")
    p.add_argument("--points", type=float, default=10.0, metavar="P", help="points for the whole exercise (default 10)")
    p.add_argument(
        "--pass-fraction",
        type=float,
        default=1.0,
        metavar="F",
        help="exit 0 when at least this fraction of the checks pass (default 1.0)",
    )
    p.add_argument(
        "--github-output",
        action="store_true",
        help="also append result=<base64> for GitHub Classroom's grading reporter to $GITHUB_OUTPUT",
    )
    args = p.parse_args(argv)
    if args.points < 0:
        p.error("--points must be 0 or more")
    if not 0.0 <= args.pass_fraction <= 1.0:
        p.error("--pass-fraction must be between 0 and 1")
    return args


def read_report(text):
    """The report as a dict. Tolerates lines before the JSON object (a stray warning)."""
    text = text.strip()
    if not text:
        raise ValueError(
            "no report on stdin: `learn-containers verify` printed nothing on stdout "
            "(exit status 2 means the host cannot run it; its stderr says what to fix)"
        )
    try:
        report = json.loads(text)
    except json.JSONDecodeError:
        start = text.find("\n{")
        if start < 0:
            raise ValueError("stdin is not a JSON report from `learn-containers verify --format json`")
        report = json.loads(text[start + 1 :])
    if not isinstance(report, dict) or not isinstance(report.get("exercises"), list):
        raise ValueError("stdin is JSON, but not a verify report: no `exercises` list")
    return report


def fmt(x):
    """2 decimals, without trailing zeros: 20, 4.44, 2.5."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def github_result(exercise, checks, points, status):
    share = points / len(checks) if checks else 0.0
    tests = [
        {
            "name": c.get("name", "check"),
            "status": "pass" if c.get("status") == "pass" else "fail",
            "score": share if c.get("status") == "pass" else 0,
            "message": c.get("message", ""),
            "test_code": f"learn-containers verify {exercise.get('chapter', 'N')} --format json",
            "filename": exercise.get("source", ""),
            "line_no": 0,
            "duration": 0,
        }
        for c in checks
    ]
    max_score = int(points) if float(points).is_integer() else points
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def write_github_output(result):
    """Appends result=<base64 JSON> to $GITHUB_OUTPUT. False when the variable is not set."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        print("grade.py: --github-output needs $GITHUB_OUTPUT (set inside a GitHub Actions step)", file=sys.stderr)
        return False
    encoded = base64.b64encode(json.dumps(result, separators=(",", ":")).encode()).decode()
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"result={encoded}\n")
    return True


def no_report(args, why):
    """Exit 2, and with --github-output a zero score the reporter can still read."""
    print(f"grade.py: {why}", file=sys.stderr)
    print(f"SCORE {args.exercise} 0/0 checks 0/{fmt(args.points)} points")
    if args.github_output:
        check = {"name": "verify: a report for " + args.exercise, "status": "fail", "message": why}
        write_github_output(github_result({}, [check], args.points, "error"))
    return 2


def main(argv):
    args = parse_args(argv)
    try:
        report = read_report(sys.stdin.read())
    except ValueError as e:
        return no_report(args, str(e))
    if report.get("solution"):
        print(
            "grade.py: note: this report verified the reference solutions (--solution), not the learner's code",
            file=sys.stderr,
        )
    found = [e for e in report["exercises"] if isinstance(e, dict) and e.get("id") == args.exercise]
    if not found:
        ids = ", ".join(str(e.get("id")) for e in report["exercises"] if isinstance(e, dict)) or "none"
        return no_report(args, f"the report has no exercise {args.exercise} (it has: {ids})")
    exercise = found[0]
    checks = [c for c in exercise.get("checks", []) if isinstance(c, dict)]
    passed = sum(1 for c in checks if c.get("status") == "pass")
    total = len(checks)
    fraction = passed / total if total else 0.0
    score = args.points * fraction

    print(f"{args.exercise} ({exercise.get('source', '?')}): {exercise.get('status', '?')}")
    for c in checks:
        ok = c.get("status") == "pass"
        print(f"  {'PASS' if ok else 'FAIL'}  {c.get('name', '?')}")
        if not ok and c.get("message"):
            print(f"        {c['message']}")
    print(f"SCORE {args.exercise} {passed}/{total} checks {fmt(score)}/{fmt(args.points)} points")

    ok = total > 0 and fraction >= args.pass_fraction
    if args.github_output:
        if not write_github_output(github_result(exercise, checks, args.points, "pass" if ok else "fail")):
            return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
