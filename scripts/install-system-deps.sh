#!/usr/bin/env bash
# Debian packages the tests and benchmarks need: SoftHSM2 (a real PKCS#11 token), qemu-user and the arm64
# C library (to run the arm64 binary), OpenSSL CLI, RAUC + squashfs-tools + D-Bus (OTA bundles and their tests). Installs only what is missing; needs root for apt-get.
set -euo pipefail
need=()
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need+=(libc6-arm64-cross)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v rauc >/dev/null 2>&1 || need+=(rauc)
command -v mksquashfs >/dev/null 2>&1 || need+=(squashfs-tools)
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus)
command -v busctl >/dev/null 2>&1 || need+=(systemd)
if [ "${SEPP_BENCH_DEPS:-0}" = 1 ]; then
  command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
  command -v nghttpx >/dev/null 2>&1 || need+=(nghttp2-proxy)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing Debian packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "installing: ${need[*]}"
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
