#!/bin/sh
echo "this is not JSON"
echo "warning: half-configured" >&2
