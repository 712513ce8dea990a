#!/usr/bin/env python3
"""An old-style inventory script: no _meta, so it is asked --host for each host."""
import json
import sys

if sys.argv[1:] == ["--list"]:
    print(json.dumps({"app": {"hosts": ["a1", "a2"], "vars": {"tier": "app"}}, "cache": ["c1"]}))
elif sys.argv[1:2] == ["--host"]:
    host = sys.argv[2]
    print(json.dumps({"a1": {"role": "primary"}, "c1": {"size": 2}}.get(host, {})))
else:
    sys.exit("usage: dynamic.py --list | --host NAME")
