#include "summary/crosstab.h"

#include <string>
#include <vector>

#include "common/error.h"
#include "common/threads.h"

namespace rx {

namespace {

// Counts rows [begin, end) into `grid`. Returns the rows skipped for a negative code; sets
// `bad` to the first row with a code outside the grid (and stops there).
int64_t count_block(const int32_t* a, const int32_t* b, std::size_t begin, std::size_t end, uint32_t da, uint32_t db,
                    uint64_t* grid, std::size_t* bad) {
  int64_t missing = 0;
  for (std::size_t i = begin; i < end; i++) {
    const int32_t x = a[i];
    const int32_t y = b[i];
    if ((x | y) < 0) {
      missing++;
      continue;
    }
    const uint32_t ux = static_cast<uint32_t>(x);
    const uint32_t uy = static_cast<uint32_t>(y);
    if (ux >= da || uy >= db) {
      *bad = i;
      return missing;
    }
    grid[ux + da * uy]++;
  }
  return missing;
}

}  // namespace

int64_t crosstab2(const int32_t* a, const int32_t* b, std::size_t n, int32_t da, int32_t db, double* counts) {
  if (da < 0 || db < 0) throw Error("RX_ARG", "crosstab2: negative grid dimensions");
  if (n == 0) return 0;
  const std::size_t cells = static_cast<std::size_t>(da) * static_cast<std::size_t>(db);
  const std::size_t kMinRows = std::size_t(1) << 17;  // rows per thread worth the start-up
  const int threads = num_threads();
  std::size_t parts = n / kMinRows;
  if (parts < 1) parts = 1;
  if (parts > static_cast<std::size_t>(threads > 0 ? threads : 1)) parts = static_cast<std::size_t>(threads > 0 ? threads : 1);
  std::vector<std::vector<uint64_t>> grids(parts, std::vector<uint64_t>(cells, 0));
  std::vector<int64_t> missing(parts, 0);
  std::vector<std::size_t> bad(parts, n);
  const std::size_t step = (n + parts - 1) / parts;
  auto run = [&](std::size_t p) {
    const std::size_t begin = p * step;
    const std::size_t end = begin + step < n ? begin + step : n;
    if (begin < end)
      missing[p] = count_block(a, b, begin, end, static_cast<uint32_t>(da), static_cast<uint32_t>(db), grids[p].data(), &bad[p]);
  };
  if (parts == 1) run(0);
  else
    parallel_for(parts, [&](std::size_t p0, std::size_t p1, int) {
      for (std::size_t p = p0; p < p1; p++) run(p);
    });
  for (std::size_t p = 0; p < parts; p++) {
    if (bad[p] != n) {
      const std::size_t i = bad[p];
      throw Error("RX_ARG", "crosstab2: code out of range at row " + std::to_string(i) + " (" + std::to_string(a[i]) + ", " +
                                std::to_string(b[i]) + " for a " + std::to_string(da) + " x " + std::to_string(db) + " grid)");
    }
  }
  int64_t miss = 0;
  for (std::size_t p = 0; p < parts; p++) {
    miss += missing[p];
    const uint64_t* g = grids[p].data();
    for (std::size_t c = 0; c < cells; c++) counts[c] += static_cast<double>(g[c]);
  }
  return miss;
}

}  // namespace rx
