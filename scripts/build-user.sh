#!/usr/bin/env bash
# Builds textsaga without root against the MPI and HDF5 this environment
# provides (a cluster's modules) and installs PREFIX/bin/textsaga.
#
#   module load openmpi hdf5          # the site's names; HDF5 is optional
#   scripts/build-user.sh --prefix "$HOME/.local"
#
# Needs what a login node has: cargo (rustup in your home is fine), a C
# compiler, make, and `mpicc` on PATH (or MPICC=/path/to/mpicc). Then:
#   - HDF5: $HDF5_DIR when set (serial, or built for MPI: the ranks then write
#     outputs together through MPI-IO); otherwise HDF5 is compiled from its
#     source and linked statically (serial: the ranks write in turns).
#   - cmake (for that HDF5) and libclang (for the MPI bindings) are used from
#     the system when found, else fetched from PyPI into a private venv under
#     the cache folder (python3 needed then). TEXTSAGA_BUILD_TOOLS=pypi fetches
#     them even when the system has them: what a bare login node would get.
#   - zstd and libffi are compiled from the sources their crates bundle: no
#     system -dev packages.
# The binary carries an rpath to the MPI's (and HDF5_DIR's) library folder, so
# batch jobs find them without LD_LIBRARY_PATH. Slurm templates are installed
# beside it in PREFIX/share/textsaga/slurm.
#
# Options: --prefix DIR (required), --bundled-hdf5 (ignore HDF5_DIR),
# --target-dir DIR (cargo's build folder; default target/user), -j N.
set -euo pipefail
start_dir=$PWD
cd "$(dirname "$0")/.."
prog=build-user

