"""Validates a file with the reference C2PA SDK (c2pa-python) and prints one JSON line:
{"state": "Trusted|Valid|Invalid|None", "failures": [codes], "digitalSourceType": ...}."""
import json
import sys

import c2pa


def main():
    path = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 else None
    kwargs = {}
    if root:
        settings = c2pa.Settings.from_dict({"trust": {"user_anchors": open(root).read()}})
        kwargs["context"] = c2pa.Context(settings=settings)
    try:
        reader = c2pa.Reader(path, **kwargs)
    except Exception as error:  # no manifest at all
        print(json.dumps({"state": "None", "failures": [], "error": str(error)}))
        return
    results = reader.get_validation_results() or {}
    failures = [f["code"] for f in results.get("activeManifest", {}).get("failure", [])]
    store = json.loads(reader.json())
    active = store["manifests"][store["active_manifest"]]
    source = None
    for assertion in active.get("assertions", []):
        if assertion["label"].startswith("c2pa.actions"):
            source = assertion["data"]["actions"][0].get("digitalSourceType")
    print(json.dumps({"state": reader.get_validation_state(), "failures": failures, "digitalSourceType": source}))


if __name__ == "__main__":
    main()
