"""PRM800K grade_answer verdicts for answer pairs (a fixture generator; the test suite does not run it).

Needs the PRM800K grader (openai/prm800k, prm800k/grading/{grader,math_normalize}.py) and pylatexenc
on PYTHONPATH, and sympy:  PYTHONPATH=<prm800k>/prm800k:<pylatexenc> python3 prm800k_verdicts.py < pairs.json
Reads [[given, gold, kind], ...]; writes [[given, gold, kind, verdict], ...] with verdict true/false, or
null when the grader raised or ran past 10 s (sympy can hang).
"""
import json
import signal
import sys

from grading.grader import grade_answer


class Timeout(Exception):
    pass


def on_alarm(_sig, _frame):
    raise Timeout()


signal.signal(signal.SIGALRM, on_alarm)
out = []
for given, gold, kind in json.load(sys.stdin):
    signal.alarm(10)
    try:
        verdict = bool(grade_answer(given, gold))
    except Exception:  # Timeout or a grader error
        verdict = None
    finally:
        signal.alarm(0)
    out.append([given, gold, kind, verdict])
json.dump(out, sys.stdout, ensure_ascii=False, indent=0)
