#!/bin/sh
case "$1" in
  --list) echo '{"cache": {"hosts": ["c1"], "vars": {"ttl": 60}}, "_meta": {"hostvars": {"c1": {"mem": "1G"}}}}' ;;
  *) echo '{}' ;;
esac
