// One thread budget for native pools and BLAS (set from rxOptions({ numThreads })).
#pragma once
#include <cstddef>
#include <functional>

namespace rx {

int num_threads();
void set_num_threads(int n);  // also sets the BLAS library's thread count

// Runs fn(begin, end, worker) over [0, n) split into contiguous blocks across the
// thread budget (or fewer when n is small). Blocks until done. Exceptions in workers
// are captured and rethrown in the caller's thread.
void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t, int)>& fn,
                  std::size_t min_block = 1);

}  // namespace rx
