#!/usr/bin/env bash
# The build a cluster user makes, proven: as a user that is not root (made
# here, no sudo), with an MPI that is not Debian's on PATH (PyPI's `mpich` in
# the user's own venv: a stand-in for a site module) and no system HDF5, zstd
# or libffi on the build's search paths, scripts/build-user.sh builds and
# installs textsaga. Then:
#   - ldd: libmpi comes from that venv; no libhdf5, libzstd or libffi from the system;
#   - as that user, with the venv's mpirun: generate, a 2-rank fit and predict;
#   - the model equals the default build's 2-rank fit of the same corpus (coef and
#     intercept within 1e-9 relative) and the predictions are the same.
# The Rust toolchain is shared read-only (a bind mount of root's sysroot);
# nothing else of root's. Needs root to create the user; run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root_tree=$PWD
[ "$(id -u)" = 0 ] || { echo "cluster build test: needs root to create a user: not run"; exit 1; }
source scripts/mpi-env.sh

user=textsaga-user
mnt=/opt/textsaga-test-rust
cleanup() {
    pkill -u "$user" 2>/dev/null || true
    mountpoint -q "$mnt" && umount "$mnt"
    rmdir "$mnt" 2>/dev/null || true
    if [ -z "${KEEP_USER_TEST:-}" ] && id "$user" >/dev/null 2>&1; then userdel -r "$user" 2>/dev/null || true; fi
}
trap cleanup EXIT
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)

# The toolchain, read-only: the user runs cargo and rustc from it, with its own CARGO_HOME.
mkdir -p "$mnt"
mountpoint -q "$mnt" || mount --bind "$(rustc --print sysroot)" "$mnt"
mount -o remount,bind,ro "$mnt"

# The source as a user would have it (a copy of this tree, without builds or root's venv).
runuser -u "$user" -- mkdir -p "$home/src" "$home/empty"
tar --exclude=./target --exclude=./.venv --exclude=./.git -cf - . | runuser -u "$user" -- tar -xf - -C "$home/src"

as_user() {
    # A clean environment: nothing of root's (no RUSTUP_HOME, CARGO_HOME, HDF5_DIR, PKG_CONFIG_PATH).
    # pkg-config sees an empty folder, so no system library can be found through it.
    runuser -u "$user" -- env -i HOME="$home" USER="$user" LANG=C.UTF-8 \
        PATH="$home/mpi/bin:$mnt/bin:/usr/local/bin:/usr/bin:/bin" \
        PKG_CONFIG_LIBDIR="$home/empty" PKG_CONFIG_PATH="" TEXTSAGA_BUILD_TOOLS=pypi \
        bash -euo pipefail -c "$1"
}

echo "cluster build test: the user's MPI (pip install mpich) and the build (scripts/build-user.sh)"
as_user 'python3 -m venv ~/mpi && ~/mpi/bin/pip install -q --disable-pip-version-check mpich'
start=$SECONDS
build_log=$(mktemp /tmp/textsaga-user-build.XXXXXX)
if ! as_user 'cd ~/src && scripts/build-user.sh --prefix ~/opt' > "$build_log" 2>&1; then
    grep -v "^ *\(Compiling\|Downloaded\|Downloading\)" "$build_log" | tail -60
    echo "cluster build test: scripts/build-user.sh failed (above)"; exit 1
fi
grep "^build-user:" "$build_log"
rm -f "$build_log"
echo "cluster build test: built in $((SECONDS - start)) s"

bin="$home/opt/bin/textsaga"
ldd "$bin" | tee "$home/ldd.txt" | grep -E "libmpi|hdf5|zstd|ffi" || true
grep -q "libmpi.so.* => $home/mpi/" "$home/ldd.txt" || { echo "cluster build test: libmpi is not the venv's"; exit 1; }
if grep -qE "libhdf5|libzstd|libffi" "$home/ldd.txt"; then
    echo "cluster build test: the binary links a system HDF5, zstd or libffi"; exit 1
fi

work="$home/run"
as_user "mkdir -p $work && cd $work && B=$bin
\$B generate -o corpus.h5 --docs 4000 --classes 5 --seed 3 --quiet
mpirun -n 2 \$B fit --data corpus.h5 --model model.h5 --quiet
mpirun -n 2 \$B predict --model model.h5 --data corpus.h5 -o pred.h5 --quiet"

# The default build (Debian's Open MPI and parallel HDF5), as root, on the same corpus.
ref=$(mktemp -d /tmp/textsaga-user-ref.XXXXXX)
trap 'rm -rf "$ref"; cleanup' EXIT
mpirun -n 2 "$root_tree/target/release/textsaga" fit --data "$work/corpus.h5" --model "$ref/model.h5" --quiet
mpirun -n 2 "$root_tree/target/release/textsaga" predict --model "$ref/model.h5" --data "$work/corpus.h5" -o "$ref/pred.h5" --quiet
"$root_tree/.venv/bin/python" - "$work" "$ref" <<'PY'
import sys, h5py, numpy as np
user, ref = (h5py.File(d + "/model.h5", "r") for d in sys.argv[1:3])
for name in ("coef", "intercept"):
    a, b = user[name][:], ref[name][:]
    rel = np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)
    assert rel <= 1e-9, f"{name}: the user's build differs from the default build by {rel:.3g} relative"
    print(f"cluster build test: {name} {a.shape} equal to the default build's within {rel:.3g} relative")
p_user, p_ref = (h5py.File(d + "/pred.h5", "r")["predicted"][:] for d in sys.argv[1:3])
assert len(p_user) == 4000 and np.array_equal(p_user, p_ref), "the predictions differ"
print(f"cluster build test: the same {len(p_user)} predictions")
PY
echo "cluster build test: ok"
