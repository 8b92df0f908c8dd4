#!/usr/bin/env python3
"""Reads a Prometheus text exposition (GET /metrics) on stdin with prometheus-client's own parser
(prometheus_client.parser.text_string_to_metric_families) and prints one JSON object:
  {"families": {"<family>": "<type>"},
   "samples": [{"name": "<sample name>", "labels": {...}, "value": <float>}]}
A text the parser refuses exits 1 with the parser's message: the tests then fail on it.
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    families = {}
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for s in family.samples:
                value = s.value
                # JSON has no infinities (+Inf bucket bounds are labels, but be safe).
                if isinstance(value, float) and math.isinf(value):
                    value = str(value)
                samples.append({"name": s.name, "labels": dict(s.labels), "value": value})
    except Exception as error:  # the parser's message is the test's failure message
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        sys.exit(1)
    print(json.dumps({"families": families, "samples": samples}))


if __name__ == "__main__":
    main()
