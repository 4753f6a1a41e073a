#!/usr/bin/env bash
# rasa-webchat's browser bundle for the live-chat demo page: fetched from npm once, checked
# against a pinned checksum, kept in vendor/ (gitignored), served locally by the livechat channel.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=1.0.1
# sha512 of rasa-webchat-1.0.1.tgz (npm's dist.integrity, as hex)
SHA512=2ddd73549bd301a4ebb3a039a7cb7bd1a80d36b2984725e5bea5d94600680ef28a5176c0d238492840a2e5b74f1a5691ea3b26a96b55ca51d2f98a88aa8d31f3
DEST=vendor/rasa-webchat

if [ -f "$DEST/index.js" ] && [ "$(cat "$DEST/VERSION" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "webchat: npm is needed to fetch rasa-webchat@$VERSION; install Node.js and npm (e.g. 'apt-get install npm') and run again" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "webchat: fetching rasa-webchat@$VERSION from the npm registry"
if ! (cd "$tmp" && npm pack --silent "rasa-webchat@$VERSION" >/dev/null); then
  echo "webchat: 'npm pack rasa-webchat@$VERSION' failed (see npm's message above); check access to the npm registry" >&2
  exit 1
fi
tarball="$tmp/rasa-webchat-$VERSION.tgz"
if ! echo "$SHA512  $tarball" | sha512sum --check --status; then
  echo "webchat: rasa-webchat-$VERSION.tgz does not match the pinned checksum; refusing to use it" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$tmp" package/lib/index.js package/LICENSE
mkdir -p "$DEST"
cp "$tmp/package/lib/index.js" "$tmp/package/LICENSE" "$DEST/"
echo "$VERSION" >"$DEST/VERSION"
echo "webchat: $DEST/index.js ready"
