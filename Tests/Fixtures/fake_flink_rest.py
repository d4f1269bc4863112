#!/usr/bin/env python3
"""The two REST answers of a Flink JobManager the bootstrap script reads, scripted for the chart
tests (the real JobManager answers in the runtime tier):

  fake_flink_rest.py PORT REVISION [NAME=STATE ...]

GET /jobmanager/config lists chart.flink-cdc.jobmanager-revision=REVISION as Flink's REST API
does ([{"key": ..., "value": ...}]); GET /jobs/overview lists the given jobs in Flink's shape.
Every request path is appended to requests.log beside the script's working directory.
"""
import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def do_GET(self):
        with open("requests.log", "a") as log:
            log.write(self.path + "\n")
        if self.path == "/jobmanager/config":
            body = [{"key": "rest.port", "value": "8081"},
                    {"key": "chart.flink-cdc.jobmanager-revision", "value": sys.argv[2]}]
        elif self.path == "/jobs/overview":
            jobs = []
            for number, spec in enumerate(sys.argv[3:]):
                name, state = spec.rsplit("=", 1)
                jobs.append({"jid": f"{number:032x}", "name": name, "start-time": 1, "end-time": -1, "duration": 5,
                             "state": state, "last-modification": 1,
                             "tasks": {"running": 1, "canceling": 0, "canceled": 0, "total": 1, "created": 0,
                                       "scheduled": 0, "deploying": 0, "reconciling": 0, "finished": 0,
                                       "initializing": 0, "failed": 0}})
            body = {"jobs": jobs}
        else:
            self.send_error(404)
            return
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
