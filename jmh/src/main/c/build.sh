#!/bin/sh
# Compiles tarq_native.c into the shared library the native benchmarks and tests load (NativeLibrary finds it at
# target/native/libtarqnative.so, beside the jar or the classes), and loopback_floor.c into a program beside it
# (docs/serving.md: the loopback exchange with no JVM on either side). Run by the jmh module's Maven build
# (exec-maven-plugin, phase process-classes): build.sh SOURCE OUTPUT.
# -march=native: the library is for this machine's benchmarks only, and its AVX-512 and AVX2 paths are compiled only
# where the build machine has them (tarq_native_features() says which). TARQ_NATIVE_MARCH overrides it: x86-64-v3
# builds the AVX2 paths on an AVX-512 machine, to compare them with the JVM's 256-bit code (-XX:UseAVX=2).
# -ffp-contract=off: see tarq_native.c.
set -eu
source=$1
output=$2
if ! command -v gcc >/dev/null 2>&1; then
  # The native kernels are only the benchmarks' yardstick: the engine, the tools and the demo do not need them, so a
  # machine with only a JDK and Maven still builds. The NATIVE benchmarks then fail naming the library, and
  # NativeKernelsTest is skipped.
  echo "tarq: gcc not found: the native benchmark kernels ($source) are not built (Debian: apt-get install gcc)" >&2
  if command -v rm >/dev/null 2>&1; then rm -f "$output"; fi  # no stale library from an earlier build
  exit 0
fi
mkdir -p "$(dirname "$output")"
gcc -O3 -march="${TARQ_NATIVE_MARCH:-native}" -ffp-contract=off -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$output" "$source"
exec gcc -O2 -std=c11 -Wall -Wextra -Werror -pthread -o "$(dirname "$output")/loopback_floor" \
    "$(dirname "$source")/loopback_floor.c"
