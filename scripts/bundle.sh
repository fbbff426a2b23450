#!/usr/bin/env bash
# scripts/bundle.sh VERSION DIST TARGET... — the RAUC bundles of build.sh (see its header and docs/UPDATES.md).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$1 DIST=$2
shift 2
PRODUCT=${SEPP_PRODUCT:-sepp-gateway}
FORMAT=${SEPP_BUNDLE_FORMAT:-verity}
COMP=${SEPP_SQUASHFS_COMP:-xz}
for tool in rauc mksquashfs openssl; do
  command -v "$tool" >/dev/null || { echo "bundle.sh: $tool missing (bash scripts/install-system-deps.sh)" >&2; exit 1; }
done
case "$FORMAT" in plain | verity) ;; *) echo "bundle.sh: SEPP_BUNDLE_FORMAT plain|verity" >&2; exit 2 ;; esac

if [ -n "${SEPP_SIGNING_CERT:-}" ] || [ -n "${SEPP_SIGNING_KEY:-}" ]; then
  CERT=${SEPP_SIGNING_CERT:?SEPP_SIGNING_CERT missing} KEY=${SEPP_SIGNING_KEY:?SEPP_SIGNING_KEY missing}
else
  # development signing CA (devices of a development fleet trust var/dev-signing/keyring.pem); never committed
  DEV=var/dev-signing
  if [ ! -s "$DEV/signing.crt.pem" ]; then
    mkdir -p "$DEV" && chmod 700 "$DEV"
    tmp=$(mktemp -d "$DEV/.new.XXXXXX")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj "/O=sepp development/CN=sepp development signing CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$tmp/ca.key.pem" -out "$tmp/keyring.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=sepp development/CN=sepp development bundle signer" \
      -keyout "$tmp/signing.key.pem" -out "$tmp/signing.csr" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$tmp/ext"
    openssl x509 -req -in "$tmp/signing.csr" -CA "$tmp/keyring.pem" -CAkey "$tmp/ca.key.pem" -CAcreateserial -days 1825 \
      -extfile "$tmp/ext" -out "$tmp/signing.crt.pem" 2>/dev/null
    chmod 600 "$tmp"/*.key.pem
    rm -f "$tmp/signing.csr" "$tmp/ext" "$tmp"/*.srl
    mv -f "$tmp"/* "$DEV/" && rmdir "$tmp"
    echo "created development signing CA in $DEV (keyring: $DEV/keyring.pem; not for production)"
  fi
  CERT=$DEV/signing.crt.pem KEY=$DEV/signing.key.pem
fi

for t in "$@"; do
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/root" "$work/bundle"
  install -m 0755 "$DIST/sepp-$t" "$work/root/sepp"
  install -m 0644 config/default.json "$work/root/default.json"
  install -m 0644 packaging/sepp.service "$work/root/sepp.service"
  echo "$VERSION" >"$work/root/VERSION"
  mksquashfs "$work/root" "$work/bundle/app.img" -noappend -quiet -all-root -comp "$COMP" >/dev/null
  cat >"$work/bundle/manifest.raucm" <<MANIFEST
[update]
compatible=$PRODUCT-$t
version=$VERSION
description=sepp $VERSION for $t

[bundle]
format=$FORMAT

[image.app]
filename=app.img
MANIFEST
  out="$DIST/sepp-$VERSION-$t.raucb"
  rm -f "$out.tmp"
  rauc bundle --cert="$CERT" --key="$KEY" "$work/bundle" "$out.tmp" >/dev/null
  mv -f "$out.tmp" "$out"
  rm -rf "$work"
  trap - EXIT
  echo "built $out ($FORMAT, compatible $PRODUCT-$t)"
done
