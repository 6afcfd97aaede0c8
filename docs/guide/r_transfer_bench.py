"""Matrix transfer to R at n = 10,000: Rscript child with a binary file vs rpy2 in-process.

Run: ``python docs/guide/r_transfer_bench.py 10000`` in an environment with numpy and an rpy2
that loads with the installed R (Debian 12's R 4.2.2: ``rpy2==3.5.17``). Not part of kmbench:
it records how the R adapter's design choice was measured (docs/guide/peers.md).
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
rng = np.random.default_rng(0)
X = rng.random((n, 20))
sq = (X * X).sum(1)
D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0))
np.fill_diagonal(D, 0)
print(f"n={n}, triangle {n*(n-1)//2*8/2**20:.0f} MiB float64")
# (a) Rscript child: write the triangle, R reads it and makes a dist object
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "d.bin")
    t0 = time.perf_counter()
    with open(path, "wb") as fh:
        for j in range(n - 1):
            D[j, j + 1:].tofile(fh)
    tw = time.perf_counter() - t0
    script = f"""t0 <- Sys.time(); con <- file("{path}", "rb"); x <- readBin(con, "double", {n}*({n}-1)/2); close(con)
attributes(x) <- list(Size = {n}L, Diag = FALSE, Upper = FALSE, class = "dist"); t1 <- Sys.time()
cat(as.numeric(t1) - as.numeric(t0), sum(x[1:10]), "\\n")"""
    t0 = time.perf_counter()
    out = subprocess.run(["Rscript", "--vanilla", "-e", script], capture_output=True, text=True).stdout.split()
    tc = time.perf_counter() - t0
    print(f"Rscript: write {tw:.2f} s, R readBin {float(out[0]):.2f} s, child wall (start + read) {tc:.2f} s, "
          f"total {tw + tc:.2f} s")
# (b) rpy2: embedded R, triangle copied into an R vector
t0 = time.perf_counter()
import rpy2.rinterface as ri  # noqa: E402
import rpy2.robjects as ro  # noqa: E402

ro.r("invisible(1)")
tstart = time.perf_counter() - t0
t0 = time.perf_counter()
tri = np.concatenate([D[j, j + 1:] for j in range(n - 1)])
tcat = time.perf_counter() - t0
t0 = time.perf_counter()
v = ri.FloatSexpVector.from_memoryview(memoryview(tri))
tcopy = time.perf_counter() - t0
t0 = time.perf_counter()
ro.globalenv["x"] = v
ro.r(f'attributes(x) <- list(Size = {n}L, Diag = FALSE, Upper = FALSE, class = "dist")')
tattr = time.perf_counter() - t0
print(f"rpy2: start R {tstart:.2f} s, triangle gathered {tcat:.2f} s, copy into R {tcopy:.2f} s, "
      f"dist attributes {tattr:.2f} s, total {tstart + tcat + tcopy + tattr:.2f} s")
print(ro.r("sum(x[1:10])")[0], D[0, 1:11].sum())
