"""Reads a Prometheus text exposition on stdin and prints what a scraper
makes of it, as JSON, for t/029-metrics.t: the parser of the official
Prometheus client library (Debian's python3-prometheus-client).  Each
family: name, type, help, and its samples (name, labels, value).  A text
the parser refuses exits 1 with its error."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    families = [
        {
            "name": f.name,
            "type": f.type,
            "help": f.documentation,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": s.value}
                for s in f.samples
            ],
        }
        for f in text_string_to_metric_families(sys.stdin.read())
    ]
except Exception as e:  # the parser's own errors are ValueErrors and more
    sys.stderr.write("parse error: %s\n" % e)
    sys.exit(1)

json.dump(families, sys.stdout)
sys.stdout.write("\n")
