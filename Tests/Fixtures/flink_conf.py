#!/usr/bin/env python3
"""Reads a Flink configuration file the way Flink itself does, for the chart tests:

  flink_conf.py legacy < flink-conf.yaml   Flink < 1.19 (GlobalConfiguration.loadYAMLResource of
                                            1.17.1): not YAML but lines. Each line is cut at its
                                            first '#', trimmed, split at the first ": "; key and
                                            value are trimmed; a line without ": " or with an
                                            empty key or value is skipped with a warning; quotes
                                            stay part of the value; the last duplicate wins.
  flink_conf.py yaml < config.yaml         Flink >= 1.19: standard YAML, flattened keys.

Prints {"entries": {key: value}, "skipped": [line numbers Flink warns about and ignores]}.
"""
import json
import re
import sys


def java_trim(text):
    # String.trim() drops every char <= U+0020 at both ends, not only whitespace.
    return text.strip("".join(chr(i) for i in range(0x21)))


def legacy(text):
    entries, skipped = {}, []
    # BufferedReader.readLine ends a line at \n, \r or \r\n (and nothing else).
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        conf = java_trim(line.split("#", 1)[0])
        if not conf:
            continue
        kv = conf.split(": ", 1)
        if len(kv) == 1:
            skipped.append(number)
            continue
        key, value = java_trim(kv[0]), java_trim(kv[1])
        if not key or not value:
            skipped.append(number)
            continue
        entries[key] = value
    return {"entries": entries, "skipped": skipped}


def standard_yaml(text):
    import yaml

    def flatten(prefix, node, out):
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flatten(name, value, out)
            else:
                out[name] = value
        return out

    return {"entries": flatten("", yaml.safe_load(text) or {}, {}), "skipped": []}


if __name__ == "__main__":
    text = sys.stdin.read()
    result = legacy(text) if sys.argv[1] == "legacy" else standard_yaml(text)
    print(json.dumps(result, sort_keys=True))
