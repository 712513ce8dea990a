#!/bin/sh
echo '{"web": {"hosts": ["w1"]}, "_meta": {"hostvars": ["w1"]}}'
