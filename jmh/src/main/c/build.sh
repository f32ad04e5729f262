#!/bin/sh
# Compiles tarq_native.c into the shared library the native benchmarks and tests load (NativeLibrary finds it at
# target/native/libtarqnative.so, beside the jar or the classes). Run by the jmh module's Maven build
# (exec-maven-plugin, phase process-classes): build.sh SOURCE OUTPUT.
# -march=native: the library is for this machine's benchmarks only, and its AVX-512 paths are compiled only where
# the build machine has AVX-512 (tarq_native_features() says which). -ffp-contract=off: see tarq_native.c.
set -eu
source=$1
output=$2
if ! command -v gcc >/dev/null 2>&1; then
  echo "tarq: the jmh module needs gcc to build its native kernels ($source); install it (Debian: apt-get install gcc)" >&2
  exit 1
fi
mkdir -p "$(dirname "$output")"
exec gcc -O3 -march=native -ffp-contract=off -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$output" "$source"
