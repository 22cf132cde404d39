"""Helpers of monitoring_stack.sh (standard library only).

  serve PORT OUT        an HTTP receiver: POST (Alertmanager's webhook) appends the payload with
                        its arrival time to OUT/alerts.jsonl; PUT (a push) saves the body to
                        OUT/pushed.txt; GET /ping answers 200.
  targets PROM N SECS   waits until Prometheus has N active targets.
  exprs PROM DIR        evaluates every expression of the rules Prometheus loaded and of the
                        dashboards in DIR/grafana/dashboards; fails on any error, or on a rule
                        whose health is not ok.
  wait-alert OUT SINCE SECS NAME [LABEL=VALUE...]
                        waits until a firing alert NAME with those labels reached the webhook;
                        prints how long after SINCE (Unix seconds) it arrived.
"""
import glob
import http.server
import json
import os
import sys
import time
import urllib.parse
import urllib.request


def serve(port, out):
    os.makedirs(out, exist_ok=True)
    class Handler(http.server.BaseHTTPRequestHandler):
        def body(self):
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def reply(self, code, text=b""):
            self.send_response(code)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def do_POST(self):
            payload = json.loads(self.body())
            with open(os.path.join(out, "alerts.jsonl"), "a") as f:
                f.write(json.dumps({"received": time.time(), "payload": payload}) + "\n")
            self.reply(200)

        def do_PUT(self):
            with open(os.path.join(out, "pushed.txt"), "wb") as f:
                f.write(self.body())
            self.reply(200)

        def do_GET(self):
            if self.path == "/ping":
                self.reply(200, b"\n")
            else:
                self.reply(404)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


def get(prom, path, **params):
    url = f"http://{prom}{path}"
    data = urllib.parse.urlencode(params).encode() if params else None
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def targets(prom, n, secs):
    deadline = time.time() + float(secs)
    while time.time() < deadline:
        active = get(prom, "/api/v1/targets")["data"]["activeTargets"]
        if len(active) >= int(n):
            return 0
        time.sleep(0.1)
    print(f"only {len(active)} of {n} targets active", file=sys.stderr)
    return 1


def substitute(expr):
    # What Grafana fills in before it sends a query.
    for macro, value in (("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range", "1h")):
        expr = expr.replace(macro, value)
    for var in ("$dag", "$model", "$feature"):
        expr = expr.replace(var, ".*")
    return expr


def exprs(prom, folder):
    failures, with_data, total = [], [], 0
    groups = get(prom, "/api/v1/rules")["data"]["groups"]
    queries = []
    for g in groups:
        for r in g["rules"]:
            queries.append((f"rule {r['name']}", r["query"]))
            if r["health"] != "ok":
                failures.append(f"rule {r['name']}: health {r['health']} {r.get('lastError', '')}")
    for path in sorted(glob.glob(os.path.join(folder, "grafana", "dashboards", "*.json"))):
        d = json.load(open(path))
        for v in d["templating"]["list"]:
            # label_values(metric, label) is Grafana's; Prometheus answers the metric.
            metric = v["query"]["query"].split("(", 1)[1].split(",", 1)[0]
            queries.append((f"{d['uid']} variable {v['name']}", metric))
        for p in d["panels"]:
            for t in p["targets"]:
                queries.append((f"{d['uid']} panel {p['title']!r} {t['refId']}", substitute(t["expr"])))
    for name, q in queries:
        total += 1
        r = get(prom, "/api/v1/query", query=q)
        if r.get("status") != "success":
            failures.append(f"{name}: {r.get('error')} in {q}")
        elif r["data"]["result"]:
            with_data.append(name)
    rules = sum(len(g["rules"]) for g in groups)
    print(f"{total} expressions evaluated ({rules} rules, {total - rules} dashboard queries), "
          f"{len(with_data)} returned series, {len(failures)} failed")
    for f in failures:
        print("  " + f)
    return 1 if failures or rules == 0 else 0


def wait_alert(out, since, secs, name, *labels):
    want = dict(l.split("=", 1) for l in labels)
    deadline = time.time() + float(secs)
    path = os.path.join(out, "alerts.jsonl")
    while time.time() < deadline:
        if os.path.exists(path):
            for line in open(path):
                rec = json.loads(line)
                for a in rec["payload"]["alerts"]:
                    l = a["labels"]
                    if a["status"] == "firing" and l.get("alertname") == name and all(
                        l.get(k) == v for k, v in want.items()
                    ):
                        print(f"{rec['received'] - float(since):.1f}")
                        return 0
        time.sleep(0.1)
    return 1


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.exit({"serve": serve, "targets": targets, "exprs": exprs, "wait-alert": wait_alert}[cmd](*args) or 0)