die() { echo "$prog: error: $*" >&2; exit 1; }
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
# Relative paths are the caller's, not this script's folder's.
abs() { case "$1" in /*) echo "$1" ;; *) echo "$start_dir/$1" ;; esac; }

prefix="" bundled=0 target_dir=${CARGO_TARGET_DIR:-target/user} jobs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --bundled-hdf5) bundled=1; shift ;;
        --target-dir) target_dir=${2:?--target-dir needs a folder}; shift 2 ;;
        -j) jobs=(-j "${2:?-j needs a number}"); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$prog: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$prefix" ] || { echo "$prog: --prefix DIR is required (e.g. --prefix \$HOME/.local)" >&2; exit 2; }
prefix=$(abs "$prefix")
target_dir=$(abs "$target_dir")
[ -z "${HDF5_DIR:-}" ] || HDF5_DIR=$(abs "$HDF5_DIR")
mkdir -p "$prefix/bin" || die "cannot create $prefix/bin: choose a --prefix you can write to"
prefix=$(cd "$prefix" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/textsaga-build
work=$(mktemp -d "${TMPDIR:-/tmp}/textsaga-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- what the environment must provide ---------------------------------------------------
command -v cargo >/dev/null || die "cargo not found: install Rust in your home with rustup (https://rustup.rs; no root needed) or load the site's rust module"
cc=${CC:-$(command -v cc || command -v gcc || true)}
[ -n "$cc" ] || die "no C compiler (cc or gcc) on PATH: load the site's compiler module"
command -v make >/dev/null || die "make not found on PATH (needed to compile libffi)"
MPICC=${MPICC:-$(command -v mpicc || true)}
[ -n "$MPICC" ] && [ -x "$MPICC" ] || die "no mpicc on PATH: load the site's MPI module (e.g. 'module load openmpi') or set MPICC=/path/to/mpicc"
export MPICC

# The MPI library: a probe compiled with mpicc names it and shows where libmpi is.
cat > "$work/probe.c" <<'C'
#include <mpi.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING]; int n = 0;
    MPI_Get_library_version(v, &n);
    char *nl = strchr(v, '\n'); if (nl) *nl = 0;
    printf("%s\n", v);
    return 0;
}
C
"$MPICC" -o "$work/probe" "$work/probe.c" 2>"$work/probe.log" || { cat "$work/probe.log" >&2; die "$MPICC cannot compile an MPI program (above): is the MPI module complete?"; }
mpi_version=$("$work/probe" | sed 's/[[:space:]]\+/ /g; s/^ //; s/ $//; s/,.*//' | cut -c1-60) || die "a program built with $MPICC does not start: its libmpi is not found (load the MPI module in this shell)"
mpi_lib=$(ldd "$work/probe" 2>/dev/null | awk '$1 ~ /^libmpi[._]/ && $3 ~ /^\// {print $3; exit}' || true)
[ -n "$mpi_lib" ] || die "cannot tell which libmpi $MPICC links (a static MPI? this build needs a shared libmpi: e.g. CRAYPE_LINK_TYPE=dynamic)"
mpi_libdir=$(dirname "$(readlink -f "$mpi_lib")")
rpaths=("$(dirname "$mpi_lib")")

# --- HDF5 ---------------------------------------------------------------------------------
features=()
if [ "$bundled" = 0 ] && [ -n "${HDF5_DIR:-}" ]; then
    conf=$(find -L "$HDF5_DIR/include" -name H5pubconf.h 2>/dev/null | head -1 || true)
    [ -n "$conf" ] || die "HDF5_DIR=$HDF5_DIR has no include/H5pubconf.h: point it at the HDF5 installation (the folder with include/ and lib/), or unset it to build HDF5 from source"
    h5_version=$(sed -n 's/^#define H5_VERSION "\(.*\)"/\1/p' "$conf")
    h5_lib=$(ls "$HDF5_DIR"/lib/libhdf5.so "$HDF5_DIR"/lib64/libhdf5.so 2>/dev/null | head -1 || true)
    [ -n "$h5_lib" ] && rpaths+=("$(dirname "$h5_lib")")
    if grep -q '^#define H5_HAVE_PARALLEL 1' "$conf"; then
        # A parallel HDF5 must be built for this same MPI, or the two libmpi clash at run time.
        h5_mpi=$( [ -n "$h5_lib" ] && ldd "$h5_lib" 2>/dev/null | awk '$1 ~ /^libmpi[._]/ && $3 ~ /^\// {print $3; exit}' || true)
        if [ -n "$h5_mpi" ] && [ "$(dirname "$(readlink -f "$h5_mpi")")" != "$mpi_libdir" ]; then
            die "HDF5_DIR's HDF5 is built for another MPI ($h5_mpi, not $mpi_lib): load the HDF5 module that matches the MPI, or run with --bundled-hdf5"
        fi
        features+=(parallel-hdf5)
        h5_desc="HDF5 $h5_version from HDF5_DIR=$HDF5_DIR (parallel: outputs written through MPI-IO)"
    else
        h5_desc="HDF5 $h5_version from HDF5_DIR=$HDF5_DIR (serial: the ranks write outputs in turns)"
    fi
else
    unset HDF5_DIR
    features+=(bundled-hdf5)
    h5_desc="HDF5 compiled from source, linked statically (serial: the ranks write outputs in turns)"
fi

# --- build tools a login node may lack: cmake, libclang ------------------------------------
pypi_tools=${TEXTSAGA_BUILD_TOOLS:-system}
venv="$cache/venv"
pip_install() {
    command -v python3 >/dev/null || die "$1 is missing and python3 is not there to fetch it from PyPI: load a cmake/llvm module, or python3"
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv" || die "python3 -m venv $venv failed (is python3's venv module installed?)"
    echo "$prog: fetching $1 from PyPI into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$1" || die "pip could not install $1 (no network to PyPI? load a module that has it)"
}
cmake_ok() { command -v cmake >/dev/null && cmake --version | awk 'NR==1 {split($3, v, "."); exit !(v[1] > 3 || (v[1] == 3 && v[2] >= 16))}'; }
if [[ " ${features[*]} " == *" bundled-hdf5 "* ]]; then
    if [ "$pypi_tools" = pypi ] || ! cmake_ok; then
        [ -x "$venv/bin/cmake" ] || pip_install cmake
        export PATH="$venv/bin:$PATH"
    fi
fi
find_libclang() {
    local d f
    for d in ${LIBCLANG_PATH:-} $(llvm-config --libdir 2>/dev/null || true) /usr/lib64 /usr/lib/x86_64-linux-gnu /usr/lib/llvm-*/lib /usr/lib64/llvm*/lib; do
        for f in "$d"/libclang.so "$d"/libclang-*.so "$d"/libclang.so.*; do
            [ -e "$f" ] && { echo "$d"; return 0; }
        done
    done
    return 0
}
clang_dir=""
[ "$pypi_tools" = pypi ] || clang_dir=$(find_libclang)
if [ -z "$clang_dir" ]; then
    ls "$venv"/lib/python3*/site-packages/clang/native/libclang.so >/dev/null 2>&1 || pip_install libclang
    clang_dir=$(dirname "$(ls "$venv"/lib/python3*/site-packages/clang/native/libclang.so | head -1)")
fi
export LIBCLANG_PATH="$clang_dir"
# bindgen parses mpi.h; the compiler's own headers (stddef.h) come from the C compiler, which
# works whether libclang came with its headers or not.
export BINDGEN_EXTRA_CLANG_ARGS="${BINDGEN_EXTRA_CLANG_ARGS:-} -I$("$cc" -print-file-name=include)"

# --- build and install --------------------------------------------------------------------
flags=""
for d in "${rpaths[@]}"; do flags+=" -C link-arg=-Wl,-rpath,$d"; done
export RUSTFLAGS="${RUSTFLAGS:-}$flags"
export CARGO_TARGET_DIR="$target_dir"
echo "$prog: building with MPI '$mpi_version' ($MPICC), features: ${features[*]}"
cargo build --release --locked --no-default-features --features "${features[*]}" "${jobs[@]}" \
    || die "cargo build failed (above)"
if [[ " ${features[*]} " == *" bundled-hdf5 "* ]]; then
    conf=$(ls -t "$CARGO_TARGET_DIR"/release/build/hdf5-metno-src-*/out/include/H5pubconf.h 2>/dev/null | head -1 || true)
    [ -z "$conf" ] || h5_desc="HDF5 $(sed -n 's/^#define H5_VERSION "\(.*\)"/\1/p' "$conf") ${h5_desc#HDF5 }"
fi
install -m 755 "$CARGO_TARGET_DIR/release/textsaga" "$prefix/bin/textsaga.partial"
mv -f "$prefix/bin/textsaga.partial" "$prefix/bin/textsaga"
mkdir -p "$prefix/share/textsaga/slurm"
cp scripts/slurm/*.sbatch scripts/slurm/*.sh scripts/slurm/*.conf "$prefix/share/textsaga/slurm/" 2>/dev/null || true
if ldd "$prefix/bin/textsaga" | grep -q "not found"; then
    ldd "$prefix/bin/textsaga" | grep "not found" >&2
    die "the installed binary misses the libraries above"
fi
"$prefix/bin/textsaga" --version >/dev/null || die "$prefix/bin/textsaga does not start"
echo "$prog: installed $prefix/bin/textsaga; MPI: $mpi_version (libmpi from $(dirname "$mpi_lib")); $h5_desc"
