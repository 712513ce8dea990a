#!/bin/sh
# An inventory script that provides _meta.hostvars (so it is run once, with --list).
if [ "$1" = "--list" ]; then
cat <<'JSON'
{
  "web": {"hosts": ["w1", "w2"], "vars": {"http_port": 80, "tmpl": "{{ x }}"}, "children": ["edge"]},
  "edge": {"hosts": ["e1"]},
  "db": ["d1", "d2"],
  "legacy": {"legacy_var": 5},
  "kids": {"children": {"web": {}, "db": {}}},
  "_meta": {
    "hostvars": {
      "w1": {"ansible_host": "10.0.0.1", "unsafe": {"__ansible_unsafe": "{{ raw }}"}},
      "d2": {"ansible_port": 2222},
      "not_in_any_group": {"ignored": true}
    }
  }
}
JSON
else
  echo '{}'
fi
