"""Validates FHIR resources with the fhir.resources models (R4B) from PyPI.

Usage: python3 validate.py FILE...   (each file: one resource as JSON)
Prints one JSON line per file: {"file", "ok", "error"}; exits 1 if any is invalid.
"""
import json
import sys

from fhir.resources.R4B import get_fhir_model_class


def main(files):
    failed = False
    for path in files:
        with open(path, encoding="utf-8") as f:
            resource = json.load(f)
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            print(json.dumps({"file": path, "ok": True}))
        except Exception as err:  # pydantic's ValidationError, or an unknown type
            failed = True
            print(json.dumps({"file": path, "ok": False, "error": str(err)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
