#!/bin/sh
# WeasyPrint renders with Pango (a system library, not a Python package). On a machine
# without it, install it from the distribution when we can, or say exactly what is missing.
set -e
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "Installing Pango for WeasyPrint (apt-get)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null
else
    echo "WeasyPrint needs Pango: install libpango-1.0-0 and libpangoft2-1.0-0 (Debian/Ubuntu)," >&2
    echo "pango (Homebrew) or see https://doc.courtbouillon.org/weasyprint/stable/first_steps.html" >&2
    exit 1
fi
