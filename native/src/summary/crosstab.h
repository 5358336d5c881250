// Contingency-table counting for rxCrossTabs / rxCube (two factors, no weights).
#pragma once
#include <cstddef>
#include <cstdint>

namespace rx {

// Adds the rows of two factor code columns into counts[a[i] + da * b[i]] (a da x db grid,
// first factor fastest, as in R). Rows with a negative code in either column are not
// counted; their number is returned. Codes >= da (or >= db) throw RX_ARG. Runs over row
// blocks on the thread budget (each thread counts into its own grid; grids are summed in
// thread order, and counts are integers, so the result does not depend on the threads).
int64_t crosstab2(const int32_t* a, const int32_t* b, std::size_t n, int32_t da, int32_t db, double* counts);

}  // namespace rx
