// Mergeable, order-independent quantile sketch: the k distinct values with the smallest
// hash, each with its exact total count. Exact when a column has <= k distinct values.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/threads.h"
#include "tree/engine.h"

namespace rx {
namespace tree {

namespace {
inline uint64_t hash_value(double v) {
  if (v == 0) v = 0;  // -0 == 0
  uint64_t z;
  std::memcpy(&z, &v, sizeof z);
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
struct Entry {
  uint64_t h;
  double v;
  double c;
};
}  // namespace

void sketch_add(Sketch& s, const double* x, const uint8_t* valid, std::size_t n, std::size_t k) {
  // the current admission threshold: once full, only values hashing below the k-th kept
  uint64_t thr = UINT64_MAX;
  std::vector<Entry> cur;
  cur.reserve(s.values.size());
  for (std::size_t i = 0; i < s.values.size(); ++i) cur.push_back({hash_value(s.values[i]), s.values[i], s.counts[i]});
  if (s.full) {
    thr = 0;
    for (auto& e : cur) thr = std::max(thr, e.h);
  }
  std::vector<Entry> cand;
  for (std::size_t i = 0; i < n; ++i) {
    double v = x[i];
    if ((valid && !valid[i]) || std::isnan(v)) {
      s.missing += 1;
      continue;
    }
    uint64_t h = hash_value(v);
    if (h <= thr) cand.push_back({h, v, 1.0});
  }
  // keep the candidate pool small: a cut at the 4k-th smallest hash (ties by value keep all copies)
  if (cand.size() > 4 * k + 16) {
    std::size_t m = 4 * k;
    std::nth_element(cand.begin(), cand.begin() + m, cand.end(), [](const Entry& a, const Entry& b) { return a.h < b.h; });
    uint64_t cut = cand[m].h;
    std::vector<Entry> keep;
    keep.reserve(m + 16);
    for (auto& e : cand)
      if (e.h <= cut) keep.push_back(e);
    // count distinct hashes kept; if fewer than k (heavy ties) the cut is conservative anyway:
    // every value at or below the cut is kept in full, values above cannot be among the
    // k smallest distinct hashes only if >= k distinct are below. Check that.
    std::sort(keep.begin(), keep.end(), [](const Entry& a, const Entry& b) { return a.h < b.h || (a.h == b.h && a.v < b.v); });
    std::size_t distinct = 0;
    for (std::size_t i = 0; i < keep.size(); ++i)
      if (i == 0 || keep[i].h != keep[i - 1].h || keep[i].v != keep[i - 1].v) ++distinct;
    if (distinct >= k) cand.swap(keep);
  }
  cand.insert(cand.end(), cur.begin(), cur.end());
  std::sort(cand.begin(), cand.end(), [](const Entry& a, const Entry& b) { return a.h < b.h || (a.h == b.h && a.v < b.v); });
  std::vector<Entry> merged;
  merged.reserve(std::min(cand.size(), k + 1));
  for (auto& e : cand) {
    if (!merged.empty() && merged.back().h == e.h && merged.back().v == e.v) {
      merged.back().c += e.c;
      continue;
    }
    if (merged.size() == k) {
      s.full = true;
      break;
    }
    merged.push_back(e);
  }
  std::sort(merged.begin(), merged.end(), [](const Entry& a, const Entry& b) { return a.v < b.v; });
  s.values.resize(merged.size());
  s.counts.resize(merged.size());
  for (std::size_t i = 0; i < merged.size(); ++i) {
    s.values[i] = merged[i].v;
    s.counts[i] = merged[i].c;
  }
}

void sketch_bins(const Sketch& s, int maxBins, std::vector<double>& lo, std::vector<double>& hi) {
  lo.clear();
  hi.clear();
  const std::size_t m = s.values.size();
  if (m == 0) return;
  if (static_cast<int>(m) <= maxBins) {
    lo = s.values;
    hi = s.values;
    return;
  }
  double total = 0;
  for (double c : s.counts) total += c;
  // greedy equal-weight bins; a value heavier than the target gets its own bin
  double remaining = total;
  int binsLeft = maxBins;
  std::size_t i = 0;
  while (i < m) {
    double target = remaining / binsLeft;
    double acc = 0;
    std::size_t j = i;
    while (j < m) {
      acc += s.counts[j];
      ++j;
      if (acc >= target) break;
      // stop before a heavy next value so it can stand alone
      if (j < m && s.counts[j] >= target && acc > 0) break;
    }
    if (binsLeft == 1) j = m;
    lo.push_back(s.values[i]);
    hi.push_back(s.values[j - 1]);
    double used = 0;
    for (std::size_t t = i; t < j; ++t) used += s.counts[t];
    remaining -= used;
    --binsLeft;
    i = j;
    if (binsLeft == 0 && i < m) {  // safety: fold the rest into the last bin
      hi.back() = s.values[m - 1];
      break;
    }
  }
}

void bin_numeric(const double* x, const uint8_t* valid, std::size_t n, const double* lo, const double* hi, int nvalue,
                 uint8_t* out8, uint16_t* out16) {
  // boundaries: value bin b holds x <= (hi[b] + lo[b+1]) / 2; the bin of v is the number of
  // boundaries below v, found by a branch-free binary search over the boundaries padded
  // with +inf to a power of two
  const int ncut = nvalue > 0 ? nvalue - 1 : 0;
  int size = 1;
  while (size < ncut + 1) size <<= 1;
  std::vector<double> cut(size, HUGE_VAL);
  for (int b = 0; b < ncut; ++b) cut[b] = 0.5 * (hi[b] + lo[b + 1]);
  const double* C = cut.data();
  parallel_for(n, [&](std::size_t ib, std::size_t ie, int) {
    for (std::size_t i = ib; i < ie; ++i) {
      const double v = x[i];
      int b;
      if ((valid && !valid[i]) || std::isnan(v) || nvalue == 0) {
        b = nvalue;
      } else {
        b = 0;
        for (int step = size >> 1; step > 0; step >>= 1) b += (C[b + step - 1] < v) ? step : 0;
        if (b < ncut && C[b] < v) ++b;  // size == 1 and the last step
        if (b > ncut) b = ncut;
      }
      if (out8)
        out8[i] = static_cast<uint8_t>(b);
      else
        out16[i] = static_cast<uint16_t>(b);
    }
  }, 1 << 16);
}

void Data::finish() {
  offset.assign(p, 0);
  int acc = 0;
  for (int f = 0; f < p; ++f) {
    offset[f] = acc;
    acc += nbins[f];
  }
}

}  // namespace tree
}  // namespace rx
