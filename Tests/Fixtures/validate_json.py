#!/usr/bin/env python3
"""Validates one airgap --json document (a file, or stdin) against schemas/NAME.schema.json,
with the other schemas in schemas/ available to $ref. Prints "valid", or the first error with
its path, and exits 1. Works with jsonschema 4.10 (Debian 12: RefResolver) and later
(referencing)."""
import json
import pathlib
import sys

import jsonschema

root = pathlib.Path(__file__).resolve().parents[2] / "schemas"
name = sys.argv[1]
document = json.load(open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin)
schemas = {path.name: json.loads(path.read_text()) for path in root.glob("*.schema.json")}
schema = schemas[f"{name}.schema.json"]
validator_class = jsonschema.validators.validator_for(schema)
validator_class.check_schema(schema)
try:
    from referencing import Registry, Resource
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas.values())
    validator = validator_class(schema, registry=registry)
except ImportError:
    store = {s["$id"]: s for s in schemas.values()}
    validator = validator_class(schema, resolver=jsonschema.RefResolver.from_schema(schema, store=store))
errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
if errors:
    error = errors[0]
    print(f"invalid at /{'/'.join(str(p) for p in error.absolute_path)}: {error.message}")
    sys.exit(1)
print("valid")
