#include "common/threads.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "linalg/blas_threads.h"

namespace rx {

namespace {
std::atomic<int> g_threads{0};
int default_threads() {
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}
}  // namespace

int num_threads() {
  int t = g_threads.load();
  return t > 0 ? t : default_threads();
}

void set_num_threads(int n) {
  if (n <= 0) n = default_threads();
  g_threads.store(n);
  blas_set_threads(n);
}

void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t, int)>& fn,
                  std::size_t min_block) {
  if (n == 0) return;
  std::size_t nt = static_cast<std::size_t>(num_threads());
  if (min_block == 0) min_block = 1;
  nt = std::min(nt, (n + min_block - 1) / min_block);
  if (nt <= 1) {
    fn(0, n, 0);
    return;
  }
  std::vector<std::thread> threads;
  std::exception_ptr first_error;
  std::mutex mu;
  std::size_t block = (n + nt - 1) / nt;
  for (std::size_t t = 0; t < nt; ++t) {
    std::size_t b = t * block, e = std::min(n, b + block);
    if (b >= e) break;
    threads.emplace_back([&, b, e, t] {
      try {
        fn(b, e, static_cast<int>(t));
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        if (!first_error) first_error = std::current_exception();
      }
    });
  }
  for (auto& th : threads) th.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace rx
