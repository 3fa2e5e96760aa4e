#!/usr/bin/env python3
"""The oracle of YAMLSettingsOracleTests: what a full YAML 1.2 parser makes of each text.

Reads a JSON list of YAML texts from the file named first, writes to the file named second a
JSON list holding, for each text, the canonical form of what ruamel.yaml (safe loader, pure
Python, YAML 1.2) loads from it, or null when it refuses the text. The canonical form is the
one YAMLSettingsOracleTests builds from warren's own reading: n, b0/b1, i<decimal>,
f<IEEE-754 hex>, s<UTF-8 hex>, [items], {sorted key:value pairs}; an empty document is {}.
"""
import json
import struct
import sys

from ruamel.yaml import YAML


def canon(value):
    if value is None:
        return "n"
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, int):
        return "i" + str(value)
    if isinstance(value, float):
        return "f" + struct.pack(">d", value).hex()
    if isinstance(value, str):
        return "s" + value.encode("utf-8", "surrogatepass").hex()
    if isinstance(value, list):
        return "[" + ",".join(canon(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(sorted(canon(key) + ":" + canon(item) for key, item in value.items())) + "}"
    # A date, a set, bytes...: kinds warren never produces, so never equal to its reading.
    return "?" + type(value).__name__


def main():
    with open(sys.argv[1], encoding="utf-8") as source:
        texts = json.load(source)
    results = []
    for text in texts:
        try:
            value = YAML(typ="safe", pure=True).load(text)
        except Exception:  # any refusal: a parse error, a duplicate key, an unknown tag...
            results.append(None)
            continue
        results.append("{}" if value is None else canon(value))
    with open(sys.argv[2], "w", encoding="utf-8") as sink:
        json.dump(results, sink)


main()
