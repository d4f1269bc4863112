#!/usr/bin/env python3
"""Validates a CycloneDX JSON document against the 1.5 schema with cyclonedx-python-lib (a peer):
prints `valid`, or the first error and exits 1.

  validate_sbom.py FILE
"""
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def main():
    with open(sys.argv[1]) as f:
        error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(f.read())
    if error is not None:
        print(f"invalid: {error}")
        sys.exit(1)
    print("valid")


if __name__ == "__main__":
    main()
